//! `query` is read-only, exposes JSON functions on `raw`, and writes every format safely.

use pimwatch::engine::{Engine, EngineError};
use pimwatch::report::{write_batches, Format};

use crate::support::{s, sample, TestLake};

fn run(
    lake: &TestLake,
    sql: &str,
) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>, EngineError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let engine = Engine::open(&lake.lake).await?;
        engine.query(sql).await
    })
}

fn render(lake: &TestLake, sql: &str, format: Format) -> String {
    let batches = run(lake, sql).expect("query");
    let mut out = Vec::new();
    write_batches(format, &batches, &mut out).expect("write");
    String::from_utf8(out).expect("utf8")
}

#[test]
fn statements_that_write_are_refused_with_a_clear_message() {
    let lake = TestLake::new();
    lake.ingest(&[sample("otel-collector-contrib/pim-log.json")]);
    for sql in [
        "DROP TABLE audit_events",
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO audit_events SELECT * FROM audit_events",
        "COPY audit_events TO '/tmp/pimwatch-copy-test.csv'",
        "SET datafusion.execution.batch_size = 1",
        "CREATE VIEW v AS SELECT 1",
    ] {
        match run(&lake, sql) {
            Err(EngineError::ReadOnly(message)) => {
                assert!(message.contains("read the lake"), "{message}")
            }
            other => panic!("{sql} was not refused: {:?}", other.map(|b| b.len())),
        }
    }
    assert!(!std::path::Path::new("/tmp/pimwatch-copy-test.csv").exists());
    assert_eq!(lake.count("audit_events"), 3);
}

#[test]
fn empty_lake_has_every_table_with_its_schema() {
    let lake = TestLake::new();
    for table in [
        "audit_events",
        "sign_ins",
        "principals",
        "role_definitions",
        "role_assignments",
        "role_eligibilities",
        "role_requests",
        "role_policies",
        "group_members",
    ] {
        assert_eq!(lake.count(table), 0, "{table}");
    }
    let rows = lake.rows("SELECT role_action, date FROM audit_events");
    assert!(rows.is_empty());
}

#[test]
fn json_functions_read_the_raw_record() {
    let lake = TestLake::new();
    lake.ingest(&[sample("otel-collector-contrib/pim-log.json")]);
    let rows = lake.rows(
        "SELECT json_get_str(raw, 'properties', 'EventName') AS event_name FROM audit_events ORDER BY time",
    );
    let names: Vec<_> = rows.iter().filter_map(|r| s(r, "event_name")).collect();
    assert_eq!(
        names,
        [
            "RemoveActivatedRole",
            "CreateRequestRoleActivation",
            "ActivateRole"
        ]
    );
}

#[test]
fn csv_output_neutralizes_formulas_from_log_fields() {
    let lake = TestLake::new();
    let record = r#"{"id":"Directory_f","category":"UserManagement","activityDisplayName":"Update user","activityDateTime":"2026-11-01T10:00:00Z","loggedByService":"Core Directory","initiatedBy":{"user":{"id":"u1","displayName":"=HYPERLINK(\"http://evil\",\"x\")","userPrincipalName":"a@x.com"}}}"#;
    let path = lake.write("formula.json", record);
    lake.ingest(&[path]);
    let csv = render(
        &lake,
        "SELECT actor_name, actor_upn FROM audit_events",
        Format::Csv,
    );
    insta::assert_snapshot!(csv, @r#"
    actor_name,actor_upn
    "'=HYPERLINK(""http://evil"",""x"")",a@x.com
    "#);
}

#[test]
fn every_output_format_renders_the_same_rows() {
    let lake = TestLake::new();
    lake.ingest(&[sample("otel-collector-contrib/pim-log.json")]);
    let sql = "SELECT role_action, request_id, time FROM audit_events ORDER BY time";
    insta::assert_snapshot!("query_table", render(&lake, sql, Format::Table));
    insta::assert_snapshot!("query_csv", render(&lake, sql, Format::Csv));
    insta::assert_snapshot!("query_json", render(&lake, sql, Format::Json));
    insta::assert_snapshot!("query_ndjson", render(&lake, sql, Format::Ndjson));
    insta::assert_snapshot!("query_md", render(&lake, sql, Format::Md));
    assert_eq!(
        render(&lake, "SELECT 1 AS x WHERE false", Format::Json).trim(),
        "[]"
    );
}

#[test]
fn hostile_log_text_is_inert_in_the_terminal_and_in_markdown() {
    let lake = TestLake::new();
    let name =
        "Eve\u{1b}]0;pwned\u{7} | <img src=x onerror=alert(1)> [click](http://evil)\nsecond line";
    let record = serde_json::json!({
        "id": "Directory_h", "category": "UserManagement", "activityDisplayName": "Update user",
        "activityDateTime": "2026-11-01T10:00:00Z", "loggedByService": "Core Directory",
        "initiatedBy": {"user": {"id": "u1", "displayName": name, "userPrincipalName": "e@x.com"}}
    });
    let path = lake.write("hostile.json", record.to_string());
    lake.ingest(&[path]);
    let sql = "SELECT actor_name FROM audit_events";
    let table = render(&lake, sql, Format::Table);
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}'),
        "{table:?}"
    );
    assert_eq!(table.lines().count(), 6, "one row stays one line: {table}");
    let md = render(&lake, sql, Format::Md);
    insta::assert_snapshot!("query_md_hostile", md);
    assert!(!md.contains("<img") && !md.contains("[click]("), "{md}");
}
