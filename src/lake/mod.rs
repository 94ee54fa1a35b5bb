//! The lake: a folder of Hive-partitioned Parquet that any engine can read (DESIGN.md §3).
//!
//! ```text
//! audit_events/date=2026-11-28/part-<uuid>.parquet       events, by UTC date of `time`
//! principals/snapshot=20261128T060000Z/part-<uuid>.parquet state, one partition per snapshot
//! _quarantine/<time>-<input>.ndjson                       rejected records with reasons
//! ```
//!
//! This module owns the layout, atomic writes, dedupe and quarantine. It knows the canonical
//! tables (from `model`) but nothing of input formats, rules or reports. Snapshot partitions
//! use the basic ISO form without colons so that the lake can be copied to any file system or
//! object store.

mod quarantine;
mod runs;
mod stats;
mod writer;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::model::{Layout, SNAPSHOT_NAME_FORMAT};

pub use quarantine::{Quarantine, QuarantineEntry};
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

    /// Whether no canonical table has a committed file yet.
    pub fn is_empty(&self) -> Result<bool, LakeError> {
        for (table, _, _) in crate::model::all_tables() {
            if !self.table_files(table)?.is_empty() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Every committed Parquet file of a table (hidden and temporary files excluded).
    pub fn table_files(&self, table: &str) -> Result<Vec<PathBuf>, LakeError> {
        let mut files = Vec::new();
        let dir = self.table_dir(table);
        if !dir.exists() {
            return Ok(files);
        }
        for partition in read_visible_dir(&dir)? {
            if partition.is_dir() {
                files.extend(parquet_files(&partition)?);
            }
        }
        files.sort();
        Ok(files)
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
