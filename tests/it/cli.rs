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

#[test]
fn query_refuses_writes_and_exits_2() {
    let lake = TestLake::new();
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
    let lake = TestLake::new();
    let out = pimwatch(&lake, &["query", "SELECT no_such_column FROM audit_events"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no_such_column"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn lake_stats_as_json() {
    let lake = TestLake::new();
    pimwatch(
        &lake,
        &[
            "ingest",
            &sample("otel-collector-contrib/pim-log.json")
                .display()
                .to_string(),
        ],
    );
    let out = pimwatch(&lake, &["lake", "stats", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let audit = doc["tables"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["table"] == "audit_events"))
        .expect("audit_events")
        .clone();
    assert_eq!(audit["rows"], 3);
    assert_eq!(audit["min_time"], "2026-04-10T21:43:40Z");
    assert_eq!(audit["max_time"], "2026-04-11T21:23:30Z");
    assert_eq!(doc["quarantine"]["records"], 0);
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
    // File sizes depend on the Parquet writer version: mask them.
    let stdout = text(&out.stdout).replace(&lake.lake.root().display().to_string(), "<lake>");
    let masked: Vec<String> = stdout
        .lines()
        .map(|line| {
            let mut cells: Vec<&str> = line.split_whitespace().collect();
            if cells.len() == 7 && cells[3].chars().all(|c| c.is_ascii_digit()) && cells[3] != "0" {
                cells[3] = "<bytes>";
            }
            cells.join(" ")
        })
        .collect();
    insta::assert_snapshot!(masked.join("\n"), @r"
    lake: <lake>
    table rows files bytes partitions from to
    audit_events 3 2 <bytes> 2 2026-04-10T21:43:40Z 2026-04-11T21:23:30Z
    sign_ins 0 0 0 0 - -
    principals 2 1 <bytes> 1 2026-11-28T06:00:00Z 2026-11-28T06:00:00Z
    role_definitions 0 0 0 0 - -
    role_assignments 0 0 0 0 - -
    role_eligibilities 0 0 0 0 - -
    role_requests 0 0 0 0 - -
    role_policies 0 0 0 0 - -
    group_members 0 0 0 0 - -
    quarantine: 26 record(s) in 1 file(s)
    ");
}
