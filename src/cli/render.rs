//! How each command's result looks. Tabular results go through the output registry
//! ([`crate::report`]); notes, warnings and errors go to stderr.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use datafusion::arrow::array::{ArrayRef, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use super::output::say;
use crate::engine::DamagedFile;
use crate::generate::Manifest;
use crate::ingest::IngestReport;
use crate::lake::{Lake, Problem};
use crate::model::Instant;
use crate::report::{printable, write_alerts, write_batches, AlertReport, Format, Terminal};
use crate::rules::{BreakGlass, LintOutcome, Rule, TestOutcome};
use crate::workspace::{
    AccessReview, AlertDetail, DemoRun, DetectRun, GroupBy, LakeReport, QueryAnswer, Workspace,
};

/// Whether a format is for people (a heading line fits) rather than programs.
fn for_people(format: Format) -> bool {
    matches!(format, Format::Table | Format::Md)
}

pub fn ingest_report(lake: &Lake, report: &IngestReport, out: &mut dyn Write) -> Result<()> {
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
        // File names and record text come from outside: shown inert.
        let name = printable(&file.name);
        if let Some(warning) = &file.warning {
            writeln!(out, "warning: {name}: {}", printable(warning))?;
        }
        for warning in &file.record_warnings {
            writeln!(out, "warning: {name}: {}", printable(warning))?;
        }
        let unshown = file.record_warning_count - file.record_warnings.len() as u64;
        if unshown > 0 {
            writeln!(
                out,
                "warning: {name}: {unshown} more field(s) could not be read"
            )?;
        }
    }
    let quarantined = report.quarantined();
    if quarantined > 0 {
        let files = report.files.iter().filter(|f| f.quarantined > 0).count();
        writeln!(
            out,
            "quarantined: {quarantined} record(s) from {files} file(s), with reasons, in {}",
            printable(&lake.quarantine_dir().display().to_string())
        )?;
        say!(
            "error: {quarantined} record(s) could not be read and are in the quarantine ({}); the others are in the lake",
            lake.quarantine_dir().display()
        );
    }
    for failed in report.failed_files() {
        say!(
            "error: {}: {}",
            failed.name,
            failed.error.as_deref().unwrap_or_default()
        );
    }
    Ok(())
}

/// A query's result, saying as of when its views were evaluated: a heading for people, a
/// note on stderr for programs when the time was not given.
pub fn query(
    answer: &QueryAnswer,
    format: Format,
    as_of: Instant,
    given: bool,
    out: &mut dyn Write,
) -> Result<()> {
    damaged(&answer.damaged);
    let batches = &answer.batches;
    if for_people(format) {
        writeln!(out, "as of {as_of}")?;
    } else if !given {
        say!("note: views evaluated as of {as_of} (now); pass --as-of to choose");
    }
    write_batches(format, batches, out)?;
    Ok(())
}

pub fn detect_run(
    run: &DetectRun,
    format: Format,
    terminal: Terminal,
    out: &mut dyn Write,
) -> Result<()> {
    write_alerts(format, &run.report(), terminal, out)?;
    side_notes(run);
    Ok(())
}

pub fn demo_run(
    run: &DemoRun,
    format: Format,
    terminal: Terminal,
    out: &mut dyn Write,
) -> Result<()> {
    if for_people(format) {
        writeln!(
            out,
            "Generated the sample tenant ({} planted finding(s)), ingested {} file(s), {} row(s) into a fresh lake ({} quarantined).",
            run.tenant.truth,
            run.ingest.files.len(),
            run.ingest.rows_added(),
            run.ingest.quarantined()
        )?;
        writeln!(
            out,
            "Ran {} rule(s) as of {} (the tenant's snapshot) over {} day(s) of events.\n",
            run.detect.rules_run, run.detect.as_of, run.history_days
        )?;
    }
    detect_run(&run.detect, format, terminal, out)?;
    if let Some(dir) = &run.kept_lake {
        say!("note: the demo lake is in {}", dir.display());
    }
    Ok(())
}

/// Damaged files a reader left out, on stderr.
fn damaged(files: &[DamagedFile]) {
    for file in files {
        say!(
            "error: {} cannot be read and was left out: {}; run `pimwatch lake check --repair`",
            file.path.display(),
            file.reason
        );
    }
}

/// What a run could not judge, on stderr: the loudest first.
fn side_notes(run: &DetectRun) {
    damaged(&run.damaged);
    for warning in &run.time_warnings {
        say!("WARNING: {}", warning.message);
        if let Some(as_of) = warning.use_as_of {
            say!("WARNING: to evaluate the lake as of its data, run with --as-of {as_of}");
        }
    }
    for failure in &run.failures {
        say!(
            "error: rule `{}` ({}) failed; the other rules ran, and its earlier alerts stay as they were: {}",
            failure.rule_id,
            failure.origin,
            failure.error
        );
    }
    for warning in &run.data_warnings {
        say!(
            "warning: {} ({}): {}",
            warning.topic,
            warning.affected,
            warning.detail
        );
    }
    for suppression in &run.expired_suppressions {
        say!(
            "warning: the suppression of `{}` for `{}` expired on {} and no longer applies: {}; renew or remove it",
            suppression.rule,
            suppression.entity,
            suppression.expires,
            suppression.describe()
        );
    }
    let break_glass = &run.break_glass;
    if let Some(changes) = &break_glass.changes {
        for account in &changes.joined {
            say!(
                "warning: {} joined the break-glass set since the run as of {} ({}): the rules that leave break-glass accounts out no longer judge it; confirm it is an emergency-access account",
                account.label(),
                changes.since,
                if account.matched_by == "pattern" {
                    "its name matches a break-glass pattern"
                } else {
                    "declared in pimwatch.toml"
                }
            );
        }
        for account in &changes.left {
            say!(
                "warning: {} left the break-glass set since the run as of {}",
                account.label(),
                changes.since
            );
        }
    }
    if break_glass.excluding_rules.is_empty() {
        return;
    }
    let excluding: Vec<&str> = break_glass
        .excluding_rules
        .iter()
        .map(|id| id.as_str())
        .collect();
    let set = match &break_glass.accounts {
        None => {
            "the rule packs have no `break_glass_accounts` view, so the set is unknown".to_string()
        }
        Some(accounts) => {
            let labels: Vec<String> = accounts.iter().map(|a| a.label()).collect();
            format!(
                "{} account(s) {}: {}",
                labels.len(),
                break_glass.source,
                if labels.is_empty() {
                    "none".to_string()
                } else {
                    labels.join(", ")
                }
            )
        }
    };
    say!(
        "note: {} rule(s) leave break-glass accounts out ({}): {set}",
        excluding.len(),
        excluding.join(", ")
    );
}

fn text_column(values: impl IntoIterator<Item = String>) -> ArrayRef {
    Arc::new(values.into_iter().map(Some).collect::<StringArray>())
}

fn count_column(values: impl IntoIterator<Item = u64>) -> ArrayRef {
    Arc::new(UInt64Array::from_iter_values(values))
}

fn batch(fields: Vec<(&str, DataType)>, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    let schema = Schema::new(
        fields
            .into_iter()
            .map(|(name, kind)| Field::new(name, kind, false))
            .collect::<Vec<_>>(),
    );
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

/// `rules list`: one row per rule.
pub fn rules_list(workspace: &Workspace, format: Format, out: &mut dyn Write) -> Result<()> {
    let rules = &workspace.rules.rules;
    let disabled = |rule: &Rule| workspace.config.rules.disabled.contains(&rule.id);
    let rows = batch(
        vec![
            ("id", DataType::Utf8),
            ("severity", DataType::Utf8),
            ("kind", DataType::Utf8),
            ("tests", DataType::UInt64),
            ("enabled", DataType::Utf8),
            ("title", DataType::Utf8),
        ],
        vec![
            text_column(rules.iter().map(|r| r.id.to_string())),
            text_column(rules.iter().map(|r| r.severity.as_str().to_string())),
            text_column(rules.iter().map(|r| r.kind.as_str().to_string())),
            count_column(rules.iter().map(|r| r.tests.len() as u64)),
            text_column(
                rules
                    .iter()
                    .map(|r| if disabled(r) { "no (config)" } else { "yes" }.to_string()),
            ),
            text_column(rules.iter().map(|r| r.title.clone())),
        ],
    )?;
    write_batches(format, &[rows], out)?;
    if for_people(format) {
        writeln!(
            out,
            "{} rule(s), {} view(s)",
            rules.len(),
            workspace.rules.views.len()
        )?;
    }
    Ok(())
}

/// `rules show ID`: everything about one rule, parameters as configured.
pub fn show_rule(workspace: &Workspace, rule: &Rule, out: &mut dyn Write) -> Result<()> {
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
    if workspace.config.rules.disabled.contains(&rule.id) {
        writeln!(out, "disabled by config")?;
    }
    writeln!(out, "source: {}", rule.origin)?;
    writeln!(out, "\n{}\n", rule.description.trim())?;
    writeln!(out, "remediation: {}", rule.remediation.trim())?;
    for reference in &rule.references {
        writeln!(out, "see: {reference}")?;
    }
    if !rule.params.is_empty() {
        writeln!(out, "\nparameters:")?;
        let overrides = workspace.config.rules.params.get(&rule.id);
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
            "  {} as of {} (expects {} finding(s))",
            test.name,
            test.as_of,
            test.expect.len()
        )?;
    }
    Ok(())
}

/// `rules lint`; returns how many have problems.
pub fn lint(outcomes: &[LintOutcome], out: &mut dyn Write) -> Result<usize> {
    let mut problems = 0;
    for outcome in outcomes {
        match &outcome.problem {
            None => writeln!(out, "ok    {}", outcome.subject)?,
            Some(problem) => {
                problems += 1;
                writeln!(
                    out,
                    "FAIL  {} ({}): {problem}",
                    outcome.subject, outcome.origin
                )?;
            }
        }
    }
    writeln!(
        out,
        "{} rule(s) and view(s) checked, {problems} with problems",
        outcomes.len()
    )?;
    Ok(problems)
}

/// `rules test`; returns how many failed.
pub fn tests(outcomes: &[TestOutcome], out: &mut dyn Write) -> Result<usize> {
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    for outcome in outcomes {
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
    Ok(failed)
}

pub fn generated(folder: &Path, manifest: &Manifest, out: &mut dyn Write) -> Result<()> {
    let records: u64 = manifest.files.iter().map(|(_, n)| n).sum();
    writeln!(
        out,
        "Generated tenant {} in {}: {} file(s), {records} record(s), {} planted finding(s) in truth.ndjson; state as of {}. Ingest it with: pimwatch ingest {}/logs",
        manifest.tenant_id,
        folder.display(),
        manifest.files.len(),
        manifest.truth,
        manifest.snapshot_time,
        folder.display()
    )?;
    Ok(())
}

/// `lake stats`: one row per table and one for the quarantine; gaps in the data on stderr.
pub fn stats(root: &Path, report: &LakeReport, format: Format, out: &mut dyn Write) -> Result<()> {
    let tables = &report.stats.tables;
    let time = |t: Option<i64>| {
        t.map(|n| Instant::from_nanos(n).to_string())
            .unwrap_or_default()
    };
    let quarantine = "(quarantine)".to_string();
    let rows = batch(
        vec![
            ("table", DataType::Utf8),
            ("rows", DataType::UInt64),
            ("files", DataType::UInt64),
            ("bytes", DataType::UInt64),
            ("partitions", DataType::UInt64),
            ("from", DataType::Utf8),
            ("to", DataType::Utf8),
        ],
        vec![
            text_column(
                tables
                    .iter()
                    .map(|t| t.table.to_string())
                    .chain([quarantine]),
            ),
            count_column(
                tables
                    .iter()
                    .map(|t| t.rows)
                    .chain([report.stats.quarantine.total]),
            ),
            count_column(
                tables
                    .iter()
                    .map(|t| t.files)
                    .chain([report.stats.quarantine.inputs]),
            ),
            count_column(tables.iter().map(|t| t.bytes).chain([0])),
            count_column(tables.iter().map(|t| t.partitions).chain([0])),
            text_column(
                tables
                    .iter()
                    .map(|t| time(t.min_time))
                    .chain([String::new()]),
            ),
            text_column(
                tables
                    .iter()
                    .map(|t| time(t.max_time))
                    .chain([String::new()]),
            ),
        ],
    )?;
    if for_people(format) {
        writeln!(out, "lake: {} (as of {})", root.display(), report.as_of)?;
    }
    write_batches(format, &[rows], out)?;
    let quarantine = report.stats.quarantine;
    if for_people(format) && quarantine.total > 0 {
        writeln!(
            out,
            "quarantine: {} bad record(s) from {} input(s); {} kept with their reasons in {}",
            quarantine.total,
            quarantine.inputs,
            quarantine.kept,
            printable(&root.join(crate::lake::QUARANTINE_DIR).display().to_string())
        )?;
    }
    damaged(&report.damaged);
    for warning in &report.warnings {
        say!(
            "warning: {} ({}): {}",
            warning.topic,
            warning.affected,
            warning.detail
        );
    }
    Ok(())
}

/// `lake check`: one row per problem and what `--repair` did about it.
pub fn lake_check(problems: &[Problem], format: Format, out: &mut dyn Write) -> Result<()> {
    if problems.is_empty() && for_people(format) {
        writeln!(out, "The lake is sound: every file in its table folders is committed and reads as its table.")?;
        return Ok(());
    }
    let rows = batch(
        vec![
            ("problem", DataType::Utf8),
            ("path", DataType::Utf8),
            ("detail", DataType::Utf8),
            ("repair", DataType::Utf8),
        ],
        vec![
            text_column(problems.iter().map(|p| p.kind.as_str().to_string())),
            text_column(problems.iter().map(|p| p.path.display().to_string())),
            text_column(problems.iter().map(|p| p.detail.clone())),
            text_column(problems.iter().map(|p| {
                p.repaired
                    .clone()
                    .unwrap_or_else(|| "none yet: pimwatch lake check --repair".to_string())
            })),
        ],
    )?;
    write_batches(format, &[rows], out)?;
    Ok(())
}

/// `report alerts`: which run, as of when, then the alerts.
pub fn alert_report(
    report: &AlertReport,
    format: Format,
    terminal: Terminal,
    out: &mut dyn Write,
) -> Result<()> {
    if for_people(format) {
        let filter = report
            .filter
            .as_deref()
            .map(|f| {
                format!(
                    "; {} of {} alert(s) kept by: {f}",
                    report.alerts.len(),
                    report.total
                )
            })
            .unwrap_or_default();
        writeln!(out, "Run {} as of {}{filter}", report.run_id, report.as_of)?;
    }
    write_alerts(format, report, terminal, out)?;
    Ok(())
}

/// `alerts show`: one alert in full, every log-derived string made printable.
pub fn alert_detail(detail: &AlertDetail, out: &mut dyn Write) -> Result<()> {
    let a = &detail.alert;
    let p = |text: &str| printable(text).into_owned();
    writeln!(out, "{} — {}", a.alert_id, p(&a.title))?;
    writeln!(
        out,
        "{} · score {} · {} · rule {} · run {} (as of {})",
        a.severity,
        a.score,
        a.status.as_str(),
        a.rule_id,
        a.run_id,
        a.as_of
    )?;
    writeln!(out, "\nWhat:  {}", p(&a.summary))?;
    writeln!(
        out,
        "Who:   {} {}{}",
        p(&a.entity_type),
        p(a.entity_name.as_deref().unwrap_or(&a.entity_id)),
        if a.entity_name.is_some() {
            format!(" ({})", p(&a.entity_id))
        } else {
            String::new()
        }
    )?;
    let since = match (&a.first_seen, &a.last_seen) {
        (Some(first), Some(last)) => format!("{} (last {})", p(first), p(last)),
        (Some(first), None) => p(first),
        (None, Some(last)) => format!("last {}", p(last)),
        (None, None) => format!("state as of {}", a.as_of),
    };
    writeln!(out, "Since: {since}")?;
    if let Some(count) = a.event_count {
        writeln!(out, "Events: {count}")?;
    }
    if let Some(suppression) = &a.suppression {
        writeln!(out, "Suppressed: {}", p(suppression))?;
    }
    writeln!(out, "\nEvidence:")?;
    for (key, value) in &a.evidence {
        let value = match value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        writeln!(out, "  {}: {}", p(key), p(&value))?;
    }
    writeln!(out, "\nScore {}:", a.score)?;
    for reason in &a.score_reasons {
        writeln!(out, "  {}", p(reason))?;
    }
    if let Some(rule) = &detail.rule {
        writeln!(out, "\nWhy it matters:\n  {}", p(rule.description.trim()))?;
    }
    writeln!(out, "\nWhat to do:\n  {}", p(a.remediation.trim()))?;
    if !a.mitre.is_empty() {
        writeln!(out, "MITRE ATT&CK: {}", a.mitre.join(", "))?;
    }
    if let Some(rule) = &detail.rule {
        for reference in &rule.references {
            writeln!(out, "See: {}", p(reference))?;
        }
    }
    writeln!(out, "\nTriage:")?;
    if detail.triage.is_empty() {
        writeln!(
            out,
            "  none yet (pimwatch alerts ack|close {} --reason … --by …)",
            a.alert_id
                .chars()
                .take(crate::report::SHORT_ID)
                .collect::<String>()
        )?;
    }
    for entry in &detail.triage {
        writeln!(out, "  {}", p(&entry.describe()))?;
    }
    Ok(())
}

/// `report access-review`: the review in `format`; damaged files on stderr.
pub fn access_review(
    review: &AccessReview,
    format: Format,
    group_by: GroupBy,
    out: &mut dyn Write,
) -> Result<()> {
    damaged(&review.damaged);
    if format == Format::Csv {
        say!("note: {}", crate::report::access_review_heading(review));
        say!("note: the CSV holds the holdings; the roles' PIM settings are in md, html, json and xlsx");
    }
    crate::report::write_access_review(format, review, group_by, out)?;
    Ok(())
}

/// `rules doc`: writes the reference into `folder` (removing pages of rules that are gone),
/// or with `check` only compares. Returns whether the folder was out of date.
pub fn rule_reference(
    folder: &Path,
    files: &[(String, String)],
    check: bool,
    out: &mut dyn Write,
) -> Result<bool> {
    use anyhow::Context as _;
    let wanted: std::collections::BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let mut differing = Vec::new();
    for (name, content) in files {
        let path = folder.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            differing.push(name.clone());
        }
    }
    let extra: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".md") && !wanted.contains(n.as_str()))
                .collect()
        })
        .unwrap_or_default();
    if check {
        for name in differing.iter().chain(&extra) {
            say!("out of date: {}", folder.join(name).display());
        }
        let stale = !differing.is_empty() || !extra.is_empty();
        if stale {
            say!(
                "error: the rule reference is out of date; run `pimwatch rules doc --out {}`",
                folder.display()
            );
        } else {
            writeln!(
                out,
                "{} is up to date ({} page(s))",
                folder.display(),
                files.len()
            )?;
        }
        return Ok(stale);
    }
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    for (name, content) in files {
        let path = folder.join(name);
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    for name in &extra {
        let path = folder.join(name);
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    writeln!(
        out,
        "Wrote {} page(s) to {} ({} changed, {} removed)",
        files.len(),
        folder.display(),
        differing.len(),
        extra.len()
    )?;
    Ok(false)
}

/// One line per stage of `run`, on stderr: text, or JSON for log collectors. Log text is
/// made printable either way.
pub fn stage_log(run_id: &str, stage: &crate::workspace::StageLog, format: super::LogFormat) {
    let now = Instant::now().to_rfc3339();
    match format {
        super::LogFormat::Text => say!(
            "{now} run {run_id} {} {} ({:.3} s): {}",
            stage.stage,
            if stage.ok { "ok" } else { "NEEDS ATTENTION" },
            stage.seconds,
            stage.message
        ),
        super::LogFormat::Json => {
            let mut line = serde_json::Map::new();
            line.insert("time".into(), now.into());
            line.insert(
                "level".into(),
                if stage.ok { "info" } else { "error" }.into(),
            );
            line.insert("run".into(), run_id.into());
            line.insert("stage".into(), stage.stage.into());
            line.insert("ok".into(), stage.ok.into());
            line.insert("seconds".into(), stage.seconds.into());
            line.insert("message".into(), stage.message.clone().into());
            line.extend(stage.fields.clone());
            // JSON escapes control characters itself; say! keeps the line printable.
            say!("{}", serde_json::Value::Object(line));
        }
    }
}

/// What `run` did, in one line on stdout.
pub fn run_summary(outcome: &crate::workspace::RunOutcome, out: &mut dyn Write) -> Result<()> {
    let alerts = outcome
        .detect
        .as_ref()
        .map(|d| crate::report::severity_counts(&d.alerts))
        .unwrap_or_default();
    let reports: Vec<String> = outcome
        .reports_written
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    writeln!(
        out,
        "run {}: {alerts}{}{}",
        outcome.run_id,
        if reports.is_empty() {
            String::new()
        } else {
            format!("; reports: {}", reports.join(", "))
        },
        if outcome.needs_attention() {
            "; needs attention (see the log)"
        } else {
            ""
        }
    )?;
    Ok(())
}

/// One line per pulled endpoint, on stderr, as it is committed.
pub fn pulled_endpoint(part: &crate::pull::EndpointReport) {
    let window = part
        .window
        .as_ref()
        .map(|(from, to)| format!(" [{from}, {to})"))
        .unwrap_or_default();
    say!(
        "pulled {}{window}: {} page(s), {} record(s), {} row(s) added, {} quarantined",
        part.name,
        part.pages,
        part.records,
        part.rows_added,
        part.quarantined
    );
}

/// What `pull` did.
pub fn pull_report(report: &crate::pull::PullReport, out: &mut dyn Write) -> Result<()> {
    let pages: u64 = report.endpoints.iter().map(|e| e.pages).sum();
    let records: u64 = report.endpoints.iter().map(|e| e.records).sum();
    let added: u64 = report.endpoints.iter().map(|e| e.rows_added).sum();
    writeln!(
        out,
        "Pulled {} endpoint(s): {pages} page(s), {records} record(s), {added} row(s) added; {} request(s), {} retried, in {:.1} s ({:.1} pages/s)",
        report.endpoints.len(),
        report.requests,
        report.retries,
        report.seconds,
        pages as f64 / report.seconds.max(0.001)
    )?;
    Ok(())
}
