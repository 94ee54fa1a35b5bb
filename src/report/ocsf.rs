//! OCSF: each alert as an OCSF 1.3 Detection Finding (class 2004, category Findings), one
//! JSON object per line, for SIEMs and security lakes that read OCSF. What OCSF has no place
//! for (evidence, score reasons, triage, suppression, run) is under `unmapped`.

use std::io::Write;

use serde_json::{json, Value};

use super::alerts::AlertReport;
use super::ReportError;
use crate::alerts::{Alert, Status};
use crate::model::{Instant, Severity};

pub const OCSF_VERSION: &str = "1.3.0";
const CLASS_UID: u32 = 2004;
const CATEGORY_UID: u32 = 2;

/// OCSF `severity_id`: 1 Informational … 5 Critical.
fn severity(severity: Severity) -> (u32, &'static str) {
    match severity {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// OCSF finding `activity_id`: Create for a new alert, Close for one that is gone or closed,
/// Update otherwise.
fn activity(status: Status) -> (u32, &'static str) {
    match status {
        Status::New => (1, "Create"),
        Status::Ongoing | Status::Reopened | Status::Suppressed => (2, "Update"),
        Status::Closed | Status::Resolved | Status::AgedOut => (3, "Close"),
    }
}

/// OCSF finding `status_id`: New, In Progress (acknowledged), Suppressed, Resolved, Other.
fn status(alert: &Alert) -> (u32, &'static str) {
    let acknowledged = alert
        .triage
        .as_deref()
        .is_some_and(|t| t.starts_with("acknowledged"));
    match alert.status {
        Status::New | Status::Ongoing | Status::Reopened if acknowledged => (2, "In Progress"),
        Status::New | Status::Ongoing | Status::Reopened => (1, "New"),
        Status::Suppressed => (3, "Suppressed"),
        Status::Closed | Status::Resolved => (4, "Resolved"),
        Status::AgedOut => (99, "Aged out"),
    }
}

/// Milliseconds since the epoch, OCSF's `timestamp_t`.
fn millis(text: &str) -> Option<i64> {
    Instant::parse(text).ok().map(|t| t.nanos() / 1_000_000)
}

/// One alert as an OCSF Detection Finding.
pub fn finding(alert: &Alert, report: &AlertReport) -> Value {
    let (severity_id, severity_name) = severity(alert.severity);
    let (activity_id, activity_name) = activity(alert.status);
    let (status_id, status_name) = status(alert);
    let rule = report.rules.get(&alert.rule_id);
    let mut finding_info = json!({
        "uid": alert.alert_id,
        "title": alert.title,
        "desc": rule.map(|r| r.description.as_str()).unwrap_or(alert.summary.as_str()),
        "types": [alert.rule_id.as_str()],
        "analytic": {
            "uid": alert.rule_id.as_str(),
            "name": alert.title,
            "type_id": 1,
            "type": "Rule",
        },
        "attacks": alert.mitre.iter().map(|t| json!({"technique": {"uid": t}})).collect::<Vec<_>>(),
    });
    if let Some(first) = alert.first_seen.as_deref().and_then(millis) {
        finding_info["first_seen_time"] = json!(first);
    }
    if let Some(last) = alert.last_seen.as_deref().and_then(millis) {
        finding_info["last_seen_time"] = json!(last);
    }
    if let Some(count) = alert.event_count {
        finding_info["related_events_count"] = json!(count);
    }
    let mut record = json!({
        "activity_id": activity_id,
        "activity_name": activity_name,
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": format!("Detection Finding: {activity_name}"),
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": status_id,
        "status": status_name,
        "time": millis(&alert.as_of).unwrap_or(0),
        "message": alert.summary,
        "is_alert": alert.status.is_open(),
        "risk_score": alert.score,
        "finding_info": finding_info,
        "resources": [{
            "type": alert.entity_type,
            "uid": alert.entity_id,
            "name": alert.entity_name,
        }],
        "remediation": {
            "desc": alert.remediation,
            "references": rule.map(|r| r.references.clone()).unwrap_or_default(),
        },
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": "pimwatch",
                "vendor_name": "pimwatch",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "uid": format!("{}-{}", alert.run_id, alert.alert_id),
            "log_name": "alerts",
        },
        "unmapped": {
            "pimwatch_status": alert.status.as_str(),
            "score_reasons": alert.score_reasons,
            "evidence": alert.evidence,
            "suppression": alert.suppression,
            "triage": alert.triage,
            "run_id": alert.run_id,
        },
    });
    if let Some(first) = alert.first_seen.as_deref().and_then(millis) {
        record["start_time"] = json!(first);
    }
    if let Some(last) = alert.last_seen.as_deref().and_then(millis) {
        record["end_time"] = json!(last);
    }
    record
}

/// Every alert of the report as one OCSF Detection Finding per line.
pub fn write(report: &AlertReport, out: &mut dyn Write) -> Result<(), ReportError> {
    for alert in &report.alerts {
        serde_json::to_writer(&mut *out, &finding(alert, report))?;
        writeln!(out)?;
    }
    Ok(())
}
