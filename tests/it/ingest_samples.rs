//! Every public sample ingests through the real path, and its key fields normalize as a
//! user of the rules would expect (INPUTS.md §2; provenance in tests/data/PROVENANCE.csv).

use crate::support::{b, s, sample, TestLake};

#[test]
fn graph_directory_audit_pages_keep_actor_and_target_by_type() {
    let lake = TestLake::new();
    lake.ingest(&[
        sample("microsoft-graph-docs/v1_directoryAudits_list_example1_response.json"),
        sample("microsoft-graph-docs/v1_directoryAudits_list_example2_response.json"),
    ]);
    let rows = lake.rows("SELECT * FROM audit_events ORDER BY time");
    assert_eq!(rows.len(), 2);
    // Example 1 spells the target type "Type": keys match case-insensitively.
    assert_eq!(
        s(&rows[0], "actor_upn").as_deref(),
        Some("bob@wingtiptoysonline.com")
    );
    assert_eq!(s(&rows[0], "target_type").as_deref(), Some("Group"));
    assert_eq!(
        s(&rows[0], "target_id").as_deref(),
        Some("ef7e527d-6c92-4234-8c6d-cf6fdfb57f95")
    );
    assert_eq!(rows[0]["targets"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        rows[0]["targets"][0]["modified_properties"][0]["new_value"].as_str(),
        Some("DirectorySync")
    );
    assert_eq!(
        s(&rows[0], "role_action"),
        None,
        "group membership is not a role event"
    );
    assert_eq!(
        s(&rows[1], "event_id").as_deref(),
        Some("SSGM_b662f17a-4e4d-4e1c-9248-cdec180024b2_MCDC4_88453290")
    );
    assert_eq!(
        s(&rows[1], "service").as_deref(),
        Some("Self-service Group Management")
    );
    assert!(s(&rows[1], "raw").is_some_and(|raw| raw.contains("GroupLifecyclePolicies_Get")));
    assert!(s(&rows[0], "source_file")
        .is_some_and(|f| f.ends_with("v1_directoryAudits_list_example1_response.json")));
    assert!(s(&rows[0], "ingested_at").is_some());
}

#[test]
fn panther_pim_assignment_records_normalize_to_role_actions() {
    let lake = TestLake::new();
    lake.ingest(&[sample("panther-analysis/azure_role_changed_pim.ndjson")]);
    let rows = lake.rows("SELECT * FROM audit_events ORDER BY activity");
    let by_activity = |a: &str| {
        rows.iter()
            .find(|r| s(r, "activity").as_deref() == Some(a))
            .expect(a)
    };

    let completed = by_activity("Add member to role in PIM completed (permanent)");
    assert_eq!(
        s(completed, "role_action").as_deref(),
        Some("active_assigned")
    );
    assert_eq!(s(completed, "assignment_kind").as_deref(), Some("active"));
    assert_eq!(s(completed, "duration_kind").as_deref(), Some("permanent"));
    assert_eq!(b(completed, "via_pim"), Some(true));
    assert_eq!(
        s(completed, "role_name").as_deref(),
        Some("Application Administrator")
    );
    assert_eq!(
        s(completed, "justification").as_deref(),
        Some("test assign")
    );
    assert_eq!(s(completed, "target_name").as_deref(), Some("Malenia"));
    assert_eq!(
        s(completed, "start_time").as_deref(),
        Some("2024-12-16T16:32:15.844168600Z")
    );

    let requested = by_activity("Add member to role in PIM requested (permanent)");
    assert_eq!(
        s(requested, "role_action").as_deref(),
        Some("active_assign_requested")
    );

    // Same id as the PIM records (a sanitized fixture), different content: kept, not deduped.
    let direct = by_activity("Add member to role");
    assert_eq!(
        s(direct, "role_action").as_deref(),
        Some("direct_role_added")
    );
    assert_eq!(b(direct, "via_pim"), Some(false), "not initiated by MS-PIM");
    assert_eq!(b(direct, "pim_twin"), Some(false));
    assert_eq!(rows.len(), 3);
}

#[test]
fn otel_azure_resource_pim_log_gives_request_activation_and_expiry() {
    let lake = TestLake::new();
    lake.ingest(&[sample("otel-collector-contrib/pim-log.json")]);
    let rows = lake.rows("SELECT * FROM audit_events ORDER BY time");
    let actions: Vec<_> = rows
        .iter()
        .map(|r| s(r, "role_action").unwrap_or_default())
        .collect();
    assert_eq!(
        actions,
        [
            "activation_expired",
            "activation_requested",
            "activation_completed"
        ]
    );
    assert!(rows.iter().all(|r| b(r, "via_pim") == Some(true)));
    assert_eq!(
        s(&rows[0], "request_id").as_deref(),
        Some("00000000-0000-0000-0000-000000000006")
    );
    assert_eq!(
        s(&rows[1], "request_id").as_deref(),
        Some("00000000-0000-0000-0000-000000000012")
    );
    assert_eq!(
        s(&rows[2], "request_id").as_deref(),
        Some("00000000-0000-0000-0000-000000000012")
    );
    assert_eq!(
        s(&rows[2], "role_name").as_deref(),
        Some("Storage Blob Data Contributor")
    );
    assert_eq!(
        s(&rows[2], "role_id").as_deref(),
        Some("00000000-0000-0000-0000-000000000013")
    );
    assert_eq!(
        s(&rows[2], "target_id").as_deref(),
        Some("00000000-0000-0000-0000-000000000009")
    );
    assert_eq!(
        s(&rows[2], "actor_upn").as_deref(),
        Some("user@example.com")
    );
    assert_eq!(
        s(&rows[2], "justification").as_deref(),
        Some("I need access to complete my task.")
    );
    assert_eq!(
        s(&rows[0], "actor_name").as_deref(),
        Some("AzureADPIM"),
        "expiry is performed by PIM"
    );
}

#[test]
fn activity_log_claims_carry_mfa_evidence() {
    let lake = TestLake::new();
    lake.ingest(&[sample(
        "otel-collector-contrib/administrative-log.record1.json",
    )]);
    let rows = lake.rows("SELECT * FROM audit_events");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        s(&rows[0], "actor_auth_methods").as_deref(),
        Some("pwd,mfa")
    );
    assert_eq!(
        s(&rows[0], "actor_id").as_deref(),
        Some("bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb")
    );
    assert_eq!(s(&rows[0], "result").as_deref(), Some("started"));
    assert_eq!(s(&rows[0], "role_action"), None);
}

#[test]
fn azure_rbac_assignments_and_elevation() {
    let lake = TestLake::new();
    lake.ingest(&[
        sample("panther-analysis/azure_role_assignment_privileged_or_elevated.ndjson"),
        sample("panther-analysis/azure_elevate_user_access_admin.ndjson"),
    ]);
    let owner = lake.rows("SELECT * FROM audit_events WHERE role_name = 'Owner'");
    assert_eq!(owner.len(), 1);
    assert_eq!(
        s(&owner[0], "role_action").as_deref(),
        Some("direct_role_added")
    );
    assert_eq!(
        s(&owner[0], "target_id").as_deref(),
        Some("770797c4-e05a-43f9-bda2-1f1f379987ae")
    );
    assert_eq!(
        s(&owner[0], "target_type").as_deref(),
        Some("ServicePrincipal")
    );
    assert_eq!(
        s(&owner[0], "role_scope").as_deref(),
        Some("/subscriptions/12345678-1234-1234-1234-123456789abc")
    );

    // One in the Activity Log REST shape, one as an Entra audit record.
    let elevations =
        lake.rows("SELECT * FROM audit_events WHERE role_action = 'elevated_access' ORDER BY time");
    assert_eq!(elevations.len(), 2);
    assert_eq!(
        s(&elevations[0], "actor_upn").as_deref(),
        Some("attacker@example.com")
    );
    assert_eq!(
        s(&elevations[0], "service").as_deref(),
        Some("Azure Resource Manager")
    );
    assert_eq!(
        s(&elevations[1], "actor_upn").as_deref(),
        Some("denethor@lotr.com")
    );
    assert_eq!(
        s(&elevations[1], "service").as_deref(),
        Some("Microsoft.Authorization")
    );
    assert!(elevations
        .iter()
        .all(|r| s(r, "role_id").as_deref() == Some("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9")));
    assert_eq!(lake.count("audit_events"), 6);
}

#[test]
fn conditional_access_policy_json_is_decoded_in_modified_properties() {
    let lake = TestLake::new();
    lake.ingest(&[sample("panther-analysis/azure_mfa_disabled.ndjson")]);
    // Lines 1 and 2 share an id but differ in the policy they record: both are kept.
    assert_eq!(lake.count("audit_events"), 3);
    let rows = lake.rows(
        "SELECT p['new_value'] AS new_policy FROM ( \
           SELECT unnest(t['modified_properties']) AS p FROM ( \
             SELECT unnest(targets) AS t FROM audit_events WHERE activity = 'Update conditional access policy')) \
         WHERE p['name'] = 'ConditionalAccessPolicy'",
    );
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let policy = s(row, "new_policy").expect("decoded policy");
        assert!(policy.starts_with('{'), "one quote layer removed: {policy}");
        serde_json::from_str::<serde_json::Value>(&policy)
            .expect("the decoded value is the policy JSON");
    }
}

#[test]
fn sign_ins_carry_auth_requirement_and_mfa_evidence() {
    let lake = TestLake::new();
    lake.ingest(&[
        sample("microsoft-graph-docs/beta_signIns_list_example2_response.json"),
        sample("panther-analysis/azure_ropc_login_no_mfa.ndjson"),
    ]);
    let graph =
        lake.rows("SELECT * FROM sign_ins WHERE event_id = '1691d37b-8579-43a7-966a-0f35583c1300'");
    assert_eq!(
        graph.len(),
        1,
        "duplicate JSON keys in the Graph example are tolerated"
    );
    let g = &graph[0];
    assert_eq!(
        s(g, "auth_requirement").as_deref(),
        Some("singleFactorAuthentication")
    );
    assert_eq!(b(g, "mfa_satisfied"), Some(false));
    assert_eq!(g["error_code"].as_i64(), Some(50126));
    assert_eq!(s(g, "result").as_deref(), Some("failure"));
    assert_eq!(s(g, "upn").as_deref(), Some("testaccount1@contoso.com"));
    assert_eq!(s(g, "city").as_deref(), Some("Redmond"));

    // `raw` is the record's original text, not a re-serialization: the duplicate keys of the
    // published example are still there.
    let raw = s(g, "raw").unwrap_or_default();
    assert_eq!(raw.matches("\"homeTenantId\"").count(), 2, "{raw}");

    let ropc = lake.rows("SELECT * FROM sign_ins WHERE auth_protocol = 'ropc' ORDER BY time");
    assert_eq!(ropc.len(), 2);
    assert_eq!(s(&ropc[0], "result").as_deref(), Some("success"));
    assert_eq!(b(&ropc[0], "mfa_satisfied"), Some(false), "password only");
    assert_eq!(ropc[0]["auth_methods"], serde_json::json!(["Password"]));
    assert_eq!(
        ropc[1]["error_code"].as_i64(),
        Some(50126),
        "string resultType read as a number"
    );
}

#[test]
fn sign_in_envelope_variants_with_lowercase_keys() {
    let lake = TestLake::new();
    let report = lake.ingest(&[
        sample("panther-analysis/azure_failed_signins.ndjson"),
        sample("panther-analysis/azure_high_risk_signin.ndjson"),
        sample("panther-analysis/azure_legacyauth.ndjson"),
        sample("panther-analysis/azure_risklevel_passthrough.ndjson"),
    ]);
    assert_eq!(report.quarantined(), 0);
    // The first record of azure_failed_signins is byte-for-byte the first of
    // azure_risklevel_passthrough: one row, one duplicate.
    assert_eq!(lake.count("sign_ins"), 11);
    assert_eq!(report.duplicates_skipped(), 1);
    let sp = lake.rows(
        "SELECT * FROM sign_ins WHERE sign_in_type = 'service_principal' AND error_code = 7000215",
    );
    assert!(!sp.is_empty());
    assert_eq!(
        s(&sp[0], "service_principal_name").as_deref(),
        Some("some-service-principal")
    );
    let risky = lake.rows("SELECT * FROM sign_ins WHERE risk_level = 'high' ORDER BY risk_state");
    assert!(risky
        .iter()
        .any(|r| s(r, "risk_state").as_deref() == Some("atRisk")));
    assert!(risky
        .iter()
        .any(|r| s(r, "risk_state").as_deref() == Some("dismissed")));
}

#[test]
fn schedule_requests_with_expiration_and_ticket() {
    let lake = TestLake::new();
    lake.ingest(&[sample(
        "microsoft-graph-docs/v1_roleAssignmentScheduleRequests_responses.json",
    )]);
    let rows = lake.rows("SELECT * FROM role_requests ORDER BY created_time");
    assert_eq!(rows.len(), 2);
    assert_eq!(s(&rows[0], "action").as_deref(), Some("adminAssign"));
    assert_eq!(
        s(&rows[0], "expiration_type").as_deref(),
        Some("noExpiration")
    );
    assert_eq!(
        s(&rows[0], "role_id").as_deref(),
        Some("fdd7a751-b60b-444a-984c-02652fe8fa1c")
    );
    assert_eq!(s(&rows[1], "action").as_deref(), Some("selfActivate"));
    assert_eq!(rows[1]["expiration_seconds"].as_i64(), Some(5 * 3600));
    assert_eq!(
        s(&rows[1], "ticket_number").as_deref(),
        Some("CONTOSO:Normal-67890")
    );
    assert_eq!(s(&rows[1], "ticket_system").as_deref(), Some("MS Project"));
    assert_eq!(s(&rows[1], "request_kind").as_deref(), Some("assignment"));
}

#[test]
fn role_policy_rules_page_becomes_one_policy_row() {
    let lake = TestLake::new();
    lake.ingest(&[sample(
        "microsoft-graph-docs/unifiedRoleManagementPolicy_rules_list_response.json",
    )]);
    let rows = lake.rows("SELECT * FROM role_policies");
    assert_eq!(rows.len(), 1);
    let p = &rows[0];
    assert_eq!(
        s(p, "policy_id").as_deref(),
        Some("DirectoryRole_cab01047-8ad9-4792-8e42-569340767f1b_70c808b5-0d35-4863-a0ba-07888e99d448")
    );
    assert_eq!(
        s(p, "tenant_id").as_deref(),
        Some("cab01047-8ad9-4792-8e42-569340767f1b")
    );
    assert_eq!(p["rule_count"].as_i64(), Some(17));
    assert_eq!(b(p, "activation_mfa_required"), Some(true));
    assert_eq!(b(p, "activation_justification_required"), Some(true));
    assert_eq!(b(p, "activation_ticket_required"), Some(false));
    assert_eq!(p["activation_max_seconds"].as_i64(), Some(8 * 3600));
    assert_eq!(b(p, "approval_required"), Some(false));
    assert_eq!(
        b(p, "eligible_expiration_required"),
        Some(false),
        "permanent eligibility allowed"
    );
    assert_eq!(s(p, "active_max_duration").as_deref(), Some("P180D"));
    // A policy assembled from a page of rules keeps those rules as its raw record.
    assert!(s(p, "raw").is_some_and(|raw| raw.contains("Enablement_EndUser_Assignment")));
    assert!(s(p, "source_file").is_some());
}

#[test]
fn users_sign_in_activity_never_encodings_are_null() {
    let lake = TestLake::new();
    lake.ingest(&[sample(
        "microsoft-graph-docs/v1_users_signInActivity_example11_response.json",
    )]);
    let rows = lake.rows("SELECT * FROM principals ORDER BY upn");
    assert_eq!(rows.len(), 2);
    let adele = &rows[0];
    assert_eq!(s(adele, "upn").as_deref(), Some("adelev@contoso.com"));
    assert_eq!(
        s(adele, "last_sign_in").as_deref(),
        Some("2021-06-17T16:41:33Z")
    );
    assert_eq!(
        s(adele, "last_non_interactive_sign_in"),
        None,
        "0001-01-01 means never"
    );
    assert_eq!(
        s(adele, "last_successful_sign_in"),
        None,
        "empty string means never"
    );
    assert_eq!(
        s(&rows[1], "last_non_interactive_sign_in").as_deref(),
        Some("2021-07-29T17:53:42Z")
    );
    assert!(
        s(adele, "snapshot").is_some(),
        "state rows sit in a snapshot partition"
    );
}

#[test]
fn log_analytics_exports_with_stringified_dynamic_columns() {
    let lake = TestLake::new();
    let report = lake.ingest(&[sample(
        "OTRF-Security-Datasets/GoldenSAMLADFSMailAccess_AADAuditEvents.jsonl",
    )]);
    // Records 1 and 2 are the same audit event; they differ only in a query-computed column.
    assert_eq!(lake.count("audit_events"), 3);
    assert_eq!(report.duplicates_skipped(), 1);
    let rows = lake.rows("SELECT * FROM audit_events ORDER BY time");
    assert!(rows
        .iter()
        .all(|r| s(r, "service").as_deref() == Some("Core Directory")));
    let secret = rows
        .iter()
        .find(|r| {
            s(r, "activity").is_some_and(|a| a.starts_with("Update application – Certificates"))
        })
        .expect("certificate update");
    assert_eq!(
        s(secret, "actor_upn").as_deref(),
        Some("pgustavo@simulandlabs.com")
    );
    assert_eq!(s(secret, "target_name").as_deref(), Some("SimuLandApp"));
    assert_eq!(s(secret, "target_type").as_deref(), Some("Application"));
}

#[test]
fn log_analytics_csv_user_table() {
    let lake = TestLake::new();
    lake.ingest(&[sample("Azure-Sentinel/AADUSerInfo.csv")]);
    let rows = lake.rows("SELECT * FROM principals ORDER BY upn");
    assert_eq!(rows.len(), 6);
    let adsync = &rows[0];
    assert_eq!(
        s(adsync, "upn").as_deref(),
        Some("adsync@domain.onmicrosoft.com")
    );
    assert_eq!(
        s(adsync, "principal_id").as_deref(),
        Some("2bedcdc9-1d82-439e-b07e-86a70ad19cb8")
    );
    assert_eq!(b(adsync, "account_enabled"), Some(true));
    assert_eq!(
        b(adsync, "on_premises_sync_enabled"),
        None,
        "blank DirSyncEnabled = cloud-only"
    );
    assert_eq!(
        s(adsync, "created_time").as_deref(),
        Some("2020-11-04T21:11:00Z")
    );
    assert!(rows[1..]
        .iter()
        .all(|r| b(r, "on_premises_sync_enabled") == Some(true)));
}

#[test]
fn windows_group_membership_events_are_role_events_keyed_by_sid() {
    let lake = TestLake::new();
    lake.ingest(&[sample(
        "OTRF-Security-Datasets/empire_wmic_add_user_backdoor_security_events.jsonl",
    )]);
    assert_eq!(lake.count("audit_events"), 22);
    let added = lake.rows("SELECT * FROM audit_events WHERE operation_type = '4728'");
    assert_eq!(added.len(), 1);
    assert_eq!(
        s(&added[0], "role_action").as_deref(),
        Some("direct_role_added")
    );
    assert_eq!(
        s(&added[0], "role_id").as_deref(),
        Some("S-1-5-21-1969843730-2406867588-1543852148-513")
    );
    assert_eq!(
        s(&added[0], "target_id").as_deref(),
        Some("S-1-5-21-1969843730-2406867588-1543852148-1000")
    );
    assert_eq!(
        s(&added[0], "time").as_deref(),
        Some("2020-09-14T12:06:03.906Z"),
        "UTC @timestamp, not local EventTime"
    );
    let removed = lake.rows("SELECT role_action FROM audit_events WHERE operation_type = '4729'");
    assert_eq!(
        s(&removed[0], "role_action").as_deref(),
        Some("direct_role_removed")
    );
    let machine = lake.rows("SELECT count(*) AS n FROM audit_events WHERE actor_type = 'machine'");
    assert!(
        machine[0]["n"].as_i64() > Some(0),
        "machine accounts ($) are told apart"
    );
}

#[test]
fn files_that_are_not_exports_are_quarantined_not_dropped() {
    let lake = TestLake::new();
    let report = lake.ingest(&[
        sample("Azure-Sentinel/AADNonInteractiveUserSignInLogs.schema.json"),
        sample("panther-analysis/panther_rule_expectations.csv"),
    ]);
    assert_eq!(report.rows_added(), 0);
    assert!(report.files.iter().all(|f| f.warning.is_some()));
    let quarantine = lake.quarantine();
    assert_eq!(quarantine.len() as u64, report.quarantined());
    assert!(quarantine.iter().all(|q| q["reason"]
        .as_str()
        .is_some_and(|r| r.contains("not a recognised record"))));
    assert!(
        quarantine.iter().any(|q| q["line"].as_u64() == Some(2)),
        "CSV rows keep their line"
    );
}

#[test]
fn every_sample_ingests_and_reingesting_adds_nothing() {
    let lake = TestLake::new();
    let first = lake.ingest(&[sample("")]);
    assert!(first.failed_files().next().is_none());
    let tables = [
        "audit_events",
        "sign_ins",
        "principals",
        "role_requests",
        "role_policies",
    ];
    let counts: Vec<i64> = tables.iter().map(|t| lake.count(t)).collect();
    assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
    let second = lake.ingest(&[sample("")]);
    assert_eq!(second.rows_added(), 0);
    assert_eq!(
        second.duplicates_skipped(),
        first.rows_added() + first.duplicates_skipped()
    );
    let again: Vec<i64> = tables.iter().map(|t| lake.count(t)).collect();
    assert_eq!(counts, again);
}

#[test]
fn the_readme_sample_data_ingests_without_quarantine() {
    // The README's first command ingests sample-data/: it must be clean.
    let lake = TestLake::new();
    let sample_data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    let report = lake.ingest(&[
        sample_data.join("public"),
        sample_data.join("formats"),
        sample_data.join("tenant/logs"),
    ]);
    assert!(report.failed_files().next().is_none());
    assert_eq!(report.quarantined(), 0);
    assert!(
        report.files.iter().all(|f| f.warning.is_none()),
        "{:?}",
        report.files
    );
    for table in [
        "audit_events",
        "sign_ins",
        "principals",
        "role_assignments",
        "role_policies",
    ] {
        assert!(lake.count(table) > 0, "{table} is empty");
    }
}
