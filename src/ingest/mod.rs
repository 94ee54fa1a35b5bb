//! Ingest: files and folders → records → canonical rows → the lake.
//!
//! `source` reads containers (gzip, NDJSON, JSON documents, CSV), `detect` decides what each
//! record is, `normalize` turns it into canonical rows. This module walks the inputs, keeps
//! the per-file bookkeeping (snapshot time, quarantine, counts) and hands rows to the lake's
//! writers. It knows nothing of rules, alerts or reports.

pub mod detect;
pub mod fields;
pub mod normalize;
pub mod source;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};
use std::time::SystemTime;

use serde_json::Value;

use crate::lake::{Lake, LakeError, Quarantine, QuarantineEntry, TableWriter, WriteSummary};
use crate::model::{
    AuditEvent, GroupMember, Principal, RoleAssignment, RoleDefinition, RoleEligibility,
    RolePolicy, RoleRequest, SignIn, SNAPSHOT_NAME_FORMAT,
};
use detect::{classify, RecordKind};
use normalize::{normalize, stamp_rows, CanonicalRow, FileContext, PolicyRuleCollector};
use source::{read_file, BadRecord, Container, FileError, Locator, RecordSink, SourceRecord};

/// How to ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Treat every record as this kind instead of detecting it.
    pub kind: Option<RecordKind>,
    /// The time state files describe (nanoseconds, UTC); default: each file's modification time.
    pub snapshot_time: Option<i64>,
    /// The time of state files that have neither `snapshot_time` nor a `snapshot=` folder in
    /// their path; default: the file's modification time. Rule tests set it to their `as_of`.
    pub default_snapshot_time: Option<i64>,
}

/// Told about progress; the CLI draws a bar on a terminal.
pub trait Progress {
    fn start(&mut self, _total_bytes: u64, _files: usize) {}
    fn file_done(&mut self, _path: &Path, _bytes: u64) {}
}

/// No progress display.
pub struct NoProgress;
impl Progress for NoProgress {}

/// What happened to one input file.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    pub path: PathBuf,
    pub container: Option<Container>,
    pub records: u64,
    pub rows_added: u64,
    pub duplicates_skipped: u64,
    pub quarantined: u64,
    pub quarantine_file: Option<PathBuf>,
    /// Set when the file could not be read at all.
    pub error: Option<String>,
    /// Set when the file was read but deserves a look (e.g. empty).
    pub warning: Option<String>,
}

/// What one ingest run did.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    pub files: Vec<FileReport>,
    pub tables: Vec<(&'static str, WriteSummary)>,
}

impl IngestReport {
    pub fn failed_files(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| f.error.is_some())
    }

    pub fn quarantined(&self) -> u64 {
        self.files.iter().map(|f| f.quarantined).sum()
    }

    pub fn rows_added(&self) -> u64 {
        self.tables.iter().map(|(_, s)| s.rows_added).sum()
    }

    pub fn duplicates_skipped(&self) -> u64 {
        self.tables.iter().map(|(_, s)| s.duplicates_skipped).sum()
    }
}

/// Errors that stop a whole ingest (a file that cannot be read does not: it is reported).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: no such file or folder")]
    Missing { path: PathBuf },
    #[error("{path}: cannot list this folder: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lake(#[from] LakeError),
}

/// Ingests files and folders (walked recursively; hidden entries and files that are not
/// exports by their extension are skipped) into the lake.
pub fn ingest_paths(
    lake: &Lake,
    paths: &[PathBuf],
    options: &IngestOptions,
    progress: &mut dyn Progress,
) -> Result<IngestReport, IngestError> {
    let mut files = Vec::new();
    for path in paths {
        if !path.exists() {
            return Err(IngestError::Missing { path: path.clone() });
        }
        collect_files(path, lake.root(), &mut files)?;
    }
    let total_bytes = files
        .iter()
        .filter_map(|f| fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    progress.start(total_bytes, files.len());

    let ingested_at = now_nanos();
    let started = chrono::Utc::now().format(SNAPSHOT_NAME_FORMAT).to_string();
    let mut writers = Writers::new(lake);
    let mut report = IngestReport::default();

    // Two stages on two threads: one reads and normalizes files, in order; this one
    // deduplicates and writes. The bounded channel keeps memory bounded and the order (so
    // the lake is the same whatever the timing).
    let (sender, receiver) = mpsc::sync_channel::<Message>(CHANNEL_BATCHES);
    std::thread::scope(|scope| -> Result<(), IngestError> {
        let files = &files;
        scope.spawn(move || {
            for path in files {
                if !read_and_normalize(path, options, ingested_at, &sender) {
                    return; // the writer stopped: nothing more to do
                }
            }
        });
        let mut current: Option<(Quarantine, WriteSummary)> = None;
        for message in receiver {
            match message {
                Message::FileStarted(path) => {
                    current = Some((Quarantine::new(lake, &path, &started), writers.totals()));
                }
                Message::Rows(rows) => {
                    for row in rows {
                        writers.push(row)?;
                    }
                }
                Message::Quarantine(entry) => {
                    if let Some((quarantine, _)) = current.as_mut() {
                        quarantine.add(entry.as_ref())?;
                    }
                }
                Message::FileDone(file_report) => {
                    let mut file_report = *file_report;
                    if let Some((quarantine, before)) = current.take() {
                        file_report.quarantined = quarantine.count();
                        file_report.quarantine_file = quarantine.finish()?;
                        let after = writers.totals();
                        file_report.rows_added = after.rows_added - before.rows_added;
                        file_report.duplicates_skipped =
                            after.duplicates_skipped - before.duplicates_skipped;
                    }
                    if file_report.container.is_some()
                        && file_report.records > 0
                        && file_report.quarantined == file_report.records
                    {
                        file_report.warning = Some(
                            "no record in this file was recognised; see the quarantine".into(),
                        );
                    }
                    let bytes = fs::metadata(&file_report.path)
                        .map(|m| m.len())
                        .unwrap_or(0);
                    progress.file_done(&file_report.path, bytes);
                    report.files.push(file_report);
                }
            }
        }
        Ok(())
    })?;
    writers.flush()?;
    report.tables = writers.summaries();
    Ok(report)
}

/// Rows sent between the stages at once, and batches in flight.
const BATCH_ROWS: usize = 512;
const CHANNEL_BATCHES: usize = 16;

/// What the reading stage tells the writing stage, in file order.
enum Message {
    FileStarted(PathBuf),
    Rows(Vec<CanonicalRow>),
    Quarantine(Box<QuarantineEntry>),
    FileDone(Box<FileReport>),
}

fn collect_files(
    path: &Path,
    lake_root: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), IngestError> {
    let io = |source| IngestError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    if path.is_file() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    // Never ingest the lake into itself.
    if let (Ok(a), Ok(b)) = (fs::canonicalize(path), fs::canonicalize(lake_root)) {
        if a == b {
            return Ok(());
        }
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(path)
        .map_err(io)?
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.is_dir() || is_export_file(p))
        .collect();
    entries.sort();
    for entry in entries {
        collect_files(&entry, lake_root, files)?;
    }
    Ok(())
}

/// Extensions read when walking a folder (a file named on the command line is always read):
/// documentation and notes beside the exports are left alone.
const EXPORT_EXTENSIONS: &[&str] = &["json", "jsonl", "ndjson", "csv", "tsv", "log", "gz"];

fn is_export_file(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| EXPORT_EXTENSIONS.contains(&e.as_str()))
}

fn now_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

/// Seconds precision: a snapshot is named by its second (`snapshot=20261128T060000Z`).
fn to_snapshot_time(nanos: i64) -> i64 {
    nanos - nanos.rem_euclid(1_000_000_000)
}

/// The time named by the nearest `snapshot=YYYYMMDDTHHMMSSZ` folder of a path (the lake's
/// own naming), so that exports kept in such folders keep their snapshot time wherever they
/// are copied; a file's modification time does not survive a git checkout.
fn snapshot_from_path(path: &Path) -> Option<i64> {
    path.ancestors().skip(1).find_map(|dir| {
        let name = dir.file_name()?.to_str()?;
        let value = name.strip_prefix("snapshot=")?;
        let time = chrono::NaiveDateTime::parse_from_str(value, SNAPSHOT_NAME_FORMAT).ok()?;
        time.and_utc().timestamp_nanos_opt()
    })
}

fn file_mtime(path: &Path) -> Option<i64> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_nanos()).ok()
}

/// Reads one file and sends its rows, quarantine entries and report to the writing stage.
/// Returns false when the writing stage has stopped (a lake error), so reading stops too.
fn read_and_normalize(
    path: &Path,
    options: &IngestOptions,
    ingested_at: i64,
    sender: &SyncSender<Message>,
) -> bool {
    let context = FileContext {
        source_file: path.display().to_string(),
        snapshot_time: to_snapshot_time(
            options
                .snapshot_time
                .or_else(|| snapshot_from_path(path))
                .or(options.default_snapshot_time)
                .or_else(|| file_mtime(path))
                .unwrap_or(ingested_at),
        ),
        ingested_at,
    };
    if sender
        .send(Message::FileStarted(path.to_path_buf()))
        .is_err()
    {
        return false;
    }
    let mut sink = FileSink {
        kind: options.kind,
        file: &context,
        sender,
        batch: Vec::with_capacity(BATCH_ROWS),
        rules: PolicyRuleCollector::default(),
        records: 0,
        stopped: false,
    };
    let mut report = FileReport {
        path: path.to_path_buf(),
        ..Default::default()
    };
    match read_file(path, &mut sink) {
        Ok(container) => report.container = Some(container),
        Err(FileError::Empty) => {
            report.warning = Some("the file is empty; nothing to ingest".into())
        }
        Err(e) => report.error = Some(e.to_string()),
    }
    let mut policies: Vec<CanonicalRow> = sink
        .rules
        .finish(&context)
        .into_iter()
        .map(|policy| {
            let mut row = CanonicalRow::RolePolicy(Box::new(policy));
            row.set_collection(RecordKind::RolePolicyRule);
            row
        })
        .collect();
    stamp_rows(&mut policies, &context);
    for policy in policies {
        sink.push(policy);
    }
    sink.send_batch();
    report.records = sink.records;
    !sink.stopped && sender.send(Message::FileDone(Box::new(report))).is_ok()
}

/// Receives the records of one file: classify, normalize, and pass on rows or quarantine
/// entries in order.
struct FileSink<'a> {
    kind: Option<RecordKind>,
    file: &'a FileContext,
    sender: &'a SyncSender<Message>,
    batch: Vec<CanonicalRow>,
    rules: PolicyRuleCollector,
    records: u64,
    stopped: bool,
}

impl FileSink<'_> {
    fn push(&mut self, row: CanonicalRow) {
        self.batch.push(row);
        if self.batch.len() >= BATCH_ROWS {
            self.send_batch();
        }
    }

    fn send_batch(&mut self) {
        if self.batch.is_empty() || self.stopped {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_ROWS));
        self.stopped = self.sender.send(Message::Rows(batch)).is_err();
    }

    fn quarantine(
        &mut self,
        locator: Locator,
        kind: Option<RecordKind>,
        reason: String,
        record: Value,
    ) {
        // Rows read before this record go first, so the writer sees the file in order.
        self.send_batch();
        if self.stopped {
            return;
        }
        let entry = QuarantineEntry {
            file: self.file.source_file.clone(),
            line: locator.line(),
            record_number: match locator {
                Locator::Element(n) => Some(n),
                Locator::Line(_) => None,
            },
            kind: kind.map(|k| k.describe().to_string()),
            reason,
            record,
        };
        self.stopped = self
            .sender
            .send(Message::Quarantine(Box::new(entry)))
            .is_err();
    }
}

impl RecordSink for FileSink<'_> {
    fn record(&mut self, record: SourceRecord) {
        self.records += 1;
        if self.stopped {
            return;
        }
        let kind = self
            .kind
            .or_else(|| classify(&record.value, record.context.as_deref()));
        let Some(kind) = kind else {
            self.quarantine(
                record.locator,
                None,
                "not a recognised record: no known Graph, Event Hub, Log Analytics, Activity Log or Windows shape (use --kind to force one)".into(),
                record.value,
            );
            return;
        };
        match normalize(
            kind,
            &record.value,
            record.raw,
            record.context.as_deref(),
            self.file,
            &mut self.rules,
        ) {
            Ok(rows) => rows.into_iter().for_each(|row| self.push(row)),
            Err(e) => self.quarantine(
                record.locator,
                Some(kind),
                format!("cannot read {}: {e}", kind.describe()),
                record.value,
            ),
        }
    }

    fn bad_record(&mut self, bad: BadRecord) {
        self.records += 1;
        let text = Value::String(bad.text);
        self.quarantine(bad.locator, None, bad.reason, text);
    }
}

/// One writer per canonical table.
struct Writers {
    audit_events: TableWriter<AuditEvent>,
    sign_ins: TableWriter<SignIn>,
    principals: TableWriter<Principal>,
    role_definitions: TableWriter<RoleDefinition>,
    role_assignments: TableWriter<RoleAssignment>,
    role_eligibilities: TableWriter<RoleEligibility>,
    role_requests: TableWriter<RoleRequest>,
    role_policies: TableWriter<RolePolicy>,
    group_members: TableWriter<GroupMember>,
}

impl Writers {
    fn new(lake: &Lake) -> Self {
        Self {
            audit_events: TableWriter::new(lake),
            sign_ins: TableWriter::new(lake),
            principals: TableWriter::new(lake),
            role_definitions: TableWriter::new(lake),
            role_assignments: TableWriter::new(lake),
            role_eligibilities: TableWriter::new(lake),
            role_requests: TableWriter::new(lake),
            role_policies: TableWriter::new(lake),
            group_members: TableWriter::new(lake),
        }
    }

    fn push(&mut self, row: CanonicalRow) -> Result<bool, LakeError> {
        match row {
            CanonicalRow::Audit(r) => self.audit_events.add(*r),
            CanonicalRow::SignIn(r) => self.sign_ins.add(*r),
            CanonicalRow::Principal(r) => self.principals.add(*r),
            CanonicalRow::RoleDefinition(r) => self.role_definitions.add(*r),
            CanonicalRow::RoleAssignment(r) => self.role_assignments.add(*r),
            CanonicalRow::RoleEligibility(r) => self.role_eligibilities.add(*r),
            CanonicalRow::RoleRequest(r) => self.role_requests.add(*r),
            CanonicalRow::RolePolicy(r) => self.role_policies.add(*r),
            CanonicalRow::GroupMember(r) => self.group_members.add(*r),
        }
    }

    fn flush(&mut self) -> Result<(), LakeError> {
        self.audit_events.flush()?;
        self.sign_ins.flush()?;
        self.principals.flush()?;
        self.role_definitions.flush()?;
        self.role_assignments.flush()?;
        self.role_eligibilities.flush()?;
        self.role_requests.flush()?;
        self.role_policies.flush()?;
        self.group_members.flush()
    }

    fn summaries(&self) -> Vec<(&'static str, WriteSummary)> {
        vec![
            (AuditEvent::TABLE, self.audit_events.summary()),
            (SignIn::TABLE, self.sign_ins.summary()),
            (Principal::TABLE, self.principals.summary()),
            (RoleDefinition::TABLE, self.role_definitions.summary()),
            (RoleAssignment::TABLE, self.role_assignments.summary()),
            (RoleEligibility::TABLE, self.role_eligibilities.summary()),
            (RoleRequest::TABLE, self.role_requests.summary()),
            (RolePolicy::TABLE, self.role_policies.summary()),
            (GroupMember::TABLE, self.group_members.summary()),
        ]
    }

    /// Rows accepted (buffered or written) and duplicates skipped, over all tables so far.
    fn totals(&self) -> WriteSummary {
        let mut total = WriteSummary::default();
        for (_, s) in self.summaries() {
            total.duplicates_skipped += s.duplicates_skipped;
        }
        total.rows_added = self.accepted();
        total
    }

    fn accepted(&self) -> u64 {
        self.audit_events.accepted()
            + self.sign_ins.accepted()
            + self.principals.accepted()
            + self.role_definitions.accepted()
            + self.role_assignments.accepted()
            + self.role_eligibilities.accepted()
            + self.role_requests.accepted()
            + self.role_policies.accepted()
            + self.group_members.accepted()
    }
}
