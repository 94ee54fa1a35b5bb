//! CSV with a header. Text cells that a spreadsheet would run as formulas are prefixed with
//! `'`; numbers are left alone.

use std::borrow::Cow;
use std::io::Write;

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;

use super::{for_each_row, neutralize_formula, ReportError};

pub fn write(batches: &[RecordBatch], out: &mut dyn Write) -> Result<(), ReportError> {
    let mut writer = ::csv::Writer::from_writer(out);
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let schema = first.schema();
    let header: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| neutralize_formula(f.name()).into_owned())
        .collect();
    writer.write_record(&header)?;
    let numeric: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().is_numeric() || matches!(f.data_type(), DataType::Boolean))
        .collect();
    for_each_row(batches, |cells| {
        let cells: Vec<Cow<'_, str>> = cells
            .iter()
            .zip(&numeric)
            .map(|(cell, &number)| {
                if number {
                    Cow::Borrowed(cell.as_str())
                } else {
                    neutralize_formula(cell)
                }
            })
            .collect();
        writer.write_record(cells.iter().map(|c| c.as_bytes()))?;
        Ok(())
    })?;
    writer.flush()?;
    Ok(())
}
