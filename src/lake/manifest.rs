//! What the lake holds: `_lake/manifest.json` lists every committed data file. A writer puts
//! its files in place first and adds them to the manifest last, in one atomic rename, so a
//! reader that takes the manifest once sees the lake as of one commit — never half an ingest,
//! never a file someone dropped into a partition, never a leftover of a killed writer.
//!
//! A lake written before manifests existed has none: readers then see every Parquet file in
//! the table folders, and the first writer adopts them into a new manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{io_error, parquet_files, read_visible_dir, Lake, LakeError};
use crate::model::all_tables;

/// The lake's own folder (hidden from readers by its leading `_`).
pub const LAKE_DIR: &str = "_lake";
const MANIFEST: &str = "manifest.json";
/// The tables whose files the manifest tracks besides the canonical ones, with their
/// partition column: stored alert runs, the triage log and the notification log.
pub const EXTRA_TABLES: &[(&str, &str)] = &[
    ("alerts", "run"),
    ("triage", "date"),
    ("notifications", "date"),
];

/// The committed files of every table, as paths relative to the lake root with `/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Bumped by every commit.
    pub commit: u64,
    pub tables: BTreeMap<String, BTreeSet<String>>,
    /// Files replaced by a commit, deleted by a later writer once no reader can still be
    /// reading them: (relative path, nanoseconds when retired).
    #[serde(default)]
    pub retired: Vec<(String, i64)>,
}

impl Manifest {
    pub(super) fn path(lake: &Lake) -> PathBuf {
        lake.root().join(LAKE_DIR).join(MANIFEST)
    }

    /// The manifest, or `None` for a lake that has none yet.
    pub fn load(lake: &Lake) -> Result<Option<Self>, LakeError> {
        let path = Self::path(lake);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path)(e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| LakeError::Damaged {
                path,
                reason: format!("the lake's manifest cannot be read ({e})"),
            })
    }

    /// What a lake without a manifest holds: every visible Parquet file of its tables.
    pub(super) fn scan(lake: &Lake) -> Result<Self, LakeError> {
        let mut manifest = Self::default();
        let tables = all_tables()
            .into_iter()
            .map(|(name, _, _)| name)
            .chain(EXTRA_TABLES.iter().map(|(name, _)| *name));
        for table in tables {
            let dir = lake.table_dir(table);
            if !dir.is_dir() {
                continue;
            }
            let mut files = BTreeSet::new();
            for partition in read_visible_dir(&dir)? {
                if partition.is_dir() {
                    for file in parquet_files(&partition)? {
                        if let Some(relative) = relative(lake, &file) {
                            files.insert(relative);
                        }
                    }
                }
            }
            if !files.is_empty() {
                manifest.tables.insert(table.to_string(), files);
            }
        }
        Ok(manifest)
    }

    /// Writes the manifest atomically (temporary file, fsync, rename, fsync of the folder).
    pub(super) fn save(&self, lake: &Lake) -> Result<(), LakeError> {
        let path = Self::path(lake);
        let dir = lake.root().join(LAKE_DIR);
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let temp = dir.join(format!(".{MANIFEST}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let bytes = serde_json::to_vec(self).map_err(|e| io_error(&path)(e.into()))?;
        let written = fs::File::create(&temp)
            .and_then(|mut file| {
                file.write_all(&bytes)?;
                file.sync_all()
            })
            .map_err(io_error(&temp))
            .and_then(|()| fs::rename(&temp, &path).map_err(io_error(&path)))
            .and_then(|()| super::writer::sync_dir(&dir));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }

    /// Committed files of `table`, as absolute paths, sorted.
    pub fn files(&self, lake: &Lake, table: &str) -> Vec<PathBuf> {
        self.tables
            .get(table)
            .map(|files| files.iter().map(|f| lake.root().join(f)).collect())
            .unwrap_or_default()
    }

    /// Committed files of `table` under one partition folder (`date=2026-10-01`).
    pub fn partition_files(&self, lake: &Lake, table: &str, partition: &str) -> Vec<PathBuf> {
        let prefix = format!("{table}/{partition}/");
        self.tables
            .get(table)
            .map(|files| {
                files
                    .iter()
                    .filter(|f| f.starts_with(&prefix))
                    .map(|f| lake.root().join(f))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a relative path is a committed file.
    pub fn contains(&self, relative: &str) -> bool {
        relative
            .split('/')
            .next()
            .and_then(|table| self.tables.get(table))
            .is_some_and(|files| files.contains(relative))
    }

    /// Every committed relative path.
    pub fn all_files(&self) -> impl Iterator<Item = &String> {
        self.tables.values().flatten()
    }
}

/// `path` relative to the lake root with `/` separators (`None` outside the lake).
pub fn relative(lake: &Lake, path: &Path) -> Option<String> {
    let rest = path.strip_prefix(lake.root()).ok()?;
    let parts: Vec<String> = rest
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}
