//! Tables written whole per run, such as `alerts/run=<run id>/alerts.parquet`: one file per
//! partition, replaced atomically, so re-running the same run id leaves exactly one copy.

use std::fs::{self, File};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::writer::{sync_dir, write_parquet};
use super::{io_error, read_visible_dir, Lake, LakeError};

impl Lake {
    /// Writes `batch` as the whole of partition `column=value` of `table`, replacing what was
    /// there (temp file, fsync, rename).
    pub fn replace_partition(
        &self,
        table: &str,
        column: &str,
        value: &str,
        batch: &RecordBatch,
    ) -> Result<(), LakeError> {
        let dir = self.table_dir(table).join(format!("{column}={value}"));
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let final_path = dir.join(format!("{table}.parquet"));
        let temp_path = dir.join(format!(".{table}.parquet.tmp"));
        let result = write_parquet(&temp_path, batch).and_then(|()| {
            fs::rename(&temp_path, &final_path).map_err(io_error(&final_path))?;
            sync_dir(&dir)
        });
        if result.is_err() {
            let _ = fs::remove_file(&temp_path);
        }
        result
    }

    /// Writes a small sidecar file (e.g. a run's `run.json`) into partition `column=value` of
    /// `table`, replacing it atomically. Readers of the table see only `.parquet` files.
    pub fn replace_partition_file(
        &self,
        table: &str,
        column: &str,
        value: &str,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), LakeError> {
        use std::io::Write;
        let dir = self.table_dir(table).join(format!("{column}={value}"));
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let final_path = dir.join(name);
        let temp_path = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let result = File::create(&temp_path)
            .and_then(|mut f| {
                f.write_all(bytes)?;
                f.sync_all()
            })
            .map_err(io_error(&temp_path))
            .and_then(|()| fs::rename(&temp_path, &final_path).map_err(io_error(&final_path)))
            .and_then(|()| sync_dir(&dir));
        if result.is_err() {
            let _ = fs::remove_file(&temp_path);
        }
        result
    }

    /// A sidecar file of partition `column=value` of `table`, if there is one.
    pub fn read_partition_file(
        &self,
        table: &str,
        column: &str,
        value: &str,
        name: &str,
    ) -> Result<Option<Vec<u8>>, LakeError> {
        let path = self
            .table_dir(table)
            .join(format!("{column}={value}"))
            .join(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path)(e)),
        }
    }

    /// Values of `column` over the partitions of `table`, sorted.
    pub fn partition_values(&self, table: &str, column: &str) -> Result<Vec<String>, LakeError> {
        let dir = self.table_dir(table);
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let prefix = format!("{column}=");
        Ok(read_visible_dir(&dir)?
            .into_iter()
            .filter(|p| p.is_dir())
            .filter_map(|p| {
                let name = p.file_name()?.to_string_lossy().into_owned();
                name.strip_prefix(&prefix).map(str::to_string)
            })
            .collect())
    }

    /// Every row of one partition written by [`Lake::replace_partition`].
    pub fn read_partition(
        &self,
        table: &str,
        column: &str,
        value: &str,
    ) -> Result<Vec<RecordBatch>, LakeError> {
        let path = self
            .table_dir(table)
            .join(format!("{column}={value}"))
            .join(format!("{table}.parquet"));
        let parquet_error = |source| LakeError::Parquet {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io_error(&path))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(parquet_error)?
            .build()
            .map_err(parquet_error)?;
        reader
            .map(|batch| {
                batch.map_err(|source| LakeError::Arrow {
                    table: table.to_string(),
                    source,
                })
            })
            .collect()
    }
}
