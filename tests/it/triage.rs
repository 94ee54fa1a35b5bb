//! The alert lifecycle an analyst relies on, over two stored runs of the generated tenant with
//! a lake that changed between them: new, ongoing, resolved (the condition is gone), aged out
//! (the events left the window), acknowledged, closed, and reopened when a closed alert comes
//! back; and `alerts show`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{generated_tenant_lake, pimwatch, text, TestLake};

const RUN_1: &str = "2026-10-31T00:00:00Z";
const RUN_2: &str = "2026-11-01T00:00:00Z";

/// The entity the generator planted for `rule` in `scenario` (truth.ndjson).
fn planted(tenant: &std::path::Path, rule: &str, scenario: &str) -> String {
    std::fs::read_to_string(tenant.join("truth.ndjson"))
        .expect("truth.ndjson")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a truth line"))
        .find(|t| t["rule"] == rule && t["scenario"] == scenario)
        .and_then(|t| t["entity"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no {rule} planted by {scenario}"))
}

/// A cloud-only, enabled member account holding a highly privileged or tier-0 role (what
/// `privileged-user-not-cloud-only` judges), about which no rule fires: the first by id.
fn quiet_cloud_admin(lake: &TestLake, tenant: &std::path::Path) -> String {
    let flagged = std::fs::read_to_string(tenant.join("truth.ndjson")).expect("truth.ndjson");
    let sql = "SELECT DISTINCT h.principal_id FROM effective_holders h \
               JOIN roles r ON r.role_id = h.role_id AND (r.highly_privileged OR r.tier = 0) \
               JOIN current_principals p ON p.principal_id = h.principal_id \
               WHERE p.principal_type = 'user' AND p.account_enabled \
                 AND p.on_premises_immutable_id IS NULL AND NOT coalesce(p.is_external, false) \
                 AND p.principal_id NOT IN (SELECT principal_id FROM break_glass_accounts) \
               ORDER BY h.principal_id";
    run(lake, &["query", "--as-of", RUN_1, "--format", "csv", sql])
        .lines()
        .skip(1)
        .map(|id| id.trim().to_string())
        .find(|id| !id.is_empty() && !flagged.contains(id.as_str()))
        .expect("a privileged cloud-only admin no rule flags")
}

fn run(lake: &TestLake, args: &[&str]) -> String {
    let out = pimwatch(lake, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The stored run's alerts by (rule, entity), as `report alerts` gives them.
fn report(lake: &TestLake, run_id: &str) -> BTreeMap<(String, String), Value> {
    run(
        lake,
        &["report", "alerts", "--run", run_id, "--format", "ndjson"],
    )
    .lines()
    .map(|line| serde_json::from_str::<Value>(line).expect("an alert"))
    .map(|a| {
        let key = (
            a["rule_id"].as_str().unwrap_or_default().to_string(),
            a["entity_id"].as_str().unwrap_or_default().to_string(),
        );
        (key, a)
    })
    .collect()
}

fn find<'a>(alerts: &'a BTreeMap<(String, String), Value>, rule: &str, entity: &str) -> &'a Value {
    alerts
        .get(&(rule.to_string(), entity.to_string()))
        .unwrap_or_else(|| panic!("no {rule} alert for {entity}"))
}

fn id(alert: &Value) -> String {
    alert["alert_id"].as_str().expect("an id").to_string()
}

#[test]
fn two_runs_with_triage_show_every_lifecycle_state() {
    let (lake, tenant) = generated_tenant_lake();
    let disabled_admin = planted(&tenant, "privileged-principal-disabled", "disabled-admin");
    let synced_admin = planted(&tenant, "privileged-user-not-cloud-only", "synced-admin");
    let guest_admin = planted(&tenant, "privileged-guest", "privileged-guest");
    let cloud_admin = quiet_cloud_admin(&lake, &tenant);
    run(
        &lake,
        &[
            "detect",
            "--as-of",
            RUN_1,
            "--lookback",
            "30",
            "--format",
            "ndjson",
        ],
    );
    let first = report(&lake, "20261031T000000Z");
    assert!(first.values().all(|a| a["status"] == "new"));
    assert!(first
        .values()
        .all(|a| a["schema_version"] == "pimwatch.alert/1"));

    // Triage on the first run: an ack, a close of a condition that stays, a close of an
    // event alert whose events then leave the window.
    let guest = find(&first, "privileged-guest", &guest_admin);
    let synced = find(&first, "privileged-user-not-cloud-only", &synced_admin);
    let short = |a: &Value| id(a)[..8].to_string();
    run(
        &lake,
        &[
            "alerts",
            "ack",
            &short(guest),
            "--reason",
            "asked the owner",
            "--by",
            "alice",
        ],
    );
    run(
        &lake,
        &[
            "alerts",
            "close",
            &short(synced),
            "--reason",
            "moved to cloud",
            "--by",
            "bob",
        ],
    );
    let mfa = first
        .values()
        .find(|a| a["rule_id"] == "activation-without-mfa")
        .expect("an activation-without-mfa alert");
    run(
        &lake,
        &[
            "alerts",
            "close",
            &id(mfa),
            "--reason",
            "user re-trained",
            "--by",
            "bob",
        ],
    );
    // Reports of the first run show the decisions.
    let triaged = report(&lake, "20261031T000000Z");
    assert_eq!(
        find(&triaged, "privileged-user-not-cloud-only", &synced_admin)["status"],
        "closed"
    );
    let ack = find(&triaged, "privileged-guest", &guest_admin);
    assert_eq!(ack["status"], "new");
    assert!(
        ack["triage"]
            .as_str()
            .unwrap_or_default()
            .starts_with("acknowledged by alice"),
        "{ack}"
    );

    // The lake changes: a new users export a day later, in which the disabled admin is
    // enabled again and a cloud-only admin now comes from on-premises.
    let users_path = tenant.join("logs/state/snapshot=20261031T000000Z/users-00001.json");
    let mut users: Value =
        serde_json::from_slice(&std::fs::read(users_path).expect("users page")).expect("json");
    for user in users["value"].as_array_mut().expect("value") {
        if user["id"] == disabled_admin.as_str() {
            user["accountEnabled"] = Value::Bool(true);
        }
        if user["id"] == cloud_admin.as_str() {
            user["onPremisesImmutableId"] = Value::String("fH3GvqOc6kSj1d0kqKS8Eg==".into());
        }
    }
    let changed = lake.write(
        "snapshot=20261101T000000Z/users-00001.json",
        serde_json::to_vec(&users).expect("json"),
    );
    assert_eq!(lake.ingest(&[changed]).quarantined(), 0);

    // The second run reads a 7-day window: the first run's activation events are older.
    run(
        &lake,
        &[
            "detect",
            "--as-of",
            RUN_2,
            "--lookback",
            "7",
            "--format",
            "ndjson",
        ],
    );
    let second = report(&lake, "20261101T000000Z");
    let status = |rule: &str, entity: &str| find(&second, rule, entity)["status"].clone();

    assert_eq!(
        status("privileged-user-not-cloud-only", &cloud_admin),
        "new"
    );
    assert_eq!(
        status("privileged-principal-disabled", &disabled_admin),
        "resolved"
    );
    assert_eq!(status("privileged-guest", &guest_admin), "ongoing");
    let acked = find(&second, "privileged-guest", &guest_admin);
    assert!(acked["triage"]
        .as_str()
        .unwrap_or_default()
        .starts_with("acknowledged by alice"));
    let reopened = find(&second, "privileged-user-not-cloud-only", &synced_admin);
    assert_eq!(reopened["status"], "reopened");
    let note = reopened["triage"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("reopened by pimwatch")
            && note.contains("closed by bob")
            && note.contains("found again"),
        "{note}"
    );
    let mfa_now = find(
        &second,
        "activation-without-mfa",
        mfa["entity_id"].as_str().unwrap_or_default(),
    );
    assert_eq!(mfa_now["status"], "aged_out", "{mfa_now}");
    // Every other event alert of the first run left the window too: none is "resolved".
    for alert in second.values() {
        if alert["last_seen"].is_string() && alert["status"] != "ongoing" {
            assert_eq!(alert["status"], "aged_out", "{alert}");
        }
    }

    // The reopening is in the triage log, by pimwatch; a third run does not reopen it again.
    let shown = run(&lake, &["alerts", "show", &short(reopened)]);
    assert!(shown.contains("reopened by pimwatch"), "{shown}");
    assert!(shown.contains("closed by bob"), "{shown}");
    assert!(shown.contains("Why it matters"), "{shown}");
    run(
        &lake,
        &[
            "detect",
            "--as-of",
            "2026-11-01T06:00:00Z",
            "--lookback",
            "7",
            "--format",
            "ndjson",
        ],
    );
    let third = report(&lake, "20261101T060000Z");
    assert_eq!(
        status_of(&third, "privileged-user-not-cloud-only", &synced_admin),
        "ongoing"
    );
    // Gone alerts are reported once, then dropped.
    assert!(!third.contains_key(&(
        "privileged-principal-disabled".to_string(),
        disabled_admin.clone()
    )));

    // Filters: open alerts of one rule at or above high.
    let filtered = run(
        &lake,
        &[
            "report",
            "alerts",
            "--status",
            "open",
            "--rule",
            "privileged-guest",
            "--min-severity",
            "high",
            "--format",
            "ndjson",
        ],
    );
    let kept: Vec<Value> = filtered
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert"))
        .collect();
    assert!(!kept.is_empty());
    assert!(kept.iter().all(|a| a["rule_id"] == "privileged-guest"
        && ["new", "ongoing", "reopened"].contains(&a["status"].as_str().unwrap_or_default())));
}

fn status_of(alerts: &BTreeMap<(String, String), Value>, rule: &str, entity: &str) -> Value {
    find(alerts, rule, entity)["status"].clone()
}

#[test]
fn triage_refuses_what_it_cannot_record() {
    let lake = TestLake::new();
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/fixtures");
    lake.ingest_at(
        &[rules.join("healthy"), rules.join("risky/guest-admin.json")],
        "2026-11-01T00:00:00Z",
    );
    let out = pimwatch(&lake, &["alerts", "show", "abcdef12"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no stored runs"),
        "{}",
        text(&out.stderr)
    );

    run(
        &lake,
        &[
            "detect",
            "--as-of",
            "2026-11-01T00:00:00Z",
            "--lookback",
            "30",
            "--format",
            "ndjson",
        ],
    );
    let alerts = report(&lake, "20261101T000000Z");
    let alert = alerts.values().next().expect("an alert");
    let short = &id(alert)[..8];
    for (args, expected) in [
        (
            vec!["alerts", "close", short, "--reason", " ", "--by", "bob"],
            "--reason must not be empty",
        ),
        (
            vec!["alerts", "reopen", short, "--reason", "x", "--by", "bob"],
            "is not closed",
        ),
        (
            vec!["alerts", "ack", "zz", "--reason", "x", "--by", "bob"],
            "at least 6 hex digits",
        ),
        (
            vec!["alerts", "ack", "000000", "--reason", "x", "--by", "bob"],
            "no stored run holds",
        ),
        (
            vec!["report", "alerts", "--run", "20200101T000000Z"],
            "no stored run has the id",
        ),
    ] {
        let out = pimwatch(&lake, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(expected),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // Nothing was recorded by the refused calls.
    let shown = run(&lake, &["alerts", "show", short]);
    assert!(shown.contains("none yet"), "{shown}");
}
