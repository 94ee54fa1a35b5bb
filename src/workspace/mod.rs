//! The library's services: one lake with its rule packs and config ([`Workspace`]), and the
//! calls every front end makes on it — detect (rules as of a time, alerts with their
//! lifecycle, stored), query, lake statistics, rule lint and tests, and the demo. They return
//! data and never print: the command line renders them and maps them to exit codes, and a
//! scheduled `run` or a `report` calls the same functions.
//!
//! A workspace refuses to answer from a lake that is missing or empty: an all-clear from no
//! data (a mistyped `--lake`, an ingest that never ran) is the most misleading answer a
//! security tool can give.

mod access_review;
mod alerts;
mod demo;
mod detect;
mod scheduled;

use std::path::{Path, PathBuf};

use datafusion::arrow::record_batch::RecordBatch;

pub use access_review::{
    AccessReview, AccessReviewRequest, GroupBy, PolicyRow, Recommendation, ReviewRow,
};
pub use alerts::{AlertDetail, AlertFilter, RunSelection, TriageError};
pub use demo::{demo, DemoRun, DEMO_TENANT};
pub use detect::{BreakGlassReport, DetectRequest, DetectRun, TimeWarning};
pub use scheduled::{report_path, RunOutcome, RunRequest, StageLog, DONE_DIR, FAILED_DIR};

use crate::config::{Config, ConfigError};
use crate::engine::{DamagedFile, Engine, EngineError, EngineOptions, Limits};
use crate::generate::GenerateError;
use crate::ingest::IngestError;
use crate::lake::{lake_stats, Lake, LakeError, LakeStats};
use crate::model::Instant;
use crate::rules::context::{data_warnings, DataWarning, DATA_WARNINGS_VIEW};
use crate::rules::{lint, run_tests, LintOutcome, Rule, RuleError, RuleSet, TestOutcome};

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("the lake at {} holds no data: ingest something first, or check --lake / PIMWATCH_LAKE", .0.display())]
    NoData(PathBuf),
    #[error("no rule has the id `{0}`; `pimwatch rules list` shows them")]
    UnknownRule(String),
    #[error("{what}: {source}")]
    Reading {
        what: &'static str,
        source: EngineError,
    },
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Triage(#[from] TriageError),
    #[error("reading a result: {0}")]
    Result(#[from] crate::report::ReportError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error("demo: {0}")]
    Demo(String),
    #[error(transparent)]
    NotifyConfig(#[from] crate::notify::NotifyError),
    #[error("{0}")]
    Notify(String),
    #[error("rule {rule}: its example alert: {error}")]
    Example { rule: String, error: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The config file read when none is named: `pimwatch.toml` in the current folder.
pub const IMPLICIT_CONFIG: &str = "pimwatch.toml";

/// A lake, the rule packs and the config the services work with.
pub struct Workspace {
    pub lake: Lake,
    pub rules: RuleSet,
    pub config: Config,
    /// Memory and time each query and rule may use: config's `[limits]` over the machine's
    /// defaults; the command line may override them.
    pub limits: Limits,
}

/// What `lake stats` shows: the tables, and what the data cannot tell.
#[derive(Debug, Clone)]
pub struct LakeReport {
    pub stats: LakeStats,
    /// Gaps in the data as of `as_of` (the `data_warnings` view), when the pack has it.
    pub warnings: Vec<DataWarning>,
    /// Committed files that cannot be read, left out of every query.
    pub damaged: Vec<DamagedFile>,
    pub as_of: Instant,
}

/// A query's result, and the damaged files it could not read.
#[derive(Debug, Clone)]
pub struct QueryAnswer {
    pub batches: Vec<RecordBatch>,
    pub damaged: Vec<DamagedFile>,
}

impl Workspace {
    pub fn new(lake: Lake, rules: RuleSet, config: Config) -> Self {
        let mut limits = Limits::machine_default();
        if let Some(mb) = config.limits.memory_mb {
            limits.memory_bytes = usize::try_from(mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        }
        if let Some(seconds) = config.limits.query_seconds {
            limits.query_timeout = std::time::Duration::from_secs(seconds);
        }
        Self {
            lake,
            rules,
            config,
            limits,
        }
    }

    /// The packs named (default: the built-in one) and the config file named, else
    /// `./pimwatch.toml` when there is one; the config is checked against the packs.
    pub fn open(
        lake: Lake,
        rule_sources: &[String],
        config_path: Option<&Path>,
    ) -> Result<Self, WorkspaceError> {
        let rules = RuleSet::load(rule_sources)?;
        let config = load_config(&rules, config_path)?;
        Ok(Self::new(lake, rules, config))
    }

    /// The rules a run evaluates: every rule config does not disable.
    pub fn enabled_rules(&self) -> Vec<&Rule> {
        self.rules
            .rules
            .iter()
            .filter(|r| !self.config.rules.disabled.contains(&r.id))
            .collect()
    }

    /// What an engine over this workspace sees as of `as_of`; `history_start` bounds the
    /// events views read (`None`: all).
    pub fn engine_options(&self, as_of: Instant, history_start: Option<Instant>) -> EngineOptions {
        EngineOptions {
            as_of,
            views: self.rules.views.clone(),
            break_glass_accounts: self.config.break_glass.accounts.clone(),
            break_glass_patterns: self.config.break_glass.patterns(),
            history_start,
            limits: self.limits,
            materialize_views: false,
        }
    }

    pub(crate) fn has_view(&self, name: &str) -> bool {
        self.rules.views.iter().any(|(n, _)| n == name)
    }

    /// Refuses a lake that is missing or holds no data.
    fn require_data(&self) -> Result<(), WorkspaceError> {
        if self.lake.is_empty()? {
            return Err(WorkspaceError::NoData(self.lake.root().to_path_buf()));
        }
        Ok(())
    }

    /// One read-only statement over the lake and the views as of `as_of`; `$as_of` and
    /// `$history_start` (all history: 1970) are bound as in rules, and `run` holds `as_of`.
    pub async fn query(&self, sql: &str, as_of: Instant) -> Result<QueryAnswer, WorkspaceError> {
        self.require_data()?;
        let options = self.engine_options(as_of, None);
        let engine = Engine::open_with(&self.lake, &options).await?;
        let batches = engine.query_with_params(sql, options.time_params()).await?;
        Ok(QueryAnswer {
            batches,
            damaged: engine.damaged().to_vec(),
        })
    }

    /// Rows, files, bytes and time range of every table, and the gaps in the data as of
    /// `as_of`.
    pub async fn stats(&self, as_of: Instant) -> Result<LakeReport, WorkspaceError> {
        self.require_data()?;
        let stats = lake_stats(&self.lake)?;
        let engine = Engine::open_with(&self.lake, &self.engine_options(as_of, None)).await?;
        let warnings = self.data_warnings(&engine).await?;
        Ok(LakeReport {
            stats,
            warnings,
            damaged: engine.damaged().to_vec(),
            as_of,
        })
    }

    /// What the lake cannot tell, from the packs' `data_warnings` view (none without it).
    async fn data_warnings(&self, engine: &Engine) -> Result<Vec<DataWarning>, WorkspaceError> {
        if !self.has_view(DATA_WARNINGS_VIEW) {
            return Ok(Vec::new());
        }
        data_warnings(engine)
            .await
            .map_err(|source| WorkspaceError::Reading {
                what: "reading what the lake cannot tell (data_warnings)",
                source,
            })
    }

    /// Lints every view and rule against the lake's schema (an empty lake has it too), with
    /// the config's parameter overrides.
    pub async fn lint(&self, as_of: Instant) -> Result<Vec<LintOutcome>, WorkspaceError> {
        let engine = Engine::open_with(&self.lake, &self.engine_options(as_of, None)).await?;
        Ok(lint(&engine, &self.rules, &self.config.rules.params, as_of).await)
    }

    /// The rules' embedded tests (all, or one rule's), hermetic: config does not apply.
    pub async fn test_rules(&self, only: Option<&str>) -> Result<Vec<TestOutcome>, WorkspaceError> {
        if let Some(id) = only {
            if self.rules.get(id).is_none() {
                return Err(WorkspaceError::UnknownRule(id.to_string()));
            }
        }
        Ok(run_tests(&self.rules, only).await)
    }

    /// The rule reference (`docs/rules/`): one page per rule of the packs, with an example
    /// alert from its own test fixtures, and an index; file names and contents.
    pub async fn rule_reference(&self) -> Result<Vec<(String, String)>, WorkspaceError> {
        let mut rules = Vec::new();
        for rule in &self.rules.rules {
            let example = crate::rules::example_finding(&self.rules, rule)
                .await
                .map_err(|error| WorkspaceError::Example {
                    rule: rule.id.to_string(),
                    error,
                })?;
            rules.push((rule, example));
        }
        Ok(crate::report::rule_reference(&rules))
    }

    /// One rule by id.
    pub fn rule(&self, id: &str) -> Result<&Rule, WorkspaceError> {
        self.rules
            .get(id)
            .ok_or_else(|| WorkspaceError::UnknownRule(id.to_string()))
    }
}

/// The config named (else `./pimwatch.toml` when there is one), for commands that need no
/// rules (`pull`): parsed and checked on its own.
pub fn load_config_only(named: Option<&Path>) -> Result<Config, WorkspaceError> {
    let implicit = Path::new(IMPLICIT_CONFIG);
    let Some(path) = named.or_else(|| implicit.is_file().then_some(implicit)) else {
        return Ok(Config::default());
    };
    Ok(Config::load(path)?)
}

fn load_config(rules: &RuleSet, named: Option<&Path>) -> Result<Config, WorkspaceError> {
    let implicit = Path::new(IMPLICIT_CONFIG);
    let Some(path) = named.or_else(|| implicit.is_file().then_some(implicit)) else {
        return Ok(Config::default());
    };
    let config = Config::load(path)?;
    config.check_against(rules, path)?;
    Ok(config)
}
