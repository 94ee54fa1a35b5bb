//! Alerts through the output registry: the same canonical alert table in every format, the
//! ranked view for people, every field for programs.

use crate::support::{pimwatch, text, TestLake};

/// A lake with the rule fixtures' healthy tenant and one stale admin (two alerts as of
/// 2026-11-01).
fn fixture_lake() -> TestLake {
    let lake = TestLake::new();
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/fixtures");
    let report = lake.ingest_at(
        &[rules.join("healthy"), rules.join("risky/stale-admin.json")],
        "2026-11-01T00:00:00Z",
    );
    assert_eq!(report.quarantined(), 0);
    lake
}

fn detect(lake: &TestLake, format: &str) -> String {
    let out = pimwatch(
        lake,
        &[
            "detect",
            "--as-of",
            "2026-11-01T00:00:00Z",
            "--lookback",
            "30",
            "--no-store",
            "--format",
            format,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{format}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn alerts_render_through_every_emitter() {
    let lake = fixture_lake();
    insta::assert_snapshot!("alerts_table", detect(&lake, "table"));
    insta::assert_snapshot!("alerts_md", detect(&lake, "md"));
    insta::assert_snapshot!("alerts_csv", detect(&lake, "csv"));
    insta::assert_snapshot!("alerts_ndjson", detect(&lake, "ndjson"));

    // JSON: the documented alert schema, evidence an object and lists arrays, nulls kept.
    let alerts: Vec<serde_json::Value> =
        serde_json::from_str(&detect(&lake, "json")).expect("a JSON array");
    assert_eq!(alerts.len(), 2);
    let fields: Vec<&str> = alerts[0]
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "alert_id",
            "rule_id",
            "title",
            "severity",
            "score",
            "score_reasons",
            "entity_type",
            "entity_id",
            "entity_name",
            "summary",
            "first_seen",
            "last_seen",
            "event_count",
            "evidence",
            "mitre",
            "remediation",
            "status",
            "suppression",
            "run_id",
            "as_of"
        ]
    );
    assert!(alerts[0]["evidence"].is_object());
    assert!(alerts[0]["score_reasons"].is_array());
    assert!(alerts[0]["suppression"].is_null());
}
