//! One rule file (DESIGN.md §4): strict TOML — an unknown key, a missing field or a bad
//! value is an error naming the file, line and key.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::RuleError;
pub use crate::model::Severity;

/// A rule's id: kebab-case (`privileged-account-stale`), stable, what alerts, suppressions
/// and history key on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct RuleId(String);

impl RuleId {
    /// Checks the form: lowercase letters, digits and `-`, not starting or ending with `-`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let kebab = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !text.starts_with('-')
            && !text.ends_with('-');
        if kebab {
            Ok(Self(text.to_string()))
        } else {
            Err(format!(
                "`{text}` is not a rule id: use kebab-case (lowercase letters, digits and `-`)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RuleId::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A rule id is read as text wherever text is expected (`&RuleId` is a `&str`).
impl std::ops::Deref for RuleId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for RuleId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// State as of `as_of` (the latest snapshot at or before it).
    Posture,
    /// Audit and sign-in events in a window ending at `as_of`.
    Event,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Posture => "posture",
            Self::Event => "event",
        }
    }
}

/// Whether a rule leaves break-glass accounts out; said in its output, never silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BreakGlass {
    /// Break-glass accounts are judged like every other account.
    #[default]
    Included,
    /// The rule's SQL leaves them out (Microsoft's and Maester's practice for staleness).
    Excluded,
}

/// A parameter value: what TOML allows in `[params]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl ParamValue {
    /// The value as a number, for integer and float parameters.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Self::Int(v) => Some(*v as f64),
            Self::Float(v) => Some(*v),
            _ => None,
        }
    }
}

/// The values a numeric parameter may take, both ends included: `[param_range]` in a rule
/// file (`stale_days = [1, 3650]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamRange {
    pub min: f64,
    pub max: f64,
}

impl<'de> Deserialize<'de> for ParamRange {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ends = Vec::<ParamValue>::deserialize(deserializer)?;
        match ends.as_slice() {
            [min, max] => match (min.as_number(), max.as_number()) {
                (Some(min), Some(max)) if min <= max => Ok(Self { min, max }),
                _ => Err(serde::de::Error::custom(
                    "a range is [min, max]: two numbers, the smaller first",
                )),
            },
            _ => Err(serde::de::Error::custom("a range is [min, max]")),
        }
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bool(v) => write!(f, "{v}"),
            Self::Int(v) => write!(f, "{v}"),
            Self::Float(v) => write!(f, "{v}"),
            Self::Text(v) => write!(f, "{v:?}"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Inputs {
    One(String),
    Many(Vec<String>),
}

impl Inputs {
    pub fn paths(&self) -> Vec<&str> {
        match self {
            Self::One(p) => vec![p.as_str()],
            Self::Many(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

/// One embedded test: fixtures in real formats, ingested through the real path.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTest {
    pub name: String,
    /// Fixture files or folders, relative to the rules folder.
    pub input: Inputs,
    /// The time the rule runs at; state files without a `snapshot=` folder are taken as of
    /// it.
    pub as_of: crate::model::Instant,
    /// The exact set of entity ids (entity columns joined with `/`).
    pub expect: Vec<String>,
    /// Parameter overrides for this test only.
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
}

/// A parsed rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: RuleId,
    pub title: String,
    pub severity: Severity,
    pub kind: RuleKind,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub mitre: Vec<String>,
    #[serde(default)]
    pub references: Vec<String>,
    pub description: String,
    pub remediation: String,
    /// Columns that, with the rule id, fingerprint an alert.
    pub entity: Vec<String>,
    /// What the entity is: principal, tenant, role, policy, request, … (default: from the
    /// first entity column).
    #[serde(default)]
    pub entity_type: Option<String>,
    /// Days of events an event rule reads (default: the run's lookback).
    #[serde(default)]
    pub lookback_days: Option<u32>,
    /// Days of events before the window the rule compares against (a baseline, "not seen
    /// before"): the run reads that much more history. The rule says in its evidence how much
    /// it saw and stays silent rather than guess when there is too little.
    #[serde(default)]
    pub history_days: Option<u32>,
    #[serde(default)]
    pub break_glass: BreakGlass,
    pub sql: String,
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    /// The values each numeric parameter may take; an override outside is refused when config
    /// loads, not when the rule runs.
    #[serde(default)]
    pub param_range: BTreeMap<String, ParamRange>,
    #[serde(default, rename = "test")]
    pub tests: Vec<RuleTest>,
    /// Where the rule came from (`rules/…/x.toml` or `… (built in)`), for messages; set by
    /// the loader.
    #[serde(skip)]
    pub origin: String,
    /// The pack it came from, where its test fixtures are; set by the loader.
    #[serde(skip)]
    pub pack: super::Origin,
}

impl Rule {
    /// Parses and validates one rule file; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Rule, RuleError> {
        let mut rule: Rule = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text.as_bytes()[..span.start.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1);
            let mut message = e.message().to_string();
            if message.contains("missing field `sql`") && text.contains("\nsql") {
                message.push_str(
                    " (a `sql = \"\"\"…\"\"\"` written after `[params]` belongs to the params table; \
                     put it before the first [table])",
                );
            }
            RuleError::Parse {
                origin: origin.to_string(),
                line,
                message,
            }
        })?;
        rule.origin = origin.to_string();
        rule.validate()?;
        Ok(rule)
    }

    fn invalid(&self, message: impl Into<String>) -> RuleError {
        RuleError::Invalid {
            origin: self.origin.clone(),
            rule: self.id.to_string(),
            message: message.into(),
        }
    }

    fn validate(&self) -> Result<(), RuleError> {
        if self.entity.is_empty() {
            return Err(self.invalid("`entity` must name at least one column"));
        }
        if self.sql.trim().is_empty() {
            return Err(self.invalid("`sql` is empty"));
        }
        for reserved in ["as_of", "window_start"] {
            if self.params.contains_key(reserved) {
                return Err(self.invalid(format!(
                    "parameter `{reserved}` is reserved: the engine binds it"
                )));
            }
        }
        for (name, range) in &self.param_range {
            match self.params.get(name) {
                Some(default) if default.as_number().is_some() => {
                    self.check_param(name, default)
                        .map_err(|e| self.invalid(format!("the default of {e}")))?;
                }
                Some(_) => {
                    return Err(self.invalid(format!(
                        "`[param_range] {name}`: only numeric parameters have ranges"
                    )))
                }
                None => {
                    return Err(self.invalid(format!(
                        "`[param_range] {name} = [{}, {}]`: no such parameter",
                        range.min, range.max
                    )))
                }
            }
        }
        for test in &self.tests {
            for (key, value) in &test.params {
                self.check_param(key, value)
                    .map_err(|e| self.invalid(format!("test `{}`: {e}", test.name)))?;
            }
        }
        Ok(())
    }

    /// Checks a value for parameter `name`: declared, of the default's type (an integer may
    /// stand for a float), and within its range.
    pub fn check_param(&self, name: &str, value: &ParamValue) -> Result<(), String> {
        let Some(declared) = self.params.get(name) else {
            let known: Vec<&String> = self.params.keys().collect();
            return Err(format!(
                "rule `{}` has no parameter `{name}` (it has {known:?})",
                self.id
            ));
        };
        let same_type = std::mem::discriminant(declared) == std::mem::discriminant(value)
            || matches!(
                (declared, value),
                (ParamValue::Float(_), ParamValue::Int(_))
            );
        if !same_type {
            return Err(format!(
                "parameter `{name}` of rule `{}` must be like its default {declared}, not {value}",
                self.id
            ));
        }
        if let (Some(range), Some(number)) = (self.param_range.get(name), value.as_number()) {
            if number < range.min || number > range.max {
                return Err(format!(
                    "parameter `{name}` of rule `{}` is {value}; it must be between {} and {}",
                    self.id, range.min, range.max
                ));
            }
        }
        Ok(())
    }

    /// The entity type of this rule's alerts.
    pub fn entity_type(&self) -> String {
        if let Some(kind) = &self.entity_type {
            return kind.clone();
        }
        let first = self.entity.first().map(String::as_str).unwrap_or("entity");
        first.strip_suffix("_id").unwrap_or(first).to_string()
    }
}
