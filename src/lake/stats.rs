//! `pimwatch lake stats`: rows, files, bytes and time range of every table, read from
//! Parquet footers only (no data pages), plus the quarantine count.

use std::fs::File;

use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use datafusion::parquet::file::statistics::Statistics;

use super::quarantine::{count_quarantined, QuarantineCounts};
use super::{io_error, Lake, LakeError};
use crate::model::{all_tables, Layout};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStats {
    pub table: &'static str,
    pub rows: u64,
    pub files: u64,
    pub bytes: u64,
    pub partitions: u64,
    /// Earliest and latest `time` (events) or `snapshot_time` (state), nanoseconds UTC.
    pub min_time: Option<i64>,
    pub max_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeStats {
    pub tables: Vec<TableStats>,
    pub quarantine: QuarantineCounts,
}

/// The statistics of the lake as of its last commit (what `query` reads too).
pub fn lake_stats(lake: &Lake) -> Result<LakeStats, LakeError> {
    let snapshot = lake.snapshot()?;
    let mut tables = Vec::new();
    for (table, _schema, layout) in all_tables() {
        let time_column = match layout {
            Layout::Event => "time",
            Layout::Snapshot => "snapshot_time",
        };
        let mut stats = TableStats {
            table,
            rows: 0,
            files: 0,
            bytes: 0,
            partitions: 0,
            min_time: None,
            max_time: None,
        };
        let files = snapshot.files(lake, table);
        let mut partitions: Vec<_> = files.iter().filter_map(|f| f.parent()).collect();
        partitions.dedup();
        stats.partitions = partitions.len() as u64;
        for path in files {
            let file = File::open(&path).map_err(io_error(&path))?;
            stats.bytes += file.metadata().map_err(io_error(&path))?.len();
            stats.files += 1;
            let reader = SerializedFileReader::new(file).map_err(|source| LakeError::Parquet {
                path: path.clone(),
                source,
            })?;
            let metadata = reader.metadata();
            stats.rows += metadata.file_metadata().num_rows().max(0) as u64;
            let column = metadata
                .file_metadata()
                .schema_descr()
                .columns()
                .iter()
                .position(|c| c.name() == time_column);
            let Some(column) = column else { continue };
            for row_group in metadata.row_groups() {
                if let Some(Statistics::Int64(s)) = row_group.column(column).statistics() {
                    if let Some(min) = s.min_opt() {
                        stats.min_time = Some(stats.min_time.map_or(*min, |m| m.min(*min)));
                    }
                    if let Some(max) = s.max_opt() {
                        stats.max_time = Some(stats.max_time.map_or(*max, |m| m.max(*max)));
                    }
                }
            }
        }
        tables.push(stats);
    }
    Ok(LakeStats {
        tables,
        quarantine: count_quarantined(lake)?,
    })
}
