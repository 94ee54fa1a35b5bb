//! The same Graph objects written as Graph pages, Event Hub blobs and Log Analytics exports
//! normalize to the same rows, with the same dedupe keys: a lake fed by several channels
//! holds each event once.

use std::path::Path;

use pimwatch::generate::channels::{Channel, ChannelWriter, LogKind};
use serde_json::Value;

use crate::support::{data, sample, Row, TestLake};

const TENANT: &str = "4f7a7bc2-28e2-46a3-b90e-5ade5bc90138";

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON")
}

/// Graph objects from the public samples and the hand-made Event Hub files.
fn graph_objects() -> (Vec<Value>, Vec<Value>) {
    let mut audits = Vec::new();
    for page in [
        "microsoft-graph-docs/v1_directoryAudits_list_example1_response.json",
        "microsoft-graph-docs/v1_directoryAudits_list_example2_response.json",
    ] {
        audits.extend(
            read_json(&sample(page))["value"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    let message = read_json(&data("formats/eventhub_auditlogs_message.json"));
    for record in message["records"].as_array().cloned().unwrap_or_default() {
        audits.push(record["properties"].clone());
    }
    let mut sign_ins: Vec<Value> = read_json(&sample(
        "microsoft-graph-docs/beta_signIns_list_example2_response.json",
    ))["value"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let blob = std::fs::read_to_string(data("formats/PT1H.json")).expect("PT1H.json");
    for line in blob.lines() {
        let record: Value = serde_json::from_str(line).expect("line");
        if record["category"]
            .as_str()
            .is_some_and(|c| c.ends_with("SignInLogs"))
        {
            sign_ins.push(record["properties"].clone());
        }
    }
    (audits, sign_ins)
}

fn write_channel(channel: Channel, dir: &Path, audits: &[Value], sign_ins: &[Value]) {
    for (kind, objects) in [
        (LogKind::DirectoryAudit, audits),
        (LogKind::SignIn, sign_ins),
    ] {
        let mut writer = ChannelWriter::new(channel, kind, TENANT, dir).expect("writer");
        for object in objects {
            writer.write(object).expect("write");
        }
        let (_, records) = writer.finish().expect("finish");
        assert_eq!(records, objects.len() as u64);
    }
}

#[test]
fn every_channel_gives_the_same_rows_and_keys() {
    let (audits, sign_ins) = graph_objects();
    assert!(audits.len() >= 6 && sign_ins.len() >= 3);
    let mut results = Vec::new();
    for channel in [Channel::Graph, Channel::Eventhub, Channel::LogAnalytics] {
        let lake = TestLake::new();
        let dir = lake.dir.path().join("export");
        write_channel(channel, &dir, &audits, &sign_ins);
        let report = lake.ingest(&[dir]);
        assert_eq!(report.quarantined(), 0, "{channel:?}");
        let audit_rows = canonical_with(&lake, "audit_events", "activity");
        let sign_in_rows = canonical_with(&lake, "sign_ins", "app_name");
        assert_eq!(audit_rows.len(), audits.len(), "{channel:?}");
        assert_eq!(sign_in_rows.len(), sign_ins.len(), "{channel:?}");
        results.push((channel, audit_rows, sign_in_rows));
    }
    let (_, graph_audits, graph_sign_ins) = &results[0];
    for (channel, audit_rows, sign_in_rows) in &results[1..] {
        for (graph, other) in graph_audits.iter().zip(audit_rows) {
            assert_eq!(graph, other, "{channel:?} audit differs from Graph");
        }
        for (graph, other) in graph_sign_ins.iter().zip(sign_in_rows) {
            assert_eq!(graph, other, "{channel:?} sign-in differs from Graph");
        }
    }
}

/// Every column that describes the event, not where or how it arrived.
fn canonical_with(lake: &TestLake, table: &str, tie_breaker: &str) -> Vec<Row> {
    let mut rows = lake.rows(&format!(
        "SELECT * FROM {table} ORDER BY time, event_id, {tie_breaker}"
    ));
    for row in &mut rows {
        for channel_column in ["raw", "source_file", "ingested_at", "tenant_id", "date"] {
            row.remove(channel_column);
        }
    }
    rows
}

#[test]
fn a_lake_fed_by_all_channels_holds_each_event_once() {
    let (audits, sign_ins) = graph_objects();
    let lake = TestLake::new();
    let mut dirs = Vec::new();
    for (channel, name) in [
        (Channel::Graph, "graph"),
        (Channel::Eventhub, "eventhub"),
        (Channel::LogAnalytics, "la"),
    ] {
        let dir = lake.dir.path().join(name);
        write_channel(channel, &dir, &audits, &sign_ins);
        dirs.push(dir);
    }
    let report = lake.ingest(&dirs);
    assert_eq!(report.rows_added(), (audits.len() + sign_ins.len()) as u64);
    assert_eq!(
        report.duplicates_skipped(),
        2 * (audits.len() + sign_ins.len()) as u64
    );
}

#[test]
fn graph_pages_are_split_and_linked() {
    let lake = TestLake::new();
    let dir = lake.dir.path().join("pages");
    let mut writer =
        ChannelWriter::new(Channel::Graph, LogKind::SignIn, TENANT, &dir).expect("writer");
    let (_, sign_ins) = graph_objects();
    for i in 0..2500 {
        let mut object = sign_ins[0].clone();
        object["id"] = Value::String(format!("sign-in-{i}"));
        writer.write(&object).expect("write");
    }
    let (files, _) = writer.finish().expect("finish");
    assert_eq!(files.len(), 3);
    let counts: Vec<u64> = files.iter().map(|(_, n)| *n).collect();
    assert_eq!(counts, [1000, 1000, 500]);
    let pages: Vec<Value> = files.iter().map(|(f, _)| read_json(f)).collect();
    assert_eq!(pages[0]["value"].as_array().map(Vec::len), Some(1000));
    assert!(pages[0]["@odata.nextLink"].is_string());
    assert!(
        pages[2].get("@odata.nextLink").is_none(),
        "the last page has no next link"
    );
    assert_eq!(pages[2]["value"].as_array().map(Vec::len), Some(500));
    lake.ingest(&[dir]);
    assert_eq!(lake.count("sign_ins"), 2500);
}
