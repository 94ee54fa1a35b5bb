//! JSON: one array of objects, or one object per line. Every column is in every object (a
//! null is `null`, not a missing key); columns marked as holding JSON
//! ([`super::JSON_COLUMN`], e.g. alert evidence) are embedded as values, not strings.

use std::io::Write;

use datafusion::arrow::json::writer::{LineDelimited, WriterBuilder};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::{Map, Value};

use super::{ReportError, JSON_COLUMN};

/// Every row of `batches` as a JSON object, in order.
pub(super) fn rows(batches: &[RecordBatch]) -> Result<Vec<Map<String, Value>>, ReportError> {
    let mut rows = Vec::new();
    for batch in batches {
        let json_columns: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .filter(|f| f.metadata().contains_key(JSON_COLUMN))
            .map(|f| f.name().clone())
            .collect();
        let mut buffer = Vec::new();
        {
            let mut writer = WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, LineDelimited>(&mut buffer);
            writer.write(batch)?;
            writer.finish()?;
        }
        for line in buffer.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let mut row: Map<String, Value> = serde_json::from_slice(line)?;
            for column in &json_columns {
                if let Some(Value::String(text)) = row.get(column) {
                    if let Ok(value) = serde_json::from_str::<Value>(text) {
                        row.insert(column.clone(), value);
                    }
                }
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

pub fn write_array(batches: &[RecordBatch], out: &mut dyn Write) -> Result<(), ReportError> {
    let rows = rows(batches)?;
    serde_json::to_writer_pretty(&mut *out, &rows)?;
    writeln!(out)?;
    Ok(())
}

pub fn write_lines(batches: &[RecordBatch], out: &mut dyn Write) -> Result<(), ReportError> {
    for row in rows(batches)? {
        serde_json::to_writer(&mut *out, &row)?;
        writeln!(out)?;
    }
    Ok(())
}
