//! The lake: a folder of Hive-partitioned Parquet that any engine can read (DESIGN.md §3).
//!
//! ```text
//! audit_events/date=2026-11-28/part-<session>-<uuid>.parquet   events, by UTC date of `time`
//! principals/snapshot=20261128T060000Z/part-<session>-<uuid>.parquet   state, per snapshot
//! alerts/run=20261128T060000Z/alerts-<session>-<uuid>.parquet  one file per stored run
//! _lake/manifest.json     the committed files: what every reader reads (`manifest.rs`)
//! _lake/lock              one writer at a time (`lock.rs`)
//! _quarantine/<input>-<hash>.ndjson, index.json   rejected records with reasons, per input
//! _damaged/…              what `lake check --repair` moved aside
//! ```
//!
//! This module owns the layout, atomic writes and commits, the writer lock, dedupe, the
//! quarantine and the lake's own check. It knows the canonical tables (from `model`) but
//! nothing of input formats, rules or reports. Snapshot partitions use the basic ISO form
//! without colons so that the lake can be copied to any file system or object store.

mod check;
mod lock;
mod logs;
mod manifest;
mod quarantine;
mod runs;
mod stats;
mod writer;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::model::{Layout, SNAPSHOT_NAME_FORMAT};

pub use check::{check_lake, Problem, ProblemKind, DAMAGED_DIR};
pub use lock::{RunLock, WriteLock};
pub use logs::{append_log, read_log};
pub use manifest::{Manifest, LAKE_DIR};
pub use quarantine::{
    Quarantine, QuarantineCounts, QuarantineEntry, QuarantinedInput, KEPT_PER_INPUT,
};
pub use stats::{lake_stats, LakeStats, TableStats};
pub use writer::{TableWriter, WriteSummary};

/// The folder name of the quarantine.
pub const QUARANTINE_DIR: &str = "_quarantine";

/// Errors of the lake; each names the path concerned.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Parquet {
        path: PathBuf,
        source: datafusion::parquet::errors::ParquetError,
    },
    #[error("{table}: {source}")]
    Arrow {
        table: String,
        source: datafusion::arrow::error::ArrowError,
    },
    #[error("{path}: column `{column}` is missing or has the wrong type; was this file written by pimwatch?")]
    UnexpectedFile { path: PathBuf, column: String },
    #[error("the lake at {} is being written by {holder}; try again when it has finished, or pass --wait", lake.display())]
    Locked { lake: PathBuf, holder: String },
    #[error("{path}: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error("another `pimwatch run` is running on the lake at {}: {holder}; this run did nothing (a lock left by a process that died is released with it)", lake.display())]
    RunLocked { lake: PathBuf, holder: String },
    #[error("{0} is a file, not a lake folder; check --lake / PIMWATCH_LAKE")]
    NotALake(PathBuf),
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A lake rooted at a folder (created on first write).
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
}

impl Lake {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn table_dir(&self, table: &str) -> PathBuf {
        self.root.join(table)
    }

    pub fn quarantine_dir(&self) -> PathBuf {
        self.root.join(QUARANTINE_DIR)
    }

    /// Refuses a lake path that exists and is not a folder.
    fn check_is_folder(&self) -> Result<(), LakeError> {
        match fs::metadata(&self.root) {
            Ok(meta) if !meta.is_dir() => Err(LakeError::NotALake(self.root.clone())),
            _ => Ok(()),
        }
    }

    /// What the lake holds as of its last commit: read once by each reader, so a reader sees
    /// one commit whatever writers do meanwhile.
    pub fn snapshot(&self) -> Result<Manifest, LakeError> {
        self.check_is_folder()?;
        match Manifest::load(self)? {
            Some(manifest) => Ok(manifest),
            None => Manifest::scan(self),
        }
    }

    /// Whether no canonical table has a committed file yet.
    pub fn is_empty(&self) -> Result<bool, LakeError> {
        let snapshot = self.snapshot()?;
        Ok(crate::model::all_tables()
            .into_iter()
            .all(|(table, _, _)| snapshot.files(self, table).is_empty()))
    }

    /// Every committed Parquet file of a table, sorted.
    pub fn table_files(&self, table: &str) -> Result<Vec<PathBuf>, LakeError> {
        Ok(self.snapshot()?.files(self, table))
    }
}

/// The name of the partition column for a layout.
pub fn partition_column(layout: Layout) -> &'static str {
    match layout {
        Layout::Event => "date",
        Layout::Snapshot => "snapshot",
    }
}

/// The partition value of a row's partition time: `2026-11-28` or `20261128T060000Z`.
pub fn partition_value(layout: Layout, nanos: i64) -> String {
    let time: DateTime<Utc> = DateTime::from_timestamp_nanos(nanos);
    match layout {
        Layout::Event => time.format("%Y-%m-%d").to_string(),
        Layout::Snapshot => time.format(SNAPSHOT_NAME_FORMAT).to_string(),
    }
}

/// Entries of a folder whose names do not start with `.` or `_`.
pub(crate) fn read_visible_dir(dir: &Path) -> Result<Vec<PathBuf>, LakeError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with('.') && !name.starts_with('_') {
            entries.push(entry.path());
        }
    }
    entries.sort();
    Ok(entries)
}

pub(crate) fn parquet_files(partition: &Path) -> Result<Vec<PathBuf>, LakeError> {
    Ok(read_visible_dir(partition)?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "parquet"))
        .collect())
}
