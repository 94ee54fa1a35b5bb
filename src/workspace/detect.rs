//! The detect pipeline: every enabled rule as of a time, findings into alerts with their
//! lifecycle against the previous stored run, suppressions, the break-glass set and what
//! changed in it, the gaps in the data, and a loud warning when the data is older than the
//! window the rules read.

use crate::alerts::{
    build_alerts, latest_triage, load_run, load_run_record, load_triage, previous_run_id,
    record_triage, run_id, store_run, store_run_record, Alert, RunContext, RunRecord, Status,
    TriageAction, TriageEntry, PIMWATCH,
};
use crate::config::Suppression;
use crate::engine::{DamagedFile, Engine, EngineOptions};
use crate::lake::{lake_stats, LakeStats};
use crate::model::{all_tables, Instant, Layout, Severity};
use crate::report::{AlertReport, RuleText};
use crate::rules::context::{
    break_glass_changes, break_glass_set, BreakGlassAccount, DataWarning, BREAK_GLASS_VIEW,
};
use crate::rules::{evaluate, history_start, BreakGlass, RuleFailure, RuleId, RunOptions};

use super::{Workspace, WorkspaceError};

/// Days of events event rules read when neither the request nor config says.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 7;

/// What to run.
#[derive(Debug, Clone)]
pub struct DetectRequest {
    /// The time the rules evaluate.
    pub as_of: Instant,
    /// Days of events event rules read unless a rule declares its own; `None`: config, else
    /// [`DEFAULT_LOOKBACK_DAYS`].
    pub lookback_days: Option<u32>,
    /// Store the alerts in the lake (`alerts/run=<run id>/`), so the next run can tell new
    /// from ongoing and resolved.
    pub store: bool,
}

/// What a run found and what it could not judge.
#[derive(Debug, Clone)]
pub struct DetectRun {
    pub run_id: String,
    pub as_of: Instant,
    pub lookback_days: u32,
    /// Rules evaluated (enabled ones).
    pub rules_run: usize,
    /// Ranked: open, then suppressed, then resolved.
    pub alerts: Vec<Alert>,
    /// Rules that failed; the others ran, and a failed rule resolves none of its alerts.
    pub failures: Vec<RuleFailure>,
    /// Suppressions whose end date has passed: they no longer apply.
    pub expired_suppressions: Vec<Suppression>,
    pub break_glass: BreakGlassReport,
    /// Gaps in the data the rules must not read as findings (`data_warnings`).
    pub data_warnings: Vec<DataWarning>,
    /// The data is older than the window the rules read, or the run is before any state.
    pub time_warnings: Vec<TimeWarning>,
    /// Committed files that cannot be read and were left out: the run saw less than the lake.
    pub damaged: Vec<DamagedFile>,
    /// Whether the alerts were stored.
    pub stored: bool,
    /// The descriptions and references of the rules that raised alerts, for reports.
    pub rule_texts: std::collections::BTreeMap<RuleId, RuleText>,
}

impl DetectRun {
    /// The run's alerts as a report of this one run.
    pub fn report(&self) -> AlertReport {
        AlertReport::of_run(
            &self.run_id,
            self.as_of,
            &self.alerts,
            self.rule_texts.clone(),
        )
    }
}

impl DetectRun {
    /// Whether an open alert is at or above `threshold` (`--fail-on`).
    pub fn open_at_least(&self, threshold: Severity) -> bool {
        self.alerts
            .iter()
            .any(|a| a.status.is_open() && a.severity >= threshold)
    }
}

/// The break-glass set a run used, who decided it, and what changed since the previous run.
#[derive(Debug, Clone)]
pub struct BreakGlassReport {
    /// `None` when the packs have no `break_glass_accounts` view: the set is unknown, not
    /// empty.
    pub accounts: Option<Vec<BreakGlassAccount>>,
    /// How the set is decided (declared in config, or matched by name).
    pub source: &'static str,
    /// Rules that leave break-glass accounts out.
    pub excluding_rules: Vec<RuleId>,
    /// The previous stored run's `as_of`, and accounts that joined and left since.
    pub changes: Option<BreakGlassChanges>,
}

#[derive(Debug, Clone)]
pub struct BreakGlassChanges {
    pub since: String,
    pub joined: Vec<BreakGlassAccount>,
    pub left: Vec<BreakGlassAccount>,
}

/// The data does not cover the run's time; `use_as_of` is the time that would evaluate it.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeWarning {
    pub message: String,
    pub use_as_of: Option<Instant>,
}

impl Workspace {
    /// Runs every enabled rule as of `request.as_of`, ranks the alerts against the previous
    /// stored run, and stores them when asked. A rule that fails does not stop the others; it
    /// is in `failures`.
    pub async fn detect(&self, request: &DetectRequest) -> Result<DetectRun, WorkspaceError> {
        self.require_data()?;
        // A run that stores holds the writer lock throughout (waiting for a running ingest to
        // commit), so it evaluates the lake it stores against and two runs cannot interleave.
        let mut lock = if request.store {
            Some(self.lake.lock_for_writing("detect", true)?)
        } else {
            None
        };
        let rules = self.enabled_rules();
        let lookback_days = request
            .lookback_days
            .or(self.config.rules.lookback_days)
            .unwrap_or(DEFAULT_LOOKBACK_DAYS);
        let as_of = request.as_of;
        let options = RunOptions {
            as_of,
            lookback_days,
            params: self.config.rules.params.clone(),
            ..Default::default()
        };
        let history = history_start(&rules, as_of, lookback_days);
        let engine_options = EngineOptions {
            materialize_views: true,
            ..self.engine_options(as_of, Some(history))
        };
        let engine = Engine::open_with(&self.lake, &engine_options).await?;
        let result = evaluate(&engine, &rules, &options).await;

        let run = run_id(as_of);
        let previous_id = previous_run_id(&self.lake, &run)?;
        let (previous, previous_record) = match &previous_id {
            Some(id) => (load_run(&self.lake, id)?, load_run_record(&self.lake, id)?),
            None => (Vec::new(), None),
        };
        let triage = latest_triage(&load_triage(&self.lake)?);
        let alerts = build_alerts(
            &result.findings,
            &rules,
            &previous,
            &RunContext {
                run_id: &run,
                as_of,
                suppressions: &self.config.suppressions,
                ran: &result.ran,
                lookback_days,
                triage: &triage,
            },
        );
        // A closed alert found again is reopened in the triage log too, so the close no longer
        // applies to later runs and the log says who reopened it: pimwatch.
        let reopened: Vec<TriageEntry> = alerts
            .iter()
            .filter(|a| a.status == Status::Reopened)
            .filter(|a| {
                triage
                    .get(&a.alert_id)
                    .is_some_and(|t| t.action == TriageAction::Close)
            })
            .filter_map(|a| Some((a, triage.get(&a.alert_id)?)))
            .map(|(a, close)| TriageEntry {
                alert_id: a.alert_id.clone(),
                action: TriageAction::Reopen,
                reason: format!(
                    "{}; found again as of {}",
                    close.describe(),
                    as_of.to_rfc3339()
                ),
                by: PIMWATCH.to_string(),
                at: Instant::now(),
                run_id: run.clone(),
            })
            .collect();

        let accounts = if self.has_view(BREAK_GLASS_VIEW) {
            Some(
                break_glass_set(&engine)
                    .await
                    .map_err(|source| WorkspaceError::Reading {
                        what: "reading the break-glass set (break_glass_accounts)",
                        source,
                    })?,
            )
        } else {
            None
        };
        let changes = match (&previous_record, &accounts) {
            (Some(before), Some(now)) => {
                let (joined, left) = break_glass_changes(&before.break_glass, now);
                Some(BreakGlassChanges {
                    since: before.as_of.clone(),
                    joined: joined.into_iter().cloned().collect(),
                    left: left.into_iter().cloned().collect(),
                })
            }
            _ => None,
        };
        let data_warnings = self.data_warnings(&engine).await?;
        let time_warnings = time_warnings(&lake_stats(&self.lake)?, as_of, lookback_days);

        if let Some(lock) = lock.as_mut() {
            store_run(&self.lake, lock, &run, &alerts)?;
            record_triage(&self.lake, lock, &reopened)?;
            store_run_record(
                &self.lake,
                &RunRecord {
                    run_id: run.clone(),
                    as_of: as_of.to_rfc3339(),
                    break_glass: accounts.clone().unwrap_or_default(),
                },
            )?;
            lock.commit()?;
        }
        Ok(DetectRun {
            run_id: run,
            as_of,
            lookback_days,
            rules_run: rules.len(),
            failures: result.failures,
            expired_suppressions: self
                .config
                .suppressions
                .iter()
                .filter(|s| s.expires <= as_of)
                .cloned()
                .collect(),
            break_glass: BreakGlassReport {
                accounts,
                source: self.config.break_glass.source(),
                excluding_rules: rules
                    .iter()
                    .filter(|r| r.break_glass == BreakGlass::Excluded)
                    .map(|r| r.id.clone())
                    .collect(),
                changes,
            },
            data_warnings,
            time_warnings,
            damaged: engine.damaged().to_vec(),
            stored: request.store,
            rule_texts: rules
                .iter()
                .map(|r| (r.id.clone(), RuleText::of(&r.description, &r.references)))
                .collect(),
            alerts,
        })
    }
}

/// The newest event and the oldest and newest state in the lake, from Parquet footers.
fn coverage(stats: &LakeStats) -> (Option<Instant>, Option<Instant>, Option<Instant>) {
    let layout = |table: &str| {
        all_tables()
            .into_iter()
            .find(|(name, _, _)| *name == table)
            .map(|(_, _, layout)| layout)
    };
    let (mut newest_event, mut oldest_state, mut newest_state) = (None, None, None);
    for table in &stats.tables {
        match layout(table.table) {
            Some(Layout::Event) => newest_event = newest_event.max(table.max_time),
            Some(Layout::Snapshot) => {
                newest_state = newest_state.max(table.max_time);
                if let Some(min) = table.min_time {
                    oldest_state = Some(oldest_state.map_or(min, |o: i64| o.min(min)));
                }
            }
            None => {}
        }
    }
    (
        newest_event.map(Instant::from_nanos),
        oldest_state.map(Instant::from_nanos),
        newest_state.map(Instant::from_nanos),
    )
}

/// Warnings when the run's time is not what the data covers: the newest events or state
/// older than the window (a stopped ingest, or a lake of last month evaluated as of now: every
/// admin then looks stale and never activated), or a run before the first state.
fn time_warnings(stats: &LakeStats, as_of: Instant, lookback_days: u32) -> Vec<TimeWarning> {
    let (newest_event, oldest_state, newest_state) = coverage(stats);
    let newest = newest_event.max(newest_state);
    let window_start = as_of.days_before(lookback_days).unwrap_or(Instant::MIN);
    let suggestion = newest
        .filter(|&n| n < window_start)
        .map(Instant::ceil_to_second);
    let mut warnings = Vec::new();
    let mut stale = |what: &str, newest: Instant| {
        warnings.push(TimeWarning {
            message: format!(
                "the lake's newest {what} is from {newest}, older than the {lookback_days}-day window ending {as_of}: rules see no recent data and report what is missing (stale accounts, roles never activated) as findings"
            ),
            use_as_of: suggestion,
        });
    };
    if let Some(event) = newest_event.filter(|&t| t < window_start) {
        stale("event", event);
    }
    if let Some(state) = newest_state.filter(|&t| t < window_start) {
        stale("state export", state);
    }
    if let Some(first) = oldest_state.filter(|&t| t > as_of) {
        warnings.push(TimeWarning {
            message: format!(
                "the run is as of {as_of}, before the lake's first state export ({first}): no role, assignment or policy is known at that time"
            ),
            use_as_of: Some(first.ceil_to_second()),
        });
    }
    warnings
}
