//! `pimwatch run`, the scheduled job: the inbox ingested and moved to done/ or failed/,
//! detect stored, the configured reports written, one log line per stage (text or JSON), the
//! exit code a scheduler acts on, and one run at a time per lake.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{pimwatch, pimwatch_command, text, TestLake};

const AS_OF: &str = "2026-11-01T00:00:00Z";

/// A working folder with `pimwatch.toml`, an inbox holding the rule fixtures' healthy tenant
/// and a stale admin as exported on 2026-11-01, and a file that is not an export.
fn setup(lake: &TestLake, fail_on: &str) -> PathBuf {
    let work = lake.dir.path().join("work");
    let snapshot = work.join("inbox/snapshot=20261101T000000Z");
    std::fs::create_dir_all(&snapshot).expect("inbox");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/fixtures");
    for entry in std::fs::read_dir(fixtures.join("healthy")).expect("fixtures") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, snapshot.join(path.file_name().expect("name"))).expect("copy");
    }
    std::fs::copy(
        fixtures.join("risky/stale-admin.json"),
        snapshot.join("stale-admin.json"),
    )
    .expect("copy");
    std::fs::write(work.join("inbox/notes.json"), "{ this is not an export").expect("write");
    std::fs::write(
        work.join("pimwatch.toml"),
        format!(
            "[run]\ninbox = \"inbox\"\nlookback_days = 30\nfail_on = \"{fail_on}\"\n\n\
             [[run.reports]]\nreport = \"alerts\"\nformat = \"html\"\npath = \"reports/alerts-{{run}}.html\"\n\n\
             [[run.reports]]\nreport = \"access-review\"\nformat = \"csv\"\npath = \"reports/review-{{run}}.csv\"\n"
        ),
    )
    .expect("config");
    work
}

/// `run` with the work folder's config, as of `as_of`.
fn run(lake: &TestLake, work: &Path, as_of: &str, extra: &[&str]) -> std::process::Output {
    let config = work.join("pimwatch.toml");
    let mut args = vec![
        "--config",
        config.to_str().expect("path"),
        "run",
        "--as-of",
        as_of,
    ];
    args.extend_from_slice(extra);
    pimwatch(lake, &args)
}

#[test]
fn a_run_ingests_the_inbox_detects_and_writes_the_reports() {
    let lake = TestLake::new();
    let work = setup(&lake, "critical");
    let out = run(&lake, &work, AS_OF, &[]);
    let log = text(&out.stderr);
    // The file that is not an export needs a person: exit 2, but everything else was done.
    assert_eq!(out.status.code(), Some(2), "{log}");
    let stages: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" run 20261101T000000Z "))
        .collect();
    assert_eq!(stages.len(), 4, "{log}");
    assert!(stages[0].contains(" ingest NEEDS ATTENTION ") && stages[0].contains("notes.json"));
    assert!(
        stages[1].contains(" detect ok ") && stages[1].contains("2 open alert(s)"),
        "{log}"
    );
    assert!(stages[2].contains(" report ok ") && stages[3].contains(" report ok "));
    assert!(text(&out.stdout).starts_with("run 20261101T000000Z: 2 open alert(s)"));

    let inbox = work.join("inbox");
    assert!(inbox
        .join("done/20261101T000000Z/snapshot=20261101T000000Z/stale-admin.json")
        .is_file());
    assert!(inbox.join("failed/20261101T000000Z/notes.json").is_file());
    assert!(!inbox.join("notes.json").exists());
    let html = std::fs::read_to_string(work.join("reports/alerts-20261101T000000Z.html"))
        .expect("the alert report");
    assert!(html.contains("privileged-account-stale"));
    let review = std::fs::read_to_string(work.join("reports/review-20261101T000000Z.csv"))
        .expect("the review");
    assert!(review.starts_with("group,principal,"));
    assert!(review.contains("stale account"), "{review}");

    // The next run: nothing new in the inbox, JSON logs, the alerts are ongoing; fail_on is
    // not reached (no critical), so 0.
    let out = run(
        &lake,
        &work,
        "2026-11-01T06:00:00Z",
        &["--log-format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .collect();
    let stages: Vec<&str> = lines.iter().filter_map(|l| l["stage"].as_str()).collect();
    assert_eq!(stages, ["ingest", "detect", "report", "report"]);
    assert_eq!(lines[0]["entries"], 0);
    assert_eq!(lines[1]["open"], 2);
    assert_eq!(lines[1]["new"], 0);
    assert!(lines
        .iter()
        .all(|l| l["ok"] == true && l["run"] == "20261101T060000Z"));

    // --fail-on over the config's: a medium alert is open, so 1.
    let out = run(
        &lake,
        &work,
        "2026-11-01T07:00:00Z",
        &["--fail-on", "medium"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn one_run_at_a_time_and_the_second_does_nothing() {
    let lake = TestLake::new();
    let work = setup(&lake, "critical");
    std::fs::remove_file(work.join("inbox/notes.json")).expect("remove");

    // A run holds the lock: another exits 2 at once, naming it, with the inbox untouched.
    let held = lake.lake.lock_run().expect("the run lock");
    let out = run(&lake, &work, AS_OF, &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("another `pimwatch run` is running"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("process {}", std::process::id())),
        "{stderr}"
    );
    assert!(work.join("inbox/snapshot=20261101T000000Z").is_dir());
    assert!(!work.join("inbox/done").exists());
    drop(held);

    // Two started together: each either ran or was refused with the lock message, at least
    // one ran, and the lake holds the run once, with every row once.
    let spawn = || {
        let config = work.join("pimwatch.toml");
        pimwatch_command(
            &lake,
            &[
                "--config",
                config.to_str().expect("path"),
                "run",
                "--as-of",
                AS_OF,
            ],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn pimwatch")
    };
    let (first, second) = (spawn(), spawn());
    let outputs = [
        first.wait_with_output().expect("first"),
        second.wait_with_output().expect("second"),
    ];
    let ran = outputs
        .iter()
        .filter(|o| o.status.code() == Some(0))
        .count();
    assert!(
        ran >= 1,
        "{:?}",
        outputs.iter().map(|o| text(&o.stderr)).collect::<Vec<_>>()
    );
    for output in outputs.iter().filter(|o| o.status.code() != Some(0)) {
        assert!(
            text(&output.stderr).contains("another `pimwatch run` is running"),
            "{}",
            text(&output.stderr)
        );
    }
    let runs = lake.rows("SELECT count(DISTINCT run_id) AS n, count(*) AS alerts FROM alerts");
    assert_eq!(runs[0]["n"], 1);
    assert_eq!(runs[0]["alerts"], 2);
    let principals =
        lake.rows("SELECT count(*) AS n, count(DISTINCT principal_id) AS ids FROM principals");
    assert_eq!(principals[0]["n"], principals[0]["ids"], "every row once");
}

#[test]
fn run_settings_are_checked_when_config_loads() {
    let lake = TestLake::new();
    for (toml, expected) in [
        ("[run]\ninbox = 3\n", "expected path string"),
        ("[run]\nfail_on = \"urgent\"\n", "unknown variant `urgent`"),
        ("[run]\nlookback_days = 0\n", "lookback_days = 0"),
        (
            "[[run.reports]]\nreport = \"alerts\"\nformat = \"html\"\npath = \"x.html\"\nperiod_days = 30\n",
            "period_days is for access-review",
        ),
        (
            "[[run.reports]]\nreport = \"access-review\"\nformat = \"ocsf\"\npath = \"x\"\n",
            "ocsf is a format for alerts",
        ),
        (
            "[[run.reports]]\nreport = \"weekly\"\nformat = \"html\"\npath = \"x\"\n",
            "weekly",
        ),
    ] {
        let config = lake.write("pimwatch.toml", toml);
        let out = pimwatch(&lake, &["--config", config.to_str().expect("path"), "run"]);
        assert_eq!(out.status.code(), Some(2), "{toml}");
        assert!(text(&out.stderr).contains(expected), "{toml}: {}", text(&out.stderr));
    }
}

/// The cron line, the systemd unit's ExecStart and the CronJob's args in docs/scheduling.md
/// are commands that work: each is run here as written (its folders moved into a temporary
/// one) on a lake, and logs its stages as JSON.
#[test]
fn the_scheduling_guide_commands_run_as_written() {
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scheduling.md"))
            .expect("docs/scheduling.md");
    let cron = guide
        .lines()
        .find(|l| l.starts_with("7 * * * *"))
        .expect("the cron line");
    let exec = guide
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("the ExecStart line");
    let args_line = guide
        .lines()
        .find(|l| l.trim_start().starts_with("args: ["))
        .expect("the CronJob args");
    let job_args: Vec<String> = {
        let start = guide.find(args_line).expect("args");
        let rest = &guide[start..];
        let list = &rest[rest.find('[').expect("[") + 1..rest.find(']').expect("]")];
        list.split(',')
            .map(|a| a.trim().trim_matches('"').to_string())
            .filter(|a| !a.is_empty())
            .collect()
    };
    let cron_command = cron
        .split("&& ")
        .nth(1)
        .and_then(|c| c.split(" 2>&1").next())
        .expect("the command of the cron line");

    let lake = TestLake::new();
    let work = setup(&lake, "critical");
    std::fs::remove_file(work.join("inbox/notes.json")).expect("remove");
    let root = lake.dir.path().to_str().expect("path").to_string();
    let localize = |text: &str| {
        text.replace("/srv/pimwatch", &root)
            .replace("/data", &root)
            .replace(
                "/config/pimwatch.toml",
                work.join("pimwatch.toml").to_str().expect("path"),
            )
    };
    for (name, command) in [
        ("cron", cron_command.to_string()),
        ("systemd", exec.to_string()),
        (
            "kubernetes",
            format!("/usr/local/bin/pimwatch {}", job_args.join(" ")),
        ),
    ] {
        let words: Vec<String> = localize(&command)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert!(words[0].ends_with("/pimwatch"), "{name}: {command}");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pimwatch"))
            .args(&words[1..])
            .args(["--as-of", AS_OF])
            .current_dir(&work)
            .output()
            .expect("run pimwatch");
        let log = text(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{name}: {command}\n{log}"
        );
        let stages: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("{name}: not JSON: {l}")))
            .collect();
        assert!(
            stages.iter().any(|s| s["stage"] == "detect"),
            "{name}: {log}"
        );
    }
}
