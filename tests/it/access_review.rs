//! `report access-review` on the generated tenant: every privileged holding exactly once, and
//! the planted stale, unused, guest, disabled and standing holders recommended for removal or
//! review with the right reason, checked against the generator's truth; the XLSX form with
//! its decision list.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::report::{sheet_names, xlsx_parts};
use crate::support::{generated_tenant_lake, pimwatch, text, TestLake};

const AS_OF: &str = "2026-10-31T00:00:00Z";

fn review(lake: &TestLake, extra: &[&str]) -> Value {
    let mut args = vec![
        "report",
        "access-review",
        "--as-of",
        AS_OF,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = pimwatch(lake, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("a JSON review")
}

#[test]
fn the_access_review_lists_every_privileged_holding_once_and_flags_the_planted_ones() {
    let (lake, tenant) = generated_tenant_lake();
    let out = pimwatch(
        &lake,
        &[
            "detect",
            "--as-of",
            AS_OF,
            "--lookback",
            "30",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let document = review(&lake, &[]);
    let rows = document["holdings"].as_array().expect("holdings");
    let key = |r: &Value| {
        (
            r["principal_id"].as_str().unwrap_or_default().to_string(),
            r["role_id"].as_str().unwrap_or_default().to_string(),
            r["scope"].as_str().unwrap_or_default().to_string(),
            r["kind"].as_str().unwrap_or_default().to_string(),
        )
    };
    // Exactly once each, and exactly the privileged holdings the views know.
    let listed: Vec<_> = rows.iter().map(key).collect();
    let unique: BTreeSet<_> = listed.iter().cloned().collect();
    assert_eq!(listed.len(), unique.len(), "a holding is listed twice");
    let expected: BTreeSet<_> = lake
        .view_rows(
            "SELECT h.principal_id, h.role_id, h.directory_scope_id AS scope, k.kind \
             FROM effective_holders h CROSS JOIN (VALUES ('eligible'), ('active')) AS k(kind) \
             WHERE h.role_id IN (SELECT role_id FROM privileged_roles) \
               AND ((k.kind = 'eligible' AND h.is_eligible) OR (k.kind = 'active' AND h.is_active))",
            AS_OF,
        )
        .iter()
        .map(|r| {
            let s = |c: &str| r[c].as_str().unwrap_or_default().to_string();
            (s("principal_id"), s("role_id"), s("scope"), s("kind"))
        })
        .collect();
    assert_eq!(unique, expected);
    assert!(rows
        .iter()
        .all(|r| r["decision"] == "" && r["reviewer"] == ""));

    // The planted holders, from the truth.
    let truth: Vec<(String, String)> = std::fs::read_to_string(tenant.join("truth.ndjson"))
        .expect("truth")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("truth line"))
        .map(|t| {
            (
                t["rule"].as_str().unwrap_or_default().to_string(),
                t["entity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let of = |principal: &str, role: Option<&str>, kind: Option<&str>| -> Vec<&Value> {
        rows.iter()
            .filter(|r| r["principal_id"] == principal)
            .filter(|r| role.is_none_or(|role| r["role_id"] == role))
            .filter(|r| kind.is_none_or(|kind| r["kind"] == kind))
            .collect()
    };
    let expect = |rows: Vec<&Value>, levels: &[&str], reason: &str, what: &str| {
        assert!(!rows.is_empty(), "{what}: not in the review");
        for row in rows {
            let level = row["recommendation"].as_str().unwrap_or_default();
            let reasons = row["reasons"].as_str().unwrap_or_default();
            assert!(
                levels.contains(&level) && reasons.contains(reason),
                "{what}: {level}: {reasons}"
            );
        }
    };
    let mut checked = BTreeMap::new();
    for (rule, entity) in &truth {
        let mut parts = entity.split('/');
        let principal = parts.next().unwrap_or_default();
        let role = parts.next();
        let what = format!("{rule} {entity}");
        match rule.as_str() {
            "privileged-account-stale" => expect(
                of(principal, None, None),
                &["remove"],
                "stale account",
                &what,
            ),
            "eligible-role-not-activated" => expect(
                of(principal, role, Some("eligible")),
                &["remove"],
                "no activation",
                &what,
            ),
            "privileged-guest" => expect(
                of(principal, None, None),
                &["remove", "review"],
                "guest holding a",
                &what,
            ),
            "privileged-principal-disabled" => expect(
                of(principal, None, None),
                &["remove"],
                "disabled account",
                &what,
            ),
            "permanent-active-assignment" => expect(
                of(principal, role, Some("active")),
                &["review", "remove"],
                "standing access",
                &what,
            ),
            _ => continue,
        }
        *checked.entry(rule.clone()).or_insert(0) += 1;
    }
    assert_eq!(
        checked.len(),
        5,
        "every kind of planted holder was checked: {checked:?}"
    );
    // A guest with a tier-0 role is removed, not reviewed.
    assert!(rows.iter().any(|r| r["recommendation"] == "remove"
        && r["reasons"]
            .as_str()
            .unwrap_or_default()
            .contains("guest holding a tier-0 role")));
    // Break-glass accounts are kept (never "stale" or "unused").
    for row in rows.iter().filter(|r| r["break_glass"] == true) {
        assert_ne!(row["recommendation"], "remove", "{row}");
    }
    // The policies section names the planted weak settings.
    let policies = document["policies"].as_array().expect("policies");
    let weak = |role: &str| {
        policies
            .iter()
            .find(|p| p["role_id"] == role)
            .and_then(|p| p["weak_settings"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    for (rule, entity) in &truth {
        let expected = match rule.as_str() {
            "activation-mfa-not-required" => "activation without MFA",
            "activation-justification-not-required" => "no justification",
            "global-admin-activation-without-approval" => "no approver named",
            "activation-duration-excessive" => "activations last up to",
            "role-policy-allows-permanent-assignment" => "permanent",
            _ => continue,
        };
        assert!(
            weak(entity).contains(expected),
            "{rule} {entity}: {}",
            weak(entity)
        );
    }

    // Grouped by principal, the same holdings; XLSX with the decision list.
    let by_principal = review(&lake, &["--group-by", "principal"]);
    assert_eq!(
        by_principal["holdings"].as_array().map(Vec::len),
        Some(rows.len())
    );
    let path = lake.dir.path().join("review.xlsx");
    let out = pimwatch(
        &lake,
        &[
            "report",
            "access-review",
            "--as-of",
            AS_OF,
            "--format",
            "xlsx",
            "--output",
            path.to_str().expect("path"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let parts = xlsx_parts(&std::fs::read(&path).expect("workbook"));
    assert_eq!(sheet_names(&parts), ["Holdings", "PIM settings", "About"]);
    let holdings = &parts["xl/worksheets/sheet1.xml"];
    assert!(
        holdings.contains("<dataValidation type=\"list\""),
        "decision list"
    );
    assert!(holdings.contains("\"approve,revoke,change\""));
    assert!(holdings.contains("state=\"frozen\"") && holdings.contains("<autoFilter"));
    assert_eq!(holdings.matches("<row ").count(), rows.len() + 1);
}

#[test]
fn a_review_period_outside_its_range_is_refused() {
    let lake = TestLake::new();
    for period in ["0d", "4000d", "ninety"] {
        let out = pimwatch(&lake, &["report", "access-review", "--period", period]);
        assert_eq!(out.status.code(), Some(2), "{period}");
        assert!(
            text(&out.stderr).contains("is not a period"),
            "{}",
            text(&out.stderr)
        );
    }
}
