//! The command line: argument definitions (their doc comments are the `--help` text) and
//! dispatch to the library. `main.rs` only turns errors into messages and exit codes.

mod detect;
mod progress;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::engine::Engine;
use crate::generate::channels::Channel;
use crate::generate::tenant::{PolicyBaseline, PolicyShape};
use crate::generate::{generate, GenerateOptions};
use crate::ingest::detect::RecordKind;
use crate::ingest::{ingest_paths, IngestOptions, IngestReport};
use crate::lake::{lake_stats, Lake, LakeStats};
use crate::report::{write_batches, AlertFormat, OutputFormat};
use crate::rules::Severity;
use detect::Setup;

/// Audit-and-alert analytics for privileged access (PIM) in Microsoft Entra ID and Azure.
#[derive(Debug, Parser)]
#[command(name = "pimwatch", version, about)]
pub struct Cli {
    /// The lake folder.
    #[arg(
        long,
        global = true,
        env = "PIMWATCH_LAKE",
        default_value = "pimwatch-lake"
    )]
    pub lake: PathBuf,

    /// Rule packs to use, comma-separated: folders laid out like `rules/` (`*.toml`,
    /// `views/*.sql`) and `builtin` for the pack inside pimwatch. Default: `builtin`;
    /// `--rules builtin,./our-rules` adds a site's rules to it.
    #[arg(long, global = true, env = "PIMWATCH_RULES", value_delimiter = ',')]
    pub rules: Vec<String>,

    /// Settings: break-glass accounts, disabled rules, parameter overrides.
    /// Default: `pimwatch.toml` in the current folder, if there is one.
    #[arg(long, global = true, env = "PIMWATCH_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read export files or folders (Graph pages, Event Hub/storage blobs, Log Analytics
    /// JSON/CSV, Activity Log, Windows Security JSON; gzip too) into the lake.
    Ingest {
        /// Files or folders (walked recursively; hidden entries are skipped).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Treat every record as this kind instead of detecting it.
        #[arg(long, value_enum)]
        kind: Option<RecordKind>,
        /// The time state files (users, roles, assignments, policies) describe, RFC 3339.
        /// Default: each file's modification time.
        #[arg(long, value_parser = parse_time)]
        snapshot_time: Option<i64>,
    },
    /// Run one read-only SQL query over the lake and the rules' views.
    Query {
        /// The SQL (one SELECT; DDL, DML, COPY and SET are refused).
        sql: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// The time views such as `current_assignments` are evaluated at (default: now).
        #[arg(long, value_parser = parse_as_of)]
        as_of: Option<i64>,
    },
    /// Run every enabled rule, rank the alerts, store them in the lake (`alerts/run=…`) and
    /// print them.
    Detect {
        /// The time the rules evaluate (RFC 3339 or a date); default: now.
        #[arg(long, value_parser = parse_as_of)]
        as_of: Option<i64>,
        /// Days of events event rules read, unless a rule declares its own (default 7).
        #[arg(long)]
        lookback: Option<u32>,
        #[arg(long, value_enum, default_value_t = AlertFormat::Table)]
        format: AlertFormat,
        /// Exit with 1 when an open alert is at or above this severity.
        #[arg(long, value_parser = parse_severity)]
        fail_on: Option<Severity>,
        /// Print only; do not store the run's alerts in the lake.
        #[arg(long)]
        no_store: bool,
    },
    /// The whole pipeline on the bundled sample tenant: ingest into a fresh lake, run every
    /// rule, print the ranked alerts.
    Demo {
        /// The sample-data folder.
        #[arg(long, default_value = "sample-data")]
        sample_data: PathBuf,
        /// Keep the demo lake in this (new or empty) folder instead of a temporary one.
        #[arg(long)]
        keep_lake: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = AlertFormat::Table)]
        format: AlertFormat,
    },
    /// List, show, check and test the rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Write a synthetic tenant in real formats, with planted risky scenarios and their
    /// ground truth (`truth.ndjson`) and a `manifest.json`. Same seed, same bytes.
    Generate {
        /// Output folder (created).
        #[arg(long)]
        out: PathBuf,
        /// People in the tenant (admin and break-glass accounts come on top).
        #[arg(long, default_value_t = 300)]
        users: usize,
        /// Days of activity.
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How the activity logs are written; directory state is always Graph pages.
        #[arg(long, value_enum, default_value_t = Channel::Graph)]
        format: Channel,
        /// First day of activity (UTC), YYYY-MM-DD.
        #[arg(long, value_parser = parse_day, default_value = "2026-10-01")]
        start: i64,
        /// Write the log files gzip-compressed (`.json.gz`).
        #[arg(long)]
        gzip: bool,
        /// Plant exactly these scenarios (comma-separated names) instead of the default set;
        /// `too-few-global-admins` is planted only when named.
        #[arg(long, value_delimiter = ',')]
        scenarios: Option<Vec<String>>,
        /// The PIM settings roles start from: `hardened` (a well-run tenant, only planted
        /// weaknesses) or `microsoft` (Microsoft's defaults, as in most tenants).
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
}

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Rows, files, bytes and time range of every table, and the quarantine count.
    Stats {
        /// `table` for people, `json` for programs.
        #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
        format: StatsFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Every rule: id, severity, kind, tests, title.
    List,
    /// One rule: description, parameters (with overrides), SQL and tests.
    Show { id: String },
    /// Plan every rule against the lake's schema and check its output columns.
    Lint,
    /// Run the rules' embedded tests through the real ingest path.
    Test {
        /// Only this rule's tests.
        id: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    Table,
    Json,
}

fn parse_day(text: &str) -> Result<i64, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
        .ok_or_else(|| format!("`{text}` is not a date (YYYY-MM-DD)"))
}

fn parse_as_of(text: &str) -> Result<i64, String> {
    crate::rules::parse_time(text)
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::parse(text)
        .ok_or_else(|| format!("`{text}` is not a severity: info, low, medium, high or critical"))
}

fn parse_time(text: &str) -> Result<i64, String> {
    match crate::ingest::fields::parse_timestamp(text)? {
        Some(t) => Ok(t),
        None => Err("a snapshot time cannot be empty or 0001-01-01".into()),
    }
}

/// What the process should exit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Alerts at or above `--fail-on` (exit 1).
    AlertsFound,
    /// The user must act: an input could not be read, a rule failed (exit 2).
    InputError,
}

/// Runs a parsed command line, writing results to `out`.
pub async fn run(cli: Cli, out: &mut dyn Write) -> Result<Outcome> {
    let lake = Lake::new(&cli.lake);
    match cli.command {
        Command::Ingest {
            paths,
            kind,
            snapshot_time,
        } => {
            let options = IngestOptions {
                kind,
                snapshot_time,
                ..Default::default()
            };
            let report = if std::io::stderr().is_terminal() {
                ingest_paths(&lake, &paths, &options, &mut progress::Bar::default())
            } else {
                ingest_paths(&lake, &paths, &options, &mut crate::ingest::NoProgress)
            }?;
            print_ingest_report(&lake, &report, out)?;
            for failed in report.failed_files() {
                eprintln!(
                    "error: {}: {}",
                    failed.path.display(),
                    failed.error.as_deref().unwrap_or_default()
                );
            }
            Ok(if report.failed_files().next().is_some() {
                Outcome::InputError
            } else {
                Outcome::Success
            })
        }
        Command::Query { sql, format, as_of } => {
            let setup = Setup::load(&cli.rules, cli.config.as_deref())?;
            let options = setup.engine_options(as_of.unwrap_or_else(detect::now_nanos), None);
            let engine = Engine::open_with(&lake, &options).await?;
            let batches = engine.query(&sql).await?;
            write_batches(format, &batches, out)?;
            Ok(Outcome::Success)
        }
        Command::Detect {
            as_of,
            lookback,
            format,
            fail_on,
            no_store,
        } => {
            let setup = Setup::load(&cli.rules, cli.config.as_deref())?;
            let args = detect::DetectArgs {
                as_of: as_of.unwrap_or_else(detect::now_nanos),
                lookback_days: lookback,
                format,
                fail_on,
                store: !no_store,
            };
            detect::detect(&lake, &setup, &args, out).await
        }
        Command::Demo {
            sample_data,
            keep_lake,
            format,
        } => {
            let setup = Setup::load(&cli.rules, cli.config.as_deref())?;
            detect::demo(&sample_data, keep_lake, &setup, format, out).await
        }
        Command::Rules { command } => {
            let setup = Setup::load(&cli.rules, cli.config.as_deref())?;
            match command {
                RulesCommand::List => {
                    detect::list_rules(&setup, out)?;
                    Ok(Outcome::Success)
                }
                RulesCommand::Show { id } => {
                    detect::show_rule(&setup, &id, out)?;
                    Ok(Outcome::Success)
                }
                RulesCommand::Lint => detect::lint_rules(&lake, &setup, out).await,
                RulesCommand::Test { id } => detect::test_rules(&setup, id.as_deref(), out).await,
            }
        }
        Command::Generate {
            out: folder,
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
            };
            let manifest = generate(&options)?;
            let records: u64 = manifest.files.iter().map(|(_, n)| n).sum();
            writeln!(
                out,
                "Generated tenant {} in {}: {} file(s), {records} record(s), {} planted finding(s) in truth.ndjson; state as of {}. Ingest it with: pimwatch ingest {}/logs",
                manifest.tenant_id,
                options.out.display(),
                manifest.files.len(),
                manifest.truth,
                manifest.snapshot_time,
                options.out.display()
            )?;
            Ok(Outcome::Success)
        }
        Command::Lake {
            command: LakeCommand::Stats { format },
        } => {
            let stats = lake_stats(&lake)
                .with_context(|| format!("reading the lake at {}", lake.root().display()))?;
            let setup = Setup::load(&cli.rules, cli.config.as_deref())?;
            let warnings = if setup
                .rules
                .views
                .iter()
                .any(|(n, _)| n == crate::rules::context::DATA_WARNINGS_VIEW)
            {
                let engine =
                    Engine::open_with(&lake, &setup.engine_options(detect::now_nanos(), None))
                        .await?;
                crate::rules::context::data_warnings(&engine)
                    .await
                    .context("reading what the lake cannot tell (data_warnings)")?
            } else {
                Vec::new()
            };
            print_stats(&lake, &stats, &warnings, format, out)?;
            Ok(Outcome::Success)
        }
    }
}

fn print_ingest_report(lake: &Lake, report: &IngestReport, out: &mut dyn Write) -> Result<()> {
    let records: u64 = report.files.iter().map(|f| f.records).sum();
    writeln!(
        out,
        "Ingested {} file(s), {records} record(s) into {}",
        report.files.len(),
        lake.root().display()
    )?;
    writeln!(
        out,
        "{:<20} {:>12} {:>12}",
        "table", "rows added", "duplicates"
    )?;
    for (table, summary) in &report.tables {
        if summary.rows_added > 0 || summary.duplicates_skipped > 0 {
            writeln!(
                out,
                "{table:<20} {:>12} {:>12}",
                summary.rows_added, summary.duplicates_skipped
            )?;
        }
    }
    writeln!(
        out,
        "{:<20} {:>12} {:>12}",
        "total",
        report.rows_added(),
        report.duplicates_skipped()
    )?;
    for file in &report.files {
        if let Some(warning) = &file.warning {
            writeln!(out, "warning: {}: {warning}", file.path.display())?;
        }
    }
    let quarantined = report.quarantined();
    if quarantined > 0 {
        let files = report.files.iter().filter(|f| f.quarantined > 0).count();
        writeln!(
            out,
            "quarantined: {quarantined} record(s) from {files} file(s), with reasons, in {}",
            lake.quarantine_dir().display()
        )?;
    }
    Ok(())
}

fn format_time(nanos: Option<i64>) -> String {
    nanos.map(detect::rfc3339).unwrap_or_else(|| "-".into())
}

fn print_stats(
    lake: &Lake,
    stats: &LakeStats,
    warnings: &[crate::rules::context::DataWarning],
    format: StatsFormat,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        StatsFormat::Json => {
            let tables: Vec<_> = stats
                .tables
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "table": t.table, "rows": t.rows, "files": t.files, "bytes": t.bytes,
                        "partitions": t.partitions,
                        "min_time": t.min_time.map(|n| format_time(Some(n))),
                        "max_time": t.max_time.map(|n| format_time(Some(n))),
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "lake": lake.root().display().to_string(),
                "tables": tables,
                "quarantine": {"files": stats.quarantine_files, "records": stats.quarantined_records},
                "warnings": warnings,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        StatsFormat::Table => {
            writeln!(out, "lake: {}", lake.root().display())?;
            writeln!(
                out,
                "{:<20} {:>10} {:>6} {:>11} {:>10}  {:<20}  {:<20}",
                "table", "rows", "files", "bytes", "partitions", "from", "to"
            )?;
            for t in &stats.tables {
                writeln!(
                    out,
                    "{:<20} {:>10} {:>6} {:>11} {:>10}  {:<20}  {:<20}",
                    t.table,
                    t.rows,
                    t.files,
                    t.bytes,
                    t.partitions,
                    format_time(t.min_time),
                    format_time(t.max_time)
                )?;
            }
            writeln!(
                out,
                "quarantine: {} record(s) in {} file(s)",
                stats.quarantined_records, stats.quarantine_files
            )?;
            for warning in warnings {
                writeln!(
                    out,
                    "warning: {} ({}): {}",
                    warning.topic, warning.affected, warning.detail
                )?;
            }
        }
    }
    Ok(())
}
