//! Every input shape of DESIGN.md §2 that the public samples do not cover, through the real
//! ingest path (hand-made files in tests/data/formats, see its README).

use pimwatch::ingest::detect::RecordKind;
use pimwatch::ingest::IngestOptions;

use crate::support::{b, data, s, TestLake};

fn format(name: &str) -> std::path::PathBuf {
    data("formats").join(name)
}

#[test]
fn event_hub_message_holds_the_whole_activation_lifecycle() {
    let lake = TestLake::new();
    let report = lake.ingest(&[format("eventhub_auditlogs_message.json")]);
    assert_eq!(report.quarantined(), 0);
    let rows = lake.rows("SELECT * FROM audit_events ORDER BY time");
    let actions: Vec<_> = rows.iter().filter_map(|r| s(r, "role_action")).collect();
    assert_eq!(
        actions,
        [
            "activation_requested",
            "direct_role_added",
            "activation_completed",
            "activation_expired"
        ]
    );
    assert!(rows
        .iter()
        .all(|r| s(r, "role_id").as_deref() == Some("62e90394-69f5-4237-9190-012177145e10")));
    assert!(rows
        .iter()
        .all(|r| s(r, "target_id").as_deref() == Some("7d1a9c2e-3b4f-4a5d-8e6f-9a0b1c2d3e4f")));
    let (requested, twin, completed, expired) = (&rows[0], &rows[1], &rows[2], &rows[3]);
    assert_eq!(s(requested, "ticket_number").as_deref(), Some("CHG0042"));
    assert_eq!(s(requested, "ticket_system").as_deref(), Some("ServiceNow"));
    assert_eq!(
        s(requested, "end_time").as_deref(),
        Some("2026-09-06T18:30:40.123456700Z")
    );
    assert_eq!(
        s(requested, "tenant_id").as_deref(),
        Some("4f7a7bc2-28e2-46a3-b90e-5ade5bc90138")
    );
    // The Core Directory twin names the MS-PIM app without its application id, as real
    // records do: a name proves nothing, so the row leaves it open, and `role_events` decides
    // it (no service principal exported here: by the PIM record it mirrors).
    assert_eq!(b(twin, "pim_twin"), None);
    assert_eq!(b(twin, "via_pim"), None);
    assert_eq!(s(twin, "actor_type").as_deref(), Some("app"));
    let resolved = lake.view_rows(
        "SELECT pim_twin, via_pim, pim_identity_by FROM role_events WHERE role_action = 'direct_role_added'",
        "2026-09-07T00:00:00Z",
    );
    assert_eq!(b(&resolved[0], "pim_twin"), Some(true));
    assert_eq!(b(&resolved[0], "via_pim"), Some(true));
    assert_eq!(
        s(&resolved[0], "pim_identity_by").as_deref(),
        Some("mirrored PIM record")
    );
    assert_eq!(
        s(twin, "role_name").as_deref(),
        Some("Global Administrator")
    );
    // Targets in another order: the role and the principal are still found by type.
    assert_eq!(
        s(completed, "role_name").as_deref(),
        Some("Global Administrator")
    );
    for row in [requested, completed, expired] {
        assert_eq!(
            s(row, "request_id").as_deref(),
            Some("61998d6f-fcf3-400a-9d40-cbfa74a3bfbd")
        );
        assert_eq!(b(row, "pim_twin"), Some(false));
    }
    assert_eq!(s(expired, "actor_name").as_deref(), Some("Azure AD PIM"));
    assert_eq!(s(twin, "correlation_id"), s(completed, "correlation_id"));
}

#[test]
fn storage_blob_lines_mix_audits_and_sign_ins() {
    let lake = TestLake::new();
    let report = lake.ingest(&[format("PT1H.json")]);
    assert_eq!(report.quarantined(), 0);
    let audit = lake.rows("SELECT * FROM audit_events");
    assert_eq!(
        s(&audit[0], "role_action").as_deref(),
        Some("eligible_assigned")
    );
    assert_eq!(s(&audit[0], "duration_kind").as_deref(), Some("timebound"));
    assert_eq!(
        s(&audit[0], "target_upn").as_deref(),
        Some("grace_fabrikam.com#EXT#@contoso.onmicrosoft.com")
    );
    assert_eq!(
        s(&audit[0], "end_time").as_deref(),
        Some("2027-03-07T08:00:00Z")
    );
    let sign_ins = lake.rows("SELECT * FROM sign_ins ORDER BY time");
    assert_eq!(sign_ins.len(), 2);
    let portal = &sign_ins[0];
    assert_eq!(s(portal, "sign_in_type").as_deref(), Some("interactive"));
    assert_eq!(
        s(portal, "upn").as_deref(),
        Some("adm-ada@contoso.onmicrosoft.com"),
        "upn lowercased"
    );
    assert_eq!(
        s(portal, "user_id").as_deref(),
        Some("7d1a9c2e-3b4f-4a5d-8e6f-9a0b1c2d3e4f"),
        "ids lowercased"
    );
    assert_eq!(
        s(portal, "time").as_deref(),
        Some("2026-09-07T08:04:58.347Z")
    );
    assert_eq!(
        b(portal, "mfa_satisfied"),
        Some(true),
        "MFA satisfied by claim in the token"
    );
    assert_eq!(b(portal, "device_compliant"), Some(true));
    let interrupted = &sign_ins[1];
    assert_eq!(
        s(interrupted, "sign_in_type").as_deref(),
        Some("non_interactive")
    );
    assert_eq!(interrupted["error_code"].as_i64(), Some(50140));
    assert_eq!(b(interrupted, "mfa_satisfied"), Some(false));
}

#[test]
fn log_analytics_sign_in_exports_decode_their_string_columns() {
    let lake = TestLake::new();
    let report = lake.ingest(&[
        format("la_signinlogs.csv"),
        format("la_noninteractive_signins.jsonl"),
    ]);
    assert_eq!(report.quarantined(), 0);
    let rows = lake.rows("SELECT * FROM sign_ins ORDER BY time");
    assert_eq!(rows.len(), 3);
    let (mfa, non_interactive, denied) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(
        s(mfa, "time").as_deref(),
        Some("2026-09-07T09:15:01.997Z"),
        "US-locale CSV time"
    );
    assert_eq!(s(mfa, "city").as_deref(), Some("Seattle"));
    assert_eq!(s(mfa, "country").as_deref(), Some("US"));
    assert_eq!(b(mfa, "mfa_satisfied"), Some(true));
    assert_eq!(
        mfa["auth_methods"],
        serde_json::json!(["Password", "Mobile app notification"])
    );
    assert_eq!(s(mfa, "device_os").as_deref(), Some("MacOs"));
    assert_eq!(
        s(non_interactive, "sign_in_type").as_deref(),
        Some("non_interactive")
    );
    assert_eq!(b(non_interactive, "is_interactive"), Some(false));
    assert_eq!(
        b(non_interactive, "mfa_satisfied"),
        Some(false),
        "first factor by claim only"
    );
    assert_eq!(b(non_interactive, "device_managed"), Some(true));
    assert_eq!(denied["error_code"].as_i64(), Some(500121));
    assert_eq!(b(denied, "mfa_satisfied"), Some(false));
    assert_eq!(s(denied, "risk_state").as_deref(), Some("atRisk"));
    assert_eq!(
        denied["auth_methods"],
        serde_json::json!(["Password"]),
        "the denied step is not a method used"
    );
}

#[test]
fn log_analytics_audit_csv_with_a_pim_assignment_to_a_group() {
    let lake = TestLake::new();
    lake.ingest(&[format("la_auditlogs.csv")]);
    let rows = lake.rows("SELECT * FROM audit_events");
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(s(r, "role_action").as_deref(), Some("eligible_assigned"));
    assert_eq!(s(r, "duration_kind").as_deref(), Some("permanent"));
    assert_eq!(
        s(r, "role_id").as_deref(),
        Some("e8611ab8-c189-46e8-94e1-60213ab1f814")
    );
    assert_eq!(s(r, "target_type").as_deref(), Some("Group"));
    assert_eq!(
        s(r, "target_id").as_deref(),
        Some("44444444-5555-4666-8777-888888888888")
    );
    assert_eq!(s(r, "time").as_deref(), Some("2026-09-08T14:00:05.250Z"));
    assert_eq!(
        s(r, "operation_type").as_deref(),
        Some("CreateRoleEligibilityRequest")
    );
    assert_eq!(
        s(r, "justification").as_deref(),
        Some("Standing eligibility for the on-call team")
    );
}

#[test]
fn a_tab_separated_export_reads_like_its_csv() {
    // Log Analytics and the portal also export TSV: the same records, tabs between cells
    // (and commas inside them, as in `9/8/2026, 2:00:05.300 PM` and the JSON columns).
    let lake = TestLake::new();
    let mut reader = csv::Reader::from_path(format("la_auditlogs.csv")).expect("csv");
    let mut tsv = csv::WriterBuilder::new()
        .delimiter(b'\t')
        .from_writer(Vec::new());
    tsv.write_record(reader.headers().expect("header"))
        .expect("header");
    for record in reader.records() {
        tsv.write_record(&record.expect("record")).expect("record");
    }
    let tsv = lake.write("AuditLogs.tsv", tsv.into_inner().expect("tsv"));
    let report = lake.ingest(&[tsv]);
    assert_eq!(report.quarantined(), 0);
    let from_tsv =
        lake.rows("SELECT role_action, role_id, target_id, time, justification FROM audit_events");
    let other = TestLake::new();
    other.ingest(&[format("la_auditlogs.csv")]);
    let from_csv =
        other.rows("SELECT role_action, role_id, target_id, time, justification FROM audit_events");
    assert_eq!(from_tsv.len(), 1);
    assert_eq!(from_tsv, from_csv);
}

#[test]
fn activity_log_rest_page_and_log_analytics_export() {
    let lake = TestLake::new();
    let report = lake.ingest(&[
        format("activity_rest_page.json"),
        format("la_azureactivity.jsonl"),
    ]);
    assert_eq!(report.quarantined(), 0);
    let rows = lake.rows("SELECT * FROM audit_events ORDER BY time");
    assert_eq!(rows.len(), 3);
    let (write, delete, la) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(
        s(write, "event_id").as_deref(),
        Some("b3b4b5b6-c7c8-4d9d-8e0e-f1f2f3f4f5f6")
    );
    assert_eq!(
        s(write, "role_action").as_deref(),
        Some("direct_role_added")
    );
    assert_eq!(
        s(write, "role_name").as_deref(),
        Some("User Access Administrator")
    );
    assert_eq!(
        s(write, "actor_upn").as_deref(),
        Some("mallory@contoso.com")
    );
    assert_eq!(
        s(write, "actor_auth_methods").as_deref(),
        Some("pwd"),
        "no MFA claim"
    );
    assert_eq!(s(write, "actor_ip").as_deref(), Some("198.51.100.66"));
    assert_eq!(
        s(delete, "role_action").as_deref(),
        Some("direct_role_removed")
    );
    assert_eq!(s(delete, "role_name").as_deref(), Some("Owner"));
    assert_eq!(
        s(delete, "target_id").as_deref(),
        Some("66666666-7777-4888-8999-aaaaaaaaaaaa")
    );
    assert_eq!(
        s(delete, "role_scope").as_deref(),
        Some("/subscriptions/5a5b5c5d-6e6f-4a7a-8b8b-9c9c9d9d9e9e/resourceGroups/rg1")
    );
    assert_eq!(
        s(la, "role_id").as_deref(),
        Some("8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
        "upper-case ARM path normalized"
    );
    assert_eq!(s(la, "target_type").as_deref(), Some("ServicePrincipal"));
    assert_eq!(s(la, "actor_auth_methods").as_deref(), Some("pwd,mfa"));
    assert_eq!(s(la, "result").as_deref(), Some("success"));
}

#[test]
fn sentinel_security_events_classify_groups_by_sid_not_localized_name() {
    let lake = TestLake::new();
    lake.ingest(&[format("sentinel_securityevent.jsonl")]);
    let rows = lake.rows("SELECT * FROM audit_events ORDER BY time");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        s(&rows[0], "role_name").as_deref(),
        Some("Administrators"),
        "not 'Administratoren'"
    );
    assert_eq!(s(&rows[0], "role_id").as_deref(), Some("S-1-5-32-544"));
    assert_eq!(s(&rows[1], "role_name").as_deref(), Some("Domain Admins"));
    assert!(rows
        .iter()
        .all(|r| s(r, "role_action").as_deref() == Some("direct_role_added")));
    assert_eq!(
        s(&rows[0], "event_id").as_deref(),
        Some("DC01.corp.contoso.com:918273")
    );
}

#[test]
fn graph_role_state_pages() {
    let lake = TestLake::new();
    let report = lake.ingest(&[
        format("graph_role_definitions.json"),
        format("graph_assignment_instances.json"),
        format("graph_eligibility_instances.json"),
    ]);
    assert_eq!(report.quarantined(), 0);
    let definitions = lake.rows("SELECT * FROM role_definitions ORDER BY display_name");
    assert_eq!(definitions.len(), 3);
    assert_eq!(
        s(&definitions[0], "display_name").as_deref(),
        Some("Global Administrator")
    );
    assert_eq!(definitions[0]["tier"].as_i64(), Some(0));
    assert_eq!(b(&definitions[0], "is_privileged"), Some(true));
    assert_eq!(
        definitions[1]["tier"].as_i64(),
        Some(2),
        "Groups Administrator"
    );
    assert_eq!(
        b(&definitions[2], "is_built_in"),
        Some(false),
        "custom role"
    );
    // A custom role is judged by what it allows: password resets are privileged (not control
    // plane), though the export says nothing of it.
    assert_eq!(
        b(&definitions[2], "is_privileged"),
        Some(true),
        "custom role"
    );
    assert_eq!(definitions[2]["tier"].as_i64(), Some(1), "custom role");
    assert_eq!(
        definitions[2]["privileged_actions"],
        serde_json::json!(["microsoft.directory/users/password/update"])
    );

    let assignments = lake.rows("SELECT * FROM role_assignments ORDER BY assignment_id");
    assert_eq!(assignments.len(), 3);
    let by_id = |id: &str| {
        assignments
            .iter()
            .find(|r| s(r, "assignment_id").as_deref() == Some(id))
            .expect(id)
    };
    let standing = by_id("lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1-e");
    assert_eq!(s(standing, "assignment_type").as_deref(), Some("assigned"));
    assert_eq!(s(standing, "end_time"), None, "permanent");
    assert_eq!(b(standing, "created_outside_pim"), Some(false));
    let activated = by_id("q6cJ6IgnM0mJTTmW6s37OW7g1a9bR4BDmBtk0OtsY3c-1-e");
    assert_eq!(
        s(activated, "assignment_type").as_deref(),
        Some("activated")
    );
    assert_eq!(
        s(activated, "end_time").as_deref(),
        Some("2026-09-06T18:30:40.193Z")
    );
    let outside = by_id("x1y2z3-outside-pim-1-e");
    assert_eq!(b(outside, "created_outside_pim"), Some(true));
    assert!(assignments
        .iter()
        .all(|r| s(r, "record_type").as_deref() == Some("instance")));

    let eligibilities = lake.rows("SELECT * FROM role_eligibilities ORDER BY start_time");
    assert_eq!(eligibilities.len(), 2);
    assert_eq!(
        s(&eligibilities[0], "end_time"),
        None,
        "permanent eligibility"
    );
    assert_eq!(
        s(&eligibilities[1], "member_type").as_deref(),
        Some("group")
    );
    assert_eq!(
        s(&eligibilities[1], "directory_scope_id").as_deref(),
        Some("/administrativeUnits/0b0c0d0e-0f10-4112-8314-151617181920")
    );
}

#[test]
fn graph_directory_objects_and_memberships() {
    let lake = TestLake::new();
    let report = lake.ingest(&[
        format("graph_service_principals.json"),
        format("graph_group_members.json"),
        format("graph_groups_expanded.json"),
    ]);
    assert_eq!(report.quarantined(), 0);
    let sps = lake.rows(
        "SELECT * FROM principals WHERE principal_type = 'service_principal' ORDER BY display_name",
    );
    assert_eq!(sps.len(), 2);
    assert_eq!(s(&sps[1], "display_name").as_deref(), Some("deploy-bot"));
    assert_eq!(
        s(&sps[1], "principal_id").as_deref(),
        Some("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")
    );
    assert_eq!(sps[1]["password_credential_count"].as_i64(), Some(2));
    assert_eq!(
        s(&sps[0], "service_principal_type").as_deref(),
        Some("ManagedIdentity")
    );
    let groups =
        lake.rows("SELECT * FROM principals WHERE principal_type = 'group' ORDER BY display_name");
    assert_eq!(groups.len(), 2);
    assert_eq!(b(&groups[1], "is_assignable_to_role"), Some(true));
    assert_eq!(
        groups[0]["group_types"],
        serde_json::json!(["Unified", "DynamicMembership"])
    );
    let members = lake.rows("SELECT * FROM group_members ORDER BY group_id, member_id");
    assert_eq!(members.len(), 3);
    assert_eq!(
        s(&members[0], "group_id").as_deref(),
        Some("44444444-5555-4666-8777-888888888888"),
        "from the page context"
    );
    assert_eq!(s(&members[0], "member_type").as_deref(), Some("user"));
    assert_eq!(
        s(&members[1], "member_type").as_deref(),
        Some("service_principal")
    );
    assert_eq!(
        s(&members[2], "group_id").as_deref(),
        Some("55555555-6666-4777-8888-000000000001"),
        "expanded members"
    );
}

#[test]
fn policy_assignments_link_policies_to_roles() {
    let lake = TestLake::new();
    lake.ingest(&[format("graph_policy_assignments.json")]);
    let rows = lake.rows("SELECT * FROM role_policies ORDER BY role_id");
    assert_eq!(rows.len(), 2);
    let (ga, pra) = (&rows[0], &rows[1]);
    assert_eq!(
        s(ga, "role_id").as_deref(),
        Some("62e90394-69f5-4237-9190-012177145e10")
    );
    assert_eq!(b(ga, "activation_mfa_required"), Some(false));
    assert_eq!(b(ga, "approval_required"), Some(true));
    assert_eq!(
        ga["approver_count"].as_i64(),
        Some(0),
        "approval with no approvers"
    );
    assert_eq!(ga["activation_max_seconds"].as_i64(), Some(24 * 3600));
    assert_eq!(b(ga, "active_expiration_required"), Some(false));
    assert_eq!(ga["notify_activation_recipients"], serde_json::json!([]));
    assert_eq!(
        s(pra, "role_id").as_deref(),
        Some("e8611ab8-c189-46e8-94e1-60213ab1f814")
    );
    assert_eq!(b(pra, "activation_ticket_required"), Some(true));
    assert_eq!(b(pra, "activation_auth_context_required"), Some(true));
    assert_eq!(s(pra, "activation_auth_context").as_deref(), Some("c1"));
    assert_eq!(pra["approver_count"].as_i64(), Some(2));
    assert_eq!(
        pra["notify_activation_recipients"],
        serde_json::json!(["secops@contoso.com", "soc@contoso.com"])
    );
    assert_eq!(
        s(pra, "tenant_id").as_deref(),
        Some("4f7a7bc2-28e2-46a3-b90e-5ade5bc90138")
    );
}

#[test]
fn admin_center_csv_download_is_read_and_marked_truncated() {
    let lake = TestLake::new();
    let report = lake.ingest(&[format("portal_audit.csv")]);
    assert_eq!(report.quarantined(), 0);
    let rows = lake.rows("SELECT * FROM audit_events");
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(s(r, "role_action").as_deref(), Some("direct_role_added"));
    assert_eq!(
        b(r, "via_pim"),
        Some(false),
        "a user, not MS-PIM, added the role"
    );
    assert_eq!(
        s(r, "role_id").as_deref(),
        Some("62e90394-69f5-4237-9190-012177145e10")
    );
    assert_eq!(
        s(r, "target_upn").as_deref(),
        Some("mallory.alt@contoso.com")
    );
    assert_eq!(s(r, "actor_upn").as_deref(), Some("mallory@contoso.com"));
    let note = r["details"]
        .as_array()
        .and_then(|d| d.iter().find(|kv| kv["key"] == "pimwatch.export"))
        .and_then(|kv| kv["value"].as_str());
    assert!(note.is_some_and(|n| n.contains("at most 3 targets")));
}

#[test]
fn kind_flag_forces_the_record_kind() {
    let lake = TestLake::new();
    // Nothing about this record says "sign-in" without the flag.
    let path = lake.write(
        "bare.jsonl",
        r#"{"id":"s-1","createdDateTime":"2026-09-01T00:00:00Z","userPrincipalName":"x@contoso.com","status":{"errorCode":0}}"#,
    );
    let detected = lake.ingest(std::slice::from_ref(&path));
    assert_eq!(lake.count("sign_ins"), 0);
    assert_eq!(lake.count("principals"), 1, "looks like a user by shape");
    assert_eq!(detected.quarantined(), 0);
    let forced = lake.ingest_with(
        &[path],
        &IngestOptions {
            kind: Some(RecordKind::SignIn),
            ..Default::default()
        },
    );
    assert_eq!(forced.rows_added(), 1);
    assert_eq!(lake.count("sign_ins"), 1);
}

#[test]
fn the_formats_folder_ingests_cleanly_and_idempotently() {
    let lake = TestLake::new();
    let first = lake.ingest(&[data("formats")]);
    assert_eq!(first.quarantined(), 0);
    assert!(first.failed_files().next().is_none());
    assert!(
        !first.files.iter().any(|f| f.name.ends_with("README.md")),
        "notes beside exports are skipped"
    );
    let second = lake.ingest(&[data("formats")]);
    assert_eq!(second.rows_added(), 0);
}

/// docs/getting-data.md names a sample for each export route: every one ingests cleanly
/// through the real path, so the guide cannot describe a shape the readers do not take.
#[test]
fn every_sample_the_export_guide_names_ingests_cleanly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(root.join("docs/getting-data.md")).expect("the guide");
    let named: std::collections::BTreeSet<&str> = guide
        .split('`')
        .filter(|part| part.starts_with("sample-data/formats/"))
        .collect();
    assert!(named.len() >= 12, "{named:?}");
    for sample in named {
        let lake = crate::support::TestLake::new();
        let report = lake.ingest(&[root.join(sample)]);
        assert_eq!(report.quarantined(), 0, "{sample}");
        assert!(report.failed_files().next().is_none(), "{sample}");
        assert!(report.rows_added() > 0, "{sample}: nothing ingested");
    }
}
