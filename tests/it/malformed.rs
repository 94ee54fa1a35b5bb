//! Bad input never panics and never loses data: a clear message naming the file, line or
//! field; bad records in quarantine; good records of the same file kept.

use std::io::Write;

use crate::support::{s, TestLake};

const AUDIT: &str = r#"{"id":"Directory_1","category":"RoleManagement","activityDisplayName":"Add member to role","activityDateTime":"2026-11-01T10:00:00Z","loggedByService":"Core Directory","result":"success","initiatedBy":{"user":{"id":"u1","userPrincipalName":"a@x.com"}},"targetResources":[{"id":"p1","type":"User","modifiedProperties":[{"displayName":"Role.TemplateId","oldValue":null,"newValue":"\"62e90394-69f5-4237-9190-012177145e10\""}]}]}"#;

fn audit(id: &str) -> String {
    AUDIT.replace("Directory_1", id)
}

#[test]
fn truncated_graph_page_keeps_the_records_before_the_break() {
    let lake = TestLake::new();
    let page = format!(
        "{{\n  \"@odata.context\": \"https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits\",\n  \"value\": [\n{},\n{},\n{}",
        audit("a"),
        audit("b"),
        &audit("c")[..60]
    );
    let path = lake.write("truncated.json", page);
    let report = lake.ingest(&[path]);
    assert_eq!(lake.count("audit_events"), 2);
    assert_eq!(report.quarantined(), 1);
    let reason = lake.quarantine()[0]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("truncated") && reason.contains("2 record(s) before it were read"),
        "{reason}"
    );
    assert!(
        lake.quarantine()[0]["line"].as_u64().is_some(),
        "the break is located by line"
    );
}

#[test]
fn wrong_types_quarantine_the_record_and_name_the_field() {
    let lake = TestLake::new();
    let bad_time = audit("bad-time").replace("\"2026-11-01T10:00:00Z\"", "12345");
    let bad_targets = audit("bad-targets").replace(
        &AUDIT[AUDIT.find("\"targetResources\"").unwrap_or(0)..AUDIT.len() - 1],
        "\"targetResources\":42",
    );
    let lines = [audit("good-1"), bad_time, bad_targets, audit("good-2")].join("\n");
    let path = lake.write("types.ndjson", lines);
    let report = lake.ingest(&[path]);
    assert_eq!(lake.count("audit_events"), 2);
    assert_eq!(report.quarantined(), 2);
    let quarantine = lake.quarantine();
    assert_eq!(quarantine[0]["line"].as_u64(), Some(2));
    assert!(quarantine[0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("field `activityDateTime`"));
    assert_eq!(quarantine[1]["line"].as_u64(), Some(3));
    assert!(quarantine[1]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("field `targetResources`"));
    // The rejected record itself is kept, parsed, for a later look.
    assert_eq!(quarantine[1]["record"]["id"].as_str(), Some("bad-targets"));
}

#[test]
fn invalid_json_line_is_quarantined_with_its_text() {
    let lake = TestLake::new();
    let path = lake.write(
        "lines.ndjson",
        format!("{}\n{{\"id\": \"oops\",\n{}\n", audit("x"), audit("y")),
    );
    lake.ingest(&[path]);
    assert_eq!(lake.count("audit_events"), 2);
    let q = lake.quarantine();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["line"].as_u64(), Some(2));
    assert_eq!(q[0]["record"].as_str(), Some("{\"id\": \"oops\","));
}

#[test]
fn unreadable_files_are_errors_naming_the_problem_and_others_still_ingest() {
    let lake = TestLake::new();
    let good = lake.write("good.json", audit("good"));
    let unknown = lake.write("notes.log", "hello this is not an export\n");
    let binary = lake.write("blob.json", [0u8, 159, 146, 150, 0, 1, 2, 3]);
    let xml = lake.write("events.json", "<Events><Event/></Events>");
    let report = lake.ingest(&[good, unknown.clone(), binary.clone(), xml.clone()]);
    assert_eq!(lake.count("audit_events"), 1);
    let error_of = |path: &std::path::Path| {
        report
            .files
            .iter()
            .find(|f| f.name == path.display().to_string())
            .and_then(|f| f.error.clone())
            .unwrap_or_default()
    };
    assert!(
        error_of(&unknown).contains("unknown format"),
        "{}",
        error_of(&unknown)
    );
    assert!(
        error_of(&binary).contains("binary"),
        "{}",
        error_of(&binary)
    );
    assert!(
        error_of(&xml).contains("XML is not supported"),
        "{}",
        error_of(&xml)
    );
    assert_eq!(report.failed_files().count(), 3);
}

#[test]
fn empty_file_is_a_warning_not_an_error() {
    let lake = TestLake::new();
    let path = lake.write("empty.json", "\n  \n");
    let report = lake.ingest(&[path]);
    assert_eq!(report.failed_files().count(), 0);
    assert!(report.files[0]
        .warning
        .as_deref()
        .is_some_and(|w| w.contains("empty")));
}

#[test]
fn gzip_input_is_read_transparently() {
    let lake = TestLake::new();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(format!("{}\n{}\n", audit("g1"), audit("g2")).as_bytes())
        .expect("gzip");
    let path = lake.write("PT1H.json.gz", encoder.finish().expect("gzip"));
    lake.ingest(&[path]);
    let rows = lake.rows("SELECT role_id FROM audit_events");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        s(&rows[0], "role_id").as_deref(),
        Some("62e90394-69f5-4237-9190-012177145e10")
    );
}

#[test]
fn a_100_mb_single_line_does_not_break_the_file() {
    let lake = TestLake::new();
    // One huge valid record, one huge unterminated record, then a normal one.
    let huge = "x".repeat(100 * 1024 * 1024);
    let big_valid = audit("big").replace(
        "\"result\":\"success\"",
        &format!("\"result\":\"success\",\"resultReason\":\"{huge}\""),
    );
    let big_broken = format!("{{\"id\":\"broken\",\"resultReason\":\"{huge}");
    let path = lake.write(
        "huge.ndjson",
        format!("{big_valid}\n{big_broken}\n{}\n", audit("after")),
    );
    drop(huge);
    let report = lake.ingest(&[path]);
    assert_eq!(report.failed_files().count(), 0);
    assert_eq!(lake.count("audit_events"), 2);
    let q = lake.quarantine();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["line"].as_u64(), Some(2));
    assert!(q[0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("not valid JSON"));
}
