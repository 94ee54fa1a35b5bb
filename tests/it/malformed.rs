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

fn graph_page(records: &[String], pretty: bool) -> String {
    let context = "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits";
    if pretty {
        format!(
            "{{\n  \"@odata.context\": \"{context}\",\n  \"value\": [\n    {}\n  ]\n}}\n",
            records.join(",\n    ")
        )
    } else {
        format!(
            "{{\"@odata.context\":\"{context}\",\"value\":[{}]}}",
            records.join(",")
        )
    }
}

#[test]
fn ndjson_whose_first_line_is_truncated_keeps_the_other_99() {
    let lake = TestLake::new();
    let mut lines: Vec<String> = (0..100).map(|i| audit(&format!("Directory_{i}"))).collect();
    lines[0].truncate(50);
    let path = lake.write("audits.ndjson", lines.join("\n"));
    let report = lake.ingest(&[path]);
    assert_eq!(lake.count("audit_events"), 99);
    assert_eq!(report.quarantined(), 1);
    assert_eq!(lake.quarantine()[0]["line"].as_u64(), Some(1));
}

#[test]
fn a_stray_windows_byte_loses_no_record() {
    let lake = TestLake::new();
    let records: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|id| audit(&format!("Directory_{id}")))
        .collect();
    let mut bytes = graph_page(&records, true).into_bytes();
    // `a@x.com` of the second record becomes `a\xe9x.com`: Latin-1 é, not UTF-8.
    let second = bytes
        .windows(7)
        .enumerate()
        .filter(|(_, w)| w == b"a@x.com")
        .nth(1)
        .map(|(i, _)| i)
        .expect("second record");
    bytes[second + 1] = 0xe9;
    let path = lake.write("page.json", bytes);
    let report = lake.ingest(&[path]);
    assert_eq!(report.quarantined(), 0);
    assert_eq!(lake.count("audit_events"), 3);
    let upns: Vec<String> = lake
        .rows("SELECT actor_upn FROM audit_events ORDER BY actor_upn")
        .iter()
        .filter_map(|r| s(r, "actor_upn"))
        .collect();
    assert!(upns.contains(&"aéx.com".to_string()), "{upns:?}");
    assert!(
        report.files[0]
            .record_warnings
            .iter()
            .any(|w| w.contains("Windows-1252")),
        "{:?}",
        report.files[0]
    );
}

#[test]
fn a_page_after_thousands_of_blank_lines_is_read() {
    let lake = TestLake::new();
    let page = format!("{}{}", "\n".repeat(9000), graph_page(&[audit("x")], false));
    let path = lake.write("late.json", page);
    let report = lake.ingest(&[path]);
    assert_eq!(report.failed_files().count(), 0, "{:?}", report.files);
    assert_eq!(lake.count("audit_events"), 1);
}

#[test]
fn a_bad_record_of_a_one_line_page_is_named_by_its_number() {
    let lake = TestLake::new();
    let records = vec![
        audit("a"),
        r#"{"id":"b","activityDateTime":"not a time"}"#.to_string(),
        audit("c"),
    ];
    let path = lake.write("page.json", graph_page(&records, false));
    let report = lake.ingest(&[path]);
    assert_eq!(lake.count("audit_events"), 2);
    assert_eq!(report.quarantined(), 1);
    let entry = &lake.quarantine()[0];
    assert_eq!(entry["line"].as_u64(), Some(1));
    assert_eq!(entry["record_number"].as_u64(), Some(2), "{entry}");
}

#[test]
fn a_csv_row_with_a_stray_quote_costs_only_that_row() {
    let lake = TestLake::new();
    let csv =
        std::fs::read_to_string(crate::support::data("formats/la_auditlogs.csv")).expect("csv");
    let mut lines = csv.lines();
    let header = lines.next().expect("header");
    let row = lines.next().expect("row");
    // The same event under another id, and before it a row with an unterminated quote.
    let mut fields: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(row.as_bytes())
        .records()
        .next()
        .expect("a record")
        .expect("the row")
        .iter()
        .map(str::to_string)
        .collect();
    let id = header
        .split(',')
        .position(|h| h == "Id")
        .expect("an Id column");
    fields[id] = format!("{}-again", fields[id]);
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&fields).expect("row");
    let second = String::from_utf8(writer.into_inner().expect("csv")).expect("utf8");
    let second = second.trim_end();
    let broken = "4f7a7bc2-28e2-46a3-b90e-5ade5bc90138,\"Azure AD,oops";
    let path = lake.write(
        "AuditLogs.csv",
        format!("{header}\n{row}\n{broken}\n{second}\n"),
    );
    let report = lake.ingest(&[path]);
    assert_eq!(report.quarantined(), 1, "{:?}", lake.quarantine());
    assert_eq!(
        lake.count("audit_events"),
        2,
        "the row after the broken one is kept"
    );
    let entry = &lake.quarantine()[0];
    assert_eq!(entry["line"].as_u64(), Some(3));
    assert!(
        entry["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("unterminated quote"),
        "{entry}"
    );
}

#[test]
fn a_latin_1_export_is_text_not_binary() {
    let lake = TestLake::new();
    let csv = std::fs::read(crate::support::data("formats/portal_audit.csv")).expect("csv");
    // A name written by a Windows tool in Latin-1: `Mallory` becomes `Malléry`.
    let at = csv
        .windows(7)
        .position(|w| w == b"Mallory")
        .expect("the actor")
        + 4;
    let mut latin = csv.clone();
    latin[at] = 0xe9;
    let path = lake.write("portal.csv", latin);
    let report = lake.ingest(&[path]);
    assert_eq!(report.failed_files().count(), 0, "{:?}", report.files);
    assert_eq!(report.rows_added(), 1);
    let rows = lake.rows("SELECT actor_name FROM audit_events");
    assert_eq!(s(&rows[0], "actor_name").as_deref(), Some("Malléry"));
}

#[test]
fn the_quarantine_keeps_a_bounded_sample_and_does_not_grow_on_retry() {
    let lake = TestLake::new();
    let lines: Vec<String> = (0..1500).map(|i| format!("{{\"broken\": {i}")).collect();
    let path = lake.write("bad.ndjson", lines.join("\n"));
    let first = lake.ingest(std::slice::from_ref(&path));
    assert_eq!(first.quarantined(), 1500);
    assert_eq!(lake.quarantine().len(), 1000, "the first thousand are kept");
    let again = lake.ingest(&[path]);
    assert_eq!(
        again.quarantined(),
        1500,
        "the report says what this reading found"
    );
    assert_eq!(lake.quarantine().len(), 1000, "re-ingesting adds nothing");
    let stats = pimwatch::lake::lake_stats(&lake.lake).expect("stats");
    assert_eq!(stats.quarantine.total, 1500);
    assert_eq!(stats.quarantine.kept, 1000);
    assert_eq!(stats.quarantine.inputs, 1);
}

#[test]
fn utf16_exports_from_windows_powershell_are_read() {
    let lake = TestLake::new();
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(audit("u").encode_utf16().flat_map(u16::to_le_bytes));
    let path = lake.write("out-file.json", bytes);
    let report = lake.ingest(&[path]);
    assert_eq!(report.failed_files().count(), 0, "{:?}", report.files);
    assert_eq!(lake.count("audit_events"), 1);
}
