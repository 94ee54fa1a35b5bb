//! Buffered, deduplicating, atomic writes of one table.
//!
//! Every row gets a dedupe key: a stable 128-bit hash of its table and of every column that
//! describes the record (not `raw`, `source_file`, `ingested_at` or `tenant_id`). Re-reading the same
//! input, or the same event from another channel (Graph page, Event Hub blob, Log Analytics
//! export), yields the same key and is skipped. Two records that share an id but differ in
//! content (sanitized fixtures, conflicting exports) are both kept. Only the key column of
//! the partitions a batch touches is read back: from the committed files (the manifest the
//! writer's lock holds) and the writer's own, never from a file nobody committed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, FixedSizeBinaryArray};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::{ArrowWriter, ProjectionMask};
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::{io_error, partition_column, partition_value, Lake, LakeError, Manifest};
use crate::model::columns::StableHasher;
use crate::model::TableRow;

/// Rows buffered per table before they are written…
const FLUSH_ROWS: usize = 100_000;
/// …or bytes, whichever comes first: memory stays bounded whatever the input size.
const FLUSH_BYTES: usize = 48 << 20;
/// Rows per Parquet row group: small enough for statistics to prune by time.
const ROW_GROUP_ROWS: usize = 65_536;
/// Partitions whose keys stay cached once written (older ones are read again if needed).
/// 16 keeps a 9.7M-event, 90-day ingest at 361 MB peak (64: 574 MB) at the same speed.
const CACHED_PARTITIONS: usize = 16;

type Key = [u8; 16];

/// What one table writer did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteSummary {
    pub rows_added: u64,
    pub duplicates_skipped: u64,
    pub files_written: u64,
}

/// Writes rows of one table into the lake.
pub struct TableWriter<R: TableRow> {
    lake: Lake,
    /// What was committed when the writer started.
    committed: Arc<Manifest>,
    /// The writer session, part of every file name (see `lock.rs`).
    session: Arc<str>,
    /// Every file this writer wrote, and those not yet handed to a commit.
    written: Vec<PathBuf>,
    uncommitted: Vec<PathBuf>,
    buffered: BTreeMap<String, Vec<R>>,
    buffered_rows: usize,
    buffered_bytes: usize,
    known_keys: HashMap<String, HashSet<Key>>,
    summary: WriteSummary,
}

impl<R: TableRow> TableWriter<R> {
    /// A writer of `session` building on `committed` (both from the writer lock).
    pub fn new(lake: &Lake, committed: Arc<Manifest>, session: Arc<str>) -> Self {
        Self {
            lake: lake.clone(),
            committed,
            session,
            written: Vec::new(),
            uncommitted: Vec::new(),
            buffered: BTreeMap::new(),
            buffered_rows: 0,
            buffered_bytes: 0,
            known_keys: HashMap::new(),
            summary: WriteSummary::default(),
        }
    }

    pub fn summary(&self) -> WriteSummary {
        self.summary
    }

    /// Rows accepted so far: written plus still buffered.
    pub fn accepted(&self) -> u64 {
        self.summary.rows_added + self.buffered_rows as u64
    }

    /// Adds a row unless the lake (or this run) already holds the same record.
    /// Returns whether it was new.
    pub fn add(&mut self, mut row: R) -> Result<bool, LakeError> {
        let mut hasher = StableHasher::default();
        hasher.write_field(R::TABLE.as_bytes());
        row.content_hash(&mut hasher);
        let key = hasher.finish();
        row.set_dedupe_key(key);

        let partition = partition_value(R::LAYOUT, row.partition_time().unwrap_or(0));
        if !self.known_keys.contains_key(&partition) {
            let keys = self.read_partition_keys(&partition)?;
            self.known_keys.insert(partition.clone(), keys);
        }
        let is_new = self
            .known_keys
            .get_mut(&partition)
            .is_some_and(|keys| keys.insert(key));
        if !is_new {
            self.summary.duplicates_skipped += 1;
            return Ok(false);
        }
        self.buffered_bytes += row.approx_size();
        self.buffered.entry(partition).or_default().push(row);
        self.buffered_rows += 1;
        if self.buffered_rows >= FLUSH_ROWS || self.buffered_bytes >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(true)
    }

    /// The files written since the last call, for the caller's commit.
    pub fn take_written(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.uncommitted)
    }

    /// Writes everything buffered, one file per partition.
    pub fn flush(&mut self) -> Result<(), LakeError> {
        for (partition, mut rows) in std::mem::take(&mut self.buffered) {
            rows.sort_by_key(|r| r.partition_time());
            self.write_partition(&partition, &rows)?;
            self.summary.rows_added += rows.len() as u64;
            self.summary.files_written += 1;
        }
        self.buffered_rows = 0;
        self.buffered_bytes = 0;
        if self.known_keys.len() > CACHED_PARTITIONS {
            self.known_keys.clear();
        }
        Ok(())
    }

    fn partition_dir(&self, partition: &str) -> PathBuf {
        self.lake
            .table_dir(R::TABLE)
            .join(format!("{}={partition}", partition_column(R::LAYOUT)))
    }

    fn read_partition_keys(&self, partition: &str) -> Result<HashSet<Key>, LakeError> {
        let mut keys = HashSet::new();
        let folder = format!("{}={partition}", partition_column(R::LAYOUT));
        let dir = self.partition_dir(partition);
        let own = self.written.iter().filter(|p| p.parent() == Some(&dir));
        for path in self
            .committed
            .partition_files(&self.lake, R::TABLE, &folder)
            .iter()
            .chain(own)
        {
            read_keys(path, &mut keys)?;
        }
        Ok(keys)
    }

    fn write_partition(&mut self, partition: &str, rows: &[R]) -> Result<(), LakeError> {
        let dir = self.partition_dir(partition);
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let batch = R::to_batch(rows).map_err(|source| LakeError::Arrow {
            table: R::TABLE.to_string(),
            source,
        })?;
        let name = format!(
            "part-{}-{}.parquet",
            self.session,
            uuid::Uuid::new_v4().simple()
        );
        let final_path = dir.join(&name);
        let temp_path = dir.join(format!(".{name}.tmp"));
        let result = write_parquet(&temp_path, &batch).and_then(|()| {
            fs::rename(&temp_path, &final_path).map_err(io_error(&final_path))?;
            sync_dir(&dir)
        });
        if result.is_err() {
            let _ = fs::remove_file(&temp_path);
        }
        result?;
        self.written.push(final_path.clone());
        self.uncommitted.push(final_path);
        Ok(())
    }
}

fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("pimwatch {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Writes a file completely and flushes it to disk before it is renamed into place.
pub(super) fn write_parquet(
    path: &Path,
    batch: &datafusion::arrow::record_batch::RecordBatch,
) -> Result<(), LakeError> {
    let parquet_error = |source| LakeError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(io_error(path))?;
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(writer_properties()))
        .map_err(parquet_error)?;
    writer.write(batch).map_err(parquet_error)?;
    let mut file = writer.into_inner().map_err(parquet_error)?;
    file.flush().map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

pub(super) fn sync_dir(dir: &Path) -> Result<(), LakeError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Reads only the `dedupe_key` column of a lake file.
fn read_keys(path: &Path, keys: &mut HashSet<Key>) -> Result<(), LakeError> {
    let parquet_error = |source| LakeError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let unexpected = || LakeError::UnexpectedFile {
        path: path.to_path_buf(),
        column: "dedupe_key".into(),
    };
    let file = File::open(path).map_err(io_error(path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?;
    let index = builder
        .schema()
        .index_of("dedupe_key")
        .map_err(|_| unexpected())?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(parquet_error)?;
    for batch in reader {
        let batch = batch.map_err(|source| LakeError::Arrow {
            table: path.display().to_string(),
            source,
        })?;
        let column = batch
            .column(0)
            .as_any()
            .downcast_ref::<FixedSizeBinaryArray>()
            .ok_or_else(unexpected)?;
        for i in 0..column.len() {
            if let Ok(key) = Key::try_from(column.value(i)) {
                keys.insert(key);
            }
        }
    }
    Ok(())
}
