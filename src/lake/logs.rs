//! Append-only logs in the lake (what people decided about alerts, which alerts went to
//! which webhook): text columns, one file per append under `<table>/date=<day>/`, never
//! rewritten, committed with the writer lock like everything else.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use super::{Lake, LakeError, WriteLock};

const DATE_COLUMN: &str = "date";

/// Appends `rows` (each one value per column, in `columns` order) to the log `table` under
/// `date=<day>`, at `lock`'s next commit.
pub fn append_log(
    lake: &Lake,
    lock: &mut WriteLock,
    table: &str,
    day: &str,
    columns: &[&str],
    rows: &[Vec<String>],
) -> Result<(), LakeError> {
    if rows.is_empty() {
        return Ok(());
    }
    let schema = Schema::new(
        columns
            .iter()
            .map(|c| Field::new(*c, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    );
    let arrays: Vec<ArrayRef> = (0..columns.len())
        .map(|i| {
            Arc::new(
                rows.iter()
                    .map(|r| r.get(i).map(String::as_str))
                    .collect::<StringArray>(),
            ) as ArrayRef
        })
        .collect();
    let batch =
        RecordBatch::try_new(Arc::new(schema), arrays).map_err(|source| LakeError::Arrow {
            table: table.to_string(),
            source,
        })?;
    lake.append_partition(lock, table, DATE_COLUMN, day, &batch)
}

/// Every committed row of the log `table`, as the values of `columns`; a file without one
/// of them, or with a null in it, is an error naming the file's partition.
pub fn read_log(lake: &Lake, table: &str, columns: &[&str]) -> Result<Vec<Vec<String>>, LakeError> {
    let mut rows = Vec::new();
    for day in lake.partition_values(table, DATE_COLUMN)? {
        for batch in lake.read_partition(table, DATE_COLUMN, &day)? {
            let unexpected = |column: &str| LakeError::UnexpectedFile {
                path: lake.table_dir(table).join(format!("{DATE_COLUMN}={day}")),
                column: column.to_string(),
            };
            let arrays = columns
                .iter()
                .map(|c| {
                    batch
                        .column_by_name(c)
                        .and_then(|a| a.as_any().downcast_ref::<StringArray>())
                        .cloned()
                        .ok_or_else(|| unexpected(c))
                })
                .collect::<Result<Vec<_>, _>>()?;
            for row in 0..batch.num_rows() {
                let mut values = Vec::with_capacity(columns.len());
                for (array, column) in arrays.iter().zip(columns) {
                    if array.is_null(row) {
                        return Err(unexpected(column));
                    }
                    values.push(array.value(row).to_string());
                }
                rows.push(values);
            }
        }
    }
    Ok(rows)
}
