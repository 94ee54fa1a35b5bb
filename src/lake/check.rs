//! `pimwatch lake check`: what in the lake's folders is not what pimwatch committed, or no
//! longer reads. Readers already leave such files out (they read the manifest, and skip a
//! committed file that is not Parquet); this names them, and `--repair` moves them aside to
//! `_damaged/` (keeping their path) and drops them from the manifest, under the writer lock.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::Schema;
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

use super::manifest::{relative, EXTRA_TABLES};
use super::{io_error, partition_column, Lake, LakeError};
use crate::model::{all_tables, Layout};

/// Where `--repair` moves what it takes out.
pub const DAMAGED_DIR: &str = "_damaged";

/// What is wrong with one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Committed, but not readable Parquet.
    Damaged,
    /// Committed, readable, but not the table's columns.
    WrongSchema,
    /// Committed, but gone from the disk.
    Missing,
    /// In a table's folder, never committed: put there by hand or by another program.
    Foreign,
    /// A folder that is not a partition of its table (`date=garbage`, `misc/`).
    NotAPartition,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Damaged => "damaged",
            Self::WrongSchema => "wrong schema",
            Self::Missing => "missing",
            Self::Foreign => "foreign",
            Self::NotAPartition => "not a partition",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub path: PathBuf,
    pub detail: String,
    /// Where `--repair` moved it (or "removed from the manifest"), when it did.
    pub repaired: Option<String>,
}

/// Checks every table folder against the manifest; with `repair`, fixes what it finds.
pub fn check_lake(lake: &Lake, repair: bool) -> Result<Vec<Problem>, LakeError> {
    let mut lock = if repair {
        Some(lake.lock_for_writing("lake check --repair", true)?)
    } else {
        None
    };
    let manifest = match &lock {
        Some(lock) => lock.committed().clone(),
        None => lake.snapshot()?,
    };
    let mut problems = Vec::new();
    let canonical = all_tables()
        .into_iter()
        .map(|(name, schema, layout)| (name, partition_column(layout), Some((schema, layout))));
    let extra = EXTRA_TABLES
        .iter()
        .map(|&(name, column)| (name, column, None));
    for (table, column, known) in canonical.chain(extra) {
        for file in manifest.files(lake, table) {
            if !file.exists() {
                problems.push(problem(
                    ProblemKind::Missing,
                    &file,
                    "listed as committed but not on disk",
                ));
                continue;
            }
            match read_schema(&file) {
                Err(reason) => problems.push(problem(ProblemKind::Damaged, &file, &reason)),
                Ok(schema) => {
                    if let Some(reason) =
                        schema_mismatch(table, known.as_ref().map(|(s, _)| s), &schema)
                    {
                        problems.push(problem(ProblemKind::WrongSchema, &file, &reason));
                    }
                }
            }
        }
        let dir = lake.table_dir(table);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_partition = name
                .strip_prefix(&format!("{column}="))
                .is_some_and(|value| valid_partition(known.as_ref().map(|(_, l)| *l), value));
            if !path.is_dir() || !is_partition {
                let committed = manifest.all_files().any(|f| {
                    relative(lake, &path).is_some_and(|r| f.starts_with(&format!("{r}/")))
                });
                if !committed {
                    problems.push(problem(
                        ProblemKind::NotAPartition,
                        &path,
                        &format!("not `{column}=<value>` of {table}; queries do not read it"),
                    ));
                }
                continue;
            }
            for file in fs::read_dir(&path)
                .map_err(io_error(&path))?
                .filter_map(Result::ok)
            {
                let file = file.path();
                let hidden = file
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                let committed = relative(lake, &file).is_some_and(|r| manifest.contains(&r));
                if !hidden && !committed && file.is_file() {
                    problems.push(problem(
                        ProblemKind::Foreign,
                        &file,
                        "not committed by pimwatch; queries do not read it",
                    ));
                }
            }
        }
    }
    if let Some(lock) = lock.as_mut() {
        for found in &mut problems {
            found.repaired = Some(match found.kind {
                ProblemKind::Missing => {
                    lock.forget(&found.path)?;
                    "removed from the manifest".to_string()
                }
                _ => {
                    lock.forget(&found.path)?;
                    let to = move_aside(lake, &found.path)?;
                    format!("moved to {}", to.display())
                }
            });
        }
        lock.commit()?;
    }
    Ok(problems)
}

fn problem(kind: ProblemKind, path: &Path, detail: &str) -> Problem {
    Problem {
        kind,
        path: path.to_path_buf(),
        detail: detail.to_string(),
        repaired: None,
    }
}

/// Whether `value` is a partition value of the layout: a date, a snapshot name, or (run
/// tables) anything.
fn valid_partition(layout: Option<Layout>, value: &str) -> bool {
    match layout {
        Some(Layout::Event) => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
        Some(Layout::Snapshot) => crate::model::Instant::from_snapshot_name(value).is_some(),
        None => !value.is_empty(),
    }
}

fn read_schema(path: &Path) -> Result<Schema, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    let metadata = reader.metadata().file_metadata();
    parquet_to_arrow_schema(metadata.schema_descr(), metadata.key_value_metadata())
        .map_err(|e| e.to_string())
}

/// Why a file's columns are not its table's: a key column missing, or a column of the
/// table's with another type.
fn schema_mismatch(table: &str, expected: Option<&Schema>, found: &Schema) -> Option<String> {
    let Some(expected) = expected else {
        return found
            .field_with_name("alert_id")
            .is_err()
            .then(|| format!("no `alert_id` column: not a table of {table}"));
    };
    if found.field_with_name("dedupe_key").is_err() {
        return Some(format!("no `dedupe_key` column: not a file of {table}"));
    }
    for field in found.fields() {
        if let Ok(wanted) = expected.field_with_name(field.name()) {
            if wanted.data_type() != field.data_type() {
                return Some(format!(
                    "column `{}` is {} where {table} has {}",
                    field.name(),
                    field.data_type(),
                    wanted.data_type()
                ));
            }
        }
    }
    let shared = found
        .fields()
        .iter()
        .filter(|f| expected.field_with_name(f.name()).is_ok())
        .count();
    (shared * 2 < expected.fields().len()).then(|| {
        format!(
            "only {shared} of the {} columns of {table}: a file of another table?",
            expected.fields().len()
        )
    })
}

/// Moves `path` to `_damaged/<its path in the lake>`.
fn move_aside(lake: &Lake, path: &Path) -> Result<PathBuf, LakeError> {
    let rest = path.strip_prefix(lake.root()).unwrap_or(path);
    let to = lake.root().join(DAMAGED_DIR).join(rest);
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    fs::rename(path, &to).map_err(io_error(path))?;
    Ok(to)
}
