//! `pimwatch generate`: deterministic, ingests cleanly in every format with the same rows,
//! and realistic where rules depend on it.

use std::collections::BTreeMap;
use std::path::Path;

use pimwatch::generate::channels::Channel;
use pimwatch::generate::{generate, GenerateOptions};

use crate::support::{s, tenant_options, TestLake};

fn options(out: &Path, seed: u64, channel: Channel) -> GenerateOptions {
    GenerateOptions {
        channel,
        ..tenant_options(out, 40, 6, seed)
    }
}

fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)
            .expect("read_dir")
            .filter_map(Result::ok)
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                files.insert(name, std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

#[test]
fn same_seed_same_bytes_other_seed_other_tenant() {
    let work = tempfile::tempdir().expect("temp");
    let (a, b, c) = (
        work.path().join("a"),
        work.path().join("b"),
        work.path().join("c"),
    );
    generate(&options(&a, 7, Channel::Graph)).expect("a");
    generate(&options(&b, 7, Channel::Graph)).expect("b");
    generate(&options(&c, 8, Channel::Graph)).expect("c");
    let (tree_a, tree_b, tree_c) = (read_tree(&a), read_tree(&b), read_tree(&c));
    assert!(tree_a.contains_key("truth.ndjson") && tree_a.contains_key("manifest.json"));
    assert_eq!(tree_a, tree_b, "same seed, same bytes");
    let users = "logs/state/snapshot=20261007T000000Z/users-00001.json";
    assert!(
        tree_a.contains_key(users),
        "{:?}",
        tree_a.keys().collect::<Vec<_>>()
    );
    assert_ne!(tree_a.get(users), tree_c.get(users));
}

fn canonical_keys(lake: &TestLake, table: &str) -> Vec<String> {
    lake.rows(&format!(
        "SELECT encode(dedupe_key, 'hex') AS k FROM {table} ORDER BY k"
    ))
    .iter()
    .filter_map(|r| s(r, "k"))
    .collect()
}

#[test]
fn every_format_ingests_cleanly_into_the_same_rows() {
    let mut keys = Vec::new();
    for channel in [Channel::Graph, Channel::Eventhub, Channel::LogAnalytics] {
        let lake = TestLake::new();
        let out = lake.dir.path().join("tenant");
        generate(&options(&out, 3, channel)).expect("generate");
        let report = lake.ingest(&[out.join("logs")]);
        assert_eq!(report.quarantined(), 0, "{channel:?}");
        assert!(report.failed_files().next().is_none());
        keys.push((
            channel,
            canonical_keys(&lake, "audit_events"),
            canonical_keys(&lake, "sign_ins"),
        ));
    }
    let (_, audits, sign_ins) = &keys[0];
    assert!(!audits.is_empty() && !sign_ins.is_empty());
    for (channel, a, s) in &keys[1..] {
        assert_eq!(a, audits, "{channel:?} audit rows differ from Graph");
        assert_eq!(s, sign_ins, "{channel:?} sign-in rows differ from Graph");
    }
}

#[test]
fn generated_activity_is_realistic_where_rules_depend_on_it() {
    let lake = TestLake::new();
    let out = lake.dir.path().join("tenant");
    generate(&options(&out, 11, Channel::Graph)).expect("generate");
    lake.ingest(&[out.join("logs")]);

    // Every completed activation has its Core Directory twin, made by PIM's own service
    // principal (exported with the tenant), named "MS-PIM" without its application id.
    let orphans = lake.view_rows(
        "SELECT c.request_id FROM role_events c WHERE c.role_action = 'activation_completed' AND NOT EXISTS \
         (SELECT 1 FROM role_events t WHERE t.pim_twin AND t.pim_identity_by = 'service principal' \
          AND t.correlation_id = c.correlation_id AND t.role_action = 'direct_role_added')",
        "2026-10-07T00:00:00Z",
    );
    assert!(
        orphans.is_empty(),
        "activations without a twin: {orphans:?}"
    );
    assert_eq!(
        lake.count("audit_events WHERE service = 'Core Directory' AND actor_app_id IS NOT NULL"),
        0,
        "real Core Directory records leave the application id out"
    );
    let completed = lake.count("audit_events WHERE role_action = 'activation_completed'");
    assert!(completed > 0);

    // The requester signed in before asking to activate.
    let unsigned = lake.rows(
        "SELECT r.request_id FROM audit_events r WHERE r.role_action = 'activation_requested' AND NOT EXISTS \
         (SELECT 1 FROM sign_ins s WHERE s.user_id = r.actor_id AND s.time < r.time AND s.time > r.time - INTERVAL '1 hour')",
    );
    assert!(
        unsigned.is_empty(),
        "activations with no sign-in before: {unsigned:?}"
    );

    // Approvals come from someone other than the requester, but for the one activation the
    // `self-approved-activation` scenario planted.
    let self_approved = lake.rows(
        "SELECT a.request_id FROM audit_events a JOIN audit_events r ON a.request_id = r.request_id \
         WHERE a.role_action = 'activation_approved' AND r.role_action = 'activation_requested' AND a.actor_id = r.actor_id",
    );
    let truth = std::fs::read_to_string(out.join("truth.ndjson")).expect("truth");
    let planted = truth
        .lines()
        .filter(|l| l.contains("\"self-approved-activation\""))
        .count();
    assert_eq!(planted, 1, "{truth}");
    assert_eq!(self_approved.len(), planted, "{self_approved:?}");

    // State is stamped with the end of the period, from the snapshot folder.
    let snapshots = lake.rows("SELECT DISTINCT snapshot_time FROM principals");
    assert_eq!(snapshots.len(), 1);
    assert_eq!(
        s(&snapshots[0], "snapshot_time").as_deref(),
        Some("2026-10-07T00:00:00Z")
    );

    // Break-glass accounts hold standing, permanent Global Administrator.
    let break_glass = lake.rows(
        "SELECT p.upn FROM role_assignments a JOIN principals p ON a.principal_id = p.principal_id \
         WHERE a.role_id = '62e90394-69f5-4237-9190-012177145e10' AND a.end_time IS NULL AND a.assignment_type = 'assigned' \
         AND p.upn LIKE 'breakglass%' ORDER BY p.upn",
    );
    assert_eq!(break_glass.len(), 2);
}

#[test]
fn truth_names_entities_that_exist_in_the_lake() {
    let lake = TestLake::new();
    let out = lake.dir.path().join("tenant");
    let manifest = generate(&options(&out, 5, Channel::Graph)).expect("generate");
    lake.ingest(&[out.join("logs")]);
    let truth: Vec<serde_json::Value> = std::fs::read_to_string(out.join("truth.ndjson"))
        .expect("truth")
        .lines()
        .map(|l| serde_json::from_str(l).expect("truth line"))
        .collect();
    assert_eq!(truth.len(), manifest.truth);
    // The manifest counts every record of every file.
    let listed: u64 = manifest.files.iter().map(|(_, n)| n).sum();
    let ingested = lake.count("audit_events")
        + lake.count("sign_ins")
        + lake.count("principals")
        + lake.count("role_definitions")
        + lake.count("role_assignments")
        + lake.count("role_eligibilities")
        + lake.count("role_policies")
        // PIM for Groups records (expanded group members come with their group's record).
        + lake.count("group_members WHERE membership_type <> 'direct'");
    assert_eq!(listed as i64, ingested);
    let entity = |rule: &str| {
        truth
            .iter()
            .find(|t| t["rule"] == rule)
            .and_then(|t| t["entity"].as_str())
            .unwrap_or_else(|| panic!("no truth for {rule}"))
            .to_string()
    };
    let stale = entity("privileged-account-stale");
    assert_eq!(
        lake.count(&format!(
            "sign_ins WHERE user_id = '{stale}' AND result = 'success'"
        )),
        0,
        "the stale admin never signs in successfully"
    );
    assert!(
        lake.count(&format!(
            "sign_ins WHERE user_id = '{stale}' AND result = 'failure'"
        )) > 0,
        "a password spray tries the stale admin"
    );
    assert!(
        lake.count(&format!(
            "role_eligibilities WHERE principal_id = '{stale}'"
        )) >= 1,
        "the stale admin still holds eligible roles"
    );
    assert_eq!(entity("too-many-global-admins"), manifest.tenant_id);
    let request = entity("activation-without-mfa");
    let weak = lake.rows(&format!(
        "SELECT s.mfa_satisfied FROM audit_events r JOIN sign_ins s ON s.user_id = r.actor_id \
         WHERE r.request_id = '{request}' AND r.role_action = 'activation_requested' AND s.time < r.time ORDER BY s.time DESC LIMIT 1"
    ));
    assert_eq!(weak.len(), 1);
    assert_eq!(weak[0]["mfa_satisfied"], serde_json::json!(false));
    let assignment = entity("role-assigned-outside-pim");
    let (outside, role) = assignment.split_once('/').expect("principal/role");
    assert_eq!(role, "194ae4cb-b126-40b2-bd5b-6091b380977d");
    let direct = lake.rows(&format!(
        "SELECT via_pim FROM audit_events WHERE target_id = '{outside}' AND role_action = 'direct_role_added' AND NOT pim_twin"
    ));
    assert_eq!(direct.len(), 1);
    assert_eq!(
        lake.count(&format!(
            "role_assignments WHERE principal_id = '{outside}' AND created_outside_pim"
        )),
        1
    );
}

#[test]
fn gzip_output_is_deterministic_and_ingests_the_same() {
    let work = tempfile::tempdir().expect("temp");
    let (plain, zipped, again) = (
        work.path().join("plain"),
        work.path().join("gz"),
        work.path().join("gz2"),
    );
    generate(&options(&plain, 4, Channel::Eventhub)).expect("plain");
    let mut gz = options(&zipped, 4, Channel::Eventhub);
    gz.gzip = true;
    generate(&gz).expect("gzip");
    gz.out = again.clone();
    generate(&gz).expect("gzip again");
    let tree = read_tree(&zipped);
    assert!(tree
        .keys()
        .filter(|k| k.starts_with("logs/"))
        .all(|k| k.ends_with(".json.gz")));
    assert_eq!(
        tree,
        read_tree(&again),
        "no file name or time in the gzip header"
    );
    let (a, b) = (TestLake::new(), TestLake::new());
    a.ingest(&[plain.join("logs")]);
    b.ingest(&[zipped.join("logs")]);
    assert_eq!(
        canonical_keys(&a, "sign_ins"),
        canonical_keys(&b, "sign_ins")
    );
    assert_eq!(
        canonical_keys(&a, "principals"),
        canonical_keys(&b, "principals")
    );
}

#[test]
fn too_small_a_tenant_is_refused_with_a_reason() {
    let work = tempfile::tempdir().expect("temp");
    let mut o = options(work.path(), 1, Channel::Graph);
    o.users = 3;
    let error = generate(&o).expect_err("refused");
    assert!(error.to_string().contains("--users must be at least 20"));
}

#[test]
fn sample_data_tenant_is_what_its_documented_command_makes() {
    // sample-data/README.md: generate --users 300 --days 30 --seed 1 --gzip (start 2026-10-01).
    let work = tempfile::tempdir().expect("temp");
    let out = work.path().join("tenant");
    let mut o = options(&out, 1, Channel::Graph);
    o.users = 300;
    o.days = 30;
    o.gzip = true;
    generate(&o).expect("generate");
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/tenant");
    let (made, kept) = (read_tree(&out), read_tree(&committed));
    assert_eq!(
        made.keys().collect::<Vec<_>>(),
        kept.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &made {
        assert!(
            kept.get(name) == Some(bytes),
            "{name} differs: regenerate sample-data/tenant"
        );
    }
}

#[test]
fn event_hub_output_is_hourly_blobs_in_the_diagnostic_settings_layout() {
    let work = tempfile::tempdir().expect("temp");
    let out = work.path().join("tenant");
    generate(&options(&out, 2, Channel::Eventhub)).expect("generate");
    let tree = read_tree(&out.join("logs/activity"));
    for container in [
        "insights-logs-auditlogs/",
        "insights-logs-signinlogs/",
        "insights-logs-noninteractiveusersigninlogs/",
    ] {
        assert!(
            tree.keys().any(|k| k.starts_with(container)),
            "no {container}"
        );
    }
    for (name, bytes) in &tree {
        assert!(name.ends_with("/m=00/PT1H.json"), "{name}");
        let hour = name
            .split("/h=")
            .nth(1)
            .and_then(|h| h.get(0..2))
            .expect("hour folder");
        for line in String::from_utf8_lossy(bytes).lines() {
            let record: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let time = record["time"].as_str().unwrap_or_default();
            assert_eq!(time.get(11..13), Some(hour), "{name}: {time}");
        }
    }
}

#[test]
fn the_sample_tenant_has_the_whole_pim_vocabulary_and_directory() {
    let lake = TestLake::new();
    let report =
        lake.ingest(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/tenant/logs")]);
    assert_eq!(report.quarantined(), 0);
    for action in [
        "activation_requested",
        "activation_approved",
        "activation_denied",
        "activation_completed",
        "activation_expired",
        "deactivation_requested",
        "deactivated",
        "eligible_assigned",
        "eligible_removed",
        "assignment_extend_requested",
        "assignment_extended",
        "policy_updated",
        "direct_role_added",
        "direct_role_removed",
    ] {
        assert!(
            lake.count(&format!("audit_events WHERE role_action = '{action}'")) > 0,
            "no {action} in the sample tenant"
        );
    }
    // A denied request never completes and never changes the directory.
    let completed_denials = lake.rows(
        "SELECT d.request_id FROM audit_events d JOIN audit_events c ON c.request_id = d.request_id \
         WHERE d.role_action = 'activation_denied' AND c.role_action = 'activation_completed'",
    );
    assert!(completed_denials.is_empty(), "{completed_denials:?}");
    // One PIM policy per built-in role, custom roles (one privileged by what it allows),
    // role-assignable groups with members and a PIM for Groups eligible member, the tenant's
    // directoryRole objects, and PIM's own service principal. The policies are exported twice:
    // at the start of the period (before the scenarios change some) and at its end.
    assert_eq!(
        lake.count(
            "role_policies WHERE snapshot_time = (SELECT max(snapshot_time) FROM role_policies)"
        ),
        123
    );
    assert_eq!(
        lake.rows("SELECT DISTINCT snapshot_time FROM role_policies")
            .len(),
        2
    );
    assert_eq!(lake.count("role_definitions WHERE NOT is_built_in"), 2);
    assert_eq!(
        lake.count("role_definitions WHERE NOT is_built_in AND is_privileged AND tier = 0"),
        1
    );
    assert!(lake.count("role_definitions WHERE collection = 'directoryRoles'") > 5);
    assert_eq!(
        lake.count("principals WHERE principal_type = 'group' AND is_assignable_to_role"),
        2
    );
    assert_eq!(
        lake.count("group_members WHERE membership_type = 'direct'"),
        4
    );
    assert_eq!(
        lake.count("group_members WHERE membership_type = 'eligible'"),
        1
    );
    assert_eq!(
        lake.count("principals WHERE app_id = '01fc33a7-78ba-4d2f-a4b7-768e336e890e'"),
        1
    );
    // Password sprays and MFA satisfied by a token claim are in the logs too.
    assert!(lake.count("sign_ins WHERE error_code = 50126") > 0);
    assert!(
        lake.count("sign_ins WHERE mfa_satisfied AND NOT mfa_performed AND is_interactive") > 0
    );
}
