//! Synthetic tenants in real formats, with planted risky scenarios and their ground truth
//! (issue 3). Nobody can ship a real tenant's logs; the demo, the rule tests and the
//! benchmarks use these.
//!
//! - `channels`: one Graph object as a Graph page, an Event Hub record or a Log Analytics
//!   row.
//! - `tenant`: the directory (users, admin and break-glass accounts, PIM state, policies).
//! - `activity`: sign-ins, PIM activation lifecycles with Core Directory twins, noise.
//! - `scenarios`: the registry of planted scenarios and `truth.ndjson`.
//!
//! Layout: `DIR/logs/state/snapshot=<end>/*.json` (Graph pages of the directory as of the end
//! of the period; `ingest` reads the snapshot time from the folder name),
//! `DIR/logs/state/snapshot=<start>/` (the PIM policies the period changes, as they were
//! before), `DIR/logs/activity/*` (audits and sign-ins in the chosen format), `DIR/truth.ndjson`, `DIR/manifest.json`. Ingest `DIR/logs`.
//!
//! The same seed and arguments give byte-identical output. Activity streams to disk day by
//! day; only the directory is held in memory. Knows nothing of ingest, the lake or rules.

pub mod activity;
pub mod channels;
pub mod rng;
pub mod scenarios;
pub mod sensitive;
pub mod tenant;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::json;

use activity::{Activity, Plans};
use channels::{Channel, ChannelWriter, LogKind};
use rng::Rng;
use tenant::Tenant;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub out: PathBuf,
    pub users: usize,
    pub days: i64,
    pub seed: u64,
    pub channel: Channel,
    /// First day of activity (from its midnight, UTC).
    pub start: chrono::NaiveDate,
    /// Write every log file gzip-compressed (`.json.gz`), as storage exports often are.
    pub gzip: bool,
    /// Plant exactly these scenarios (by name) instead of the default set.
    pub scenarios: Option<Vec<String>>,
    /// The PIM settings roles start from, before scenarios weaken some.
    pub policies: tenant::PolicyBaseline,
    /// How the export lists the PIM policies.
    pub policies_shape: tenant::PolicyShape,
    /// Write into `out` even when it already holds files (they may be overwritten, and a
    /// second tenant's files would mix with the first's).
    pub force: bool,
}

/// What was generated: written to `manifest.json` too.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Manifest {
    pub generator: String,
    pub arguments: serde_json::Value,
    pub tenant_id: String,
    /// The time the state files describe (the end of the period), named by their folder.
    pub snapshot_time: String,
    pub files: Vec<(String, u64)>,
    pub truth: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("--users must be at least 20 (scenarios need distinct admin accounts), got {0}")]
    TooFewUsers(usize),
    #[error("--days must be at least 1, got {0}")]
    TooFewDays(i64),
    #[error("{0}")]
    Scenario(String),
    #[error("{0} is not empty: a second tenant would mix with what is there; choose an empty folder, or pass --force to write over it")]
    NotEmpty(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// `YYYY-MM-DDTHH:MM:SS.fffffffZ` (Graph writes 7 fractional digits).
pub fn iso(seconds: i64, ticks: u64) -> String {
    let time = chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default();
    if ticks == 0 {
        time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        format!(
            "{}.{:07}Z",
            time.format("%Y-%m-%dT%H:%M:%S"),
            ticks % 10_000_000
        )
    }
}

/// Replaces a file by its gzip-compressed copy (`<name>.gz`), streaming. The gzip header
/// carries no name and no time, so the bytes depend only on the content.
fn compress(path: &Path) -> io::Result<PathBuf> {
    let mut name = path.as_os_str().to_owned();
    name.push(".gz");
    let target = PathBuf::from(name);
    let mut input = File::open(path)?;
    let output = BufWriter::new(File::create(&target)?);
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(output, flate2::Compression::best());
    io::copy(&mut input, &mut encoder)?;
    encoder.finish()?.flush()?;
    fs::remove_file(path)?;
    Ok(target)
}

/// `20261031T000000Z`: how the lake names snapshots, and what `ingest` reads from a folder.
fn snapshot_name(seconds: i64) -> String {
    crate::model::Instant::from_nanos(seconds.saturating_mul(1_000_000_000)).snapshot_name()
}

/// Whether `dir` is missing or holds nothing.
fn is_empty_dir(dir: &Path) -> io::Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

pub fn generate(options: &GenerateOptions) -> Result<Manifest, GenerateError> {
    if options.users < 20 {
        return Err(GenerateError::TooFewUsers(options.users));
    }
    if options.days < 1 {
        return Err(GenerateError::TooFewDays(options.days));
    }
    let out = &options.out;
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenerateError::Io { path, source }
    };
    if !options.force && !is_empty_dir(out).map_err(io_error(out))? {
        return Err(GenerateError::NotEmpty(out.clone()));
    }
    let start = options
        .start
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp();
    let root = Rng::new(options.seed);
    let mut tenant = Tenant::build(&mut root.fork(1), options.users, start, options.policies);
    let mut plans = Plans::default();
    let truth = {
        let mut rng = root.fork(2);
        let mut ctx = scenarios::Context {
            tenant: &mut tenant,
            rng: &mut rng,
            plans: &mut plans,
            start,
            days: options.days,
            used: Vec::new(),
        };
        scenarios::plant(&mut ctx, options.scenarios.as_deref()).map_err(GenerateError::Scenario)?
    };

    let end = start + options.days * 86_400;
    let activity_dir = out.join("logs").join("activity");
    let audits = ChannelWriter::new(
        options.channel,
        LogKind::DirectoryAudit,
        &tenant.id,
        &activity_dir,
    )
    .map_err(io_error(&activity_dir))?;
    let sign_ins = ChannelWriter::new(options.channel, LogKind::SignIn, &tenant.id, &activity_dir)
        .map_err(io_error(&activity_dir))?;
    let mut activity = Activity::new(&mut tenant, root.fork(3), audits, sign_ins, end);
    activity
        .run(start, options.days, &plans)
        .map_err(io_error(&activity_dir))?;
    let Activity {
        audits,
        sign_ins,
        expected,
        ..
    } = activity;
    let truth = scenarios::with_activity_truths(truth, expected);
    let mut files = Vec::new();
    for writer in [audits, sign_ins] {
        let (written, _) = writer.finish().map_err(io_error(&activity_dir))?;
        files.extend(written);
    }

    // The folder names the snapshot, which survives copies and checkouts (unlike mtimes).
    let state_dir = out
        .join("logs")
        .join("state")
        .join(format!("snapshot={}", snapshot_name(end)));
    let state = tenant
        .write_state(&state_dir, end, options.policies_shape)
        .map_err(io_error(&state_dir))?;
    files.extend(state);
    // The policies the period changed, as exported at its start: comparing the two snapshots
    // shows what weakened (`pim-settings-weakened`).
    if !tenant.settings_before_change.is_empty() {
        let before_dir = out
            .join("logs")
            .join("state")
            .join(format!("snapshot={}", snapshot_name(start)));
        let before = tenant
            .write_policies(
                &before_dir,
                &tenant.policies_at_start(),
                options.policies_shape,
            )
            .map_err(io_error(&before_dir))?;
        files.extend(before);
    }
    if options.gzip {
        for (path, _) in &mut files {
            *path = compress(path).map_err(io_error(path))?;
        }
    }

    let truth_path = out.join("truth.ndjson");
    let mut truth_file = BufWriter::new(File::create(&truth_path).map_err(io_error(&truth_path))?);
    for line in &truth {
        serde_json::to_writer(&mut truth_file, line)
            .map_err(|e| io_error(&truth_path)(e.into()))?;
        truth_file.write_all(b"\n").map_err(io_error(&truth_path))?;
    }
    truth_file.flush().map_err(io_error(&truth_path))?;

    let relative = |p: &Path| p.strip_prefix(out).unwrap_or(p).display().to_string();
    let mut listed: Vec<(String, u64)> = files.iter().map(|(p, n)| (relative(p), *n)).collect();
    listed.sort();
    let manifest = Manifest {
        generator: format!("pimwatch generate {}", env!("CARGO_PKG_VERSION")),
        arguments: json!({
            "users": options.users, "days": options.days, "seed": options.seed,
            "format": format!("{:?}", options.channel).to_ascii_lowercase(), "start": iso(start, 0),
            "gzip": options.gzip, "scenarios": options.scenarios, "policies": options.policies,
            "policies_shape": options.policies_shape,
        }),
        tenant_id: tenant.id.clone(),
        snapshot_time: iso(end, 0),
        files: listed,
        truth: truth.len(),
    };
    let manifest_path = out.join("manifest.json");
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| io_error(&manifest_path)(e.into()))?;
    fs::write(&manifest_path, text + "\n").map_err(io_error(&manifest_path))?;
    Ok(manifest)
}
