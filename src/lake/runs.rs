//! Tables written whole per run, such as `alerts/run=<run id>/alerts-<uuid>.parquet`: one
//! file per partition, replaced at a commit, so re-running the same run id leaves exactly one
//! copy and two runs racing for it leave the one committed last.

use std::fs::{self, File};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::writer::{sync_dir, write_parquet};
use super::{io_error, Lake, LakeError, WriteLock};

impl Lake {
    /// Writes `batch` as the whole of partition `column=value` of `table`: a new file (unique
    /// name, fsync, rename) that replaces the partition's files at `lock`'s next commit.
    pub fn replace_partition(
        &self,
        lock: &mut WriteLock,
        table: &str,
        column: &str,
        value: &str,
        batch: &RecordBatch,
    ) -> Result<(), LakeError> {
        let path = self.write_partition_file(lock, table, column, value, batch)?;
        lock.replace_partition_with(&path)
    }

    /// Adds `batch` as a new file to partition `column=value` of `table`, next to the files
    /// already there (an append-only log such as `triage/`), at `lock`'s next commit.
    pub fn append_partition(
        &self,
        lock: &mut WriteLock,
        table: &str,
        column: &str,
        value: &str,
        batch: &RecordBatch,
    ) -> Result<(), LakeError> {
        let path = self.write_partition_file(lock, table, column, value, batch)?;
        lock.add(&path)
    }

    /// Writes `batch` into a new file of partition `column=value` (unique name, fsync,
    /// rename); the caller commits it.
    fn write_partition_file(
        &self,
        lock: &WriteLock,
        table: &str,
        column: &str,
        value: &str,
        batch: &RecordBatch,
    ) -> Result<std::path::PathBuf, LakeError> {
        let dir = self.table_dir(table).join(format!("{column}={value}"));
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let name = format!(
            "{table}-{}-{}.parquet",
            lock.session(),
            uuid::Uuid::new_v4().simple()
        );
        let final_path = dir.join(&name);
        let temp_path = dir.join(format!(".{name}.tmp"));
        let result = write_parquet(&temp_path, batch).and_then(|()| {
            fs::rename(&temp_path, &final_path).map_err(io_error(&final_path))?;
            sync_dir(&dir)
        });
        if result.is_err() {
            let _ = fs::remove_file(&temp_path);
        }
        result.map(|()| final_path)
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

    /// Values of `column` over the committed partitions of `table`, sorted.
    pub fn partition_values(&self, table: &str, column: &str) -> Result<Vec<String>, LakeError> {
        let prefix = format!("{table}/{column}=");
        let snapshot = self.snapshot()?;
        let values: std::collections::BTreeSet<String> = snapshot
            .all_files()
            .filter_map(|f| f.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('/').next())
            .map(str::to_string)
            .collect();
        Ok(values.into_iter().collect())
    }

    /// Every row of one committed partition written by [`Lake::replace_partition`].
    pub fn read_partition(
        &self,
        table: &str,
        column: &str,
        value: &str,
    ) -> Result<Vec<RecordBatch>, LakeError> {
        let snapshot = self.snapshot()?;
        let mut batches = Vec::new();
        for path in snapshot.partition_files(self, table, &format!("{column}={value}")) {
            let parquet_error = |source| LakeError::Parquet {
                path: path.clone(),
                source,
            };
            let file = File::open(&path).map_err(io_error(&path))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(parquet_error)?
                .build()
                .map_err(parquet_error)?;
            for batch in reader {
                batches.push(batch.map_err(|source| LakeError::Arrow {
                    table: table.to_string(),
                    source,
                })?);
            }
        }
        Ok(batches)
    }
}
