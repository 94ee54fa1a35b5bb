//! Ranked alerts for people (a terminal table with a count per severity) and programs (JSON,
//! JSON Lines). Log fields are attacker-controlled: the table strips control characters so a
//! crafted name cannot move the cursor or recolour the terminal.

use std::io::Write;

use crate::alerts::{Alert, Status};
use crate::rules::Severity;

/// Output formats of `detect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlertFormat {
    /// A ranked table for the terminal.
    Table,
    /// One JSON array.
    Json,
    /// One alert per line.
    Ndjson,
}

pub fn write_alerts(
    format: AlertFormat,
    alerts: &[Alert],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        AlertFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, alerts)?;
            writeln!(out)
        }
        AlertFormat::Ndjson => {
            for alert in alerts {
                serde_json::to_writer(&mut *out, alert)?;
                writeln!(out)?;
            }
            Ok(())
        }
        AlertFormat::Table => write_table(alerts, out),
    }
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

/// Printable on a terminal: control characters become spaces, long text is cut.
fn cell(text: &str, width: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= width {
        clean
    } else {
        let cut: String = clean.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn write_table(alerts: &[Alert], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{}", severity_counts(alerts))?;
    if alerts.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{:>4}  {:>5}  {:<8}  {:<8}  {:<40}  {:<36}  summary",
        "#", "score", "severity", "status", "rule", "entity"
    )?;
    for (rank, alert) in alerts.iter().enumerate() {
        let entity = alert.entity_name.as_deref().unwrap_or(&alert.entity_id);
        writeln!(
            out,
            "{:>4}  {:>5}  {:<8}  {:<8}  {:<40}  {:<36}  {}",
            rank + 1,
            alert.score,
            alert.severity.as_str(),
            alert.status.as_str(),
            cell(&alert.rule_id, 40),
            cell(entity, 36),
            cell(&alert.summary, 120)
        )?;
    }
    Ok(())
}
