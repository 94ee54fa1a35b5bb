//! `rules lint`: every rule and view planned against the lake's schema (unknown tables,
//! columns, functions and types fail), rules checked against the output contract and for
//! tests that both fire and stay quiet, and nothing may read the clock: time comes from
//! `$as_of`, so that a run can be replayed.

use std::collections::BTreeMap;

use super::{bind_params, check_output_columns, ParamValue, Rule, RuleId, RuleSet};
use crate::engine::Engine;
use crate::model::Instant;

/// What lint checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LintSubject {
    Rule(RuleId),
    View(String),
}

impl std::fmt::Display for LintSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rule(id) => write!(f, "{id}"),
            Self::View(name) => write!(f, "view {name}"),
        }
    }
}

/// The verdict on one rule or view.
#[derive(Debug, Clone)]
pub struct LintOutcome {
    pub subject: LintSubject,
    /// Where it came from, for messages.
    pub origin: String,
    /// `None` when nothing is wrong.
    pub problem: Option<String>,
}

/// Lints every view and rule of `set` on `engine` (opened with the set's views), with the
/// site's parameter overrides bound as a run would bind them.
pub async fn lint(
    engine: &Engine,
    set: &RuleSet,
    overrides: &BTreeMap<RuleId, BTreeMap<String, ParamValue>>,
    as_of: Instant,
) -> Vec<LintOutcome> {
    let mut outcomes = Vec::new();
    for (name, sql) in &set.views {
        let problem = match engine.clock_functions(sql, engine_time(as_of)).await {
            Ok(clocks) => clock_problem(&clocks),
            Err(e) => Some(e.to_string()),
        };
        outcomes.push(LintOutcome {
            subject: LintSubject::View(name.clone()),
            origin: format!("views/{name}.sql"),
            problem,
        });
    }
    for rule in &set.rules {
        outcomes.push(LintOutcome {
            subject: LintSubject::Rule(rule.id.clone()),
            origin: rule.origin.clone(),
            problem: lint_rule(engine, rule, overrides.get(&rule.id), as_of)
                .await
                .err(),
        });
    }
    outcomes
}

/// The time parameters views see.
fn engine_time(as_of: Instant) -> Vec<(String, datafusion::scalar::ScalarValue)> {
    crate::engine::time_params(as_of, None)
}

fn clock_problem(clocks: &std::collections::BTreeSet<String>) -> Option<String> {
    let first = clocks.iter().next()?;
    Some(format!(
        "calls `{first}()`; take the time from `$as_of` (or the `run` table) so that runs can be replayed"
    ))
}

async fn lint_rule(
    engine: &Engine,
    rule: &Rule,
    overrides: Option<&BTreeMap<String, ParamValue>>,
    as_of: Instant,
) -> Result<(), String> {
    let params = bind_params(rule, overrides, as_of, 7)?;
    let clocks = engine
        .clock_functions(&rule.sql, params.clone())
        .await
        .map_err(|e| e.to_string())?;
    if let Some(problem) = clock_problem(&clocks) {
        return Err(problem);
    }
    let plan = engine
        .plan(&rule.sql, params)
        .await
        .map_err(|e| e.to_string())?;
    check_output_columns(rule, plan.schema().fields())?;
    if let Some(name) = rule
        .params
        .iter()
        .find(|(name, value)| value.as_number().is_some() && !rule.param_range.contains_key(*name))
        .map(|(name, _)| name)
    {
        return Err(format!(
            "numeric parameter `{name}` has no `[param_range]`: say which values make sense, so a bad override is refused when config loads"
        ));
    }
    if rule.tests.iter().all(|t| !t.expect.is_empty())
        || rule.tests.iter().all(|t| t.expect.is_empty())
    {
        return Err("needs at least one test that fires and one that does not".into());
    }
    Ok(())
}
