//! Concurrency, isolation, runaway work and the lake's own files: what a scheduled job and a
//! careless operator do to a lake, and what must still hold — nothing lost, nothing doubled,
//! nothing crashes, every failure named.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::rules::{pack_with, repo, sample_tenant_lake, AS_OF};
use crate::support::{pimwatch, pimwatch_command, text, TestLake};

fn spawn(lake: &TestLake, args: &[&str]) -> Child {
    pimwatch_command(lake, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pimwatch")
}

fn tenant_logs() -> String {
    repo("sample-data/tenant/logs").display().to_string()
}

/// Rows per table, from `lake stats` (none while the lake holds no data).
fn table_rows(lake: &TestLake) -> Vec<(String, u64)> {
    let out = pimwatch(lake, &["lake", "stats", "--format", "json"]);
    if out.status.code() == Some(2) && text(&out.stderr).contains("holds no data") {
        return Vec::new();
    }
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("stats");
    rows.iter()
        .filter(|r| r["table"] != "(quarantine)")
        .map(|r| {
            (
                r["table"].as_str().unwrap_or_default().to_string(),
                r["rows"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// Every file below `dir`.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

fn alert_count(out: &Output) -> usize {
    text(&out.stdout).lines().count()
}

#[test]
fn two_ingests_at_once_store_every_row_once_and_readers_see_only_commits() {
    let clean = TestLake::new();
    assert_eq!(
        pimwatch(&clean, &["ingest", &tenant_logs()]).status.code(),
        Some(0)
    );
    let expected = table_rows(&clean);
    let full = pimwatch(
        &clean,
        &[
            "detect",
            "--as-of",
            AS_OF,
            "--lookback",
            "31",
            "--no-store",
            "--format",
            "ndjson",
        ],
    );
    let full_alerts = alert_count(&full);
    assert!(full_alerts >= 20);

    let lake = TestLake::new();
    let logs = tenant_logs();
    let mut writers = vec![
        spawn(&lake, &["ingest", "--wait", &logs]),
        spawn(&lake, &["ingest", "--wait", &logs]),
    ];
    // Read while they write: a reader sees no data, or all of one commit; never a part.
    let mut seen = Vec::new();
    while writers
        .iter_mut()
        .any(|w| w.try_wait().ok().flatten().is_none())
    {
        let out = pimwatch(
            &lake,
            &[
                "detect",
                "--as-of",
                AS_OF,
                "--lookback",
                "31",
                "--no-store",
                "--format",
                "ndjson",
            ],
        );
        let none_yet = out.status.code() == Some(2) && text(&out.stderr).contains("holds no data");
        assert!(
            none_yet || (out.status.code() == Some(0) && alert_count(&out) == full_alerts),
            "a reader saw part of an ingest: exit {:?}, {} alerts\n{}",
            out.status.code(),
            alert_count(&out),
            text(&out.stderr)
        );
        seen.push(none_yet);
    }
    for writer in writers {
        let out = writer.wait_with_output().expect("ingest");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert!(!seen.is_empty());
    assert_eq!(
        table_rows(&lake),
        expected,
        "the second ingest added nothing"
    );
}

#[test]
fn a_second_writer_is_refused_with_the_first_ones_name_or_waits() {
    let lake = TestLake::new();
    let sample = crate::support::sample("otel-collector-contrib/pim-log.json");
    let sample = sample.display().to_string();
    let holder = lake
        .lake
        .lock_for_writing("test-holder", false)
        .expect("the lock");
    let refused = pimwatch(&lake, &["ingest", &sample]);
    assert_eq!(refused.status.code(), Some(2));
    let message = text(&refused.stderr);
    assert!(
        message.contains("being written by `pimwatch test-holder`") && message.contains("--wait"),
        "{message}"
    );
    let waiting = spawn(&lake, &["ingest", "--wait", &sample]);
    std::thread::sleep(Duration::from_millis(300));
    drop(holder);
    let out = waiting.wait_with_output().expect("ingest");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(lake.count("audit_events"), 3);
}

#[test]
fn concurrent_detects_for_one_time_leave_one_complete_run() {
    let lake = sample_tenant_lake();
    let runs: Vec<Child> = (0..3)
        .map(|_| {
            spawn(
                &lake,
                &[
                    "detect",
                    "--as-of",
                    AS_OF,
                    "--lookback",
                    "31",
                    "--format",
                    "ndjson",
                ],
            )
        })
        .collect();
    let mut counts = Vec::new();
    for run in runs {
        let out = run.wait_with_output().expect("detect");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        counts.push(alert_count(&out));
    }
    let stored = lake.rows("SELECT run, count(*) AS n FROM alerts GROUP BY run");
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["n"].as_u64(), Some(counts[0] as u64));
}

#[test]
fn ingest_killed_at_any_moment_loses_and_doubles_nothing() {
    let clean = TestLake::new();
    pimwatch(&clean, &["ingest", &tenant_logs()]);
    let expected = table_rows(&clean);

    let lake = TestLake::new();
    let logs = tenant_logs();
    let mut kills = 0;
    for delay_ms in [30u64, 120, 250, 400, 700, 1100] {
        let mut child = spawn(&lake, &["ingest", &logs]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().ok().flatten().is_none() {
            kills += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // A reader after a kill sees a committed lake (maybe empty), never a half ingest.
        let rows = table_rows(&lake);
        assert!(
            rows.is_empty() || rows == expected,
            "after {delay_ms} ms: {rows:?}"
        );
    }
    assert!(kills >= 2, "at least some runs were killed midway");
    let out = pimwatch(&lake, &["ingest", &logs]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(table_rows(&lake), expected);
    let leftovers: Vec<PathBuf> = files_below(lake.lake.root())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let check = pimwatch(&lake, &["lake", "check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stdout));
}

#[test]
fn uncommitted_and_foreign_files_are_invisible_and_leftovers_are_cleared() {
    let lake = TestLake::new();
    lake.ingest(&[crate::support::sample(
        "otel-collector-contrib/pim-log.json",
    )]);
    let committed = lake.lake.table_files("audit_events").expect("files");
    let partition = committed[0].parent().expect("partition").to_path_buf();
    // What a writer killed mid-write leaves, and what a person drops in by hand.
    let temp = partition.join(".part-x.parquet.tmp");
    std::fs::write(&temp, b"half").expect("temp");
    let foreign = partition.join("copied-from-elsewhere.parquet");
    std::fs::copy(&committed[0], &foreign).expect("foreign");
    let garbage = lake.lake.table_dir("audit_events").join("date=garbage");
    std::fs::create_dir_all(&garbage).expect("folder");
    std::fs::copy(&committed[0], garbage.join("x.parquet")).expect("copy");

    assert_eq!(
        lake.count("audit_events"),
        3,
        "query reads committed files only"
    );
    let stats = table_rows(&lake);
    assert!(
        stats.contains(&("audit_events".to_string(), 3)),
        "stats agree: {stats:?}"
    );

    let check = pimwatch(&lake, &["lake", "check", "--format", "csv"]);
    assert_eq!(check.status.code(), Some(2));
    let report = text(&check.stdout);
    assert!(
        report.contains("foreign") && report.contains("copied-from-elsewhere.parquet"),
        "{report}"
    );
    assert!(
        report.contains("not a partition") && report.contains("date=garbage"),
        "{report}"
    );

    // The next writer clears the temporary file (and only that).
    lake.ingest(&[crate::support::sample(
        "otel-collector-contrib/pim-log.json",
    )]);
    assert!(!temp.exists());
    assert!(
        foreign.exists(),
        "a file pimwatch did not write is never deleted"
    );

    let repair = pimwatch(&lake, &["lake", "check", "--repair"]);
    assert_eq!(repair.status.code(), Some(0), "{}", text(&repair.stdout));
    assert!(!foreign.exists());
    assert!(lake.lake.root().join("_damaged/audit_events").exists());
    assert_eq!(pimwatch(&lake, &["lake", "check"]).status.code(), Some(0));
    assert_eq!(lake.count("audit_events"), 3);
}

#[test]
fn a_damaged_file_is_named_and_does_not_stop_queries_over_the_rest() {
    let lake = TestLake::new();
    lake.ingest(&[
        crate::support::sample("otel-collector-contrib/pim-log.json"),
        crate::support::sample(
            "microsoft-graph-docs/v1_users_signInActivity_example11_response.json",
        ),
    ]);
    let principals = lake.count("principals");
    let victim = lake.lake.table_files("audit_events").expect("files")[0].clone();
    let bytes = std::fs::read(&victim).expect("read");
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).expect("truncate");
    // A stored alert run that no longer reads.
    let out = pimwatch(
        &lake,
        &[
            "query",
            "SELECT count(*) AS n FROM principals",
            "--format",
            "csv",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "the user must act on a damaged lake"
    );
    assert_eq!(text(&out.stdout), format!("n\n{principals}\n"));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&victim.display().to_string()) && stderr.contains("lake check --repair"),
        "{stderr}"
    );
    let one = pimwatch(&lake, &["query", "SELECT 1 AS one", "--format", "csv"]);
    assert_eq!(text(&one.stdout), "one\n1\n");

    let check = pimwatch(&lake, &["lake", "check", "--repair", "--format", "csv"]);
    assert!(
        text(&check.stdout).contains("damaged"),
        "{}",
        text(&check.stdout)
    );
    let after = pimwatch(&lake, &["query", "SELECT count(*) AS n FROM principals"]);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after.stderr));
}

#[test]
fn corrupt_stored_alerts_do_not_block_other_tables() {
    let lake = sample_tenant_lake();
    let out = pimwatch(&lake, &["detect", "--as-of", AS_OF, "--lookback", "31"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let alerts = lake.lake.table_files("alerts").expect("alerts");
    // Parquet's magic at both ends, nonsense between: passes the cheap check, not the footer.
    let mut fake = b"PAR1".to_vec();
    fake.extend(std::iter::repeat_n(7u8, 64));
    fake.extend(b"PAR1");
    std::fs::write(&alerts[0], fake).expect("corrupt");
    let out = pimwatch(
        &lake,
        &[
            "query",
            "SELECT count(*) AS n FROM principals",
            "--format",
            "csv",
        ],
    );
    assert!(
        text(&out.stdout).starts_with("n\n"),
        "{}",
        text(&out.stderr)
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&alerts[0].display().to_string()) && stderr.contains("cannot be read"),
        "{stderr}"
    );
}

#[test]
fn runaway_queries_and_rules_fail_alone_within_limits() {
    let lake = sample_tenant_lake();
    // Deep expressions are planned on a large stack, not a crash.
    let deep = format!("SELECT {} AS x", vec!["1"; 2500].join("+"));
    let out = pimwatch(&lake, &["query", &deep, "--format", "csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "x\n2500\n");
    let unions = vec!["SELECT 1 AS x"; 1500].join(" UNION ALL ");
    let out = pimwatch(
        &lake,
        &[
            "query",
            &format!("SELECT count(*) AS n FROM ({unions})"),
            "--format",
            "csv",
        ],
    );
    assert_eq!(text(&out.stdout), "n\n1500\n", "{}", text(&out.stderr));

    // Memory: a cross join fails with the limit named.
    let out = pimwatch(
        &lake,
        &[
            "--memory-limit",
            "64MiB",
            "query",
            "SELECT a.raw, b.raw FROM sign_ins a, sign_ins b",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("more memory than the limit of 64 MiB"),
        "{}",
        text(&out.stderr)
    );

    // Rules: one that never ends, and one that needs too much, fail; the others report.
    for (id, sql, limit, expect) in [
        (
            "endless",
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) \
             SELECT CAST(max(n) AS VARCHAR) AS principal_id, 'x' AS summary FROM r",
            ["--query-timeout", "3"],
            "longer than the limit of 3 s",
        ),
        (
            "greedy",
            "SELECT a.user_id AS principal_id, b.raw AS summary FROM sign_ins a, sign_ins b",
            ["--memory-limit", "160MiB"],
            "more memory than the limit of 160 MiB",
        ),
    ] {
        let dir = lake.dir.path().join(id);
        let pack = pack_with(&dir, &[(id, sql)]).display().to_string();
        let mut args = vec!["--rules", pack.as_str()];
        args.extend(limit);
        args.extend([
            "detect",
            "--as-of",
            AS_OF,
            "--no-store",
            "--format",
            "ndjson",
        ]);
        let out = pimwatch(&lake, &args);
        assert_eq!(out.status.code(), Some(2), "{id}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("rule `{id}`")) && stderr.contains(expect),
            "{id}: {stderr}"
        );
        assert!(
            text(&out.stdout).contains("too-many-global-admins"),
            "{id}: the others report"
        );
    }
}

#[test]
fn ranges_are_checked_where_they_are_given() {
    let lake = sample_tenant_lake();
    let out = pimwatch(&lake, &["detect", "--lookback", "200000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("3650"), "{}", text(&out.stderr));
    for (config, expect) in [
        ("[rules]\nlookback_days = 200000\n", "lookback_days"),
        ("[rules.params.privileged-account-stale]\nstale_days = -100000000000\n", "between"),
        ("[break_glass]\npatterns = [\"(unclosed\"]\n", "patterns[0]"),
        ("[limits]\nmemory_mb = 1\n", "memory_mb"),
        (
            "[[suppressions]]\nrule = \"privileged-account-stale\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"3000-01-01\"\n",
            "1677",
        ),
    ] {
        let path = lake.write("pimwatch.toml", config).display().to_string();
        let out = pimwatch(&lake, &["--config", &path, "rules", "list"]);
        assert_eq!(out.status.code(), Some(2), "{config}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("pimwatch.toml") && stderr.contains(expect), "{config}: {stderr}");
    }
    // A TOML date needs no quotes.
    let path = lake
        .write(
            "dates.toml",
            "[[suppressions]]\nrule = \"privileged-account-stale\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-31\n",
        )
        .display()
        .to_string();
    let out = pimwatch(&lake, &["--config", &path, "rules", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_pack_view_may_not_shadow_a_table() {
    let lake = TestLake::new();
    let pack = pack_with(lake.dir.path(), &[]);
    std::fs::write(pack.join("views/audit_events.sql"), "SELECT 1 AS x").expect("view");
    let pack = pack.display().to_string();
    let out = pimwatch(&lake, &["--rules", &pack, "rules", "list"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("audit_events.sql") && stderr.contains("cannot be named"),
        "{stderr}"
    );
}

#[test]
fn odd_folders_are_walked_safely_and_the_rest_ingested() {
    let lake = TestLake::new();
    let inbox = lake.dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("sub")).expect("mkdir");
    std::fs::copy(
        crate::support::sample("otel-collector-contrib/pim-log.json"),
        inbox.join("sub/pim-log.json"),
    )
    .expect("copy");
    std::os::unix::fs::symlink(&inbox, inbox.join("sub/loop")).expect("loop");
    std::os::unix::fs::symlink(inbox.join("nowhere.json"), inbox.join("dangling.json"))
        .expect("dangling");
    let fifo = inbox.join("pipe.json");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let out = pimwatch(&lake, &["ingest", &inbox.display().to_string()]);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "what was skipped is reported: {stderr}"
    );
    assert!(
        stderr.contains("dangling.json") && stderr.contains("symbolic link"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pipe.json") && stderr.contains("not a regular file"),
        "{stderr}"
    );
    assert_eq!(lake.count("audit_events"), 3, "the rest is ingested, once");

    let file_lake = lake.write("not-a-lake", "x").display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_pimwatch"))
        .args(["--lake", &file_lake, "query", "SELECT 1"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is a file, not a lake folder"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn hostile_file_names_and_log_text_reach_the_terminal_inert() {
    let lake = TestLake::new();
    let name = "evil\u{1b}]0;owned\u{7}\u{202e}.json";
    let path = lake.write(name, [0u8, 1, 2, 3]);
    let out = pimwatch(&lake, &["ingest", &path.display().to_string()]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("evil"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}') && !stderr.contains('\u{202e}'),
        "{stderr:?}"
    );
}
