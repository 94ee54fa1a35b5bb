//! The demo: the sample tenant generated into a temporary folder (deterministic, about a
//! second), ingested into a fresh lake, every rule run as of the tenant's snapshot over its
//! whole history. Needs nothing on disk, so it works from an installed binary anywhere.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::generate::channels::Channel;
use crate::generate::tenant::{PolicyBaseline, PolicyShape};
use crate::generate::{generate, GenerateOptions, Manifest};
use crate::ingest::{ingest_paths, IngestOptions, IngestReport, NoProgress};
use crate::lake::{lake_stats, Lake};
use crate::model::Instant;
use crate::rules::RuleSet;

use super::{DetectRequest, DetectRun, Workspace, WorkspaceError};

/// The sample tenant: what `sample-data/tenant` holds (`sample-data/README.md`).
pub const DEMO_TENANT: DemoTenant = DemoTenant {
    users: 300,
    days: 30,
    seed: 1,
    start: (2026, 10, 1),
};

#[derive(Debug, Clone, Copy)]
pub struct DemoTenant {
    pub users: usize,
    pub days: i64,
    pub seed: u64,
    /// First day of activity (year, month, day).
    pub start: (i32, u32, u32),
}

impl DemoTenant {
    fn options(&self, out: PathBuf) -> Result<GenerateOptions, WorkspaceError> {
        let (year, month, day) = self.start;
        let start = chrono::NaiveDate::from_ymd_opt(year, month, day)
            .ok_or_else(|| WorkspaceError::Demo("the tenant's start is not a date".into()))?;
        Ok(GenerateOptions {
            out,
            users: self.users,
            days: self.days,
            seed: self.seed,
            channel: Channel::Graph,
            start,
            gzip: false,
            scenarios: None,
            policies: PolicyBaseline::Hardened,
            policies_shape: PolicyShape::Expand,
            force: false,
        })
    }
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoRun {
    pub tenant: Manifest,
    pub ingest: IngestReport,
    /// Days of events the rules read: the tenant's whole history.
    pub history_days: u32,
    /// The kept lake, when one was asked for.
    pub kept_lake: Option<PathBuf>,
    pub detect: DetectRun,
}

/// Runs the demo with `rules` and `config`; the lake is temporary unless `keep_lake` names a
/// new or empty folder for it.
pub async fn demo(
    rules: RuleSet,
    config: Config,
    keep_lake: Option<&Path>,
) -> Result<DemoRun, WorkspaceError> {
    let scratch = tempfile::tempdir().map_err(|source| WorkspaceError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let lake_dir = match keep_lake {
        Some(dir) => {
            let empty = match std::fs::read_dir(dir) {
                Ok(mut entries) => entries.next().is_none(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                Err(source) => {
                    return Err(WorkspaceError::Io {
                        path: dir.to_path_buf(),
                        source,
                    })
                }
            };
            if !empty {
                return Err(WorkspaceError::Demo(format!(
                    "{} is not empty; the demo needs a new or empty lake folder",
                    dir.display()
                )));
            }
            dir.to_path_buf()
        }
        None => scratch.path().join("lake"),
    };
    let tenant_dir = scratch.path().join("tenant");
    let tenant = generate(&DEMO_TENANT.options(tenant_dir.clone())?)?;
    let lake = Lake::new(&lake_dir);
    let ingest = ingest_paths(
        &lake,
        &[tenant_dir.join("logs")],
        &IngestOptions::default(),
        &mut NoProgress,
    )?;
    let as_of = Instant::parse(&tenant.snapshot_time).map_err(WorkspaceError::Demo)?;
    // Event rules read the tenant's whole history, not only the last week of it.
    let first_event = lake_stats(&lake)?
        .tables
        .iter()
        .filter(|t| t.table == "audit_events")
        .find_map(|t| t.min_time)
        .map(Instant::from_nanos);
    let history_days =
        first_event.map_or(DEMO_TENANT.days as u32, |first| as_of.days_back_to(first));
    let workspace = Workspace::new(lake, rules, config);
    let detect = workspace
        .detect(&DetectRequest {
            as_of,
            lookback_days: Some(history_days),
            store: true,
        })
        .await?;
    Ok(DemoRun {
        tenant,
        ingest,
        history_days,
        kept_lake: keep_lake.map(Path::to_path_buf),
        detect,
    })
}
