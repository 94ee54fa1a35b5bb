//! The real binary: exit codes and messages a batch job and a person rely on.

use crate::support::{pimwatch, sample, text, TestLake};

#[test]
fn ingest_exits_2_when_an_input_cannot_be_read_but_keeps_the_others() {
    let lake = TestLake::new();
    let bad = lake.write("garbage.json", [0u8, 1, 2, 3, 255]);
    let good = sample("otel-collector-contrib/pim-log.json");
    let out = pimwatch(
        &lake,
        &[
            "ingest",
            &good.display().to_string(),
            &bad.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("garbage.json") && stderr.contains("binary"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("audit_events"));
    assert_eq!(lake.count("audit_events"), 3);
}

#[test]
fn ingest_of_a_missing_path_says_so() {
    let lake = TestLake::new();
    let out = pimwatch(&lake, &["ingest", "/no/such/export.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/no/such/export.json: no such file or folder"));
}

#[test]
fn ingest_summary_in_a_pipe_is_plain_text() {
    let lake = TestLake::new();
    let out = pimwatch(
        &lake,
        &[
            "ingest",
            &sample("otel-collector-contrib").display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout).replace(&lake.lake.root().display().to_string(), "<lake>");
    insta::assert_snapshot!(stdout, @r"
    Ingested 2 file(s), 4 record(s) into <lake>
    table                  rows added   duplicates
    audit_events                    4            0
    total                           4            0
    ");
    assert!(
        !text(&out.stderr).contains('\u{1b}'),
        "no progress bar escape codes in a pipe"
    );
}

/// A lake holding the three PIM events of one public sample.
fn lake_with_events() -> TestLake {
    let lake = TestLake::new();
    let out = pimwatch(
        &lake,
        &[
            "ingest",
            &sample("otel-collector-contrib/pim-log.json")
                .display()
                .to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    lake
}

#[test]
fn query_refuses_writes_and_exits_2() {
    let lake = lake_with_events();
    let out = pimwatch(&lake, &["query", "DROP TABLE audit_events"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("read-only"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn query_with_an_unknown_column_names_it() {
    let lake = lake_with_events();
    let out = pimwatch(&lake, &["query", "SELECT no_such_column FROM audit_events"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no_such_column"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn query_and_stats_refuse_a_missing_or_empty_lake_like_detect() {
    // A mistyped --lake must not answer "0" with success.
    let lake = TestLake::new();
    for args in [
        &["query", "SELECT count(*) FROM audit_events"][..],
        &["lake", "stats"][..],
        &["detect", "--as-of", "2026-10-31"][..],
    ] {
        let out = pimwatch(&lake, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("holds no data"),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    std::fs::create_dir_all(lake.lake.root()).expect("mkdir");
    let out = pimwatch(&lake, &["query", "SELECT 1"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an empty folder is no lake either"
    );
}

#[test]
fn query_binds_as_of_and_run_as_rules_do() {
    let lake = lake_with_events();
    let out = pimwatch(
        &lake,
        &[
            "query",
            "SELECT $as_of AS bound, (SELECT as_of FROM run) AS run_as_of, \
             count(*) AS before FROM audit_events WHERE time <= $as_of",
            "--as-of",
            "2026-04-11 00:00",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let row: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(row["bound"], "2026-04-11T00:00:00Z");
    assert_eq!(row["run_as_of"], "2026-04-11T00:00:00Z");
    assert_eq!(
        row["before"], 1,
        "one event of the sample is before the time"
    );
    assert!(
        text(&out.stderr).is_empty(),
        "the time was given: no note {}",
        text(&out.stderr)
    );
    let table = pimwatch(
        &lake,
        &["query", "SELECT 1 AS x", "--as-of", "2026-04-11T00:00:00"],
    );
    assert!(
        text(&table.stdout).starts_with("as of 2026-04-11T00:00:00Z\n"),
        "a result for people says as of when: {}",
        text(&table.stdout)
    );
}

#[test]
fn lake_stats_as_json() {
    let lake = lake_with_events();
    let out = pimwatch(&lake, &["lake", "stats", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    let row = |table: &str| {
        rows.iter()
            .find(|r| r["table"] == table)
            .unwrap_or_else(|| panic!("{table} in {rows:?}"))
            .clone()
    };
    let audit = row("audit_events");
    assert_eq!(audit["rows"], 3);
    assert_eq!(audit["from"], "2026-04-10T21:43:40Z");
    assert_eq!(audit["to"], "2026-04-11T21:23:30Z");
    assert_eq!(row("(quarantine)")["rows"], 0);
}

#[test]
fn lake_stats_table_for_people() {
    let lake = TestLake::new();
    let snapshot = "--snapshot-time=2026-11-28T06:00:00Z";
    pimwatch(
        &lake,
        &[
            "ingest",
            snapshot,
            &sample("otel-collector-contrib/pim-log.json")
                .display()
                .to_string(),
            &sample("microsoft-graph-docs/v1_users_signInActivity_example11_response.json")
                .display()
                .to_string(),
            &sample("panther-analysis/panther_rule_expectations.csv")
                .display()
                .to_string(),
        ],
    );
    let out = pimwatch(&lake, &["lake", "stats"]);
    assert_eq!(out.status.code(), Some(0));
    // File sizes depend on the Parquet writer version, and the heading says when: mask them.
    let stdout = text(&out.stdout).replace(&lake.lake.root().display().to_string(), "<lake>");
    let masked: Vec<String> = stdout
        .lines()
        .map(|line| {
            if line.starts_with("lake: ") {
                return "lake: <lake> (as of <now>)".to_string();
            }
            let mut cells: Vec<String> = line.split('|').map(str::to_string).collect();
            if cells.len() == 9 && cells[4].trim().chars().all(|c| c.is_ascii_digit()) {
                let bytes = cells[4].trim();
                if bytes != "0" {
                    cells[4] = format!("{:>w$}", "<b>", w = cells[4].len() - 1) + " ";
                }
            }
            cells.join("|")
        })
        .collect();
    insta::assert_snapshot!(masked.join("\n"));
    assert!(
        text(&out.stderr).is_empty() || text(&out.stderr).contains("warning:"),
        "only warnings on stderr: {}",
        text(&out.stderr)
    );
}

/// Runs the binary with stdout (and, when `stderr_too`, stderr) on a pipe whose reader is
/// already gone, as `pimwatch … | head` ends up once `head` has exited.
fn run_into_closed_pipe(lake: &TestLake, args: &[&str], stderr_too: bool) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pimwatch"));
    command.arg("--lake").arg(lake.lake.root()).args(args);
    command.stdout(writer.try_clone().expect("clone"));
    if stderr_too {
        command.stderr(writer);
    } else {
        command.stderr(std::process::Stdio::piped());
    }
    command.output().expect("run pimwatch")
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_is_an_error() {
    let lake = lake_with_events();
    // `query … | head`: no broken-pipe message, exit 0.
    let query = run_into_closed_pipe(&lake, &["query", "SELECT * FROM audit_events"], false);
    assert_eq!(query.status.code(), Some(0));
    assert!(query.stderr.is_empty(), "{}", text(&query.stderr));
    // `detect … 2>&1 | head`: notes to the closed stderr must not panic (101).
    let detect = run_into_closed_pipe(
        &lake,
        &["detect", "--as-of", "2026-04-12", "--no-store"],
        true,
    );
    assert_eq!(detect.status.code(), Some(0));
    // A result that cannot be written is not a success.
    let full = std::process::Command::new(env!("CARGO_BIN_EXE_pimwatch"))
        .arg("--lake")
        .arg(lake.lake.root())
        .args(["query", "SELECT * FROM audit_events"])
        .stdout(std::fs::File::create("/dev/full").expect("/dev/full"))
        .output()
        .expect("run pimwatch");
    assert_eq!(full.status.code(), Some(2));
    assert!(
        text(&full.stderr).contains("No space left on device"),
        "{}",
        text(&full.stderr)
    );
}

#[test]
fn output_writes_a_complete_file_and_nothing_to_stdout() {
    let lake = lake_with_events();
    let file = lake.dir.path().join("events.csv");
    let out = pimwatch(
        &lake,
        &[
            "query",
            "SELECT role_action, time FROM audit_events ORDER BY time",
            "--as-of",
            "2026-04-12",
            "--format",
            "csv",
            "--output",
            &file.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let csv = std::fs::read_to_string(&file).expect("the file");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("role_action,time\n"), "{csv}");
    let leftovers: Vec<_> = std::fs::read_dir(lake.dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A failing command leaves no file behind.
    let failed = lake.dir.path().join("failed.csv");
    let out = pimwatch(
        &lake,
        &[
            "query",
            "SELECT nope FROM audit_events",
            "--output",
            &failed.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!failed.exists());
}

#[test]
fn an_unreadable_pim_start_or_expiration_is_a_warning_naming_the_field() {
    let lake = TestLake::new();
    let line = std::fs::read_to_string(crate::support::data("formats/PT1H.json"))
        .expect("PT1H.json")
        .lines()
        .next()
        .expect("the PIM audit line")
        .replace("2027-03-07T08:00:00Z", "next spring");
    let file = lake.write("PT1H.json", line);
    let out = pimwatch(&lake, &["ingest", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("additionalDetails.ExpirationTime") && stdout.contains("next spring"),
        "{stdout}"
    );
    let rows = lake.rows("SELECT start_time, end_time FROM audit_events");
    assert_eq!(rows.len(), 1, "the event is kept");
    assert!(rows[0]["start_time"].is_string());
    assert!(rows[0]["end_time"].is_null());
}

#[test]
fn one_missing_path_does_not_stop_the_others() {
    let lake = TestLake::new();
    let good = sample("otel-collector-contrib/pim-log.json");
    let out = pimwatch(
        &lake,
        &[
            "ingest",
            "/no/such/export.json",
            &good.display().to_string(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "the user must act on the missing path"
    );
    assert!(text(&out.stderr).contains("/no/such/export.json: no such file or folder"));
    assert_eq!(lake.count("audit_events"), 3, "the other path was ingested");
}

#[test]
fn generate_refuses_a_used_folder_unless_forced() {
    let lake = TestLake::new();
    let used = lake.write("tenant/notes.txt", "someone else's files");
    let folder = used.parent().expect("folder").display().to_string();
    let args = [
        "generate",
        "--out",
        folder.as_str(),
        "--users",
        "20",
        "--days",
        "1",
    ];
    let out = pimwatch(&lake, &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not empty") && text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    assert!(!used
        .parent()
        .expect("folder")
        .join("manifest.json")
        .exists());
    let forced = pimwatch(
        &lake,
        &[
            &args[..],
            &["--force", "--scenarios", "stale-privileged-account"],
        ]
        .concat(),
    );
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
}

#[test]
fn help_names_only_what_exists_and_what_applies() {
    let lake = TestLake::new();
    let help = |args: &[&str]| {
        let out = pimwatch(&lake, args);
        assert_eq!(out.status.code(), Some(0));
        text(&out.stdout)
    };
    let generate = help(&["generate", "--help"]);
    for absent in ["--lake", "--rules", "--config", "PolicySettings", "pull"] {
        assert!(
            !generate.contains(absent),
            "{absent} in generate --help:\n{generate}"
        );
    }
    let seed = generate
        .lines()
        .skip_while(|l| !l.contains("--seed"))
        .nth(1)
        .unwrap_or_default();
    assert!(seed.contains("seed"), "--seed explains itself:\n{generate}");
    for command in [&["ingest", "--help"][..], &["detect", "--help"]] {
        let text = help(command);
        assert!(!text.contains("pull"), "{command:?}:\n{text}");
    }
    let top = help(&["--help"]);
    assert!(top.contains("--lake"));
    for command in ["pull", "run", "report", "alerts"] {
        assert!(
            top.contains(&format!("  {command} ")),
            "{command} in --help:\n{top}"
        );
    }
}

#[test]
fn as_of_takes_a_time_without_zone_as_utc_and_names_the_accepted_forms() {
    let lake = lake_with_events();
    for given in [
        "2026-04-12T00:00:00",
        "2026-04-12 00:00",
        "2026-04-12",
        "2026-04-12T02:00:00+02:00",
    ] {
        let out = pimwatch(
            &lake,
            &[
                "query",
                "SELECT $as_of AS t",
                "--as-of",
                given,
                "--format",
                "csv",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{given}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "t\n2026-04-12T00:00:00Z\n", "{given}");
    }
    let bad = pimwatch(&lake, &["detect", "--as-of", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
    let error = text(&bad.stderr);
    assert!(
        error.contains("2026-10-31T00:00:00Z") && error.contains("2026-10-31 00:00"),
        "the error shows the accepted forms: {error}"
    );
}

#[test]
fn detect_over_stale_data_says_so_and_names_the_as_of_to_use() {
    let lake = TestLake::new();
    lake.ingest(
        &[std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/tenant/logs")],
    );
    // No --as-of: now, a month or more after the sample tenant's last day.
    let out = pimwatch(&lake, &["detect", "--no-store"]);
    assert_eq!(out.status.code(), Some(2), "the user must act");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("WARNING: the lake's newest event is from 2026-10-3")
            && stderr.contains("run with --as-of 2026-10-31T00:00:00Z"),
        "{stderr}"
    );
    let fresh = pimwatch(
        &lake,
        &["detect", "--no-store", "--as-of", "2026-10-31T00:00:00Z"],
    );
    assert_eq!(fresh.status.code(), Some(0), "{}", text(&fresh.stderr));
    assert!(
        !text(&fresh.stderr).contains("WARNING"),
        "{}",
        text(&fresh.stderr)
    );
}

#[test]
fn ingest_exits_2_when_records_went_to_the_quarantine() {
    let lake = TestLake::new();
    let good =
        std::fs::read_to_string(sample("otel-collector-contrib/pim-log.json")).expect("sample");
    let file = lake.write("mixed.ndjson", format!("{{\"broken\": \n{}", good.trim()));
    let out = pimwatch(&lake, &["ingest", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("in the quarantine"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("quarantined: 1 record(s)"),
        "{}",
        text(&out.stdout)
    );
}
