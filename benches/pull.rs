//! `pimwatch pull` at scale, `cargo bench --bench pull`: generates a tenant (Graph pages),
//! serves it from the fake Graph of the tests (tests/it/fake_graph.rs, on a loopback port),
//! and runs the release binary twice — `ingest` of the tenant's files, then `pull` of the same
//! tenant — printing wall time, pages/s and peak memory (from `/usr/bin/time -v`) of each, and
//! checking that both lakes hold the same rows.
//!
//! `PIMWATCH_BENCH_PULL=USERS:DAYS` sets the size (default `2000:30`); the figure is
//! `PIMWATCH_BENCH_PULL=50000:30 cargo bench --bench pull`. The tenant's days end yesterday,
//! so the pull's window (now − lag) covers all of them.

use std::path::Path;
use std::process::Command;

#[allow(dead_code)]
#[path = "../tests/it/fake_graph.rs"]
mod fake_graph;

use fake_graph::{FakeGraph, CLIENT, SECRET, TENANT};

const BINARY: &str = env!("CARGO_BIN_EXE_pimwatch");

struct Measured {
    seconds: f64,
    /// User plus system CPU seconds of pimwatch alone (the fake Graph runs in this process,
    /// on the same cores: wall time of a pull includes the fake's work, CPU time does not).
    cpu_seconds: Option<f64>,
    peak_mb: Option<u64>,
    /// What it printed, stdout then stderr.
    output: String,
}

/// Runs `command` under `/usr/bin/time -v` (when there is one) for its peak memory.
fn measured(command: &mut Command) -> Measured {
    let timed = Path::new("/usr/bin/time").exists();
    let mut run = if timed {
        let mut run = Command::new("/usr/bin/time");
        run.arg("-v").arg(command.get_program());
        run
    } else {
        Command::new(command.get_program())
    };
    run.args(command.get_args());
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            run.env(key, value);
        }
    }
    if let Some(dir) = command.get_current_dir() {
        run.current_dir(dir);
    }
    let started = std::time::Instant::now();
    let output = run.output().expect("run pimwatch");
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "pimwatch failed: {stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let peak_mb = stderr
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map(|kb| kb / 1024);
    let time_field = |name: &str| {
        stderr
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|s| s.trim().parse::<f64>().ok())
    };
    let cpu_seconds = time_field("User time (seconds)")
        .zip(time_field("System time (seconds)"))
        .map(|(user, system)| user + system);
    Measured {
        seconds,
        cpu_seconds,
        peak_mb,
        output: stdout + &stderr,
    }
}

/// Row counts that must agree between the two lakes: every event once (by dedupe key), and
/// the newest snapshot of each state table.
fn counts(lake: &Path) -> Vec<(String, String)> {
    let mut sql = vec![
        (
            "audit_events".to_string(),
            "SELECT count(*) AS n, count(DISTINCT dedupe_key) AS d FROM audit_events".to_string(),
        ),
        (
            "sign_ins".to_string(),
            "SELECT count(*) AS n, count(DISTINCT dedupe_key) AS d FROM sign_ins".to_string(),
        ),
    ];
    for table in [
        "principals",
        "role_definitions",
        "role_assignments",
        "role_eligibilities",
        "role_policies",
        "group_members",
    ] {
        sql.push((
            table.to_string(),
            format!("SELECT count(*) AS n FROM {table} WHERE snapshot_time = (SELECT max(snapshot_time) FROM {table})"),
        ));
    }
    sql.into_iter()
        .map(|(table, query)| {
            let output = Command::new(BINARY)
                .arg("--lake")
                .arg(lake)
                .args(["query", "--format", "csv", &query])
                .output()
                .expect("run pimwatch query");
            (
                table,
                String::from_utf8_lossy(&output.stdout).trim().to_string(),
            )
        })
        .collect()
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not name this bench skips it.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !"pull".contains(f.as_str())) {
        return;
    }
    let (users, days) = std::env::var("PIMWATCH_BENCH_PULL")
        .ok()
        .and_then(|v| {
            let (users, days) = v.split_once(':').unwrap_or((&v, "30"));
            Some((users.parse().ok()?, days.parse().ok()?))
        })
        .unwrap_or((2000usize, 30i64));
    let scratch = tempfile::tempdir().expect("temp dir");
    let out = scratch.path().join("tenant");
    let today = chrono::Utc::now().date_naive();
    let started = std::time::Instant::now();
    pimwatch::generate::generate(&pimwatch::generate::GenerateOptions {
        out: out.clone(),
        users,
        days,
        seed: 7,
        channel: pimwatch::generate::channels::Channel::Graph,
        start: today - chrono::Duration::days(days + 1),
        gzip: false,
        scenarios: None,
        policies: Default::default(),
        policies_shape: Default::default(),
        force: false,
    })
    .expect("generate");
    println!(
        "tenant: {users} users, {days} days, generated in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let logs = out.join("logs");
    let started = std::time::Instant::now();
    let graph = FakeGraph::start(&logs, 999);
    println!(
        "fake Graph loaded the tenant in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let ingest_lake = scratch.path().join("ingest-lake");
    let ingest = measured(
        Command::new(BINARY)
            .arg("--lake")
            .arg(&ingest_lake)
            .arg("ingest")
            .arg(&logs),
    );
    let pull_lake = scratch.path().join("pull-lake");
    let pull = measured(
        Command::new(BINARY)
            .arg("--lake")
            .arg(&pull_lake)
            .args(["pull", "--graph-url", &graph.url, "--login-url", &graph.url])
            .args(["--backfill-days", &(days + 3).to_string()])
            .env("PIMWATCH_TENANT_ID", TENANT)
            .env("PIMWATCH_CLIENT_ID", CLIENT)
            .env("PIMWATCH_CLIENT_SECRET", SECRET)
            .current_dir(scratch.path()),
    );
    let megabytes = |m: &Measured| {
        m.peak_mb
            .map_or("unknown".to_string(), |mb| format!("{mb} MB"))
    };
    let cpu = |m: &Measured| {
        m.cpu_seconds
            .map_or("unknown".to_string(), |s| format!("{s:.1} s"))
    };
    println!(
        "ingest of the files:      {:7.1} s wall, {} CPU, peak {}",
        ingest.seconds,
        cpu(&ingest),
        megabytes(&ingest)
    );
    println!(
        "pull from the fake Graph: {:7.1} s wall, {} CPU, peak {}",
        pull.seconds,
        cpu(&pull),
        megabytes(&pull)
    );
    if let Some(summary) = pull.output.lines().find(|l| l.starts_with("Pulled ")) {
        println!("  {summary}");
    }
    let (pulled, ingested) = (counts(&pull_lake), counts(&ingest_lake));
    for ((table, got), (_, want)) in pulled.iter().zip(&ingested) {
        println!("  {table}: {}", got.replace('\n', " "));
        assert_eq!(got, want, "{table}: the pull and the ingest differ");
    }
    println!("both lakes hold the same rows");
}
