//! `pimwatch pull` against the fake Graph (tests/it/fake_graph.rs) serving a generated tenant:
//! the same rows as ingesting the tenant's files, through 429s, 503s and a token that
//! expires on the way; a pull that fails or is killed midway resumes from its checkpoint with
//! no gap and no duplicate; a 403 names the missing permission; the secret appears nowhere.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pimwatch::generate::generate;

use crate::fake_graph::{FakeGraph, Fault, CLIENT, SECRET, TENANT};
use crate::support::{pimwatch_command, tenant_options, text, TestLake};

/// A small generated tenant (Graph pages) in `dir`.
fn tenant(dir: &Path) -> PathBuf {
    let out = dir.join("tenant");
    generate(&tenant_options(&out, 40, 6, 7)).expect("generate");
    out.join("logs")
}

fn pull_command(lake: &TestLake, graph: &FakeGraph, extra: &[&str]) -> Command {
    let mut command = pimwatch_command(lake, &[]);
    command
        .args(["pull", "--graph-url", &graph.url, "--login-url", &graph.url])
        .args(["--backfill-days", "400"])
        .args(extra)
        .env("PIMWATCH_TENANT_ID", TENANT)
        .env("PIMWATCH_CLIENT_ID", CLIENT)
        .env("PIMWATCH_CLIENT_SECRET", SECRET)
        // Run from an empty folder: no pimwatch.toml of the developer's applies.
        .current_dir(lake.dir.path());
    command
}

fn pull(lake: &TestLake, graph: &FakeGraph) -> Output {
    pull_command(lake, graph, &[])
        .output()
        .expect("run pimwatch pull")
}

/// The rows of each table that must match between a pull and an ingest of the files:
/// events by their dedupe key (every event once, however many pulls), state by its identity
/// in the newest snapshot (each pull takes a snapshot of its own).
fn contents(lake: &TestLake) -> Vec<(String, Vec<String>)> {
    let keys = |sql: &str| -> Vec<String> {
        lake.rows(sql)
            .iter()
            .map(|r| {
                r.values()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    };
    [
        ("audit_events", "SELECT encode(dedupe_key, 'hex') AS k FROM audit_events ORDER BY k"),
        ("sign_ins", "SELECT encode(dedupe_key, 'hex') AS k FROM sign_ins ORDER BY k"),
        ("principals", "SELECT principal_id, display_name, account_enabled FROM principals WHERE snapshot_time = (SELECT max(snapshot_time) FROM principals) ORDER BY principal_id"),
        ("role_definitions", "SELECT role_id FROM role_definitions WHERE snapshot_time = (SELECT max(snapshot_time) FROM role_definitions) ORDER BY role_id"),
        ("role_assignments", "SELECT principal_id, role_id, record_type FROM role_assignments WHERE snapshot_time = (SELECT max(snapshot_time) FROM role_assignments) ORDER BY 1, 2, 3"),
        ("role_eligibilities", "SELECT principal_id, role_id, record_type FROM role_eligibilities WHERE snapshot_time = (SELECT max(snapshot_time) FROM role_eligibilities) ORDER BY 1, 2, 3"),
        ("role_policies", "SELECT policy_id, role_id FROM role_policies WHERE snapshot_time = (SELECT max(snapshot_time) FROM role_policies) ORDER BY 1, 2"),
        ("group_members", "SELECT group_id, member_id FROM group_members WHERE snapshot_time = (SELECT max(snapshot_time) FROM group_members) ORDER BY 1, 2"),
    ]
    .into_iter()
    .map(|(table, sql)| (table.to_string(), keys(sql)))
    .collect()
}

fn ingested(logs: &Path) -> Vec<(String, Vec<String>)> {
    let lake = TestLake::new();
    assert_eq!(lake.ingest(&[logs.to_path_buf()]).quarantined(), 0);
    contents(&lake)
}

fn assert_same(pulled: &[(String, Vec<String>)], files: &[(String, Vec<String>)]) {
    for ((table, got), (_, want)) in pulled.iter().zip(files) {
        assert!(!want.is_empty(), "{table}: the tenant has rows");
        assert_eq!(got.len(), want.len(), "{table}: rows");
        assert_eq!(got, want, "{table}: contents");
    }
}

fn assert_no_secret(texts: &[&str], lake: &TestLake) {
    for text in texts {
        assert!(!text.contains(SECRET), "the secret leaked: {text}");
        assert!(!text.contains("token-1"), "a token leaked: {text}");
    }
    let mut stack = vec![lake.lake.root().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                assert!(
                    !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                    "the secret is in {}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn a_pull_lands_the_same_rows_as_ingesting_the_files_through_faults() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let logs = tenant(scratch.path());
    let graph = FakeGraph::start(&logs, 250);
    graph.fault(Fault {
        path: "auditLogs/directoryAudits",
        skip: 0,
        times: 1,
        status: 429,
        retry_after: Some(1),
    });
    graph.fault(Fault {
        path: "auditLogs/signIns",
        skip: 1,
        times: 2,
        status: 503,
        retry_after: None,
    });
    graph.fault(Fault {
        path: "users",
        skip: 0,
        times: 1,
        status: 504,
        retry_after: Some(0),
    });
    graph.expire_token_after(4);

    let lake = TestLake::new();
    let out = pull(&lake, &graph);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // One 429, two 503s, one 504: four retries.
    let retried: u32 = stdout
        .split(" retried")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the retry count");
    assert_eq!(retried, 4, "{stdout}");
    assert!(stderr.contains("pulled directoryAudits ["), "{stderr}");
    assert!(graph.tokens_issued() >= 2, "the expired token was renewed");
    assert_same(&contents(&lake), &ingested(&logs));
    assert!(
        graph.count("auditLogs/signIns") > 250,
        "sign-ins span several pages"
    );
    assert_no_secret(&[&stdout, &stderr], &lake);
}

#[test]
fn a_pull_that_fails_or_is_killed_resumes_with_no_gap_and_no_duplicate() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let logs = tenant(scratch.path());
    let files = ingested(&logs);
    let graph = FakeGraph::start(&logs, 100);
    let lake = TestLake::new();

    // Sign-ins break for good on their third page: the audits are committed and
    // checkpointed, the sign-ins are not; exit 2 naming the endpoint.
    graph.fault(Fault {
        path: "auditLogs/signIns",
        skip: 2,
        times: 1,
        status: 400,
        retry_after: None,
    });
    let out = pull(&lake, &graph);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("signIns: HTTP 400"),
        "{}",
        text(&out.stderr)
    );
    let checkpoint: serde_json::Value = serde_json::from_slice(
        &std::fs::read(lake.lake.root().join("_lake/pull.json")).expect("checkpoint"),
    )
    .expect("json");
    assert!(checkpoint["watermarks"]["directoryAudits"].is_string());
    assert!(checkpoint["watermarks"]["signIns"].is_null());

    // Killed at three points of a slow pull (a Retry-After holds it midway), then run again.
    for (kill_after_ms, skip) in [(300, 0), (900, 3), (1500, 6)] {
        graph.fault(Fault {
            path: "auditLogs/signIns",
            skip,
            times: 1,
            status: 429,
            retry_after: Some(2),
        });
        let mut child = pull_command(&lake, &graph, &[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn pull");
        std::thread::sleep(std::time::Duration::from_millis(kill_after_ms));
        let _ = child.kill();
        let _ = child.wait();
    }
    let out = pull(&lake, &graph);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_same(&contents(&lake), &files);

    // Again: the events are read from the watermark (minus the overlap), nothing doubles.
    let out = pull(&lake, &graph);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let again = contents(&lake);
    assert_eq!(again[0], files[0], "audit events once");
    assert_eq!(again[1], files[1], "sign-ins once");
}

#[test]
fn a_next_link_to_another_host_is_not_followed() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let logs = tenant(scratch.path());
    let graph = FakeGraph::start(&logs, 500);
    // A listener that records whether anything connects: the token must never go there.
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    elsewhere.set_nonblocking(true).expect("nonblocking");
    let foreign = format!("http://{}", elsewhere.local_addr().expect("address"));
    graph.send_links_to(&foreign);
    let lake = TestLake::new();
    let out = pull(&lake, &graph);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("next page link leaves") && stderr.contains("not followed"),
        "{stderr}"
    );
    assert!(
        elsewhere.accept().is_err(),
        "pull connected to the foreign host"
    );
}

#[test]
fn a_missing_permission_and_a_wrong_secret_say_what_to_do() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let logs = tenant(scratch.path());
    let graph = FakeGraph::start(&logs, 500);
    graph.forbid("roleManagement/directory/roleEligibilityScheduleInstances");
    let lake = TestLake::new();
    let out = pull(&lake, &graph);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("403 Forbidden on roleEligibilityScheduleInstances")
            && stderr.contains("RoleEligibilitySchedule.Read.Directory"),
        "{stderr}"
    );

    let out = pull_command(&lake, &graph, &[])
        .env("PIMWATCH_CLIENT_SECRET", "wrong-secret-value")
        .output()
        .expect("run pull");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("invalid_client"), "{stderr}");
    assert!(!stderr.contains("wrong-secret-value"), "{stderr}");

    // No settings at all: which variables to set.
    let out = pimwatch_command(&lake, &["pull"])
        .env_remove("PIMWATCH_TENANT_ID")
        .current_dir(lake.dir.path())
        .output()
        .expect("run pull");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("PIMWATCH_TENANT_ID"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_pulls_when_graph_is_configured_then_detects() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let logs = tenant(scratch.path());
    let graph = FakeGraph::start(&logs, 500);
    let lake = TestLake::new();
    let config = lake.write(
        "pimwatch.toml",
        format!(
            "[graph]\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT}\"\nclient_secret_file = \"secret\"\n\
             graph_url = \"{url}\"\nlogin_url = \"{url}\"\nbackfill_days = 400\n",
            url = graph.url
        ),
    );
    lake.write("secret", format!("{SECRET}\n"));
    let out = pimwatch_command(&lake, &["--config", config.to_str().expect("path")])
        .args([
            "run",
            "--as-of",
            "2026-10-07T00:00:00Z",
            "--lookback",
            "30",
            "--log-format",
            "json",
        ])
        .env_remove("PIMWATCH_TENANT_ID")
        .env_remove("PIMWATCH_CLIENT_SECRET")
        .current_dir(lake.dir.path())
        .output()
        .expect("run pimwatch");
    let stderr = text(&out.stderr);
    let stages: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let names: Vec<&str> = stages.iter().filter_map(|s| s["stage"].as_str()).collect();
    assert_eq!(names[..2], ["pull", "detect"], "{stderr}");
    assert_eq!(stages[0]["ok"], true, "{stderr}");
    assert!(stages[0]["rows_added"].as_u64().unwrap_or(0) > 0);
    assert!(stages[1]["rules"].as_u64().unwrap_or(0) > 0);
    assert_no_secret(&[&stderr, &text(&out.stdout)], &lake);
}

/// docs/graph-setup.md lists every endpoint pull reads and the permission it needs.
#[test]
fn the_setup_guide_names_every_endpoint_and_permission() {
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/graph-setup.md"))
            .expect("docs/graph-setup.md");
    for endpoint in pimwatch::pull::ENDPOINTS {
        let path = endpoint.path.split('?').next().unwrap_or(endpoint.path);
        assert!(guide.contains(path), "{path} is not in the guide");
        for permission in endpoint
            .permission
            .split(" and ")
            .map(|p| p.split_whitespace().next().unwrap_or(p))
        {
            assert!(
                guide.contains(permission),
                "{permission} is not in the guide"
            );
        }
    }
}

/// Workload identity federation (a token file as Kubernetes provides) and `--save-raw`:
/// the saved pages, ingested, give the same rows as the pull.
#[test]
fn a_federated_token_pull_saves_raw_pages_that_ingest_to_the_same_rows() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let logs = tenant(scratch.path());
    let graph = FakeGraph::start(&logs, 300);
    let lake = TestLake::new();
    let token_file = lake.write("azure-identity-token", crate::fake_graph::FEDERATED_TOKEN);
    let raw = lake.dir.path().join("raw");
    let out = pull_command(&lake, &graph, &["--save-raw", raw.to_str().expect("path")])
        .env_remove("PIMWATCH_CLIENT_SECRET")
        .env("AZURE_FEDERATED_TOKEN_FILE", &token_file)
        .output()
        .expect("run pull");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pulled = contents(&lake);
    assert_same(&pulled, &ingested(&logs));

    let replay = TestLake::new();
    let report = replay.ingest(&[raw]);
    assert_eq!(report.quarantined(), 0);
    assert!(report.files.iter().all(|f| f.name.ends_with(".json.gz")));
    assert_same(&contents(&replay), &pulled);
}

/// Azure managed identity (the App Service / Container Apps endpoint): no tenant, no
/// secret, a token from `IDENTITY_ENDPOINT`.
#[test]
fn a_managed_identity_pull_needs_no_secret() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let logs = tenant(scratch.path());
    let graph = FakeGraph::start(&logs, 500);
    let lake = TestLake::new();
    let config = lake.write(
        "pimwatch.toml",
        format!(
            "[graph]\nmanaged_identity = true\ngraph_url = \"{url}\"\nbackfill_days = 400\n",
            url = graph.url
        ),
    );
    let out = pimwatch_command(&lake, &["--config", config.to_str().expect("path"), "pull"])
        .env_remove("PIMWATCH_TENANT_ID")
        .env_remove("PIMWATCH_CLIENT_ID")
        .env_remove("PIMWATCH_CLIENT_SECRET")
        .env("IDENTITY_ENDPOINT", format!("{}/msi/token", graph.url))
        .env("IDENTITY_HEADER", crate::fake_graph::IDENTITY_HEADER)
        .current_dir(lake.dir.path())
        .output()
        .expect("run pull");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(graph.tokens_issued(), 1);
    assert_same(&contents(&lake), &ingested(&logs));
}

/// A certificate credential (PIMWATCH_CLIENT_CERTIFICATE): the fake checks the RS256
/// assertion's signature, thumbprint, audience and client.
#[test]
fn a_certificate_pull_signs_its_client_assertion() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let logs = tenant(scratch.path());
    let graph = FakeGraph::start(&logs, 500);
    let lake = TestLake::new();
    let certificate = crate::support::data("graph/test-client-certificate.pem");
    let out = pull_command(&lake, &graph, &[])
        .env_remove("PIMWATCH_CLIENT_SECRET")
        .env("PIMWATCH_CLIENT_CERTIFICATE", &certificate)
        .output()
        .expect("run pull");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(graph.tokens_issued(), 1);
    assert!(!stderr.contains("PRIVATE KEY"));
    assert_same(&contents(&lake), &ingested(&logs));
}
