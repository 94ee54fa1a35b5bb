//! Excel workbooks (rust_xlsxwriter): every sheet a table with a bold, frozen header row and
//! filters on. Text is always written as text, never as a formula, and a cell that starts like
//! one (`=`, `+`, `-`, `@`, tab, CR) is prefixed with `'` as in CSV, so a formula cannot
//! come to life even when someone edits the cell. Alerts get a summary sheet and one sheet per
//! severity; the access review gets its holdings (with a list to pick the decision from),
//! the PIM settings and what the review covers.

use std::io::Write;

use datafusion::arrow::array::{
    Array, BooleanArray, Float64Array, Int32Array, Int64Array, UInt32Array,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use rust_xlsxwriter::{DataValidation, Format as CellFormat, Workbook, Worksheet, XlsxError};

use super::access_review::{heading, holdings_batch, policies_batch, DECISIONS};
use super::alerts::AlertReport;
use super::{for_each_row, neutralize_formula, severity_counts, ReportError};
use crate::alerts::{alert_batch, Status};
use crate::model::Severity;
use crate::workspace::{AccessReview, GroupBy};

/// What Excel keeps of a cell's text.
const MAX_CELL_CHARS: usize = 32_767;
/// Columns are sized to their content up to this many characters.
const MAX_COLUMN_WIDTH: usize = 60;

impl From<XlsxError> for ReportError {
    fn from(e: XlsxError) -> Self {
        ReportError::Unsupported(format!("writing the workbook: {e}"))
    }
}

/// A cell's text, safe in a spreadsheet and within Excel's limit.
fn cell_text(text: &str) -> String {
    let safe = neutralize_formula(text);
    if safe.chars().count() <= MAX_CELL_CHARS {
        return safe.into_owned();
    }
    let mut kept: String = safe.chars().take(MAX_CELL_CHARS - 1).collect();
    kept.push('…');
    kept
}

/// Writes `batch` as a table from row 0: header, typed cells, frozen header, filters, widths.
/// Returns the number of data rows.
fn write_table(sheet: &mut Worksheet, batch: &RecordBatch) -> Result<u32, ReportError> {
    let header = CellFormat::new().set_bold();
    let schema = batch.schema();
    let mut widths: Vec<usize> = schema.fields().iter().map(|f| f.name().len()).collect();
    for (col, field) in schema.fields().iter().enumerate() {
        sheet.write_string_with_format(0, column(col)?, cell_text(field.name()), &header)?;
    }
    let mut texts: Vec<Vec<String>> = Vec::new();
    for_each_row(std::slice::from_ref(batch), |cells| {
        texts.push(cells.to_vec());
        Ok(())
    })?;
    for (row_index, cells) in texts.iter().enumerate() {
        let row = u32::try_from(row_index + 1)
            .map_err(|_| ReportError::Unsupported("too many rows for a worksheet".into()))?;
        for (col, cell) in cells.iter().enumerate() {
            let array = batch.column(col);
            let c = column(col)?;
            if array.is_null(row_index) {
                continue;
            }
            match array.data_type() {
                DataType::Boolean => {
                    if let Some(values) = array.as_any().downcast_ref::<BooleanArray>() {
                        sheet.write_boolean(row, c, values.value(row_index))?;
                    }
                }
                DataType::Int32 | DataType::Int64 | DataType::UInt32 | DataType::Float64 => {
                    sheet.write_number(row, c, number(array.as_ref(), row_index))?;
                }
                _ => {
                    sheet.write_string(row, c, cell_text(cell))?;
                }
            }
            widths[col] = widths[col].max(cell.chars().count().min(MAX_COLUMN_WIDTH));
        }
    }
    let last_row = u32::try_from(texts.len()).unwrap_or(u32::MAX);
    let last_col = column(schema.fields().len().saturating_sub(1))?;
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, last_row, last_col)?;
    for (col, width) in widths.iter().enumerate() {
        sheet.set_column_width(
            column(col)?,
            (*width as f64 + 2.0).min(MAX_COLUMN_WIDTH as f64),
        )?;
    }
    Ok(last_row)
}

fn column(index: usize) -> Result<u16, ReportError> {
    u16::try_from(index).map_err(|_| ReportError::Unsupported("too many columns".into()))
}

fn number(array: &dyn Array, row: usize) -> f64 {
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        a.value(row) as f64
    } else if let Some(a) = any.downcast_ref::<Int32Array>() {
        f64::from(a.value(row))
    } else if let Some(a) = any.downcast_ref::<UInt32Array>() {
        f64::from(a.value(row))
    } else if let Some(a) = any.downcast_ref::<Float64Array>() {
        a.value(row)
    } else {
        0.0
    }
}

/// Key-value lines at the top of a summary sheet.
fn write_lines(sheet: &mut Worksheet, lines: &[(&str, String)]) -> Result<u32, ReportError> {
    let bold = CellFormat::new().set_bold();
    for (row, (key, value)) in lines.iter().enumerate() {
        let row = u32::try_from(row).unwrap_or(u32::MAX);
        sheet.write_string_with_format(row, 0, cell_text(key), &bold)?;
        sheet.write_string(row, 1, cell_text(value))?;
    }
    sheet.set_column_width(0, 24)?;
    sheet.set_column_width(1, 90)?;
    Ok(u32::try_from(lines.len()).unwrap_or(u32::MAX))
}

fn save(workbook: &mut Workbook, out: &mut dyn Write) -> Result<(), ReportError> {
    let bytes = workbook.save_to_buffer()?;
    out.write_all(&bytes)?;
    Ok(())
}

/// A summary sheet (the run, counts by severity, status and rule) and one sheet per
/// severity that has alerts, each with every alert field.
pub fn write_alert_report(report: &AlertReport, out: &mut dyn Write) -> Result<(), ReportError> {
    let mut workbook = Workbook::new();
    let summary = workbook.add_worksheet();
    summary.set_name("Summary")?;
    let mut lines = vec![
        ("run", report.run_id.clone()),
        ("as of", report.as_of.clone()),
        ("generated", report.generated_at.to_rfc3339()),
        (
            "alerts",
            format!("{} of the run's {}", report.alerts.len(), report.total),
        ),
        ("open", severity_counts(&report.alerts)),
    ];
    if let Some(filter) = &report.filter {
        lines.push(("filter", filter.clone()));
    }
    for status in Status::ALL {
        let n = report.alerts.iter().filter(|a| a.status == status).count();
        lines.push((status.as_str(), n.to_string()));
    }
    let mut row = write_lines(summary, &lines)? + 1;
    let bold = CellFormat::new().set_bold();
    for (col, name) in ["rule", "title", "open", "all"].iter().enumerate() {
        summary.write_string_with_format(row, column(col)?, *name, &bold)?;
    }
    let mut rules: std::collections::BTreeMap<(&str, &str), (usize, usize)> = Default::default();
    for alert in &report.alerts {
        let entry = rules
            .entry((alert.rule_id.as_str(), alert.title.as_str()))
            .or_default();
        entry.1 += 1;
        if alert.status.is_open() {
            entry.0 += 1;
        }
    }
    for ((rule, title), (open, all)) in rules {
        row += 1;
        summary.write_string(row, 0, cell_text(rule))?;
        summary.write_string(row, 1, cell_text(title))?;
        summary.write_number(row, 2, open as f64)?;
        summary.write_number(row, 3, all as f64)?;
    }
    for severity in Severity::ALL {
        let alerts: Vec<_> = report
            .alerts
            .iter()
            .filter(|a| a.severity == severity)
            .cloned()
            .collect();
        if alerts.is_empty() {
            continue;
        }
        let sheet = workbook.add_worksheet();
        sheet.set_name(severity_sheet_name(severity))?;
        write_table(sheet, &alert_batch(&alerts)?)?;
    }
    save(&mut workbook, out)
}

/// Any tabular result as one sheet.
pub fn write_batches(batches: &[RecordBatch], out: &mut dyn Write) -> Result<(), ReportError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Result")?;
    if let Some(first) = batches.first() {
        let all = datafusion::arrow::compute::concat_batches(&first.schema(), batches)?;
        write_table(sheet, &all)?;
    }
    save(&mut workbook, out)
}

/// `Critical`, `High`, …: the sheet of a severity.
pub fn severity_sheet_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
        Severity::Info => "Info",
    }
}

/// The holdings (the decision column picks from a list), the PIM settings, and what the
/// review covers.
pub fn write_access_review(
    review: &AccessReview,
    group_by: GroupBy,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let mut workbook = Workbook::new();
    let holdings = holdings_batch(review, group_by)?;
    let decision = holdings
        .schema()
        .index_of("decision")
        .map_err(ReportError::Arrow)?;
    let sheet = workbook.add_worksheet();
    sheet.set_name("Holdings")?;
    let rows = write_table(sheet, &holdings)?;
    if rows > 0 {
        let list = DataValidation::new().allow_list_strings(&DECISIONS)?;
        let c = column(decision)?;
        sheet.add_data_validation(1, c, rows, c, &list)?;
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name("PIM settings")?;
    write_table(sheet, &policies_batch(review)?)?;
    let sheet = workbook.add_worksheet();
    sheet.set_name("About")?;
    write_lines(
        sheet,
        &[
            ("review", heading(review)),
            ("generated", review.generated_at.to_rfc3339()),
            ("decision", format!("one of: {}", DECISIONS.join(", "))),
        ],
    )?;
    save(&mut workbook, out)
}
