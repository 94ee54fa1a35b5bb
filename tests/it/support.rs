//! Shared test helpers: a throwaway lake, ingest through the real path, SQL rows as JSON.

use std::path::{Path, PathBuf};

use pimwatch::engine::Engine;
use pimwatch::ingest::{ingest_paths, IngestOptions, IngestReport, NoProgress};
use pimwatch::lake::Lake;
use pimwatch::model::Instant;
use pimwatch::report::{write_batches, Format};
use serde_json::{Map, Value};

pub fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(relative)
}

pub fn sample(relative: &str) -> PathBuf {
    data("samples").join(relative)
}

pub type Row = Map<String, Value>;

pub struct TestLake {
    pub dir: tempfile::TempDir,
    pub lake: Lake,
}

impl TestLake {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let lake = Lake::new(dir.path().join("lake"));
        Self { dir, lake }
    }

    pub fn ingest(&self, paths: &[PathBuf]) -> IngestReport {
        self.ingest_with(paths, &IngestOptions::default())
    }

    /// Ingests with state files stamped as of `snapshot` (RFC 3339), as `--snapshot-time` does.
    pub fn ingest_at(&self, paths: &[PathBuf], snapshot: &str) -> IngestReport {
        let options = IngestOptions {
            snapshot_time: Some(Instant::parse(snapshot).expect("snapshot time")),
            ..Default::default()
        };
        self.ingest_with(paths, &options)
    }

    pub fn ingest_with(&self, paths: &[PathBuf], options: &IngestOptions) -> IngestReport {
        ingest_paths(&self.lake, paths, options, &mut NoProgress).expect("ingest")
    }

    /// Runs SQL over the lake and returns the rows as JSON objects (nulls as `null`).
    pub fn rows(&self, sql: &str) -> Vec<Row> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let batches = runtime.block_on(async {
            let engine = Engine::open(&self.lake).await.expect("engine");
            engine
                .query(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        });
        batches_to_rows(&batches)
    }

    /// Runs SQL with the built-in pack's views registered as of `as_of` (all history).
    pub fn view_rows(&self, sql: &str, as_of: &str) -> Vec<Row> {
        let as_of = Instant::parse(as_of).expect("as_of");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let batches = runtime.block_on(async {
            let options = pimwatch::engine::EngineOptions {
                as_of,
                views: pimwatch::rules::RuleSet::embedded()
                    .expect("built-in pack")
                    .views,
                break_glass_accounts: Vec::new(),
                break_glass_patterns: pimwatch::config::DEFAULT_BREAK_GLASS_PATTERNS
                    .iter()
                    .map(|p| p.to_string())
                    .collect(),
                history_start: None,
                limits: pimwatch::engine::Limits::machine_default(),
                materialize_views: true,
            };
            let engine = Engine::open_with(&self.lake, &options)
                .await
                .expect("engine");
            engine
                .query(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        });
        batches_to_rows(&batches)
    }

    pub fn count(&self, table: &str) -> i64 {
        let rows = self.rows(&format!("SELECT count(*) AS n FROM {table}"));
        rows[0]["n"].as_i64().expect("count")
    }

    /// Writes a file into the test folder and returns its path.
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join("inputs").join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
        path
    }

    /// Every quarantine entry written so far.
    pub fn quarantine(&self) -> Vec<Value> {
        let dir = self.lake.quarantine_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
            .flat_map(|p| {
                std::fs::read_to_string(p)
                    .expect("read quarantine")
                    .lines()
                    .map(|l| serde_json::from_str(l).expect("quarantine line is JSON"))
                    .collect::<Vec<Value>>()
            })
            .collect()
    }
}

fn batches_to_rows(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> Vec<Row> {
    let mut out = Vec::new();
    write_batches(Format::Ndjson, batches, &mut out).expect("ndjson");
    String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(Value::Object(map)) => map,
            other => panic!("not an object: {other:?}"),
        })
        .collect()
}

/// Runs `detect` as of `as_of` (no store) and returns its alerts and stderr.
pub fn detect_alerts(lake: &TestLake, extra: &[&str], as_of: &str) -> (Vec<Value>, String) {
    let mut args = extra.to_vec();
    args.extend_from_slice(&[
        "detect",
        "--as-of",
        as_of,
        "--format",
        "ndjson",
        "--no-store",
    ]);
    let out = pimwatch(lake, &args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "detect failed: {}",
        text(&out.stderr)
    );
    let alerts = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert line"))
        .collect();
    (alerts, text(&out.stderr))
}

/// The entity ids a rule reported.
pub fn entities(alerts: &[Value], rule: &str) -> Vec<String> {
    let mut ids: Vec<String> = alerts
        .iter()
        .filter(|a| a["rule_id"] == rule)
        .filter_map(|a| a["entity_id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

pub fn s(row: &Row, column: &str) -> Option<String> {
    row.get(column).and_then(|v| v.as_str()).map(str::to_string)
}

pub fn b(row: &Row, column: &str) -> Option<bool> {
    row.get(column).and_then(Value::as_bool)
}

/// Runs the real binary on `lake` with `args`.
/// The pimwatch binary on `lake` with `args`, to add environment or pipes before running.
pub fn pimwatch_command(lake: &TestLake, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pimwatch"));
    command.arg("--lake").arg(lake.lake.root()).args(args);
    command
}

pub fn pimwatch(lake: &TestLake, args: &[&str]) -> std::process::Output {
    pimwatch_command(lake, args).output().expect("run pimwatch")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A lake holding the sample tenant (`generate`'s defaults: 300 users, 30 days from
/// 2026-10-01, seed 1, Graph pages) ingested through the real path, and the tenant's folder
/// (its `truth.ndjson` and `logs/`).
pub fn generated_tenant_lake() -> (TestLake, PathBuf) {
    let lake = TestLake::new();
    let tenant = lake.dir.path().join("tenant");
    pimwatch::generate::generate(&tenant_options(&tenant, 300, 30, 1)).expect("generate");
    assert_eq!(lake.ingest(&[tenant.join("logs")]).quarantined(), 0);
    (lake, tenant)
}

/// `generate`'s options for a tenant of `users` people and `days` days from 2026-10-01, as
/// Graph pages, with the default scenarios and policies.
pub fn tenant_options(
    out: &Path,
    users: usize,
    days: i64,
    seed: u64,
) -> pimwatch::generate::GenerateOptions {
    pimwatch::generate::GenerateOptions {
        out: out.to_path_buf(),
        users,
        days,
        seed,
        channel: pimwatch::generate::channels::Channel::Graph,
        start: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).expect("a date"),
        gzip: false,
        scenarios: None,
        policies: Default::default(),
        policies_shape: Default::default(),
        force: false,
    }
}

/// A webhook receiver on a loopback port the test owns: records every request (path and
/// body) and answers with the scripted statuses first (e.g. a 500 to force a retry), then
/// 200.
pub struct WebhookReceiver {
    pub url: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<ReceivedRequest>>>,
}

#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub path: String,
    pub body: Value,
    /// The status the receiver answered.
    pub status: u16,
}

impl WebhookReceiver {
    pub fn start(path: &str, script: Vec<u16>) -> Self {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("address").port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        let script = std::sync::Arc::new(std::sync::Mutex::new(script));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let status = {
                    let mut script = script.lock().expect("script");
                    if script.is_empty() {
                        200
                    } else {
                        script.remove(0)
                    }
                };
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                seen.lock().expect("requests").push(ReceivedRequest {
                    path,
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                    status,
                });
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nRetry-After: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}{path}"),
            requests,
        }
    }

    /// The requests answered with 2xx.
    pub fn delivered(&self) -> Vec<ReceivedRequest> {
        self.requests
            .lock()
            .expect("requests")
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<ReceivedRequest> {
        self.requests.lock().expect("requests").clone()
    }
}
