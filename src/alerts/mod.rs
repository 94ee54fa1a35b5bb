//! Alerts (DESIGN.md §5): findings become alerts with a stable fingerprint, a 0–100 score
//! with its reasons, a rank, a status against the previous run, and the suppression (an
//! accepted risk from `pimwatch.toml`) that covers them; each run's alerts are stored in the
//! lake under `alerts/run=<run id>/`.

mod store;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Suppression;
use crate::model::columns::StableHasher;
use crate::rules::{Finding, Rule, Severity};

pub use store::{
    load_run, load_run_record, previous_run_id, run_id, store_run, store_run_record, RunRecord,
    ALERTS_TABLE,
};

/// Where an alert stands compared with the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not in the previous run.
    New,
    /// In the previous run too; `first_seen` is kept from it.
    Ongoing,
    /// Found, but covered by an unexpired suppression; kept, never counted as open.
    Suppressed,
    /// In the previous run, gone now.
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Ongoing => "ongoing",
            Self::Suppressed => "suppressed",
            Self::Resolved => "resolved",
        }
    }

    /// New and ongoing alerts are open: they count, rank first and trip `--fail-on`.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::Ongoing)
    }

    fn rank_group(self) -> u8 {
        match self {
            Self::New | Self::Ongoing => 0,
            Self::Suppressed => 1,
            Self::Resolved => 2,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::New, Self::Ongoing, Self::Suppressed, Self::Resolved]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub alert_id: String,
    pub rule_id: String,
    pub title: String,
    #[serde(serialize_with = "severity_text")]
    pub severity: Severity,
    pub score: u8,
    pub score_reasons: Vec<String>,
    pub entity_type: String,
    pub entity_id: String,
    pub entity_name: Option<String>,
    pub summary: String,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub event_count: Option<i64>,
    pub evidence: Map<String, Value>,
    pub mitre: Vec<String>,
    pub remediation: String,
    pub status: Status,
    /// The suppression that covers the alert: reason, owner and end date.
    pub suppression: Option<String>,
    pub run_id: String,
    pub as_of: String,
}

fn severity_text<S: serde::Serializer>(severity: &Severity, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(severity.as_str())
}

/// The fingerprint of an alert: a stable hash of the rule id and the entity's values.
pub fn fingerprint(rule_id: &str, entity_values: &[String]) -> String {
    let mut hasher = StableHasher::default();
    hasher.write_field(rule_id.as_bytes());
    for value in entity_values {
        hasher.write_field(value.as_bytes());
    }
    hasher.finish().iter().map(|b| format!("{b:02x}")).collect()
}

fn base_score(severity: Severity) -> i32 {
    match severity {
        Severity::Info => 10,
        Severity::Low => 30,
        Severity::Medium => 50,
        Severity::High => 70,
        Severity::Critical => 90,
    }
}

fn flag(evidence: &Map<String, Value>, key: &str) -> bool {
    matches!(evidence.get(key), Some(Value::Bool(true)))
}

/// The score and its reasons: the severity's base, moved by what the evidence shows.
pub fn score(finding: &Finding) -> (u8, Vec<String>) {
    let base = base_score(finding.severity);
    let mut score = base;
    let mut reasons = vec![format!("{} severity: {base}", finding.severity)];
    let evidence = &finding.evidence;
    let mut add = |points: i32, reason: &str| {
        score += points;
        reasons.push(format!("{reason}: +{points}"));
    };
    if evidence.get("tier").and_then(Value::as_i64) == Some(0) {
        add(15, "control-plane (tier 0) role");
    }
    let guest = flag(evidence, "is_external")
        || evidence
            .get("user_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("guest"));
    if guest {
        add(10, "guest or external principal");
    }
    if evidence
        .get("principal_type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("servicePrincipal"))
    {
        add(5, "service principal");
    }
    if flag(evidence, "is_break_glass") {
        add(10, "break-glass account");
    }
    if let Some(count) = finding.event_count.filter(|&n| n > 1) {
        let points = (count - 1).min(10) as i32;
        add(points, &format!("repeated ({count} events)"));
    }
    (score.clamp(0, 100) as u8, reasons)
}

/// The run an alert list belongs to.
pub struct RunContext<'a> {
    pub run_id: &'a str,
    /// RFC 3339, as alerts show it.
    pub as_of: &'a str,
    /// Nanoseconds: suppressions that expire at or before it no longer apply.
    pub as_of_nanos: i64,
    pub suppressions: &'a [Suppression],
}

/// Findings of one run become ranked alerts; `previous` (the last run before this one)
/// decides new, ongoing and resolved, and the run's unexpired suppressions mark what is
/// accepted.
pub fn build_alerts(
    findings: &[Finding],
    rules: &[&Rule],
    previous: &[Alert],
    run: &RunContext,
) -> Vec<Alert> {
    let (run_id, as_of) = (run.run_id, run.as_of);
    let rules: BTreeMap<&str, &Rule> = rules.iter().map(|r| (r.id.as_str(), *r)).collect();
    let before: BTreeMap<&str, &Alert> = previous
        .iter()
        .filter(|a| a.status != Status::Resolved)
        .map(|a| (a.alert_id.as_str(), a))
        .collect();
    let mut alerts = Vec::new();
    for finding in findings {
        let Some(rule) = rules.get(finding.rule_id.as_str()) else {
            continue;
        };
        let alert_id = fingerprint(&finding.rule_id, &finding.entity_values);
        let (score, score_reasons) = score(finding);
        let (status, first_seen) = match before.get(alert_id.as_str()) {
            Some(old) => (
                Status::Ongoing,
                min_time(old.first_seen.clone(), finding.first_seen.clone()),
            ),
            None => (Status::New, finding.first_seen.clone()),
        };
        let suppression = run.suppressions.iter().find(|s| {
            s.expires_at() > run.as_of_nanos && s.matches(&finding.rule_id, &finding.entity_id)
        });
        let status = if suppression.is_some() {
            Status::Suppressed
        } else {
            status
        };
        alerts.push(Alert {
            alert_id,
            rule_id: finding.rule_id.clone(),
            title: rule.title.clone(),
            severity: finding.severity,
            score,
            score_reasons,
            entity_type: rule.entity_type(),
            entity_id: finding.entity_id.clone(),
            entity_name: finding.entity_name.clone(),
            summary: finding.summary.clone(),
            first_seen,
            last_seen: finding.last_seen.clone(),
            event_count: finding.event_count,
            evidence: finding.evidence.clone(),
            mitre: rule.mitre.clone(),
            remediation: rule.remediation.clone(),
            status,
            suppression: suppression.map(Suppression::describe),
            run_id: run_id.to_string(),
            as_of: as_of.to_string(),
        });
    }
    let current: std::collections::BTreeSet<String> =
        alerts.iter().map(|a| a.alert_id.clone()).collect();
    for old in before.values() {
        // A rule that did not run this time (disabled, failed) resolves nothing.
        if !current.contains(&old.alert_id) && rules.contains_key(old.rule_id.as_str()) {
            alerts.push(Alert {
                status: Status::Resolved,
                suppression: None,
                run_id: run_id.to_string(),
                as_of: as_of.to_string(),
                ..(*old).clone()
            });
        }
    }
    rank(&mut alerts);
    alerts
}

fn min_time(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Ranking: open alerts, then suppressed, then resolved ones; within each, score, severity,
/// recency, and finally rule and entity so that the order never depends on anything else.
pub fn rank(alerts: &mut [Alert]) {
    alerts.sort_by(|a, b| {
        a.status
            .rank_group()
            .cmp(&b.status.rank_group())
            .then(b.score.cmp(&a.score))
            .then(b.severity.cmp(&a.severity))
            .then(b.last_seen.cmp(&a.last_seen))
            .then(a.rule_id.cmp(&b.rule_id))
            .then(a.entity_id.cmp(&b.entity_id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: Severity, evidence: Value, count: Option<i64>) -> Finding {
        Finding {
            rule_id: "r".into(),
            entity_values: vec!["e".into()],
            entity_id: "e".into(),
            entity_name: None,
            summary: "s".into(),
            severity,
            first_seen: None,
            last_seen: None,
            event_count: count,
            evidence: evidence.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn score_moves_with_explained_reasons_and_stays_in_range() {
        let plain = score(&finding(Severity::Medium, serde_json::json!({}), None));
        assert_eq!(plain, (50, vec!["medium severity: 50".to_string()]));
        let (points, reasons) = score(&finding(
            Severity::Critical,
            serde_json::json!({"tier": 0, "user_type": "Guest", "is_break_glass": true}),
            Some(30),
        ));
        assert_eq!(points, 100);
        assert_eq!(reasons.len(), 5, "{reasons:?}");
    }

    #[test]
    fn fingerprint_depends_on_rule_and_entity_only() {
        let a = fingerprint("rule", &["x".into(), "y".into()]);
        assert_eq!(a, fingerprint("rule", &["x".into(), "y".into()]));
        assert_ne!(a, fingerprint("rule", &["xy".into()]));
        assert_ne!(a, fingerprint("other", &["x".into(), "y".into()]));
        assert_eq!(a.len(), 32);
    }
}
