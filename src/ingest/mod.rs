//! Ingest: documents → records → canonical rows → the lake.
//!
//! `source` reads containers (gzip, NDJSON, JSON documents, CSV/TSV), `detect` decides what
//! each record is, `normalize` turns it into canonical rows. An [`IngestSession`] takes
//! documents from anywhere (a file, a Graph page that arrived over HTTP) through the same
//! normalizers, dedupe, quarantine and commit; [`ingest_paths`] is the adapter for files and
//! folders. This module knows nothing of rules, alerts or reports.

mod decode;
pub mod detect;
pub mod fields;
pub mod normalize;
pub mod source;

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

use crate::lake::{
    Lake, LakeError, Manifest, Quarantine, QuarantineEntry, TableWriter, WriteLock, WriteSummary,
};
use crate::model::{
    AuditEvent, GroupMember, Instant, Principal, RoleAssignment, RoleDefinition, RoleEligibility,
    RolePolicy, RoleRequest, SignIn,
};
use detect::{classify, RecordKind};
use normalize::{normalize, stamp_rows, CanonicalRow, FileContext, PolicyRuleCollector};
use source::{read_document, BadRecord, Container, FileError, Locator, RecordSink, SourceRecord};

/// How to ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Treat every record as this kind instead of detecting it.
    pub kind: Option<RecordKind>,
    /// The time state files describe; default: each file's modification time.
    pub snapshot_time: Option<Instant>,
    /// The time of state files that have neither `snapshot_time` nor a `snapshot=` folder in
    /// their path; default: the file's modification time. Rule tests set it to their `as_of`.
    pub default_snapshot_time: Option<Instant>,
    /// When another process is writing the lake, wait for it instead of refusing.
    pub wait: bool,
}

/// Told about progress; the CLI draws a bar on a terminal.
pub trait Progress {
    fn start(&mut self, _total_bytes: u64, _files: usize) {}
    fn file_done(&mut self, _name: &str, _bytes: u64) {}
}

/// No progress display.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Warnings kept per document; the rest are only counted.
const KEPT_WARNINGS: usize = 20;

/// What happened to one document.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// The file path or URL the document was read from.
    pub name: String,
    pub container: Option<Container>,
    pub records: u64,
    pub rows_added: u64,
    pub duplicates_skipped: u64,
    pub quarantined: u64,
    pub quarantine_file: Option<PathBuf>,
    /// Set when the document could not be read at all.
    pub error: Option<String>,
    /// Set when the document was read but deserves a look (e.g. empty).
    pub warning: Option<String>,
    /// Fields that could not be read in records that were kept (the first few), and how many
    /// there were in all.
    pub record_warnings: Vec<String>,
    pub record_warning_count: u64,
}

/// What one ingest did.
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

/// Errors that stop a whole ingest (a document that cannot be read does not: it is reported).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Lake(#[from] LakeError),
}

/// One document to ingest.
#[derive(Debug, Clone)]
pub struct Document {
    /// Its file path or URL: the `source_file` of its rows, and how messages name it.
    pub name: String,
    /// The time its state records describe.
    pub snapshot_time: Instant,
    /// The `@odata.context` its records belong to when the page itself does not say (a
    /// response whose caller knows the endpoint).
    pub odata_context: Option<String>,
}

/// A run of ingest: documents are added one by one from any source and go through the same
/// normalizers, dedupe, quarantine and writers. Rows become durable at [`IngestSession::commit`]
/// (and [`IngestSession::finish`]): a caller advances its checkpoint only after a commit.
pub struct IngestSession {
    lake: Lake,
    /// The writer lock, held for the whole session; commits go through it.
    lock: WriteLock,
    kind: Option<RecordKind>,
    ingested_at: Instant,
    writers: Writers,
    files: Vec<FileReport>,
}

impl IngestSession {
    /// Starts a session as `command` (named to another writer that finds the lake busy):
    /// takes the lake's writer lock, waiting for it with `options.wait`.
    pub fn new(lake: &Lake, command: &str, options: &IngestOptions) -> Result<Self, IngestError> {
        let lock = lake.lock_for_writing(command, options.wait)?;
        let committed = Arc::new(lock.committed().clone());
        let session: Arc<str> = Arc::from(lock.session());
        let ingested_at = Instant::now();
        Ok(Self {
            lake: lake.clone(),
            writers: Writers::new(lake, &committed, &session),
            lock,
            kind: options.kind,
            ingested_at,
            files: Vec::new(),
        })
    }

    /// When this session started: the `ingested_at` of its rows.
    pub fn ingested_at(&self) -> Instant {
        self.ingested_at
    }

    /// Reads one document (gzip or not) and writes its rows; a record that cannot be read goes
    /// to the quarantine. Only a lake error stops the session; a document that cannot be read
    /// at all is reported in its [`FileReport`].
    pub fn add_document(
        &mut self,
        document: &Document,
        reader: impl Read + Send,
    ) -> Result<&FileReport, IngestError> {
        let context = FileContext {
            source_file: document.name.clone(),
            snapshot_time: document.snapshot_time.truncate_to_second().nanos(),
            ingested_at: self.ingested_at.nanos(),
        };
        let default_context: Option<Arc<str>> = document.odata_context.as_deref().map(Arc::from);
        let kind = self.kind;
        let mut quarantine = Quarantine::new(&self.lake, &document.name)?;
        let before = self.writers.totals();
        let writers = &mut self.writers;
        // Two stages on two threads: one parses and normalizes, this one deduplicates and
        // writes. The bounded channel keeps memory bounded and the order (so the lake is the
        // same whatever the timing).
        let (sender, receiver) = mpsc::sync_channel::<Message>(CHANNEL_BATCHES);
        let mut report = std::thread::scope(|scope| -> Result<FileReport, IngestError> {
            let parser = scope.spawn(move || {
                let mut sink = FileSink {
                    kind,
                    file: &context,
                    default_context,
                    sender: &sender,
                    batch: Vec::with_capacity(BATCH_ROWS),
                    rules: PolicyRuleCollector::default(),
                    records: 0,
                    stopped: false,
                };
                let mut report = FileReport {
                    name: context.source_file.clone(),
                    ..Default::default()
                };
                match read_document(reader, &mut sink) {
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
                report
            });
            let mut warnings = Vec::new();
            let mut warning_count = 0u64;
            for message in receiver {
                match message {
                    Message::Rows(rows) => {
                        for row in rows {
                            writers.push(row)?;
                        }
                    }
                    Message::Quarantine(entry) => quarantine.add(entry.as_ref())?,
                    Message::Warning(text) => {
                        warning_count += 1;
                        if warnings.len() < KEPT_WARNINGS {
                            warnings.push(text);
                        }
                    }
                }
            }
            // The parser stopped sending: it has finished (or panicked, which is a bug).
            let mut report = parser.join().unwrap_or_else(|_| FileReport {
                name: document.name.clone(),
                error: Some("internal error while reading this document".into()),
                ..Default::default()
            });
            report.record_warnings = warnings;
            report.record_warning_count = warning_count;
            Ok(report)
        })?;
        report.quarantined = quarantine.count();
        report.quarantine_file = quarantine.finish()?;
        let after = self.writers.totals();
        report.rows_added = after.rows_added - before.rows_added;
        report.duplicates_skipped = after.duplicates_skipped - before.duplicates_skipped;
        if report.container.is_some() && report.records > 0 && report.quarantined == report.records
        {
            report.warning =
                Some("no record in this file was recognised; see the quarantine".into());
        }
        self.files.push(report);
        Ok(self.files.last().expect("just pushed"))
    }

    /// Records a document that could not be opened at all (a missing file, a folder that
    /// cannot be listed): the others are still ingested, and the report says why.
    pub fn add_unreadable(&mut self, name: &str, error: String) {
        self.files.push(FileReport {
            name: name.to_string(),
            error: Some(error),
            ..Default::default()
        });
    }

    /// Makes every row added so far durable (written, synced and renamed into place). A
    /// caller that tracks a checkpoint (a pull's watermark) advances it only after this.
    pub fn commit(&mut self) -> Result<(), IngestError> {
        for file in self.writers.flush()? {
            self.lock.add(&file)?;
        }
        Ok(self.lock.commit()?)
    }

    /// Commits and reports on every document and table.
    pub fn finish(mut self) -> Result<IngestReport, IngestError> {
        self.commit()?;
        Ok(IngestReport {
            files: self.files,
            tables: self.writers.summaries(),
        })
    }
}

/// Ingests files and folders (walked recursively; hidden entries and files that are not
/// exports by their extension are skipped) into the lake. A path that does not exist or
/// cannot be read is reported and the others are still ingested.
pub fn ingest_paths(
    lake: &Lake,
    paths: &[PathBuf],
    options: &IngestOptions,
    progress: &mut dyn Progress,
) -> Result<IngestReport, IngestError> {
    let mut session = IngestSession::new(lake, "ingest", options)?;
    let mut files = Vec::new();
    for path in paths {
        if !path.exists() {
            session.add_unreadable(&path.display().to_string(), "no such file or folder".into());
            continue;
        }
        collect_files(path, lake.root(), &mut files, &mut session);
    }
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .collect();
    progress.start(sizes.iter().sum(), files.len());
    for (path, bytes) in files.iter().zip(sizes) {
        let name = path.display().to_string();
        let snapshot_time = options
            .snapshot_time
            .or_else(|| snapshot_from_path(path))
            .or(options.default_snapshot_time)
            .or_else(|| file_mtime(path))
            .unwrap_or_else(|| session.ingested_at());
        let document = Document {
            name: name.clone(),
            snapshot_time,
            odata_context: None,
        };
        match fs::File::open(path) {
            Ok(file) => {
                session.add_document(&document, file)?;
            }
            Err(e) => session.add_unreadable(&name, format!("cannot read: {e}")),
        }
        progress.file_done(&name, bytes);
    }
    session.finish()
}

/// Rows sent between the stages at once, and batches in flight.
const BATCH_ROWS: usize = 512;
const CHANNEL_BATCHES: usize = 16;

/// What the parsing stage tells the writing stage, in document order.
enum Message {
    Rows(Vec<CanonicalRow>),
    Quarantine(Box<QuarantineEntry>),
    /// A field of a kept record that could not be read.
    Warning(String),
}

/// Walks one path named on the command line. A named path that is not a folder is read
/// whatever it is (a pipe from `<(zcat …)` too); inside folders only regular files with an
/// export extension are, symbolic-link loops are walked once, and whatever cannot be read
/// (a broken link, a folder without permission, a pipe or device) is reported and skipped.
fn collect_files(
    path: &Path,
    lake_root: &Path,
    files: &mut Vec<PathBuf>,
    session: &mut IngestSession,
) {
    if !path.is_dir() {
        files.push(path.to_path_buf());
        return;
    }
    let lake = fs::canonicalize(lake_root).ok();
    let mut visited = HashSet::new();
    walk_folder(path, lake.as_deref(), &mut visited, files, session);
}

fn walk_folder(
    dir: &Path,
    lake_root: Option<&Path>,
    visited: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    session: &mut IngestSession,
) {
    let name = dir.display().to_string();
    let real = match fs::canonicalize(dir) {
        Ok(real) => real,
        Err(e) => return session.add_unreadable(&name, format!("cannot resolve this folder: {e}")),
    };
    // Never ingest the lake into itself, and walk each folder once (links may loop).
    if Some(real.as_path()) == lake_root || !visited.insert(real) {
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return session.add_unreadable(&name, format!("cannot list this folder: {e}")),
    };
    let mut entries: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    entries.sort();
    for entry in entries {
        let shown = entry.display().to_string();
        match fs::metadata(&entry) {
            Err(e) if fs::symlink_metadata(&entry).is_ok_and(|m| m.file_type().is_symlink()) => {
                session.add_unreadable(
                    &shown,
                    format!("a symbolic link to nothing readable ({e}); skipped"),
                );
            }
            Err(e) => session.add_unreadable(&shown, format!("cannot read: {e}")),
            Ok(meta) if meta.is_dir() => walk_folder(&entry, lake_root, visited, files, session),
            Ok(meta) if meta.is_file() => {
                if is_export_file(&entry) {
                    files.push(entry);
                }
            }
            Ok(_) => {
                if is_export_file(&entry) {
                    session.add_unreadable(
                        &shown,
                        "not a regular file (a pipe, socket or device); name it on the command line to read it".into(),
                    );
                }
            }
        }
    }
}

/// Extensions read when walking a folder (a file named on the command line is always read):
/// documentation and notes beside the exports are left alone.
const EXPORT_EXTENSIONS: &[&str] = &["json", "jsonl", "ndjson", "csv", "tsv", "log", "gz"];

fn is_export_file(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| EXPORT_EXTENSIONS.contains(&e.as_str()))
}

/// The time named by the nearest `snapshot=YYYYMMDDTHHMMSSZ` folder of a path (the lake's
/// own naming), so that exports kept in such folders keep their snapshot time wherever they
/// are copied; a file's modification time does not survive a git checkout.
fn snapshot_from_path(path: &Path) -> Option<Instant> {
    path.ancestors().skip(1).find_map(|dir| {
        let name = dir.file_name()?.to_str()?;
        Instant::from_snapshot_name(name.strip_prefix("snapshot=")?)
    })
}

fn file_mtime(path: &Path) -> Option<Instant> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_nanos())
        .ok()
        .map(Instant::from_nanos)
}

/// Receives the records of one document: classify, normalize, and pass on rows, warnings or
/// quarantine entries in order.
struct FileSink<'a> {
    kind: Option<RecordKind>,
    file: &'a FileContext,
    default_context: Option<Arc<str>>,
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

    fn send(&mut self, message: Message) {
        // Rows read before this go first, so the writer sees the document in order.
        self.send_batch();
        if !self.stopped {
            self.stopped = self.sender.send(message).is_err();
        }
    }

    fn quarantine(
        &mut self,
        locator: Locator,
        kind: Option<RecordKind>,
        reason: String,
        record: Value,
    ) {
        let entry = QuarantineEntry {
            file: self.file.source_file.clone(),
            line: locator.line,
            record_number: locator.record,
            kind: kind.map(|k| k.describe().to_string()),
            reason,
            record,
        };
        self.send(Message::Quarantine(Box::new(entry)));
    }
}

impl RecordSink for FileSink<'_> {
    fn record(&mut self, record: SourceRecord) {
        self.records += 1;
        if self.stopped {
            return;
        }
        let context = record.context.or_else(|| self.default_context.clone());
        let kind = self
            .kind
            .or_else(|| classify(&record.value, context.as_deref()));
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
            context.as_deref(),
            self.file,
            &mut self.rules,
        ) {
            Ok(normalized) => {
                for warning in normalized.warnings {
                    self.send(Message::Warning(format!(
                        "{}: {} kept, but {warning}",
                        record.locator,
                        kind.describe()
                    )));
                }
                normalized.rows.into_iter().for_each(|row| self.push(row));
            }
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

    fn note(&mut self, text: String) {
        self.send(Message::Warning(text));
    }
}

macro_rules! writers {
    ($($variant:ident => $row:ident,)*) => {
        /// One writer per canonical table.
        #[allow(non_snake_case)]
        struct Writers {
            $($variant: TableWriter<$row>,)*
        }

        impl Writers {
            fn new(lake: &Lake, committed: &Arc<Manifest>, session: &Arc<str>) -> Self {
                Self { $($variant: TableWriter::new(lake, Arc::clone(committed), Arc::clone(session)),)* }
            }

            fn push(&mut self, row: CanonicalRow) -> Result<bool, LakeError> {
                match row {
                    $(CanonicalRow::$variant(r) => self.$variant.add(*r),)*
                }
            }

            /// Writes what is buffered; returns the files written since the last call.
            fn flush(&mut self) -> Result<Vec<PathBuf>, LakeError> {
                let mut written = Vec::new();
                $(
                    self.$variant.flush()?;
                    written.extend(self.$variant.take_written());
                )*
                Ok(written)
            }

            fn summaries(&self) -> Vec<(&'static str, WriteSummary)> {
                vec![$(($row::TABLE, self.$variant.summary()),)*]
            }

            /// Rows accepted (buffered or written) and duplicates skipped, over all tables.
            fn totals(&self) -> WriteSummary {
                WriteSummary {
                    rows_added: 0 $(+ self.$variant.accepted())*,
                    duplicates_skipped: 0 $(+ self.$variant.summary().duplicates_skipped)*,
                    files_written: 0 $(+ self.$variant.summary().files_written)*,
                }
            }
        }
    };
}

crate::for_each_table!(writers);
