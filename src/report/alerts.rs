//! Alerts through the emitters. Programs get the canonical alert table
//! ([`crate::alerts::alert_batch`]: every field; JSON embeds `evidence` as an object); people
//! get a count per severity and the ranked view (rank, score, severity, status, rule, entity,
//! summary), which fits a terminal or a ticket.

use std::io::Write;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, StringArray, UInt32Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use super::{write_batches, Format, ReportError};
use crate::alerts::{alert_batch, Alert, Status};
use crate::model::Severity;

/// Widths the ranked view cuts long text to (the full text is in the other formats).
const ENTITY_WIDTH: usize = 40;
const SUMMARY_WIDTH: usize = 120;

/// Renders alerts in `format`: `table` and `md` the counts and the ranked view, the others
/// the whole alert table.
pub fn write_alerts(
    format: Format,
    alerts: &[Alert],
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    match format {
        Format::Table | Format::Md => {
            writeln!(out, "{}", severity_counts(alerts))?;
            if alerts.is_empty() {
                return Ok(());
            }
            if format == Format::Md {
                writeln!(out)?;
            }
            write_batches(format, &[ranked_view(alerts)?], out)
        }
        Format::Csv | Format::Json | Format::Ndjson => {
            write_batches(format, &[alert_batch(alerts)?], out)
        }
    }
}

/// The alerts as people read them first: ranked, one line each.
fn ranked_view(alerts: &[Alert]) -> Result<RecordBatch, ReportError> {
    let text = |f: &dyn Fn(&Alert) -> String| -> ArrayRef {
        Arc::new(alerts.iter().map(|a| Some(f(a))).collect::<StringArray>())
    };
    let schema = Schema::new(vec![
        Field::new("rank", DataType::UInt32, false),
        Field::new("score", DataType::Int32, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("rule", DataType::Utf8, false),
        Field::new("entity", DataType::Utf8, false),
        Field::new("summary", DataType::Utf8, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(
            (1..=alerts.len()).map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        )),
        Arc::new(Int32Array::from_iter_values(
            alerts.iter().map(|a| i32::from(a.score)),
        )),
        text(&|a| a.severity.as_str().to_string()),
        text(&|a| a.status.as_str().to_string()),
        text(&|a| a.rule_id.to_string()),
        text(&|a| {
            cut(
                a.entity_name.as_deref().unwrap_or(&a.entity_id),
                ENTITY_WIDTH,
            )
        }),
        text(&|a| cut(&a.summary, SUMMARY_WIDTH)),
    ];
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

/// At most `width` characters, the last one `…` when text was cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut kept: String = text.chars().take(width.saturating_sub(1)).collect();
    kept.push('…');
    kept
}

/// `3 open alert(s): 1 critical, 2 high` (and suppressed and resolved ones, if any).
pub fn severity_counts(alerts: &[Alert]) -> String {
    let open: Vec<&Alert> = alerts.iter().filter(|a| a.status.is_open()).collect();
    let parts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = open.iter().filter(|a| a.severity == *s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    let count = |status: Status| alerts.iter().filter(|a| a.status == status).count();
    let (suppressed, resolved) = (count(Status::Suppressed), count(Status::Resolved));
    let mut line = format!("{} open alert(s)", open.len());
    if !parts.is_empty() {
        line.push_str(": ");
        line.push_str(&parts.join(", "));
    }
    if suppressed > 0 {
        line.push_str(&format!("; {suppressed} suppressed"));
    }
    if resolved > 0 {
        line.push_str(&format!("; {resolved} resolved since the previous run"));
    }
    line
}
