//! Alerts (DESIGN.md §5): findings become alerts with a stable fingerprint, a 0–100 score
//! with its reasons, a rank, a status against the previous run, and the suppression (an
//! accepted risk from `pimwatch.toml`) that covers them; each run's alerts are stored in the
//! lake under `alerts/run=<run id>/`.

mod columns;
mod store;
mod triage;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Suppression;
use crate::model::columns::StableHasher;
use crate::model::{Instant, PrincipalType};
use crate::rules::{lookback_days, Finding, Rule, RuleId, RuleKind, Severity};

pub use store::{
    alert_batch, alert_schema, load_run, load_run_record, previous_run_id, run_id, store_run,
    store_run_record, RunRecord, ALERTS_TABLE,
};
pub use triage::{
    latest_triage, load_triage, record_triage, TriageAction, TriageEntry, PIMWATCH, TRIAGE_TABLE,
};

/// Where an alert stands (docs/alerts.md): its lifecycle against the previous run, moved by
/// suppressions and by what people decided (`alerts ack|close|reopen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not in the previous run.
    New,
    /// In the previous run too; `first_seen` is kept from it.
    Ongoing,
    /// Closed by a person, then found again after the close (or reopened by a person).
    Reopened,
    /// Found, but covered by an unexpired suppression; kept, never counted as open.
    Suppressed,
    /// Closed by a person and not found again since: not open.
    Closed,
    /// The condition is gone: a posture rule no longer finds it, or an event rule no longer
    /// finds it although its events are still inside the window.
    Resolved,
    /// An event alert whose events left the rule's lookback window: nothing says whether the
    /// risk is gone, only that the evidence is out of sight.
    AgedOut,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Self::New,
        Self::Ongoing,
        Self::Reopened,
        Self::Suppressed,
        Self::Closed,
        Self::Resolved,
        Self::AgedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Ongoing => "ongoing",
            Self::Reopened => "reopened",
            Self::Suppressed => "suppressed",
            Self::Closed => "closed",
            Self::Resolved => "resolved",
            Self::AgedOut => "aged_out",
        }
    }

    /// New, ongoing and reopened alerts are open: they count, rank first and trip
    /// `--fail-on`.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::Ongoing | Self::Reopened)
    }

    /// Resolved and aged-out alerts are reported once, in the run after they went; the next
    /// run no longer carries them.
    pub fn is_gone(self) -> bool {
        matches!(self, Self::Resolved | Self::AgedOut)
    }

    fn rank_group(self) -> u8 {
        match self {
            Self::New | Self::Ongoing | Self::Reopened => 0,
            Self::Suppressed => 1,
            Self::Closed => 2,
            Self::Resolved | Self::AgedOut => 3,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One alert. This is also the alert table (`alerts/run=…/alerts.parquet`, the `alerts` table
/// in `query`) and the JSON alert schema of `--format json|ndjson`: the same fields, in this
/// order, with `evidence` a JSON object and `score_reasons` and `mitre` arrays.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// A stable hash of the rule id and the entity values (32 hex digits): the same finding
    /// has the same id in every run.
    pub alert_id: String,
    pub rule_id: RuleId,
    /// The rule's title.
    pub title: String,
    /// `info`, `low`, `medium`, `high` or `critical`.
    pub severity: Severity,
    /// 0–100: the severity's base moved by `score_reasons`.
    pub score: u8,
    /// Why the score is what it is, one reason per item (`tier-0 role: +15`).
    pub score_reasons: Vec<String>,
    /// What the entity is (`principal`, `role`, `role assignment`, `tenant`, …).
    pub entity_type: String,
    /// The entity's id: the rule's entity columns joined with `/`.
    pub entity_id: String,
    /// The entity's name, when the rule knows it.
    pub entity_name: Option<String>,
    /// One sentence saying what was found.
    pub summary: String,
    /// RFC 3339 times of the first and last event, when the finding is about events.
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub event_count: Option<i64>,
    /// Every other column the rule returned.
    pub evidence: Map<String, Value>,
    /// MITRE ATT&CK technique ids.
    pub mitre: Vec<String>,
    /// What to do about it.
    pub remediation: String,
    /// `new`, `ongoing`, `reopened`, `suppressed`, `closed`, `resolved` or `aged_out`.
    pub status: Status,
    /// The suppression that covers the alert: reason, owner and end date.
    pub suppression: Option<String>,
    /// The latest triage decision: `acknowledged by alice at …: reason` (also `closed`,
    /// `reopened`).
    pub triage: Option<String>,
    /// The run (`20261031T000000Z`) and the time it was evaluated at (RFC 3339).
    pub run_id: String,
    pub as_of: String,
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
        .and_then(PrincipalType::parse)
        == Some(PrincipalType::ServicePrincipal)
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
    /// Suppressions that expire at or before it no longer apply.
    pub as_of: Instant,
    pub suppressions: &'a [Suppression],
    /// The rules that ran to the end this time: only they may resolve an alert. The open
    /// alerts of a rule that failed are carried over unchanged; those of a disabled rule are
    /// dropped.
    pub ran: &'a BTreeSet<RuleId>,
    /// The run's lookback in days (event rules that declare none read this many).
    pub lookback_days: u32,
    /// Each alert's latest triage decision.
    pub triage: &'a BTreeMap<String, TriageEntry>,
}

/// Findings of one run become ranked alerts; `previous` (the last run before this one)
/// decides new, ongoing, resolved and aged out, people's triage decides closed and reopened,
/// and the run's unexpired suppressions mark what is accepted.
pub fn build_alerts(
    findings: &[Finding],
    rules: &[&Rule],
    previous: &[Alert],
    run: &RunContext,
) -> Vec<Alert> {
    let run_id = run.run_id;
    let as_of = run.as_of.to_rfc3339();
    let rules: BTreeMap<&str, &Rule> = rules.iter().map(|r| (r.id.as_str(), *r)).collect();
    let before: BTreeMap<&str, &Alert> = previous
        .iter()
        .filter(|a| !a.status.is_gone())
        .map(|a| (a.alert_id.as_str(), a))
        .collect();
    let mut alerts = Vec::new();
    for finding in findings {
        let Some(rule) = rules.get(finding.rule_id.as_str()) else {
            continue;
        };
        let alert_id = fingerprint(finding.rule_id.as_str(), &finding.entity_values);
        let (score, score_reasons) = score(finding);
        let old = before.get(alert_id.as_str());
        let (mut status, first_seen) = match old {
            Some(old) => (
                Status::Ongoing,
                min_time(old.first_seen.clone(), finding.first_seen.clone()),
            ),
            None => (Status::New, finding.first_seen.clone()),
        };
        let triage = run.triage.get(&alert_id);
        let mut note = triage.map(TriageEntry::describe);
        match triage {
            Some(close) if close.action == TriageAction::Close => {
                // The close judged the alert as of the run it was made on: a posture finding
                // comes back in any later run, an event finding only with events newer than
                // that run.
                let found_at = match rule.kind {
                    RuleKind::Posture => Some(run.as_of),
                    RuleKind::Event => finding
                        .last_seen
                        .as_deref()
                        .and_then(|t| Instant::parse(t).ok())
                        .or(Some(run.as_of)),
                };
                if found_at.is_some_and(|t| t > close.decided_as_of()) {
                    status = Status::Reopened;
                    note = Some(format!(
                        "{}; found again as of {as_of}, so reopened",
                        close.describe()
                    ));
                } else {
                    status = Status::Closed;
                }
            }
            Some(reopen)
                if reopen.action == TriageAction::Reopen
                    && old.is_some_and(|o| o.status == Status::Closed) =>
            {
                status = Status::Reopened;
            }
            _ => {}
        }
        let suppression = run
            .suppressions
            .iter()
            .find(|s| s.expires > run.as_of && s.matches(&finding.rule_id, &finding.entity_id));
        if suppression.is_some() {
            status = Status::Suppressed;
        }
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
            triage: note,
            run_id: run_id.to_string(),
            as_of: as_of.clone(),
        });
    }
    let current: BTreeSet<String> = alerts.iter().map(|a| a.alert_id.clone()).collect();
    for old in before.values() {
        if current.contains(&old.alert_id) {
            continue;
        }
        let Some(rule) = rules.get(old.rule_id.as_str()) else {
            // Disabled (or removed) rules no longer speak for their alerts.
            continue;
        };
        let status = if run.ran.contains(&old.rule_id) {
            if aged_out(rule, old, run) {
                Status::AgedOut
            } else {
                Status::Resolved
            }
        } else {
            // The rule failed this time: it says nothing about whether its findings are
            // gone, so its alerts keep their status (and first_seen) until it runs.
            match old.status {
                Status::New | Status::Ongoing | Status::Reopened => Status::Ongoing,
                other => other,
            }
        };
        alerts.push(Alert {
            status,
            suppression: if status.is_gone() {
                None
            } else {
                old.suppression.clone()
            },
            triage: run
                .triage
                .get(&old.alert_id)
                .map(TriageEntry::describe)
                .or_else(|| old.triage.clone()),
            run_id: run_id.to_string(),
            as_of: as_of.clone(),
            ..(*old).clone()
        });
    }
    rank(&mut alerts);
    alerts
}

/// Whether an event alert that is no longer found went because its events left the window
/// the rule reads, rather than because the condition is gone.
fn aged_out(rule: &Rule, old: &Alert, run: &RunContext) -> bool {
    if rule.kind != RuleKind::Event {
        return false;
    }
    let days = lookback_days(rule, run.lookback_days);
    let window_start = run.as_of.days_before(days).unwrap_or(Instant::MIN);
    old.last_seen
        .as_deref()
        .and_then(|t| Instant::parse(t).ok())
        .is_some_and(|last| last < window_start)
}

/// Applies triage decided after a run was stored to its alerts, as reports show them: a
/// closed open alert is `closed`, and every alert says its latest decision.
pub fn apply_triage(alerts: &mut [Alert], triage: &BTreeMap<String, TriageEntry>) {
    for alert in alerts.iter_mut() {
        let Some(entry) = triage.get(&alert.alert_id) else {
            continue;
        };
        let newer = alert
            .triage
            .as_deref()
            .is_none_or(|t| !t.starts_with(&entry.describe()));
        if newer {
            alert.triage = Some(entry.describe());
            match entry.action {
                TriageAction::Close if alert.status.is_open() => alert.status = Status::Closed,
                TriageAction::Reopen if alert.status == Status::Closed => {
                    alert.status = Status::Reopened
                }
                _ => {}
            }
        }
    }
    rank(alerts);
}

fn min_time(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Ranking: open alerts, then suppressed, closed, and gone ones; within each, score, severity,
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
            rule_id: RuleId::parse("r").expect("a rule id"),
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

    #[test]
    fn service_principals_score_higher_whatever_the_source_spelling() {
        for spelling in ["service_principal", "ServicePrincipal", "servicePrincipal"] {
            let (points, reasons) = score(&finding(
                Severity::Medium,
                serde_json::json!({"principal_type": spelling}),
                None,
            ));
            assert_eq!(points, 55, "{spelling}: {reasons:?}");
        }
        let (points, _) = score(&finding(
            Severity::Medium,
            serde_json::json!({"principal_type": "user"}),
            None,
        ));
        assert_eq!(points, 50);
    }

    fn rule(id: &str) -> Rule {
        let text = format!(
            "id = \"{id}\"\ntitle = \"t\"\nseverity = \"high\"\nkind = \"posture\"\n\
             description = \"d\"\nremediation = \"r\"\nentity = [\"e\"]\nsql = \"SELECT 1\"\n"
        );
        Rule::parse("test.toml", &text).expect("a rule")
    }

    fn open_alert(rule_id: &str) -> Alert {
        let mut found = finding(Severity::High, serde_json::json!({}), None);
        found.rule_id = RuleId::parse(rule_id).expect("a rule id");
        let first = rule(rule_id);
        let ran: BTreeSet<RuleId> = [found.rule_id.clone()].into();
        let run = RunContext {
            run_id: "20261030T000000Z",
            as_of: Instant::from_nanos(0),
            suppressions: &[],
            ran: &ran,
            lookback_days: 7,
            triage: &BTreeMap::new(),
        };
        build_alerts(&[found], &[&first], &[], &run).remove(0)
    }

    #[test]
    fn only_rules_that_ran_resolve_their_alerts() {
        let previous = vec![
            open_alert("ran-clean"),
            open_alert("failed"),
            open_alert("disabled"),
        ];
        let (ran_clean, failed) = (rule("ran-clean"), rule("failed"));
        let ran: BTreeSet<RuleId> = [ran_clean.id.clone()].into();
        let run = RunContext {
            run_id: "20261031T000000Z",
            as_of: Instant::from_nanos(1),
            suppressions: &[],
            ran: &ran,
            lookback_days: 7,
            triage: &BTreeMap::new(),
        };
        let alerts = build_alerts(&[], &[&ran_clean, &failed], &previous, &run);
        let status = |id: &str| {
            alerts
                .iter()
                .find(|a| a.rule_id == id)
                .map(|a| (a.status, a.run_id.clone()))
        };
        assert_eq!(
            status("ran-clean"),
            Some((Status::Resolved, "20261031T000000Z".into()))
        );
        assert_eq!(
            status("failed"),
            Some((Status::Ongoing, "20261031T000000Z".into())),
            "a failed rule says nothing: its alert stays open"
        );
        assert_eq!(
            status("disabled"),
            None,
            "a disabled rule's alert drops out"
        );
    }
}
