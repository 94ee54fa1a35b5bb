//! The rules' embedded tests: each test's fixtures (real-format files) are ingested through
//! the real path into a throwaway lake, the rule runs as of the test's time, and the set of
//! entities it reports must equal `expect` exactly.

use std::collections::BTreeSet;

use super::run::evaluate_rule;
use super::{bind_params, Finding, Rule, RuleId, RuleSet};
use crate::config::BreakGlassConfig;
use crate::engine::{Engine, EngineOptions, Limits};
use crate::ingest::{ingest_paths, IngestOptions, NoProgress};
use crate::lake::Lake;

/// The lookback of event rules in tests, as in a default `detect`.
const TEST_LOOKBACK_DAYS: u32 = 7;

/// The result of one embedded test.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub rule_id: RuleId,
    pub test: String,
    /// `None` when the test passed.
    pub failure: Option<String>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Runs the tests of every rule in `set` (or only of `only`), in rule order, with the set's
/// views. Hermetic: what a test sees is in its rule file (fixtures, time, parameters); a
/// site's `pimwatch.toml` (break-glass accounts, parameter overrides) does not apply, so a
/// test means the same everywhere.
pub async fn run_tests(set: &RuleSet, only: Option<&str>) -> Vec<TestOutcome> {
    let mut outcomes = Vec::new();
    for rule in set
        .rules
        .iter()
        .filter(|r| only.is_none_or(|id| r.id == id))
    {
        if rule.tests.is_empty() {
            outcomes.push(TestOutcome {
                rule_id: rule.id.clone(),
                test: "(none)".into(),
                failure: Some(
                    "the rule has no tests; every rule needs one that fires and one that does not"
                        .into(),
                ),
            });
            continue;
        }
        for index in 0..rule.tests.len() {
            let failure = run_one(set, rule, index).await.err();
            outcomes.push(TestOutcome {
                rule_id: rule.id.clone(),
                test: rule.tests[index].name.clone(),
                failure,
            });
        }
    }
    outcomes
}

async fn run_one(set: &RuleSet, rule: &Rule, index: usize) -> Result<(), String> {
    let test = &rule.tests[index];
    let findings = test_findings(set, rule, index).await?;
    let got: BTreeSet<String> = findings.into_iter().map(|f| f.entity_id).collect();
    let expected: BTreeSet<String> = test.expect.iter().cloned().collect();
    if got == expected {
        Ok(())
    } else {
        let missing: Vec<_> = expected.difference(&got).collect();
        let unexpected: Vec<_> = got.difference(&expected).collect();
        Err(format!(
            "expected {expected:?}, got {got:?} (missing {missing:?}, unexpected {unexpected:?})"
        ))
    }
}

/// A finding of the rule on its own fixtures (its first test that expects one): the example
/// alert of its documentation. `None` when no test fires.
pub async fn example_finding(set: &RuleSet, rule: &Rule) -> Result<Option<Finding>, String> {
    let Some(index) = rule.tests.iter().position(|t| !t.expect.is_empty()) else {
        return Ok(None);
    };
    let expected = rule.tests[index].expect.first().cloned();
    let findings = test_findings(set, rule, index).await?;
    Ok(findings
        .iter()
        .find(|f| Some(&f.entity_id) == expected.as_ref())
        .or(findings.first())
        .cloned())
}

/// What the rule finds on the fixtures of its test `index`, through the real ingest path.
async fn test_findings(set: &RuleSet, rule: &Rule, index: usize) -> Result<Vec<Finding>, String> {
    let test = &rule.tests[index];
    let as_of = test.as_of;
    let scratch = tempfile::tempdir().map_err(|e| format!("creating a temporary folder: {e}"))?;
    let inputs =
        RuleSet::fixture_paths(rule, &test.input.paths(), &scratch.path().join("fixtures"))
            .map_err(|e| e.to_string())?;
    let lake = Lake::new(scratch.path().join("lake"));
    let options = IngestOptions {
        default_snapshot_time: Some(as_of),
        ..Default::default()
    };
    let report = ingest_paths(&lake, &inputs, &options, &mut NoProgress)
        .map_err(|e| format!("ingesting the fixtures: {e}"))?;
    if let Some(failed) = report.failed_files().next() {
        return Err(format!(
            "fixture {} could not be read: {}",
            failed.name,
            failed.error.as_deref().unwrap_or_default()
        ));
    }
    if report.quarantined() > 0 {
        return Err(format!(
            "{} fixture record(s) were quarantined; fixtures must ingest cleanly",
            report.quarantined()
        ));
    }
    let engine = Engine::open_with(
        &lake,
        &EngineOptions {
            as_of,
            views: set.views.clone(),
            break_glass_accounts: Vec::new(),
            break_glass_patterns: BreakGlassConfig::default().patterns(),
            history_start: Some(super::history_start(&[rule], as_of, TEST_LOOKBACK_DAYS)),
            limits: Limits::machine_default(),
            // As detect runs them.
            materialize_views: true,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let params = bind_params(rule, Some(&test.params), as_of, TEST_LOOKBACK_DAYS)?;
    evaluate_rule(&engine, rule, params).await
}
