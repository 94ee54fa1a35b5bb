//! The scheduled job (`pimwatch run`): under the lake's run lock, ingest the inbox (each entry
//! moved to `done/<run>/` or `failed/<run>/` afterwards), detect and store the run, and write
//! the configured reports. Each stage reports one line with its counts and time as it ends,
//! so a scheduler's log tells what happened and where it stopped.

use std::path::{Path, PathBuf};
use std::time::Instant as Clock;

use serde_json::{json, Value};

use crate::config::{ReportConfig, ReportKind, WebhookConfig};
use crate::ingest::{ingest_paths, IngestOptions, NoProgress};
use crate::model::{Instant, Severity};
use crate::report::{write_access_review, write_alerts, write_file_atomically, Terminal};

use super::{
    AccessReviewRequest, AlertFilter, DetectRequest, DetectRun, GroupBy, RunSelection, Workspace,
    WorkspaceError,
};

/// Where the inbox's entries go once ingested, and where the ones that could not be read go.
pub const DONE_DIR: &str = "done";
pub const FAILED_DIR: &str = "failed";

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub as_of: Instant,
    pub lookback_days: Option<u32>,
    pub inbox: Option<PathBuf>,
    pub reports: Vec<ReportConfig>,
    pub webhooks: Vec<WebhookConfig>,
    /// Pull Microsoft Graph first, when it is configured.
    pub pull: Option<(crate::pull::Settings, crate::pull::PullOptions)>,
}

/// One stage's outcome, as it ends.
#[derive(Debug, Clone)]
pub struct StageLog {
    /// `ingest`, `detect`, `report`.
    pub stage: &'static str,
    pub ok: bool,
    pub message: String,
    /// Counts and names for log collectors.
    pub fields: serde_json::Map<String, Value>,
    pub seconds: f64,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run_id: String,
    pub stages: Vec<StageLog>,
    pub detect: Option<DetectRun>,
    /// Inbox entries that could not be read (moved to `failed/<run>/`).
    pub failed_inputs: usize,
    pub quarantined: u64,
    pub reports_written: Vec<PathBuf>,
    pub reports_failed: usize,
    /// Alerts a webhook did not get (the next run tries again).
    pub notifications_failed: usize,
    /// The Graph pull failed (the run went on with what the lake holds).
    pub pull_failed: bool,
}

impl RunOutcome {
    /// Whether anything needs a person: an input not read or quarantined, a rule that failed,
    /// data that does not cover the run, a report not written.
    pub fn needs_attention(&self) -> bool {
        self.failed_inputs > 0
            || self.quarantined > 0
            || self.reports_failed > 0
            || self.notifications_failed > 0
            || self.pull_failed
            || self.detect.as_ref().is_none_or(|d| {
                !d.failures.is_empty() || !d.time_warnings.is_empty() || !d.damaged.is_empty()
            })
    }

    /// Whether an open alert is at or above `threshold`.
    pub fn open_at_least(&self, threshold: Severity) -> bool {
        self.detect
            .as_ref()
            .is_some_and(|d| d.open_at_least(threshold))
    }
}

fn seconds(since: Clock) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

/// `{run}` in a report path becomes the run id.
pub fn report_path(template: &Path, run_id: &str) -> PathBuf {
    PathBuf::from(template.to_string_lossy().replace("{run}", run_id))
}

impl Workspace {
    /// The scheduled job; `on_stage` hears each stage as it ends. Refused, doing nothing, when
    /// another run holds the lake's run lock.
    pub async fn run_scheduled(
        &self,
        request: &RunRequest,
        on_stage: &mut (dyn FnMut(&StageLog) + Send),
    ) -> Result<RunOutcome, WorkspaceError> {
        let _run_lock = self.lake.lock_run()?;
        let run_id = crate::alerts::run_id(request.as_of);
        let mut outcome = RunOutcome {
            run_id: run_id.clone(),
            stages: Vec::new(),
            detect: None,
            failed_inputs: 0,
            quarantined: 0,
            reports_written: Vec::new(),
            reports_failed: 0,
            notifications_failed: 0,
            pull_failed: false,
        };
        let mut log = |outcome: &mut RunOutcome, stage: StageLog| {
            on_stage(&stage);
            outcome.stages.push(stage);
        };

        if let Some((settings, options)) = &request.pull {
            let started = Clock::now();
            let (lake, settings, options) = (self.lake.clone(), settings.clone(), options.clone());
            let pulled = tokio::task::spawn_blocking(move || {
                let mut client = crate::pull::GraphClient::new(settings);
                crate::pull::pull(&lake, &mut client, &options, &mut |_| {})
            })
            .await
            .map_err(|e| WorkspaceError::Notify(format!("the pull stopped: {e}")))?;
            let stage = match pulled {
                Ok(report) => {
                    let pages: u64 = report.endpoints.iter().map(|e| e.pages).sum();
                    let rows: u64 = report.endpoints.iter().map(|e| e.rows_added).sum();
                    let quarantined: u64 = report.endpoints.iter().map(|e| e.quarantined).sum();
                    outcome.quarantined += quarantined;
                    let mut fields = serde_json::Map::new();
                    fields.insert("pages".into(), json!(pages));
                    fields.insert("rows_added".into(), json!(rows));
                    fields.insert("quarantined".into(), json!(quarantined));
                    fields.insert("requests".into(), json!(report.requests));
                    fields.insert("retries".into(), json!(report.retries));
                    StageLog {
                        stage: "pull",
                        ok: quarantined == 0,
                        message: format!(
                            "{} endpoint(s), {pages} page(s), {rows} row(s) added, {quarantined} quarantined, {} retried",
                            report.endpoints.len(),
                            report.retries
                        ),
                        fields,
                        seconds: seconds(started),
                    }
                }
                Err(e) => {
                    // Detect still runs on what the lake holds; the run says what failed.
                    outcome.pull_failed = true;
                    StageLog {
                        stage: "pull",
                        ok: false,
                        message: format!("{e}"),
                        fields: serde_json::Map::new(),
                        seconds: seconds(started),
                    }
                }
            };
            log(&mut outcome, stage);
        }

        if let Some(inbox) = &request.inbox {
            let stage = self.ingest_inbox(inbox, &run_id, &mut outcome)?;
            log(&mut outcome, stage);
        }

        let started = Clock::now();
        let detect = self
            .detect(&DetectRequest {
                as_of: request.as_of,
                lookback_days: request.lookback_days,
                store: true,
            })
            .await?;
        let open: Vec<_> = detect
            .alerts
            .iter()
            .filter(|a| a.status.is_open())
            .collect();
        let new = open
            .iter()
            .filter(|a| a.status == crate::alerts::Status::New)
            .count();
        let mut fields = serde_json::Map::new();
        fields.insert("rules".into(), json!(detect.rules_run));
        fields.insert("failed_rules".into(), json!(detect.failures.len()));
        fields.insert("open".into(), json!(open.len()));
        fields.insert("new".into(), json!(new));
        for severity in Severity::ALL {
            let n = open.iter().filter(|a| a.severity == severity).count();
            fields.insert(severity.as_str().into(), json!(n));
        }
        let ok = detect.failures.is_empty() && detect.time_warnings.is_empty();
        let stage = StageLog {
            stage: "detect",
            ok,
            message: format!(
                "{} rule(s) as of {}: {} ({} new){}{}",
                detect.rules_run,
                detect.as_of,
                crate::report::severity_counts(&detect.alerts),
                new,
                if detect.failures.is_empty() {
                    String::new()
                } else {
                    format!("; {} rule(s) failed", detect.failures.len())
                },
                detect
                    .time_warnings
                    .first()
                    .map(|w| format!("; WARNING: {}", w.message))
                    .unwrap_or_default()
            ),
            fields,
            seconds: seconds(started),
        };
        log(&mut outcome, stage);

        for report in &request.reports {
            let started = Clock::now();
            let path = report_path(&report.path, &run_id);
            let result = self
                .write_report(report, &detect, request.as_of, &path)
                .await;
            let mut fields = serde_json::Map::new();
            fields.insert("path".into(), json!(path.display().to_string()));
            fields.insert(
                "format".into(),
                json!(format!("{:?}", report.format).to_lowercase()),
            );
            let stage = match result {
                Ok(()) => {
                    outcome.reports_written.push(path.clone());
                    StageLog {
                        stage: "report",
                        ok: true,
                        message: format!("wrote {}", path.display()),
                        fields,
                        seconds: seconds(started),
                    }
                }
                Err(e) => {
                    outcome.reports_failed += 1;
                    StageLog {
                        stage: "report",
                        ok: false,
                        message: format!("could not write {}: {e}", path.display()),
                        fields,
                        seconds: seconds(started),
                    }
                }
            };
            log(&mut outcome, stage);
        }
        if !request.webhooks.is_empty() {
            let started = Clock::now();
            let (stage, failed) = self.notify_stage(&request.webhooks, &detect).await?;
            outcome.notifications_failed = failed;
            let stage = StageLog {
                seconds: seconds(started),
                ..stage
            };
            log(&mut outcome, stage);
        }
        outcome.detect = Some(detect);
        Ok(outcome)
    }

    /// Ingests every entry of the inbox (but `done/` and `failed/`), one at a time, and moves
    /// each to `done/<run>/`, or to `failed/<run>/` when it could not be read or all its
    /// records were quarantined.
    fn ingest_inbox(
        &self,
        inbox: &Path,
        run_id: &str,
        outcome: &mut RunOutcome,
    ) -> Result<StageLog, WorkspaceError> {
        let started = Clock::now();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WorkspaceError::Io { path, source }
        };
        std::fs::create_dir_all(inbox).map_err(io(inbox))?;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(inbox)
            .map_err(io(inbox))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                name != DONE_DIR && name != FAILED_DIR && !name.starts_with('.')
            })
            .collect();
        entries.sort();
        let (mut files, mut rows, mut failed_names) = (0usize, 0u64, Vec::new());
        for entry in &entries {
            let report = ingest_paths(
                &self.lake,
                std::slice::from_ref(entry),
                &IngestOptions {
                    wait: true,
                    ..Default::default()
                },
                &mut NoProgress,
            )?;
            files += report.files.len();
            rows += report.rows_added();
            outcome.quarantined += report.quarantined();
            // Not read at all, or nothing of it landed (every record quarantined): a person
            // must look at it. A file partly quarantined is done; its bad records are in the
            // quarantine.
            let failed = report.failed_files().next().is_some()
                || (report.rows_added() == 0 && report.quarantined() > 0);
            let target_dir = inbox
                .join(if failed { FAILED_DIR } else { DONE_DIR })
                .join(run_id);
            std::fs::create_dir_all(&target_dir).map_err(io(&target_dir))?;
            let name = entry.file_name().unwrap_or_default();
            let target = target_dir.join(name);
            std::fs::rename(entry, &target).map_err(io(entry))?;
            if failed {
                outcome.failed_inputs += 1;
                failed_names.push(name.to_string_lossy().into_owned());
            }
        }
        let mut fields = serde_json::Map::new();
        fields.insert("entries".into(), json!(entries.len()));
        fields.insert("files".into(), json!(files));
        fields.insert("rows_added".into(), json!(rows));
        fields.insert("quarantined".into(), json!(outcome.quarantined));
        fields.insert("failed".into(), json!(failed_names));
        Ok(StageLog {
            stage: "ingest",
            ok: failed_names.is_empty() && outcome.quarantined == 0,
            message: format!(
                "{} inbox entr{} ({} file(s)), {} row(s) added, {} quarantined{}",
                entries.len(),
                if entries.len() == 1 { "y" } else { "ies" },
                files,
                rows,
                outcome.quarantined,
                if failed_names.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; not ingested: {} (moved to {}/{run_id}/)",
                        failed_names.join(", "),
                        inbox.join(FAILED_DIR).display()
                    )
                }
            ),
            fields,
            seconds: seconds(started),
        })
    }

    /// Posts the run's alerts to the webhooks (HTTP on a blocking thread) and logs the
    /// deliveries in the lake. Returns the stage line and the alerts not delivered.
    async fn notify_stage(
        &self,
        hooks: &[WebhookConfig],
        detect: &DetectRun,
    ) -> Result<(StageLog, usize), WorkspaceError> {
        let lake = self.lake.clone();
        let hooks = hooks.to_vec();
        let alerts = detect.alerts.clone();
        let run_id = detect.run_id.clone();
        let outcomes = tokio::task::spawn_blocking(move || {
            let mut lock = lake.lock_for_writing("run (notify)", true)?;
            let outcomes = crate::notify::notify(&lake, &mut lock, &hooks, &alerts, &run_id)?;
            lock.commit()?;
            Ok::<_, WorkspaceError>(outcomes)
        })
        .await
        .map_err(|e| WorkspaceError::Notify(format!("the notification task stopped: {e}")))??;
        let failed: usize = outcomes.iter().map(|o| o.failed).sum();
        let parts: Vec<String> = outcomes
            .iter()
            .map(|o| {
                let mut part = format!(
                    "{}: {} alert(s) in {} message(s){}",
                    o.name,
                    o.delivered,
                    o.messages,
                    if o.summarized { " (summary)" } else { "" }
                );
                if o.failed > 0 {
                    part.push_str(&format!(
                        ", {} not delivered ({})",
                        o.failed,
                        o.error.as_deref().unwrap_or("unknown error")
                    ));
                }
                part
            })
            .collect();
        let mut fields = serde_json::Map::new();
        fields.insert(
            "webhooks".into(),
            json!(outcomes
                .iter()
                .map(|o| json!({"name": o.name, "delivered": o.delivered, "messages": o.messages, "summarized": o.summarized, "failed": o.failed}))
                .collect::<Vec<_>>()),
        );
        Ok((
            StageLog {
                stage: "notify",
                ok: failed == 0,
                message: parts.join("; "),
                fields,
                seconds: 0.0,
            },
            failed,
        ))
    }

    async fn write_report(
        &self,
        report: &ReportConfig,
        detect: &DetectRun,
        as_of: Instant,
        path: &Path,
    ) -> Result<(), WorkspaceError> {
        match report.report {
            ReportKind::Alerts => {
                // The stored run, so the report has the runs before it and the triage.
                let alert_report = self.alert_report(
                    &RunSelection::Id(detect.run_id.clone()),
                    &AlertFilter {
                        min_severity: report.min_severity,
                        ..Default::default()
                    },
                )?;
                write_file_atomically(path, |out| {
                    write_alerts(report.format, &alert_report, Terminal::default(), out)
                })?;
            }
            ReportKind::AccessReview => {
                let review = self
                    .access_review(&AccessReviewRequest {
                        as_of,
                        period_days: report.period_days.unwrap_or(90),
                    })
                    .await?;
                write_file_atomically(path, |out| {
                    write_access_review(report.format, &review, GroupBy::Role, out)
                })?;
            }
        }
        Ok(())
    }
}
