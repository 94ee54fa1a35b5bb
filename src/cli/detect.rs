//! `detect`, `demo` and `rules …`: loading the pack and config, running the rules, storing
//! and printing alerts.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Outcome;
use crate::alerts::{
    build_alerts, load_run, load_run_record, previous_run_id, run_id, store_run, store_run_record,
    Alert, RunContext, RunRecord,
};
use crate::config::Config;
use crate::engine::{Engine, EngineOptions};
use crate::lake::Lake;
use crate::report::{write_alerts, AlertFormat};
use crate::rules::context::{
    break_glass_changes, break_glass_set, data_warnings, BreakGlassAccount, BREAK_GLASS_VIEW,
    DATA_WARNINGS_VIEW,
};
use crate::rules::{
    bind_params, evaluate, run_tests, BreakGlass, Rule, RuleSet, RunOptions, RunResult, Severity,
};

/// The rule pack and config a command works with.
pub struct Setup {
    pub rules: RuleSet,
    pub config: Config,
}

impl Setup {
    /// The packs of `--rules` (default: the built-in one); `--config FILE`, else
    /// `./pimwatch.toml` if present.
    pub fn load(rule_sources: &[String], config_path: Option<&Path>) -> Result<Self> {
        let rules = RuleSet::load(rule_sources)?;
        let implicit = Path::new("pimwatch.toml");
        let path = config_path.or_else(|| implicit.is_file().then_some(implicit));
        let config = match path {
            Some(path) => {
                let config = Config::load(path)?;
                config.check_against(&rules, path)?;
                config
            }
            None => Config::default(),
        };
        Ok(Self { rules, config })
    }

    /// `history_start`: the earliest event the run reads (`None`: all history, for `query`).
    pub fn engine_options(&self, as_of: i64, history_start: Option<i64>) -> EngineOptions {
        EngineOptions {
            as_of,
            views: self.rules.views.clone(),
            break_glass_accounts: self.config.break_glass.accounts.clone(),
            break_glass_patterns: self.config.break_glass.patterns(),
            history_start,
        }
    }

    pub fn enabled_rules(&self) -> Vec<&Rule> {
        self.rules
            .rules
            .iter()
            .filter(|r| !self.config.rules.disabled.contains(&r.id))
            .collect()
    }
}

pub fn now_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// `2026-10-31T00:00:00Z`: how the command line prints times.
pub(super) fn rfc3339(nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// What `detect` needs beyond the setup.
pub struct DetectArgs {
    pub as_of: i64,
    pub lookback_days: Option<u32>,
    pub format: AlertFormat,
    pub fail_on: Option<Severity>,
    pub store: bool,
}

/// Runs every enabled rule, ranks and stores the alerts, prints them.
pub async fn detect(
    lake: &Lake,
    setup: &Setup,
    args: &DetectArgs,
    out: &mut dyn Write,
) -> Result<Outcome> {
    // An empty lake would give an all-clear; for a security tool that is a misleading answer
    // (a mistyped --lake, an ingest that never ran).
    if lake.is_empty()? {
        bail!(
            "the lake at {} holds no data: ingest something first, or check --lake / PIMWATCH_LAKE",
            lake.root().display()
        );
    }
    let rules = setup.enabled_rules();
    let options = RunOptions {
        as_of: args.as_of,
        lookback_days: args
            .lookback_days
            .or(setup.config.rules.lookback_days)
            .unwrap_or(7),
        params: setup.config.rules.params.clone(),
        ..Default::default()
    };
    let history = crate::rules::history_start(&rules, args.as_of, options.lookback_days);
    let engine = Engine::open_with(lake, &setup.engine_options(args.as_of, Some(history))).await?;
    let result = evaluate(&engine, &rules, &options).await;
    let run = run_id(args.as_of);
    let previous = match previous_run_id(lake, &run)? {
        Some(id) => load_run(lake, &id)?,
        None => Vec::new(),
    };
    let as_of_text = rfc3339(args.as_of);
    let alerts = build_alerts(
        &result.findings,
        &rules,
        &previous,
        &RunContext {
            run_id: &run,
            as_of: &as_of_text,
            as_of_nanos: args.as_of,
            suppressions: &setup.config.suppressions,
        },
    );
    let break_glass = if setup.rules.views.iter().any(|(n, _)| n == BREAK_GLASS_VIEW) {
        break_glass_set(&engine)
            .await
            .context("reading the break-glass set")?
    } else {
        Vec::new()
    };
    let warnings = if setup
        .rules
        .views
        .iter()
        .any(|(n, _)| n == DATA_WARNINGS_VIEW)
    {
        data_warnings(&engine)
            .await
            .context("reading what the lake cannot tell (data_warnings)")?
    } else {
        Vec::new()
    };
    let previous_record = match previous_run_id(lake, &run)? {
        Some(id) => load_run_record(lake, &id)?,
        None => None,
    };
    if args.store {
        store_run(lake, &run, &alerts)?;
        store_run_record(
            lake,
            &RunRecord {
                run_id: run.clone(),
                as_of: as_of_text.clone(),
                break_glass: break_glass.clone(),
            },
        )?;
    }
    write_alerts(args.format, &alerts, out)?;
    for warning in &warnings {
        eprintln!(
            "warning: {} ({}): {}",
            warning.topic, warning.affected, warning.detail
        );
    }
    if let Some(before) = &previous_record {
        let (added, removed) = break_glass_changes(&before.break_glass, &break_glass);
        for account in added {
            eprintln!(
                "warning: {} joined the break-glass set since the run as of {} ({}): the rules that leave break-glass accounts out no longer judge it; confirm it is an emergency-access account",
                account.label(),
                before.as_of,
                if account.matched_by == "pattern" { "its name matches a break-glass pattern" } else { "declared in pimwatch.toml" }
            );
        }
        for account in removed {
            eprintln!(
                "warning: {} left the break-glass set since the run as of {}",
                account.label(),
                before.as_of
            );
        }
    }
    report_run(&rules, &result, setup, args.as_of, &break_glass);
    if !result.failures.is_empty() {
        return Ok(Outcome::InputError);
    }
    Ok(match args.fail_on {
        Some(threshold) if alerts.iter().any(|a| is_open_at_least(a, threshold)) => {
            Outcome::AlertsFound
        }
        _ => Outcome::Success,
    })
}

fn is_open_at_least(alert: &Alert, threshold: Severity) -> bool {
    alert.status.is_open() && alert.severity >= threshold
}

/// Says on stderr which rules failed, which suppressions have expired, and which rules
/// leave break-glass accounts out (and which accounts).
fn report_run(
    rules: &[&Rule],
    result: &RunResult,
    setup: &Setup,
    as_of: i64,
    break_glass: &[BreakGlassAccount],
) {
    for suppression in setup
        .config
        .suppressions
        .iter()
        .filter(|s| s.expires_at() <= as_of)
    {
        eprintln!(
            "warning: the suppression of `{}` for `{}` expired on {} and no longer applies: {}; renew or remove it",
            suppression.rule,
            suppression.entity,
            suppression.expires,
            suppression.describe()
        );
    }
    for failure in &result.failures {
        eprintln!(
            "error: rule `{}` ({}) failed; the other rules ran: {}",
            failure.rule_id, failure.origin, failure.error
        );
    }
    let excluding: Vec<&str> = rules
        .iter()
        .filter(|r| r.break_glass == BreakGlass::Excluded)
        .map(|r| r.id.as_str())
        .collect();
    if excluding.is_empty() {
        return;
    }
    let accounts: Vec<String> = break_glass.iter().map(BreakGlassAccount::label).collect();
    eprintln!(
        "note: {} rule(s) leave break-glass accounts out ({}): {} account(s) {}: {}",
        excluding.len(),
        excluding.join(", "),
        accounts.len(),
        setup.config.break_glass.source(),
        if accounts.is_empty() {
            "none".to_string()
        } else {
            accounts.join(", ")
        }
    );
}

/// `rules list`: id, severity, kind, title.
pub fn list_rules(setup: &Setup, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "{:<44} {:<8} {:<8} {:<5} title",
        "id", "severity", "kind", "tests"
    )?;
    for rule in &setup.rules.rules {
        let disabled = if setup.config.rules.disabled.contains(&rule.id) {
            " (disabled)"
        } else {
            ""
        };
        writeln!(
            out,
            "{:<44} {:<8} {:<8} {:<5} {}{disabled}",
            rule.id,
            rule.severity.as_str(),
            rule.kind.as_str(),
            rule.tests.len(),
            rule.title
        )?;
    }
    writeln!(
        out,
        "{} rule(s), {} view(s)",
        setup.rules.rules.len(),
        setup.rules.views.len()
    )?;
    Ok(())
}

/// `rules show ID`: everything about one rule, parameters as configured.
pub fn show_rule(setup: &Setup, id: &str, out: &mut dyn Write) -> Result<()> {
    let Some(rule) = setup.rules.get(id) else {
        bail!("no rule has the id `{id}`; `pimwatch rules list` shows them");
    };
    writeln!(out, "{} — {}", rule.id, rule.title)?;
    writeln!(
        out,
        "severity: {}   kind: {}",
        rule.severity,
        rule.kind.as_str()
    )?;
    writeln!(
        out,
        "entity: {} ({})",
        rule.entity.join(", "),
        rule.entity_type()
    )?;
    if !rule.tags.is_empty() {
        writeln!(out, "tags: {}", rule.tags.join(", "))?;
    }
    if !rule.mitre.is_empty() {
        writeln!(out, "mitre: {}", rule.mitre.join(", "))?;
    }
    if rule.break_glass == BreakGlass::Excluded {
        writeln!(out, "break-glass accounts: excluded")?;
    }
    if let Some(days) = rule.lookback_days {
        writeln!(out, "lookback: {days} day(s)")?;
    }
    writeln!(out, "source: {}", rule.origin)?;
    writeln!(out, "\n{}\n", rule.description.trim())?;
    writeln!(out, "remediation: {}", rule.remediation.trim())?;
    for reference in &rule.references {
        writeln!(out, "see: {reference}")?;
    }
    if !rule.params.is_empty() {
        writeln!(out, "\nparameters:")?;
        let overrides = setup.config.rules.params.get(&rule.id);
        for (name, default) in &rule.params {
            match overrides.and_then(|o| o.get(name)) {
                Some(value) => writeln!(out, "  {name} = {value} (default {default})")?,
                None => writeln!(out, "  {name} = {default}")?,
            }
        }
    }
    writeln!(out, "\nsql:\n{}", rule.sql.trim_end())?;
    writeln!(out, "\ntests:")?;
    for test in &rule.tests {
        writeln!(
            out,
            "  {} (expects {} finding(s))",
            test.name,
            test.expect.len()
        )?;
    }
    Ok(())
}

/// `rules lint`: plans every rule against the lake's schema and checks the output contract.
pub async fn lint_rules(lake: &Lake, setup: &Setup, out: &mut dyn Write) -> Result<Outcome> {
    let engine = Engine::open_with(lake, &setup.engine_options(now_nanos(), None))
        .await
        .context("registering the views")?;
    let mut problems = 0;
    for rule in &setup.rules.rules {
        match lint_rule(&engine, rule, setup).await {
            Ok(()) => writeln!(out, "ok    {}", rule.id)?,
            Err(problem) => {
                problems += 1;
                writeln!(out, "FAIL  {} ({}): {problem}", rule.id, rule.origin)?;
            }
        }
    }
    writeln!(
        out,
        "{} rule(s) checked, {problems} with problems",
        setup.rules.rules.len()
    )?;
    Ok(if problems == 0 {
        Outcome::Success
    } else {
        Outcome::InputError
    })
}

async fn lint_rule(engine: &Engine, rule: &Rule, setup: &Setup) -> Result<(), String> {
    let lower = rule.sql.to_lowercase();
    for clock in ["now()", "current_timestamp", "current_date", "current_time"] {
        if lower.contains(clock) {
            return Err(format!(
                "uses `{clock}`; rules take their time from `$as_of` so that runs can be replayed"
            ));
        }
    }
    if rule.tests.iter().all(|t| !t.expect.is_empty())
        || rule.tests.iter().all(|t| t.expect.is_empty())
    {
        return Err("needs at least one test that fires and one that does not".into());
    }
    let params = bind_params(rule, setup.config.rules.params.get(&rule.id), 0, 7)?;
    let plan = engine
        .plan(&rule.sql, params)
        .await
        .map_err(|e| e.to_string())?;
    let columns: Vec<String> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    crate::rules::check_output_columns(rule, &columns)
}

/// `rules test`: every embedded test through the real ingest path.
pub async fn test_rules(setup: &Setup, only: Option<&str>, out: &mut dyn Write) -> Result<Outcome> {
    if let Some(id) = only {
        if setup.rules.get(id).is_none() {
            bail!("no rule has the id `{id}`; `pimwatch rules list` shows them");
        }
    }
    let outcomes = run_tests(&setup.rules, only, &setup.engine_options(0, None)).await;
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    for outcome in &outcomes {
        match &outcome.failure {
            None => writeln!(out, "ok    {} :: {}", outcome.rule_id, outcome.test)?,
            Some(why) => writeln!(out, "FAIL  {} :: {}: {why}", outcome.rule_id, outcome.test)?,
        }
    }
    writeln!(
        out,
        "{} test(s), {} passed, {failed} failed",
        outcomes.len(),
        outcomes.len() - failed
    )?;
    Ok(if failed == 0 {
        Outcome::Success
    } else {
        Outcome::InputError
    })
}

/// `demo`: the generated sample tenant into a fresh lake, every rule, ranked alerts.
pub async fn demo(
    sample_data: &Path,
    keep_lake: Option<PathBuf>,
    setup: &Setup,
    format: AlertFormat,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let tenant = sample_data.join("tenant");
    if !tenant.is_dir() {
        bail!(
            "{} not found: run the demo from the repository root, or pass the sample-data folder",
            tenant.display()
        );
    }
    let scratch;
    let lake_dir = match keep_lake {
        Some(dir) => {
            let empty = !dir.exists()
                || std::fs::read_dir(&dir)
                    .map(|mut d| d.next().is_none())
                    .unwrap_or(false);
            if !empty {
                bail!(
                    "{} is not empty; the demo needs a fresh lake folder",
                    dir.display()
                );
            }
            dir
        }
        None => {
            scratch = tempfile::tempdir().context("creating a temporary lake")?;
            scratch.path().to_path_buf()
        }
    };
    let lake = Lake::new(&lake_dir);
    let report = crate::ingest::ingest_paths(
        &lake,
        &[tenant.join("logs")],
        &Default::default(),
        &mut crate::ingest::NoProgress,
    )?;
    writeln!(
        out,
        "Ingested {} file(s), {} row(s) from {} into a fresh lake ({} quarantined).",
        report.files.len(),
        report.rows_added(),
        tenant.display(),
        report.quarantined()
    )?;
    let (snapshot, first_event) = time_range(&lake).await?;
    let as_of = snapshot.unwrap_or_else(now_nanos);
    // Event rules read the tenant's whole history, not only the last week of it.
    const DAY: i64 = 86_400_000_000_000;
    let history_days = first_event
        .map(|first| ((as_of - first) / DAY + 1).clamp(1, i64::from(u32::MAX)) as u32)
        .unwrap_or(7);
    writeln!(
        out,
        "Running {} rule(s) as of {} (the tenant's snapshot) over {history_days} day(s) of events…\n",
        setup.enabled_rules().len(),
        rfc3339(as_of)
    )?;
    let args = DetectArgs {
        as_of,
        lookback_days: Some(history_days),
        format,
        fail_on: None,
        store: true,
    };
    detect(&lake, setup, &args, out).await
}

/// The latest snapshot and the first audit event of a lake (nanoseconds).
async fn time_range(lake: &Lake) -> Result<(Option<i64>, Option<i64>)> {
    let engine = Engine::open(lake).await?;
    let batches = engine
        .query(
            "SELECT (SELECT CAST(max(snapshot_time) AS BIGINT) FROM principals), \
                    (SELECT CAST(min(time) AS BIGINT) FROM audit_events)",
        )
        .await?;
    let value = |column| {
        crate::report::column_strings(&batches, column)
            .first()
            .and_then(|v| v.parse().ok())
    };
    Ok((value(0), value(1)))
}
