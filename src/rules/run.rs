//! Running rules: parameters and the run's time are bound (never pasted), every enabled rule
//! runs on one shared session (several at once), a failing rule is reported with its id while
//! the others still run, and each result row becomes a [`Finding`].

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::datatypes::Fields;
use datafusion::arrow::json::writer::{JsonArray, WriterBuilder};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::scalar::ScalarValue;
use serde_json::{Map, Value};

use super::{ParamValue, Rule, RuleId, RuleKind, Severity};
use crate::engine::{Engine, EngineError};
use crate::model::Instant;

/// Columns of a rule's output that are not evidence.
const RESERVED_COLUMNS: &[&str] = &[
    "summary",
    "severity",
    "entity_name",
    "first_seen",
    "last_seen",
    "event_count",
];

/// How a run is made.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run's time.
    pub as_of: Instant,
    /// Days of events an event rule reads unless it declares its own `lookback_days`.
    pub lookback_days: u32,
    /// Parameter overrides per rule id (from `pimwatch.toml`).
    pub params: BTreeMap<RuleId, BTreeMap<String, ParamValue>>,
    /// Rules at once.
    pub concurrency: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            as_of: Instant::from_nanos(0),
            lookback_days: 7,
            params: BTreeMap::new(),
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// One row of a rule's result, deduplicated by entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule_id: RuleId,
    /// The entity columns' values, in the rule's order.
    pub entity_values: Vec<String>,
    /// `entity_values` joined with `/`.
    pub entity_id: String,
    pub entity_name: Option<String>,
    pub summary: String,
    pub severity: Severity,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub event_count: Option<i64>,
    /// Every other column of the row.
    pub evidence: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleFailure {
    pub rule_id: RuleId,
    pub origin: String,
    pub error: String,
}

#[derive(Debug, Default)]
pub struct RunResult {
    /// Sorted by rule id, then entity id.
    pub findings: Vec<Finding>,
    pub failures: Vec<RuleFailure>,
    /// Ids of the rules that ran to the end: only their alerts may resolve.
    pub ran: BTreeSet<RuleId>,
}

/// Days of events a rule reads: its own `lookback_days`, else the run's for event rules,
/// else none.
pub fn lookback_days(rule: &Rule, run_lookback_days: u32) -> u32 {
    match rule.kind {
        RuleKind::Event => rule.lookback_days.unwrap_or(run_lookback_days),
        RuleKind::Posture => rule.lookback_days.unwrap_or(0),
    }
}

/// The earliest event time any of `rules` reads, with two days to spare (an activation
/// requested before its window may complete inside it; approvers have 24 hours); the
/// Unix epoch when that lies before it (no log is older).
pub fn history_start(rules: &[&Rule], as_of: Instant, run_lookback_days: u32) -> Instant {
    let days = rules
        .iter()
        .map(|r| lookback_days(r, run_lookback_days).saturating_add(r.history_days.unwrap_or(0)))
        .max()
        .unwrap_or(0);
    let epoch = Instant::from_nanos(0);
    as_of
        .days_before(days.saturating_add(2))
        .map_or(epoch, |start| start.max(epoch))
}

/// The rule's parameters (declared defaults, then overrides) plus `$as_of` and
/// `$window_start`, as typed values.
pub fn bind_params(
    rule: &Rule,
    overrides: Option<&BTreeMap<String, ParamValue>>,
    as_of: Instant,
    lookback_days: u32,
) -> Result<Vec<(String, ScalarValue)>, String> {
    let mut values = rule.params.clone();
    if let Some(overrides) = overrides {
        for (name, value) in overrides {
            rule.check_param(name, value)?;
            values.insert(name.clone(), value.clone());
        }
    }
    let days = self::lookback_days(rule, lookback_days);
    let timestamp =
        |t: Instant| ScalarValue::TimestampNanosecond(Some(t.nanos()), Some("UTC".into()));
    let window_start = as_of.days_before(days).ok_or_else(|| {
        format!("a {days}-day window before {as_of} reaches before 1677; use a shorter lookback")
    })?;
    let mut bound = vec![
        ("as_of".to_string(), timestamp(as_of)),
        ("window_start".to_string(), timestamp(window_start)),
    ];
    for (name, value) in values {
        let scalar = match (&rule.params[&name], value) {
            (ParamValue::Float(_), ParamValue::Int(v)) => ScalarValue::Float64(Some(v as f64)),
            (_, ParamValue::Bool(v)) => ScalarValue::Boolean(Some(v)),
            (_, ParamValue::Int(v)) => ScalarValue::Int64(Some(v)),
            (_, ParamValue::Float(v)) => ScalarValue::Float64(Some(v)),
            (_, ParamValue::Text(v)) => ScalarValue::Utf8(Some(v)),
        };
        bound.push((name, scalar));
    }
    Ok(bound)
}

/// Runs `rules` on `engine`. Never fails as a whole: a rule that errors is in `failures`.
/// Rules share the session's memory, so one that needs too much can starve those running
/// beside it: rules that ran out of memory are run again, one at a time, and only those that
/// still do fail.
pub async fn evaluate(engine: &Engine, rules: &[&Rule], options: &RunOptions) -> RunResult {
    let concurrency = options.concurrency.max(1);
    let mut outcomes = run_rules(engine, rules, options, concurrency).await;
    let short_of_memory: Vec<&Rule> = outcomes
        .iter()
        .filter(|(_, _, outcome)| matches!(outcome, Err(Failed::Memory(_))))
        .filter_map(|(id, _, _)| rules.iter().copied().find(|r| r.id == *id))
        .collect();
    if concurrency > 1 && !short_of_memory.is_empty() {
        let again = run_rules(engine, &short_of_memory, options, 1).await;
        outcomes.retain(|(_, _, outcome)| !matches!(outcome, Err(Failed::Memory(_))));
        outcomes.extend(again);
    }
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    let mut result = RunResult::default();
    for (rule_id, origin, outcome) in outcomes {
        match outcome {
            Ok(findings) => {
                result.findings.extend(findings);
                result.ran.insert(rule_id);
            }
            Err(Failed::Memory(error) | Failed::Other(error)) => {
                result.failures.push(RuleFailure {
                    rule_id,
                    origin,
                    error,
                })
            }
        }
    }
    result
}

/// Why a rule did not run to the end.
enum Failed {
    Memory(String),
    Other(String),
}

type Outcome = (RuleId, String, Result<Vec<Finding>, Failed>);

/// Runs `rules`, `concurrency` at a time; a rule whose task panics is a failure too.
async fn run_rules(
    engine: &Engine,
    rules: &[&Rule],
    options: &RunOptions,
    concurrency: usize,
) -> Vec<Outcome> {
    let mut pending = rules.iter().map(|r| (*r).clone()).collect::<Vec<_>>();
    pending.reverse();
    let mut tasks = tokio::task::JoinSet::new();
    let mut running = std::collections::HashMap::new();
    let mut outcomes: Vec<Outcome> = Vec::new();
    loop {
        while tasks.len() < concurrency {
            let Some(rule) = pending.pop() else { break };
            let engine = engine.clone();
            let params = bind_params(
                &rule,
                options.params.get(rule.id.as_str()),
                options.as_of,
                options.lookback_days,
            );
            let (id, origin) = (rule.id.clone(), rule.origin.clone());
            let handle = tasks.spawn(async move {
                let result = match params {
                    Ok(params) => run_rule(&engine, &rule, params).await,
                    Err(e) => Err(Failed::Other(e)),
                };
                (rule.id, rule.origin, result)
            });
            running.insert(handle.id(), (id, origin));
        }
        match tasks.join_next().await {
            Some(Ok(outcome)) => outcomes.push(outcome),
            Some(Err(panic)) => {
                if let Some((id, origin)) = running.remove(&panic.id()) {
                    let error = format!("the rule's task failed: {panic}");
                    outcomes.push((id, origin, Err(Failed::Other(error))));
                }
            }
            None => break,
        }
    }
    outcomes
}

async fn run_rule(
    engine: &Engine,
    rule: &Rule,
    params: Vec<(String, ScalarValue)>,
) -> Result<Vec<Finding>, Failed> {
    let batches = engine
        .query_with_params(&rule.sql, params)
        .await
        .map_err(|e| match e {
            EngineError::MemoryLimit { .. } => Failed::Memory(e.to_string()),
            other => Failed::Other(other.to_string()),
        })?;
    findings_from_batches(rule, &batches).map_err(Failed::Other)
}

/// Runs one rule and turns its rows into findings, one per entity.
pub async fn evaluate_rule(
    engine: &Engine,
    rule: &Rule,
    params: Vec<(String, ScalarValue)>,
) -> Result<Vec<Finding>, String> {
    run_rule(engine, rule, params)
        .await
        .map_err(|(Failed::Memory(e) | Failed::Other(e))| e)
}

/// Checks that a result schema has what the contract asks for.
pub fn check_output_columns(rule: &Rule, fields: &Fields) -> Result<(), String> {
    let columns: Vec<&String> = fields.iter().map(|f| f.name()).collect();
    for needed in rule.entity.iter().map(String::as_str).chain(["summary"]) {
        if !columns.iter().any(|c| *c == needed) {
            return Err(format!(
                "the query returns no `{needed}` column (a rule returns `summary` and its entity columns {:?}); it returns {columns:?}",
                rule.entity
            ));
        }
    }
    Ok(())
}

fn findings_from_batches(rule: &Rule, batches: &[RecordBatch]) -> Result<Vec<Finding>, String> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    check_output_columns(rule, first.schema().fields())?;
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, JsonArray>(Vec::new());
    for batch in batches {
        writer.write(batch).map_err(|e| e.to_string())?;
    }
    writer.finish().map_err(|e| e.to_string())?;
    let bytes = writer.into_inner();
    let rows: Vec<Map<String, Value>> = if bytes.is_empty() {
        Vec::new()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())?
    };

    let mut by_entity: BTreeMap<String, Finding> = BTreeMap::new();
    for row in rows {
        let finding = finding_from_row(rule, row)?;
        match by_entity.get_mut(&finding.entity_id) {
            Some(existing) => merge(existing, finding),
            None => {
                by_entity.insert(finding.entity_id.clone(), finding);
            }
        }
    }
    Ok(by_entity.into_values().collect())
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn finding_from_row(rule: &Rule, mut row: Map<String, Value>) -> Result<Finding, String> {
    // A null entity value would merge unrelated rows into one finding; the rule is wrong.
    let entity_values: Vec<String> = rule
        .entity
        .iter()
        .map(|c| {
            row.get(c).and_then(text).ok_or_else(|| {
                format!(
                    "a row has no `{c}` (null): every entity column must have a value, or unrelated findings would merge into one; filter such rows out or coalesce the column"
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let severity = match row.get("severity").and_then(text) {
        Some(s) => Severity::parse(&s).ok_or_else(|| {
            format!("a row has severity `{s}`; use info, low, medium, high or critical")
        })?,
        None => rule.severity,
    };
    let finding = Finding {
        rule_id: rule.id.clone(),
        entity_id: entity_values.join("/"),
        entity_values,
        entity_name: row.get("entity_name").and_then(text),
        summary: row
            .get("summary")
            .and_then(text)
            .unwrap_or_else(|| rule.title.clone()),
        severity,
        first_seen: row.get("first_seen").and_then(text),
        last_seen: row.get("last_seen").and_then(text),
        event_count: row.get("event_count").and_then(Value::as_i64),
        evidence: Map::new(),
    };
    for column in RESERVED_COLUMNS
        .iter()
        .copied()
        .chain(rule.entity.iter().map(String::as_str))
    {
        row.remove(column);
    }
    Ok(Finding {
        evidence: row,
        ..finding
    })
}

/// Two rows for one entity make one finding: the widest time span, the summed count, the
/// highest severity, the latest row's summary and evidence.
fn merge(into: &mut Finding, other: Finding) {
    let later = other.last_seen > into.last_seen;
    into.first_seen = match (into.first_seen.take(), other.first_seen.clone()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    into.last_seen = into.last_seen.take().max(other.last_seen.clone());
    into.event_count = Some(into.event_count.unwrap_or(1) + other.event_count.unwrap_or(1));
    into.severity = into.severity.max(other.severity);
    if later {
        into.summary = other.summary;
        into.evidence = other.evidence;
        into.entity_name = other.entity_name.or(into.entity_name.take());
    }
}
