//! Stored alerts for people: a run's alerts filtered as a report asks (with the triage decided
//! since), one alert in full, triage decisions, and the history of runs a report charts.

use crate::alerts::{
    apply_triage, latest_triage, load_run, load_triage, record_triage, Alert, Status, TriageAction,
    TriageEntry, ALERTS_TABLE,
};
use crate::model::{Instant, Severity};
use crate::report::{AlertReport, RuleText, RunSummary, HISTORY_RUNS};
use crate::rules::RuleId;

use super::{Workspace, WorkspaceError};

/// Which stored run a report reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum RunSelection {
    /// The newest stored run.
    #[default]
    Latest,
    /// The run with this id (`20261031T000000Z`).
    Id(String),
    /// The newest run as of this time or before it.
    AsOf(Instant),
}

/// Which alerts of the run a report shows.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Only these statuses (empty: all).
    pub statuses: Vec<Status>,
    pub min_severity: Option<Severity>,
    /// Only these rules (empty: all).
    pub rules: Vec<RuleId>,
}

impl AlertFilter {
    /// The filter in words, or `None` when it keeps everything.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.statuses.is_empty() {
            let names: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
            parts.push(format!("status {}", names.join(", ")));
        }
        if let Some(min) = self.min_severity {
            parts.push(format!("severity {min} or higher"));
        }
        if !self.rules.is_empty() {
            let names: Vec<&str> = self.rules.iter().map(|r| r.as_str()).collect();
            parts.push(format!("rule {}", names.join(", ")));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    fn keeps(&self, alert: &Alert) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&alert.status))
            && self.min_severity.is_none_or(|min| alert.severity >= min)
            && (self.rules.is_empty() || self.rules.contains(&alert.rule_id))
    }
}

/// One alert in full, with every triage decision on it.
#[derive(Debug, Clone)]
pub struct AlertDetail {
    pub alert: Alert,
    pub rule: Option<RuleText>,
    pub triage: Vec<TriageEntry>,
}

/// Triage refused.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("no stored run holds an alert `{0}`; `pimwatch report alerts` lists them")]
    UnknownAlert(String),
    #[error("`{prefix}` matches {count} alerts; give more of the id")]
    Ambiguous { prefix: String, count: usize },
    #[error("an alert id is at least 6 hex digits, not `{0}`")]
    ShortId(String),
    #[error("alert {0} is not closed; only a closed alert can be reopened")]
    NotClosed(String),
    #[error("--{0} must not be empty: triage is an audit trail")]
    Missing(&'static str),
    #[error("there are no stored runs in the lake: run `pimwatch detect` first")]
    NoRuns,
    #[error("no stored run has the id `{0}`; stored runs: {1}")]
    UnknownRun(String, String),
    #[error("no stored run is as of {0} or earlier; the first is {1}")]
    NoRunBefore(Instant, String),
}

impl Workspace {
    /// The stored run ids, oldest first.
    pub fn stored_runs(&self) -> Result<Vec<String>, WorkspaceError> {
        Ok(self.lake.partition_values(ALERTS_TABLE, "run")?)
    }

    fn select_run(&self, selection: &RunSelection) -> Result<String, WorkspaceError> {
        let runs = self.stored_runs()?;
        let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
            return Err(TriageError::NoRuns.into());
        };
        match selection {
            RunSelection::Latest => Ok(last.clone()),
            RunSelection::Id(id) => runs.iter().find(|r| *r == id).cloned().ok_or_else(|| {
                let shown: Vec<&str> = runs.iter().rev().take(5).map(String::as_str).collect();
                let more = if runs.len() > 5 { ", …" } else { "" };
                TriageError::UnknownRun(id.clone(), format!("{}{more}", shown.join(", "))).into()
            }),
            RunSelection::AsOf(time) => {
                let id = crate::alerts::run_id(*time);
                runs.iter()
                    .rev()
                    .find(|r| **r <= id)
                    .cloned()
                    .ok_or_else(|| TriageError::NoRunBefore(*time, first.clone()).into())
            }
        }
    }

    /// A stored run's alerts, filtered, with the triage decided since applied, the runs
    /// before it for a chart, and the rules' descriptions.
    pub fn alert_report(
        &self,
        selection: &RunSelection,
        filter: &AlertFilter,
    ) -> Result<AlertReport, WorkspaceError> {
        let run_id = self.select_run(selection)?;
        let runs = self.stored_runs()?;
        let triage = latest_triage(&load_triage(&self.lake)?);
        let mut alerts = load_run(&self.lake, &run_id)?;
        apply_triage(&mut alerts, &triage);
        let total = alerts.len();
        let as_of = alerts.first().map(|a| a.as_of.clone()).unwrap_or_else(|| {
            Instant::from_snapshot_name(&run_id)
                .map(Instant::to_rfc3339)
                .unwrap_or_default()
        });
        alerts.retain(|a| filter.keeps(a));
        let position = runs.iter().position(|r| *r == run_id).unwrap_or(0);
        let mut history = Vec::new();
        for id in &runs[(position + 1).saturating_sub(HISTORY_RUNS)..=position] {
            let stored = load_run(&self.lake, id)?;
            let mut open_by_severity = [0; 5];
            for alert in stored.iter().filter(|a| a.status.is_open()) {
                if let Some(i) = Severity::ALL.iter().position(|s| *s == alert.severity) {
                    open_by_severity[i] += 1;
                }
            }
            history.push(RunSummary {
                run_id: id.clone(),
                as_of: stored.first().map(|a| a.as_of.clone()),
                open_by_severity,
            });
        }
        let rules = alerts
            .iter()
            .filter_map(|a| self.rules.get(a.rule_id.as_str()))
            .map(|r| (r.id.clone(), RuleText::of(&r.description, &r.references)))
            .collect();
        Ok(AlertReport {
            previous_run: position.checked_sub(1).map(|p| runs[p].clone()),
            run_id,
            as_of,
            alerts,
            total,
            history,
            rules,
            generated_at: Instant::now(),
            filter: filter.describe(),
        })
    }

    /// The alert whose id is or starts with `id` (at least 6 hex digits), as the newest
    /// stored run that holds it has it (or `run`'s), with its triage history.
    pub fn alert_detail(&self, id: &str, run: Option<&str>) -> Result<AlertDetail, WorkspaceError> {
        let (alert_id, run_id) = self.resolve_alert(id, run)?;
        let entries = load_triage(&self.lake)?;
        let mut alerts = load_run(&self.lake, &run_id)?;
        apply_triage(&mut alerts, &latest_triage(&entries));
        let alert = alerts
            .into_iter()
            .find(|a| a.alert_id == alert_id)
            .ok_or_else(|| TriageError::UnknownAlert(id.to_string()))?;
        Ok(AlertDetail {
            rule: self
                .rules
                .get(alert.rule_id.as_str())
                .map(|r| RuleText::of(&r.description, &r.references)),
            triage: entries
                .into_iter()
                .filter(|e| e.alert_id == alert_id)
                .collect(),
            alert,
        })
    }

    /// Records a triage decision on an alert of the stored runs, appended to the lake's
    /// triage log; the next detect and every report read it.
    pub fn triage(
        &self,
        id: &str,
        action: TriageAction,
        reason: &str,
        by: &str,
        wait: bool,
    ) -> Result<TriageEntry, WorkspaceError> {
        let (reason, by) = (reason.trim(), by.trim());
        if reason.is_empty() {
            return Err(TriageError::Missing("reason").into());
        }
        if by.is_empty() {
            return Err(TriageError::Missing("by").into());
        }
        let mut lock = self.lake.lock_for_writing("alerts triage", wait)?;
        let (alert_id, run_id) = self.resolve_alert(id, None)?;
        let latest = latest_triage(&load_triage(&self.lake)?);
        if action == TriageAction::Reopen
            && latest.get(&alert_id).map(|e| e.action) != Some(TriageAction::Close)
        {
            return Err(TriageError::NotClosed(alert_id).into());
        }
        let entry = TriageEntry {
            alert_id,
            action,
            reason: reason.to_string(),
            by: by.to_string(),
            at: Instant::now(),
            run_id,
        };
        record_triage(&self.lake, &mut lock, std::slice::from_ref(&entry))?;
        lock.commit()?;
        Ok(entry)
    }

    /// The full alert id that `id` names, and the newest run that holds it (or `run`).
    fn resolve_alert(
        &self,
        id: &str,
        run: Option<&str>,
    ) -> Result<(String, String), WorkspaceError> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() < 6 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(TriageError::ShortId(id).into());
        }
        let runs = match run {
            Some(run) => vec![self.select_run(&RunSelection::Id(run.to_string()))?],
            None => self.stored_runs()?,
        };
        if runs.is_empty() {
            return Err(TriageError::NoRuns.into());
        }
        for run_id in runs.iter().rev() {
            let mut matches: Vec<String> = load_run(&self.lake, run_id)?
                .into_iter()
                .map(|a| a.alert_id)
                .filter(|a| a.starts_with(&id))
                .collect();
            matches.dedup();
            match matches.len() {
                0 => continue,
                1 => return Ok((matches.remove(0), run_id.clone())),
                count => {
                    return Err(TriageError::Ambiguous { prefix: id, count }.into());
                }
            }
        }
        Err(TriageError::UnknownAlert(id).into())
    }
}
