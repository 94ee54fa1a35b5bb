//! Writing results for people and programs: one [`Format`] enum, one module per emitter, each
//! rendering any tabular result (Arrow record batches). Alerts are a canonical table
//! ([`crate::alerts::alert_batch`]), so they render through the same emitters. Log fields are
//! attacker-controlled: the terminal and Markdown emitters neutralize control characters and
//! markup, CSV neutralizes spreadsheet formulas. Knows nothing of ingest or the lake.

mod access_review;
mod alerts;
mod csv;
mod html;
mod json;
mod md;
mod ocsf;
mod rule_doc;
mod table;
mod text;
mod xlsx;

use std::io::Write;

use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

pub use access_review::{
    heading as access_review_heading, holdings_batch, write_access_review, DECISIONS,
    REVIEWER_COLUMNS,
};
pub use alerts::{
    severity_counts, write_alerts, AlertReport, RuleText, RunSummary, Terminal,
    ALERT_SCHEMA_VERSION, HISTORY_RUNS, SHORT_ID,
};
pub use html::escape as html_escape;
pub use ocsf::{finding as ocsf_finding, OCSF_VERSION};
pub use rule_doc::rule_reference;
pub use text::{neutralize_formula, printable};

/// The output formats of every command that prints results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A table for the terminal.
    Table,
    /// CSV with a header; text that a spreadsheet would run as a formula is prefixed with `'`.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A Markdown table, to paste into a ticket.
    Md,
    /// One self-contained HTML page (no network fetch); for alerts, the full report.
    Html,
    /// OCSF 1.3 Detection Findings, one per line (alerts only).
    Ocsf,
    /// An Excel workbook (binary: use --output): sheets with frozen headers and filters.
    Xlsx,
}

impl Format {
    /// Whether the format is binary (not for a terminal).
    pub fn is_binary(self) -> bool {
        self == Self::Xlsx
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Arrow(#[from] ArrowError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Csv(#[from] ::csv::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Unsupported(String),
}

impl ReportError {
    /// Whether writing failed because the reader went away (`| head`).
    pub fn is_broken_pipe(&self) -> bool {
        let kind = match self {
            Self::Io(e) => Some(e.kind()),
            Self::Csv(e) => match e.kind() {
                ::csv::ErrorKind::Io(e) => Some(e.kind()),
                _ => None,
            },
            Self::Json(e) => e.io_error_kind(),
            Self::Arrow(ArrowError::IoError(_, e)) => Some(e.kind()),
            Self::Arrow(_) | Self::Unsupported(_) => None,
        };
        kind == Some(std::io::ErrorKind::BrokenPipe)
    }
}

/// Field metadata that marks a text column as holding JSON (alert evidence): the JSON
/// emitters embed it as a value instead of a string.
pub use crate::model::columns::JSON_TEXT as JSON_COLUMN;

/// Hands every row of `batches` to `each` as display strings (nulls empty), in order: what
/// the text emitters share.
fn for_each_row(
    batches: &[RecordBatch],
    mut each: impl FnMut(&[String]) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default().with_null("");
    let mut cells = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            cells.clear();
            cells.extend(formatters.iter().map(|f| f.value(row).to_string()));
            each(&cells)?;
        }
    }
    Ok(())
}

/// Every row of `batches` as a JSON object (nulls as `null`, JSON columns embedded): how the
/// library's services read a query's rows.
pub fn json_rows(
    batches: &[RecordBatch],
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, ReportError> {
    json::rows(batches)
}

/// Writes a file whole or not at all: into a hidden `.name.partial` next to it, synced, then
/// renamed over `path` (its folder is created when missing).
pub fn write_file_atomically(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let name = path.file_name().ok_or_else(|| {
        ReportError::Unsupported(format!("{} does not name a file", path.display()))
    })?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut partial_name = std::ffi::OsString::from(".");
    partial_name.push(name);
    partial_name.push(".partial");
    let partial = path.with_file_name(partial_name);
    let result = (|| {
        let mut writer = std::io::BufWriter::new(std::fs::File::create(&partial)?);
        write(&mut writer)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&partial, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Renders a tabular result in `format`.
pub fn write_batches(
    format: Format,
    batches: &[RecordBatch],
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    match format {
        Format::Table => table::write(batches, out),
        Format::Csv => csv::write(batches, out),
        Format::Json => json::write_array(batches, out),
        Format::Ndjson => json::write_lines(batches, out),
        Format::Md => md::write(batches, out),
        Format::Html => html::write_table(batches, out),
        Format::Xlsx => xlsx::write_batches(batches, out),
        Format::Ocsf => Err(ReportError::Unsupported(
            "ocsf is a format for alerts (report alerts, detect); use json or csv here".into(),
        )),
    }
}
