//! Alerts through the emitters. Programs get the canonical alert table
//! ([`crate::alerts::alert_batch`]: every field; JSON embeds `evidence` as an object and
//! carries the schema version); people get a count per severity and the ranked view (rank,
//! id, score, severity, status, rule, entity, summary) fitted to the terminal; `html` is a
//! self-contained page and `ocsf` OCSF Detection Findings.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, StringArray, UInt32Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value;

use super::table::TableStyle;
use super::{json, table, write_batches, Format, ReportError};
use crate::alerts::{alert_batch, Alert, Status};
use crate::model::{Instant, Severity};
use crate::rules::RuleId;

/// The version of the JSON alert schema (`schema_version` in every alert object of
/// `--format json|ndjson`); docs/alerts.md documents it. Bumped when a field changes meaning
/// or goes away; new fields may appear within a version.
pub const ALERT_SCHEMA_VERSION: &str = "pimwatch.alert/1";

/// One stored run's open-alert counts, for a report's chart.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub run_id: String,
    pub as_of: Option<String>,
    /// Open alerts per severity, `Severity::ALL` order.
    pub open_by_severity: [usize; 5],
}

/// A stored run's alerts as a report shows them.
#[derive(Debug, Clone)]
pub struct AlertReport {
    pub run_id: String,
    /// The run's `as_of` (RFC 3339).
    pub as_of: String,
    /// The alerts the filter keeps, ranked, with triage decided since the run applied.
    pub alerts: Vec<Alert>,
    /// How many alerts the run holds before filtering.
    pub total: usize,
    /// The run before it, if any.
    pub previous_run: Option<String>,
    /// The newest runs up to this one, oldest first (at most [`HISTORY_RUNS`]).
    pub history: Vec<RunSummary>,
    /// The rules of the alerts, for descriptions and references.
    pub rules: BTreeMap<RuleId, RuleText>,
    /// When the report was made.
    pub generated_at: Instant,
    /// The filter the report applied, in words (`status new; severity ≥ high`), if any.
    pub filter: Option<String>,
}

/// What a report says about a rule besides the alert.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleText {
    pub description: String,
    pub references: Vec<String>,
}

impl RuleText {
    pub fn of(description: &str, references: &[String]) -> Self {
        Self {
            description: description.to_string(),
            references: references.to_vec(),
        }
    }
}

/// Runs a report charts.
pub const HISTORY_RUNS: usize = 30;

impl AlertReport {
    /// A report of one run's alerts as they are (what `detect` prints).
    pub fn of_run(
        run_id: &str,
        as_of: Instant,
        alerts: &[Alert],
        rules: BTreeMap<RuleId, RuleText>,
    ) -> Self {
        let mut open_by_severity = [0; 5];
        for alert in alerts.iter().filter(|a| a.status.is_open()) {
            if let Some(i) = Severity::ALL.iter().position(|s| *s == alert.severity) {
                open_by_severity[i] += 1;
            }
        }
        Self {
            run_id: run_id.to_string(),
            as_of: as_of.to_rfc3339(),
            alerts: alerts.to_vec(),
            total: alerts.len(),
            previous_run: None,
            history: vec![RunSummary {
                run_id: run_id.to_string(),
                as_of: Some(as_of.to_rfc3339()),
                open_by_severity,
            }],
            rules,
            generated_at: Instant::now(),
            filter: None,
        }
    }
}

/// What the terminal can show: its width, and whether to colour by severity.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    /// Columns; `None` when not writing to a terminal (nothing is fitted).
    pub width: Option<usize>,
    pub colour: bool,
}

/// Widths the ranked view cuts long text to when no terminal width is known (the full text
/// is in the other formats and in `alerts show`).
const ENTITY_WIDTH: usize = 40;
const SUMMARY_WIDTH: usize = 120;
/// The alert id prefix the ranked view shows; `alerts show` takes it.
pub const SHORT_ID: usize = 8;

/// Renders a report's alerts in `format`.
pub fn write_alerts(
    format: Format,
    report: &AlertReport,
    terminal: Terminal,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let alerts = &report.alerts;
    match format {
        Format::Table | Format::Md => {
            writeln!(out, "{}", severity_counts(alerts))?;
            if alerts.is_empty() {
                return Ok(());
            }
            if format == Format::Md {
                writeln!(out)?;
                return write_batches(format, &[ranked_view(alerts, None)?], out);
            }
            let view = ranked_view(alerts, terminal.width)?;
            table::write_styled(
                &[view],
                out,
                TableStyle {
                    colour_severity: terminal.colour,
                },
            )
        }
        Format::Csv => write_batches(format, &[alert_batch(alerts)?], out),
        Format::Json | Format::Ndjson => {
            let rows = json::rows(&[alert_batch(alerts)?])?;
            let rows: Vec<Value> = rows
                .into_iter()
                .map(|row| {
                    let mut versioned = serde_json::Map::new();
                    versioned.insert(
                        "schema_version".into(),
                        Value::String(ALERT_SCHEMA_VERSION.into()),
                    );
                    versioned.extend(row);
                    Value::Object(versioned)
                })
                .collect();
            if format == Format::Json {
                serde_json::to_writer_pretty(&mut *out, &rows)?;
                writeln!(out)?;
            } else {
                for row in rows {
                    serde_json::to_writer(&mut *out, &row)?;
                    writeln!(out)?;
                }
            }
            Ok(())
        }
        Format::Html => super::html::write_alert_report(report, out),
        Format::Ocsf => super::ocsf::write(report, out),
        Format::Xlsx => super::xlsx::write_alert_report(report, out),
    }
}

/// The ranked view's columns, in order; on a narrow terminal the first of
/// [`DROPPED_FIRST`] still shown goes until the line fits.
const RANKED_COLUMNS: [&str; 8] = [
    "rank", "id", "score", "severity", "status", "rule", "entity", "summary",
];
const DROPPED_FIRST: [&str; 4] = ["score", "rank", "id", "status"];
/// What the entity and summary columns keep at least before columns are dropped.
const MIN_ENTITY: usize = 12;
const MIN_SUMMARY: usize = 24;
/// The narrowest a rule id is cut to on a very narrow terminal.
const MIN_RULE: usize = 10;

/// The alerts as people read them first: ranked, one line each. On a terminal of known
/// width the entity and summary give way first, then whole columns (score, rank, id,
/// status), so no line is wider than the terminal.
fn ranked_view(alerts: &[Alert], width: Option<usize>) -> Result<RecordBatch, ReportError> {
    let entity = |a: &Alert| a.entity_name.clone().unwrap_or_else(|| a.entity_id.clone());
    let cell = |column: &str, rank: usize, a: &Alert| -> String {
        match column {
            "rank" => rank.to_string(),
            "id" => a.alert_id.chars().take(SHORT_ID).collect(),
            "score" => a.score.to_string(),
            "severity" => a.severity.as_str().to_string(),
            "status" => status_label(a),
            "rule" => a.rule_id.to_string(),
            "entity" => entity(a),
            _ => a.summary.clone(),
        }
    };
    let natural = |column: &str| {
        alerts
            .iter()
            .enumerate()
            .map(|(i, a)| cell(column, i + 1, a).chars().count())
            .max()
            .unwrap_or(0)
            .max(column.len())
    };
    let mut shown: Vec<&str> = RANKED_COLUMNS.to_vec();
    let (mut entity_width, mut summary_width) = (ENTITY_WIDTH, SUMMARY_WIDTH);
    let mut rule_width = usize::MAX;
    if let Some(width) = width {
        let mut dropping = DROPPED_FIRST.iter();
        loop {
            let fixed: usize = shown
                .iter()
                .filter(|c| !matches!(**c, "entity" | "summary"))
                .map(|c| natural(c))
                .sum();
            // `| ` before each column, ` |` after the last, ` | ` between.
            let borders = shown.len() * 3 + 1;
            let left = width.saturating_sub(fixed + borders);
            if left >= MIN_ENTITY + MIN_SUMMARY {
                entity_width = natural("entity")
                    .min(ENTITY_WIDTH)
                    .min(left - MIN_SUMMARY)
                    .max(MIN_ENTITY);
                summary_width = left - entity_width;
                break;
            }
            match dropping.next() {
                Some(column) => shown.retain(|c| c != column),
                None => {
                    // Severity, rule, entity and summary left: the rule gives way too.
                    let borders = shown.len() * 3 + 1;
                    let severity = natural("severity");
                    entity_width = MIN_ENTITY;
                    rule_width = width
                        .saturating_sub(borders + severity + MIN_ENTITY + MIN_SUMMARY)
                        .max(MIN_RULE);
                    summary_width = width
                        .saturating_sub(borders + severity + rule_width + MIN_ENTITY)
                        .max(MIN_RULE);
                    break;
                }
            }
        }
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for column in &shown {
        match *column {
            "rank" => {
                fields.push(Field::new("rank", DataType::UInt32, false));
                columns.push(Arc::new(UInt32Array::from_iter_values(
                    (1..=alerts.len()).map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
                )));
            }
            "score" => {
                fields.push(Field::new("score", DataType::Int32, false));
                columns.push(Arc::new(Int32Array::from_iter_values(
                    alerts.iter().map(|a| i32::from(a.score)),
                )));
            }
            name => {
                let limit = match name {
                    "entity" => Some(entity_width),
                    "summary" => Some(summary_width),
                    "rule" => Some(rule_width),
                    _ => None,
                };
                fields.push(Field::new(name, DataType::Utf8, false));
                columns.push(Arc::new(
                    alerts
                        .iter()
                        .enumerate()
                        .map(|(i, a)| {
                            let text = cell(name, i + 1, a);
                            Some(limit.map_or(text.clone(), |w| cut(&text, w)))
                        })
                        .collect::<StringArray>(),
                ));
            }
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// `ongoing, acked` when someone acknowledged an open alert.
pub(super) fn status_label(alert: &Alert) -> String {
    match &alert.triage {
        Some(t) if alert.status.is_open() && t.starts_with("acknowledged") => {
            format!("{}, acked", alert.status.as_str())
        }
        _ => alert.status.as_str().to_string(),
    }
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

/// `3 open alert(s): 1 critical, 2 high` (and suppressed, closed, resolved and aged-out
/// ones, if any).
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
    let mut line = format!("{} open alert(s)", open.len());
    if !parts.is_empty() {
        line.push_str(": ");
        line.push_str(&parts.join(", "));
    }
    let reopened = count(Status::Reopened);
    if reopened > 0 {
        line.push_str(&format!(" ({reopened} reopened)"));
    }
    for (status, words) in [
        (Status::Suppressed, "suppressed"),
        (Status::Closed, "closed"),
        (Status::Resolved, "resolved since the previous run"),
        (Status::AgedOut, "aged out of the window"),
    ] {
        let n = count(status);
        if n > 0 {
            line.push_str(&format!("; {n} {words}"));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(rule: &str, entity: &str, severity: Severity, summary: &str) -> Alert {
        Alert {
            alert_id: format!("{:032x}", summary.len()),
            rule_id: RuleId::parse(rule).expect("a rule id"),
            title: "t".into(),
            severity,
            score: 70,
            score_reasons: vec![],
            entity_type: "principal".into(),
            entity_id: "id".into(),
            entity_name: Some(entity.into()),
            summary: summary.into(),
            first_seen: None,
            last_seen: None,
            event_count: None,
            evidence: Default::default(),
            mitre: vec![],
            remediation: "r".into(),
            status: Status::New,
            suppression: None,
            triage: None,
            run_id: "20261031T000000Z".into(),
            as_of: "2026-10-31T00:00:00Z".into(),
        }
    }

    fn render(terminal: Terminal) -> String {
        let alerts = vec![
            alert(
                "role-assigned-outside-pim",
                "Someone With A Rather Long Display Name (admin account)",
                Severity::Critical,
                &"a very long summary ".repeat(20),
            ),
            alert("privileged-guest", "Eve", Severity::Low, "short"),
        ];
        let report = AlertReport::of_run(
            "20261031T000000Z",
            Instant::from_nanos(0),
            &alerts,
            BTreeMap::new(),
        );
        let mut out = Vec::new();
        write_alerts(Format::Table, &report, terminal, &mut out).expect("render");
        String::from_utf8(out).expect("utf8")
    }

    fn without_colour(text: &str) -> String {
        let mut plain = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                plain.push(c);
            }
        }
        plain
    }

    #[test]
    fn the_ranked_view_fits_the_terminal_and_colours_only_when_asked() {
        for width in [80, 100, 160] {
            let text = render(Terminal {
                width: Some(width),
                colour: true,
            });
            assert!(text.contains("\u{1b}[1;31mcritical\u{1b}[0m"), "{text}");
            for line in without_colour(&text).lines() {
                assert!(line.chars().count() <= width, "{width}: {line}");
            }
        }
        let plain = render(Terminal::default());
        assert!(!plain.contains('\u{1b}'));
        assert!(
            plain.lines().any(|l| l.chars().count() > 160),
            "no width: cut at 120 only"
        );
    }
}
