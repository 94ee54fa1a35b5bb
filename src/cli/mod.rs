//! The command line: argument definitions (their doc comments are the `--help` text), a call
//! to the library's services ([`crate::workspace`], [`crate::ingest`], [`crate::generate`])
//! per command, rendering, and exit codes. Nothing here decides what a result is.
//!
//! Exit codes: 0 success; 1 an open alert at or above `--fail-on`; 2 the user must act (an
//! input could not be read, a rule failed, the data does not cover the run's time, a usage
//! error, a result that could not be written).

pub(crate) mod output;
mod progress;
mod render;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::alerts::{Status, TriageAction};
use crate::config::MAX_LOOKBACK_DAYS;
use crate::generate::channels::Channel;
use crate::generate::tenant::{PolicyBaseline, PolicyShape};
use crate::generate::{generate, GenerateOptions};
use crate::ingest::detect::RecordKind;
use crate::ingest::{ingest_paths, IngestOptions, NoProgress};
use crate::lake::{check_lake, Lake};
use crate::model::{Instant, Severity};
use crate::report::{Format, Terminal};
use crate::workspace::{
    demo, AccessReviewRequest, AlertFilter, DetectRequest, GroupBy, RunRequest, RunSelection,
    Workspace,
};
use output::{is_broken_pipe, say, Output};

/// Audit-and-alert analytics for privileged access (PIM) in Microsoft Entra ID and Azure.
///
/// `--lake`, `--rules` and `--config` come before the command:
/// `pimwatch --lake ./lake detect --as-of 2026-10-31`.
#[derive(Debug, Parser)]
#[command(name = "pimwatch", version, about)]
pub struct Cli {
    /// The lake folder (ingest, query, detect, rules lint, lake stats).
    #[arg(long, env = "PIMWATCH_LAKE", default_value = "pimwatch-lake")]
    pub lake: PathBuf,

    /// Rule packs, comma-separated: folders laid out like `rules/` (`*.toml`,
    /// `views/*.sql`) and `builtin` for the pack inside pimwatch. Default: `builtin`;
    /// `--rules builtin,./our-rules` adds a site's rules to it.
    #[arg(long, env = "PIMWATCH_RULES", value_delimiter = ',')]
    pub rules: Vec<String>,

    /// Settings: break-glass accounts, disabled rules, parameter overrides, suppressions.
    /// Default: `pimwatch.toml` in the current folder, if there is one.
    #[arg(long, env = "PIMWATCH_CONFIG")]
    pub config: Option<PathBuf>,

    /// Memory one query or rule may use, e.g. `4GiB` or `512MiB` (sorts, joins and aggregates
    /// spill to disk first). Default: `[limits] memory_mb`, else half the machine's memory.
    #[arg(long, value_parser = parse_size)]
    pub memory_limit: Option<usize>,

    /// Seconds one query or rule may run; a rule that runs longer fails alone. Default:
    /// `[limits] query_seconds`, else 300.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub query_timeout: Option<u64>,

    #[command(subcommand)]
    pub command: Command,
}

/// Where a command's results go.
#[derive(Debug, Args)]
pub struct OutputArg {
    /// Write the results to this file instead of stdout; it appears only once complete.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read export files or folders (Graph pages, Event Hub/storage blobs, Log Analytics
    /// JSON/CSV/TSV, Activity Log, Windows Security JSON; gzip too) into the lake.
    Ingest {
        /// Files or folders (walked recursively; hidden entries and files that are not
        /// exports by their extension are skipped). A path that cannot be read is reported
        /// and the others are still ingested.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Treat every record as this kind instead of detecting it.
        #[arg(long, value_enum)]
        kind: Option<RecordKind>,
        /// The time state files (users, roles, assignments, policies) describe; a zone-less
        /// time is UTC. Default: the `snapshot=` folder a file is in, else its modification
        /// time.
        #[arg(long, value_parser = Instant::parse)]
        snapshot_time: Option<Instant>,
        /// When another pimwatch is writing the lake, wait for it instead of exiting.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        out: OutputArg,
    },
    /// Run one read-only SQL query over the lake and the rules' views. `$as_of` and the
    /// one-row table `run` hold the time views are evaluated at, as in rules.
    Query {
        /// The SQL (one SELECT; DDL, DML, COPY and SET are refused).
        sql: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// The time views such as `current_assignments` are evaluated at; a zone-less time is
        /// UTC. Default: now.
        #[arg(long, value_parser = Instant::parse)]
        as_of: Option<Instant>,
        #[command(flatten)]
        out: OutputArg,
    },
    /// Run every enabled rule, rank the alerts, store them in the lake (`alerts/run=…`) and
    /// print them.
    Detect {
        /// The time the rules evaluate; a zone-less time is UTC. Default: now. When the
        /// lake's data is older than the window, detect says so and names the time to use.
        #[arg(long, value_parser = Instant::parse)]
        as_of: Option<Instant>,
        /// Days of events event rules read, unless a rule declares its own (default 7; 1 to
        /// 3650).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_LOOKBACK_DAYS)))]
        lookback: Option<u32>,
        /// `table` and `md`: counts and the ranked view; `csv`, `json`, `ndjson`: every
        /// alert field.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Exit with 1 when an open alert is at or above this severity.
        #[arg(long, value_parser = parse_severity)]
        fail_on: Option<Severity>,
        /// Print only; do not store the run's alerts in the lake.
        #[arg(long)]
        no_store: bool,
        #[command(flatten)]
        out: OutputArg,
    },
    /// The whole pipeline on the sample tenant (300 users, 30 days, planted risky
    /// scenarios), generated on the fly: ingest into a fresh lake, run every rule as of the
    /// tenant's snapshot, print the ranked alerts. Needs no files.
    Demo {
        /// Keep the demo lake in this (new or empty) folder instead of a temporary one.
        #[arg(long)]
        keep_lake: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        out: OutputArg,
    },
    /// List, show, check and test the rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Write a synthetic tenant in real formats, with planted risky scenarios and their
    /// ground truth (`truth.ndjson`) and a `manifest.json`. Same seed, same bytes.
    Generate {
        /// Output folder: new or empty, unless `--force`.
        #[arg(long)]
        out: PathBuf,
        /// Write into a folder that already holds files (they may be overwritten or mixed
        /// with the new tenant's).
        #[arg(long)]
        force: bool,
        /// People in the tenant (admin and break-glass accounts come on top).
        #[arg(long, default_value_t = 300)]
        users: usize,
        /// Days of activity.
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// The random seed: the same seed and options give the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How the activity logs are written; directory state is always Graph pages.
        #[arg(long, value_enum, default_value_t = Channel::Graph)]
        format: Channel,
        /// First day of activity (UTC), YYYY-MM-DD.
        #[arg(long, value_parser = parse_day, default_value = "2026-10-01")]
        start: chrono::NaiveDate,
        /// Write the log files gzip-compressed (`.json.gz`).
        #[arg(long)]
        gzip: bool,
        /// Plant exactly these scenarios (comma-separated names) instead of the default set;
        /// `too-few-global-admins` is planted only when named.
        #[arg(long, value_delimiter = ',')]
        scenarios: Option<Vec<String>>,
        /// The PIM settings roles start from.
        #[arg(long, value_enum, default_value_t = PolicyBaseline::Hardened)]
        policies: PolicyBaseline,
        /// How the PIM policies are exported: `expand` (policy assignments with their policy
        /// and rules), `split` (policies with rules, and policy assignments, as two lists) or
        /// `both`. Tenants export either; the alerts are the same.
        #[arg(long, value_enum, default_value_t = PolicyShape::Expand)]
        policies_shape: PolicyShape,
    },
    /// Inspect the lake.
    Lake {
        #[command(subcommand)]
        command: LakeCommand,
    },
    /// Pull Microsoft Graph into the lake: directory audits and sign-ins incrementally (from
    /// the checkpoint in the lake; the first pull backfills `[graph] backfill_days`, default
    /// 30), and the directory's state whole (users, service principals, role-assignable
    /// groups, roles, PIM assignments, eligibilities and policies, PIM for Groups). Settings
    /// in `[graph]`, overridden by PIMWATCH_TENANT_ID, PIMWATCH_CLIENT_ID and
    /// PIMWATCH_CLIENT_SECRET; secrets never on the command line. See docs/graph-setup.md.
    Pull {
        /// The Graph base URL (a national cloud's is chosen by `[graph] cloud`; this is for
        /// proxies and tests).
        #[arg(long)]
        graph_url: Option<String>,
        /// The sign-in base URL; the token endpoint is `<login-url>/<tenant>/oauth2/v2.0/token`.
        #[arg(long)]
        login_url: Option<String>,
        /// Keep every page (gzip) in this folder, so the pull can be replayed with `ingest`.
        #[arg(long)]
        save_raw: Option<PathBuf>,
        /// Days of events the first pull fetches (overrides `[graph] backfill_days`).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_LOOKBACK_DAYS)))]
        backfill_days: Option<u32>,
        /// When another pimwatch is writing the lake, wait for it instead of exiting.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        out: OutputArg,
    },
    /// The scheduled job, for cron, systemd timers and Kubernetes CronJobs: pull Microsoft
    /// Graph when it is configured (`[graph]` or PIMWATCH_TENANT_ID), ingest the inbox
    /// (`--inbox` or `[run] inbox`; each entry is moved to `done/<run>/` or `failed/<run>/`),
    /// run every rule as of now (or `--as-of`) and store the run, write the reports of
    /// `[[run.reports]]`. One log line per stage on stderr; a summary on stdout. Exit 0; 1 with
    /// `--fail-on`; 2 when anything needs a person (an input not read or quarantined, a rule
    /// failed, stale data, a report not written). A second run on the same lake exits 2 at
    /// once and does nothing.
    Run {
        /// A folder of exports to ingest first (overrides `[run] inbox`).
        #[arg(long)]
        inbox: Option<PathBuf>,
        /// The time the rules evaluate; a zone-less time is UTC. Default: now.
        #[arg(long, value_parser = Instant::parse)]
        as_of: Option<Instant>,
        /// Days of events event rules read (overrides `[run] lookback_days`; 1 to 3650).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_LOOKBACK_DAYS)))]
        lookback: Option<u32>,
        /// Exit with 1 when an open alert is at or above this severity (overrides `[run]
        /// fail_on`).
        #[arg(long, value_parser = parse_severity)]
        fail_on: Option<Severity>,
        /// `text` lines, or one JSON object per line for log collectors.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Reports over the stored runs, for people who never open a terminal.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// One alert in full, and triage: acknowledge, close, reopen (kept in the lake).
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
}

/// How `run` logs its stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// A stored run's alerts (default: the newest run) in any format: `html` is one
    /// self-contained page with counts, a chart over the runs, what changed and a sortable
    /// table; `ocsf` is OCSF Detection Findings; `json`/`ndjson` carry `schema_version`.
    Alerts {
        /// The stored run, by id (`20261031T000000Z`).
        #[arg(long, conflicts_with = "as_of")]
        run: Option<String>,
        /// The newest stored run as of this time or before; a zone-less time is UTC.
        #[arg(long, value_parser = Instant::parse)]
        as_of: Option<Instant>,
        /// Only these statuses, comma-separated: new, ongoing, reopened, suppressed, closed,
        /// resolved, aged_out; `open` is new, ongoing and reopened.
        #[arg(long, value_delimiter = ',', value_parser = parse_status)]
        status: Vec<Vec<Status>>,
        /// Only alerts at or above this severity.
        #[arg(long, value_parser = parse_severity)]
        min_severity: Option<Severity>,
        /// Only these rules, comma-separated.
        #[arg(long, value_delimiter = ',')]
        rule: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        out: OutputArg,
    },
    /// The periodic access review: every holding of a privileged role as of a time, one row
    /// per (principal, role, scope, kind), with how it was granted, its use in the period,
    /// sign-in and MFA evidence, open alerts, a recommendation (keep, review, remove) with its
    /// reasons, and empty columns for the reviewer's decision; then the roles' PIM settings
    /// with their weak ones. `xlsx` offers the decision as a list.
    AccessReview {
        /// The time the holdings are taken at; a zone-less time is UTC. Default: now (said
        /// on stderr).
        #[arg(long, value_parser = Instant::parse)]
        as_of: Option<Instant>,
        /// The review period before `--as-of`: activations, active hours and MFA are counted
        /// in it, and an eligible role unused in all of it is recommended for removal. `90d`
        /// or `90` (days, 1 to 3650).
        #[arg(long, value_parser = parse_period, default_value = "90d")]
        period: u32,
        /// Sections of the report: one per role, or one per principal. (Managers are not in
        /// the data pimwatch reads, so there is no grouping by manager.)
        #[arg(long, value_enum, default_value_t = GroupBy::Role)]
        group_by: GroupBy,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        out: OutputArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// One alert in full: what, who, since when, evidence, why it scores what it does, what
    /// to do, and its triage history. ID is the alert id or its first 6+ hex digits.
    Show {
        id: String,
        /// The stored run to read it from (default: the newest that holds it).
        #[arg(long)]
        run: Option<String>,
        #[command(flatten)]
        out: OutputArg,
    },
    /// Acknowledge an alert: seen, being handled; it stays open.
    Ack(TriageArgs),
    /// Close an alert: dealt with. It is reopened, and says so, when a later run finds it
    /// again after the close.
    Close(TriageArgs),
    /// Reopen a closed alert.
    Reopen(TriageArgs),
}

#[derive(Debug, Args)]
pub struct TriageArgs {
    /// The alert id or its first 6+ hex digits (`report alerts` shows them).
    pub id: String,
    /// Why: kept with the decision.
    #[arg(long)]
    pub reason: String,
    /// Who decided.
    #[arg(long)]
    pub by: String,
    /// When another pimwatch is writing the lake, wait for it instead of exiting.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Find what in the lake's folders pimwatch did not commit or can no longer read:
    /// damaged or foreign Parquet files, files of the wrong table, folders that are not
    /// partitions. Readers already leave them out; exit 2 when there are any.
    Check {
        /// Move them to `_damaged/` (keeping their path) and drop them from the lake.
        #[arg(long)]
        repair: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        out: OutputArg,
    },
    /// Rows, files, bytes and time range of every table, the quarantine, and what the data
    /// cannot tell (on stderr).
    Stats {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        out: OutputArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Every rule: id, severity, kind, tests, whether config disables it, title.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        out: OutputArg,
    },
    /// One rule: description, parameters (with overrides), SQL and tests.
    Show {
        id: String,
        #[command(flatten)]
        out: OutputArg,
    },
    /// Plan every view and rule against the lake's schema, check rules' output columns and
    /// tests, and refuse clock functions (rules take their time from `$as_of`).
    Lint {
        #[command(flatten)]
        out: OutputArg,
    },
    /// Write the rule reference: one Markdown page per rule (what it finds, why it matters,
    /// an example alert from its own fixtures, parameters, what to do, references) and an
    /// index, into `docs/rules/` or `--out`.
    Doc {
        /// The folder to write (created when missing).
        #[arg(long, default_value = "docs/rules")]
        out: PathBuf,
        /// Write nothing; exit 2 when the folder differs from what would be written.
        #[arg(long)]
        check: bool,
    },
    /// Run the rules' embedded tests through the real ingest path. Hermetic: `pimwatch.toml`
    /// does not apply.
    Test {
        /// Only this rule's tests.
        id: Option<String>,
        #[command(flatten)]
        out: OutputArg,
    },
}

impl Command {
    /// The `--output` file, for commands that print results.
    fn output(&self) -> Option<&Path> {
        let out = match self {
            Self::Ingest { out, .. }
            | Self::Pull { out, .. }
            | Self::Query { out, .. }
            | Self::Detect { out, .. }
            | Self::Demo { out, .. }
            | Self::Lake {
                command: LakeCommand::Stats { out, .. } | LakeCommand::Check { out, .. },
            } => out,
            Self::Rules { command } => match command {
                RulesCommand::List { out, .. }
                | RulesCommand::Show { out, .. }
                | RulesCommand::Lint { out }
                | RulesCommand::Test { out, .. } => out,
                RulesCommand::Doc { .. } => return None,
            },
            Self::Report {
                command: ReportCommand::Alerts { out, .. } | ReportCommand::AccessReview { out, .. },
            }
            | Self::Alerts {
                command: AlertsCommand::Show { out, .. },
            } => out,
            Self::Generate { .. } | Self::Alerts { .. } | Self::Run { .. } => return None,
        };
        out.output.as_deref()
    }
}

impl Command {
    /// The `--format` of commands that print results in one.
    fn format(&self) -> Option<Format> {
        match self {
            Self::Query { format, .. }
            | Self::Detect { format, .. }
            | Self::Demo { format, .. }
            | Self::Lake {
                command: LakeCommand::Stats { format, .. } | LakeCommand::Check { format, .. },
            }
            | Self::Rules {
                command: RulesCommand::List { format, .. },
            }
            | Self::Report {
                command:
                    ReportCommand::Alerts { format, .. } | ReportCommand::AccessReview { format, .. },
            } => Some(*format),
            _ => None,
        }
    }
}

/// `4GiB`, `512MiB`, `1.5G`, `800M` or bytes; at least 64 MiB.
fn parse_size(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size: use e.g. 4GiB or 512MiB"))?;
    let scale = match unit.trim() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("`{text}` is not a size: use e.g. 4GiB or 512MiB")),
    };
    let bytes = number * scale;
    if !(bytes >= (64u64 << 20) as f64 && bytes < usize::MAX as f64) {
        return Err(format!("`{text}`: a memory limit is at least 64MiB"));
    }
    Ok(bytes as usize)
}

fn parse_day(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)"))
}

/// `90d` or `90`: days, 1 to 3650.
fn parse_period(text: &str) -> Result<u32, String> {
    let days = text.trim().trim_end_matches(['d', 'D']);
    match days.parse::<u32>() {
        Ok(n) if (1..=MAX_LOOKBACK_DAYS).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` is not a period: days from 1 to {MAX_LOOKBACK_DAYS}, like 90d"
        )),
    }
}

/// A status, or `open` for the three open ones.
fn parse_status(text: &str) -> Result<Vec<Status>, String> {
    if text == "open" {
        return Ok(Status::ALL.into_iter().filter(|s| s.is_open()).collect());
    }
    Status::parse(text).map(|s| vec![s]).ok_or_else(|| {
        format!("`{text}` is not a status: open, new, ongoing, reopened, suppressed, closed, resolved or aged_out")
    })
}

/// How the terminal shows a table: fitted to its width and coloured by severity when
/// stdout is a terminal (no colour with `NO_COLOR` or `TERM=dumb`).
fn terminal(to_file: bool) -> Terminal {
    if to_file || !std::io::stdout().is_terminal() {
        return Terminal::default();
    }
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || std::env::var("TERM").is_ok_and(|t| t == "dumb");
    Terminal {
        width: console::Term::stdout()
            .size_checked()
            .map(|(_, columns)| usize::from(columns)),
        colour: !no_colour,
    }
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::parse(text)
        .ok_or_else(|| format!("`{text}` is not a severity: info, low, medium, high or critical"))
}

/// What the process should exit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Alerts at or above `--fail-on` (exit 1).
    AlertsFound,
    /// The user must act (exit 2).
    InputError,
}

impl Outcome {
    fn code(self) -> ExitCode {
        match self {
            Self::Success => ExitCode::SUCCESS,
            Self::AlertsFound => ExitCode::from(1),
            Self::InputError => ExitCode::from(2),
        }
    }
}

/// Runs a parsed command line: results to stdout or `--output`, everything else to stderr.
/// A closed pipe ends quietly with 0; a result that cannot be written (a full disk) is an
/// error (2).
pub async fn run(cli: Cli) -> ExitCode {
    if cli.command.format().is_some_and(Format::is_binary)
        && cli.command.output().is_none()
        && std::io::stdout().is_terminal()
    {
        say!("error: that format is binary: pass --output FILE (or redirect stdout to a file)");
        return ExitCode::from(2);
    }
    let mut out = match Output::open(cli.command.output()) {
        Ok(out) => out,
        Err(e) => {
            let path = cli.command.output().map(Path::display);
            say!(
                "error: {}: {e}",
                path.map(|p| p.to_string()).unwrap_or_default()
            );
            return ExitCode::from(2);
        }
    };
    match execute(cli, &mut out).await {
        Ok(outcome) => match out.finish() {
            Ok(()) => outcome.code(),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                say!("error: writing the result: {e}");
                ExitCode::from(2)
            }
        },
        Err(e) if is_broken_pipe(&e) => {
            out.abandon();
            ExitCode::SUCCESS
        }
        Err(e) => {
            out.abandon();
            say!("error: {}", error_chain(&e));
            ExitCode::from(2)
        }
    }
}

fn error_chain(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        // `#[error(transparent)]` and `{source}` messages repeat their cause: say it once.
        if !parts.last().is_some_and(|last| last.ends_with(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

async fn execute(cli: Cli, out: &mut (dyn Write + Send)) -> Result<Outcome> {
    let lake = Lake::new(&cli.lake);
    let terminal = terminal(cli.command.output().is_some());
    let open = |lake: Lake| -> Result<Workspace> {
        let mut workspace = Workspace::open(lake, &cli.rules, cli.config.as_deref())?;
        if let Some(bytes) = cli.memory_limit {
            workspace.limits.memory_bytes = bytes;
        }
        if let Some(seconds) = cli.query_timeout {
            workspace.limits.query_timeout = std::time::Duration::from_secs(seconds);
        }
        Ok(workspace)
    };
    match cli.command {
        Command::Ingest {
            paths,
            kind,
            snapshot_time,
            wait,
            out: _,
        } => {
            let options = IngestOptions {
                kind,
                snapshot_time,
                wait,
                ..Default::default()
            };
            let report = if std::io::stderr().is_terminal() {
                ingest_paths(&lake, &paths, &options, &mut progress::Bar::default())
            } else {
                ingest_paths(&lake, &paths, &options, &mut NoProgress)
            }?;
            render::ingest_report(&lake, &report, out)?;
            // Anything not in the lake must be acted on: a file that could not be read, or
            // records in the quarantine.
            Ok(
                if report.failed_files().next().is_some() || report.quarantined() > 0 {
                    Outcome::InputError
                } else {
                    Outcome::Success
                },
            )
        }
        Command::Query {
            sql,
            format,
            as_of,
            out: _,
        } => {
            let workspace = open(lake)?;
            let given = as_of.is_some();
            let as_of = as_of.unwrap_or_else(Instant::now);
            let answer = workspace.query(&sql, as_of).await?;
            render::query(&answer, format, as_of, given, out)?;
            Ok(if answer.damaged.is_empty() {
                Outcome::Success
            } else {
                Outcome::InputError
            })
        }
        Command::Detect {
            as_of,
            lookback,
            format,
            fail_on,
            no_store,
            out: _,
        } => {
            let workspace = open(lake)?;
            let run = workspace
                .detect(&DetectRequest {
                    as_of: as_of.unwrap_or_else(Instant::now),
                    lookback_days: lookback,
                    store: !no_store,
                })
                .await?;
            render::detect_run(&run, format, terminal, out)?;
            Ok(detect_outcome(&run, fail_on))
        }
        Command::Demo {
            keep_lake,
            format,
            out: _,
        } => {
            let workspace = open(lake)?;
            let run = demo(workspace.rules, workspace.config, keep_lake.as_deref()).await?;
            render::demo_run(&run, format, terminal, out)?;
            Ok(detect_outcome(&run.detect, None))
        }
        Command::Rules { command } => {
            let workspace = open(lake)?;
            match command {
                RulesCommand::List { format, out: _ } => {
                    render::rules_list(&workspace, format, out)?;
                    Ok(Outcome::Success)
                }
                RulesCommand::Show { id, out: _ } => {
                    render::show_rule(&workspace, workspace.rule(&id)?, out)?;
                    Ok(Outcome::Success)
                }
                RulesCommand::Lint { out: _ } => {
                    let outcomes = workspace.lint(Instant::now()).await?;
                    Ok(passed(render::lint(&outcomes, out)?))
                }
                RulesCommand::Doc { out: folder, check } => {
                    let files = workspace.rule_reference().await?;
                    let stale = render::rule_reference(&folder, &files, check, out)?;
                    Ok(if stale {
                        Outcome::InputError
                    } else {
                        Outcome::Success
                    })
                }
                RulesCommand::Test { id, out: _ } => {
                    let outcomes = workspace.test_rules(id.as_deref()).await?;
                    Ok(passed(render::tests(&outcomes, out)?))
                }
            }
        }
        Command::Generate {
            out: folder,
            force,
            users,
            days,
            seed,
            format,
            start,
            gzip,
            scenarios,
            policies,
            policies_shape,
        } => {
            let options = GenerateOptions {
                out: folder,
                users,
                days,
                seed,
                channel: format,
                start,
                gzip,
                scenarios,
                policies,
                policies_shape,
                force,
            };
            let manifest = generate(&options)?;
            render::generated(&options.out, &manifest, out)?;
            Ok(Outcome::Success)
        }
        Command::Lake {
            command:
                LakeCommand::Check {
                    repair,
                    format,
                    out: _,
                },
        } => {
            let problems = check_lake(&lake, repair)
                .with_context(|| format!("checking the lake at {}", lake.root().display()))?;
            render::lake_check(&problems, format, out)?;
            Ok(if problems.iter().all(|p| p.repaired.is_some()) {
                Outcome::Success
            } else {
                Outcome::InputError
            })
        }
        Command::Lake {
            command: LakeCommand::Stats { format, out: _ },
        } => {
            let workspace = open(lake)?;
            let report = workspace.stats(Instant::now()).await.with_context(|| {
                format!("reading the lake at {}", workspace.lake.root().display())
            })?;
            render::stats(workspace.lake.root(), &report, format, out)?;
            Ok(Outcome::Success)
        }
        Command::Report {
            command:
                ReportCommand::Alerts {
                    run,
                    as_of,
                    status,
                    min_severity,
                    rule,
                    format,
                    out: _,
                },
        } => {
            let workspace = open(lake)?;
            let selection = match (run, as_of) {
                (Some(id), _) => RunSelection::Id(id),
                (None, Some(time)) => RunSelection::AsOf(time),
                (None, None) => RunSelection::Latest,
            };
            let mut rules = Vec::new();
            for id in rule {
                rules.push(workspace.rule(&id)?.id.clone());
            }
            let mut statuses: Vec<Status> = status.into_iter().flatten().collect();
            statuses.dedup();
            let filter = AlertFilter {
                statuses,
                min_severity,
                rules,
            };
            let report = workspace.alert_report(&selection, &filter)?;
            render::alert_report(&report, format, terminal, out)?;
            Ok(Outcome::Success)
        }
        Command::Report {
            command:
                ReportCommand::AccessReview {
                    as_of,
                    period,
                    group_by,
                    format,
                    out: _,
                },
        } => {
            let workspace = open(lake)?;
            if as_of.is_none() {
                say!("note: the review is as of now; pass --as-of to choose");
            }
            let review = workspace
                .access_review(&AccessReviewRequest {
                    as_of: as_of.unwrap_or_else(Instant::now),
                    period_days: period,
                })
                .await?;
            render::access_review(&review, format, group_by, out)?;
            Ok(if review.damaged.is_empty() {
                Outcome::Success
            } else {
                Outcome::InputError
            })
        }
        Command::Pull {
            graph_url,
            login_url,
            save_raw,
            backfill_days,
            wait,
            out: _,
        } => {
            let config = crate::workspace::load_config_only(cli.config.as_deref())?;
            let settings = crate::pull::Settings::resolve(
                &config.graph,
                graph_url.as_deref(),
                login_url.as_deref(),
            )?;
            let options = crate::pull::PullOptions {
                backfill_days: backfill_days.or(config.graph.backfill_days).unwrap_or(30),
                overlap_minutes: config.graph.overlap_minutes.unwrap_or(15),
                lag_minutes: config.graph.lag_minutes.unwrap_or(5),
                save_raw,
                wait,
            };
            let report = tokio::task::spawn_blocking(move || {
                let mut client = crate::pull::GraphClient::new(settings);
                crate::pull::pull(&lake, &mut client, &options, &mut |part| {
                    render::pulled_endpoint(part)
                })
            })
            .await
            .context("the pull stopped")??;
            render::pull_report(&report, out)?;
            Ok(if report.endpoints.iter().any(|e| e.quarantined > 0) {
                Outcome::InputError
            } else {
                Outcome::Success
            })
        }
        Command::Run {
            inbox,
            as_of,
            lookback,
            fail_on,
            log_format,
        } => {
            let workspace = open(lake)?;
            let settings = &workspace.config.run;
            let graph = &workspace.config.graph;
            let graph_configured = graph.tenant_id.is_some()
                || graph.managed_identity
                || std::env::var_os("PIMWATCH_TENANT_ID").is_some();
            let pull = if graph_configured {
                Some((
                    crate::pull::Settings::resolve(graph, None, None)?,
                    crate::pull::PullOptions {
                        backfill_days: graph.backfill_days.unwrap_or(30),
                        overlap_minutes: graph.overlap_minutes.unwrap_or(15),
                        lag_minutes: graph.lag_minutes.unwrap_or(5),
                        save_raw: None,
                        wait: true,
                    },
                ))
            } else {
                None
            };
            let request = RunRequest {
                pull,
                as_of: as_of.unwrap_or_else(Instant::now),
                lookback_days: lookback.or(settings.lookback_days),
                inbox: inbox.or_else(|| settings.inbox.clone()),
                reports: settings.reports.clone(),
                webhooks: settings.webhooks.clone(),
            };
            let fail_on = fail_on.or(settings.fail_on);
            let run_id = crate::alerts::run_id(request.as_of);
            let outcome = workspace
                .run_scheduled(&request, &mut |stage| {
                    render::stage_log(&run_id, stage, log_format)
                })
                .await?;
            render::run_summary(&outcome, out)?;
            Ok(if outcome.needs_attention() {
                Outcome::InputError
            } else if fail_on.is_some_and(|t| outcome.open_at_least(t)) {
                Outcome::AlertsFound
            } else {
                Outcome::Success
            })
        }
        Command::Alerts { command } => {
            let workspace = open(lake)?;
            let (action, args) = match command {
                AlertsCommand::Show { id, run, out: _ } => {
                    let detail = workspace.alert_detail(&id, run.as_deref())?;
                    render::alert_detail(&detail, out)?;
                    return Ok(Outcome::Success);
                }
                AlertsCommand::Ack(args) => (TriageAction::Ack, args),
                AlertsCommand::Close(args) => (TriageAction::Close, args),
                AlertsCommand::Reopen(args) => (TriageAction::Reopen, args),
            };
            let entry = workspace.triage(&args.id, action, &args.reason, &args.by, args.wait)?;
            say!("alert {}: {}", entry.alert_id, entry.describe());
            Ok(Outcome::Success)
        }
    }
}

fn passed(problems: usize) -> Outcome {
    if problems == 0 {
        Outcome::Success
    } else {
        Outcome::InputError
    }
}

/// A failed rule, or data that does not cover the run's time, must be acted on (2); then
/// `--fail-on` (1).
fn detect_outcome(run: &crate::workspace::DetectRun, fail_on: Option<Severity>) -> Outcome {
    if !run.failures.is_empty() || !run.time_warnings.is_empty() || !run.damaged.is_empty() {
        return Outcome::InputError;
    }
    match fail_on {
        Some(threshold) if run.open_at_least(threshold) => Outcome::AlertsFound,
        _ => Outcome::Success,
    }
}
