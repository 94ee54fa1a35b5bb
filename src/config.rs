//! `pimwatch.toml`: per-tenant settings. Strict like rule files: an unknown key is an error
//! naming the file and line.
//!
//! ```toml
//! [break_glass]
//! accounts = ["breakglass1@contoso.onmicrosoft.com", "3f0c…"]   # object ids or UPNs
//! # patterns = ["(?i)break-?glass"]   # only without accounts: names on UPN and display name
//!
//! [rules]
//! disabled = ["activation-duration-excessive"]
//! lookback_days = 7
//!
//! [rules.params.privileged-account-stale]
//! stale_days = 45
//!
//! [[suppressions]]
//! rule = "privileged-account-stale"
//! entity = "3f0c…"                     # an entity id; `*` matches any run of characters
//! reason = "Service account, reviewed every quarter"
//! owner = "secops@contoso.com"
//! expires = "2027-01-31"
//!
//! [run]                                # the scheduled `pimwatch run`
//! inbox = "inbox"                      # exports to ingest first (moved to done/ or failed/)
//! fail_on = "high"
//!
//! [[run.reports]]
//! report = "alerts"                    # or "access-review" (with period_days)
//! format = "html"
//! path = "reports/alerts-{run}.html"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::Instant;
use crate::rules::{ParamValue, RuleId, RuleSet};

/// The longest lookback a run may use (ten years): longer windows reach past what any tenant
/// keeps and overflow time arithmetic.
pub const MAX_LOOKBACK_DAYS: u32 = 3650;

/// Name patterns that mark break-glass accounts when config does not say otherwise.
pub const DEFAULT_BREAK_GLASS_PATTERNS: &[&str] =
    &["(?i)break[-_. ]?glass", "(?i)emergency[-_. ]?access"];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub break_glass: BreakGlassConfig,
    #[serde(default)]
    pub rules: RulesConfig,
    #[serde(default)]
    pub suppressions: Vec<Suppression>,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub run: RunConfig,
    #[serde(default)]
    pub graph: GraphConfig,
}

/// `[graph]`: how `pimwatch pull` reaches Microsoft Graph. Secrets come from files named here
/// or from the environment (`PIMWATCH_TENANT_ID`, `PIMWATCH_CLIENT_ID`,
/// `PIMWATCH_CLIENT_SECRET`, which override this section), never from the command line.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphConfig {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    /// A file holding the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// A PEM file holding the app's certificate and its private key (PKCS#8).
    pub client_certificate_file: Option<PathBuf>,
    /// A federated token file (workload identity federation, as Kubernetes and CI systems
    /// provide; `AZURE_FEDERATED_TOKEN_FILE` when unset).
    pub federated_token_file: Option<PathBuf>,
    /// Get tokens from the Azure managed identity where pimwatch runs (App Service, Functions,
    /// Container Apps, Arc: `IDENTITY_ENDPOINT`; virtual machines: the instance metadata
    /// service). With `client_id`, that user-assigned identity.
    #[serde(default)]
    pub managed_identity: bool,
    /// `global` (default), `usgov` or `china`.
    pub cloud: Option<String>,
    /// The Graph and sign-in base URLs, overriding the cloud's (proxies, tests).
    pub graph_url: Option<String>,
    pub login_url: Option<String>,
    /// Days of events the first pull fetches (default 30, the usual retention).
    pub backfill_days: Option<u32>,
    /// Minutes each event pull goes back before the watermark (late records; default 15).
    pub overlap_minutes: Option<u32>,
    /// Minutes before now an event window ends (records still arriving; default 5).
    pub lag_minutes: Option<u32>,
}

impl std::fmt::Debug for GraphConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphConfig")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret_file", &self.client_secret_file)
            .field("federated_token_file", &self.federated_token_file)
            .field("cloud", &self.cloud)
            .finish_non_exhaustive()
    }
}

/// `[run]`: what the scheduled `pimwatch run` does besides detect. Relative paths are relative
/// to the folder of `pimwatch.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// A folder of exports to ingest first; each file is moved to `done/<run>/` or
    /// `failed/<run>/` under it afterwards.
    pub inbox: Option<PathBuf>,
    /// Days of events event rules read in the run (default: `[rules] lookback_days`, else 7).
    pub lookback_days: Option<u32>,
    /// Exit with 1 when an open alert is at or above this severity.
    pub fail_on: Option<crate::model::Severity>,
    /// Reports written after detect, each to its own file.
    #[serde(default)]
    pub reports: Vec<ReportConfig>,
    /// Webhooks the run posts its open alerts to.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
}

/// `[[run.webhooks]]`: where a run posts its alerts. The URL carries a token: give it with
/// `url_env` (an environment variable) or `url_file` rather than `url`; it is never logged.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Names the webhook in logs and in the lake's notification log.
    pub name: String,
    pub kind: WebhookKind,
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub url_file: Option<PathBuf>,
    /// The lowest severity posted (default high).
    pub min_severity: Option<crate::model::Severity>,
    /// More alerts than this in one run become one summary message (default 20).
    pub max_per_run: Option<usize>,
    /// Seconds one request may take (default 10).
    pub timeout_seconds: Option<u64>,
}

impl std::fmt::Debug for WebhookConfig {
    /// Without the URL: it is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url.as_ref().map(|_| "<secret>"))
            .field("url_env", &self.url_env)
            .field("url_file", &self.url_file)
            .finish_non_exhaustive()
    }
}

/// The message format of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookKind {
    /// One POST per alert: the JSON alert schema (`pimwatch.alert/1`).
    Json,
    /// Microsoft Teams: a message with an Adaptive Card.
    Teams,
    /// Slack incoming webhook: `text` and `blocks`.
    Slack,
}

/// One report of a run: `path` may hold `{run}`, replaced by the run id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    pub report: ReportKind,
    pub format: crate::report::Format,
    pub path: PathBuf,
    /// Alerts only: the lowest severity listed.
    pub min_severity: Option<crate::model::Severity>,
    /// Access review only: the period in days (default 90).
    pub period_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportKind {
    Alerts,
    AccessReview,
}

/// `[limits]`: what one query or rule may use. Defaults: half the machine's memory, 300 s.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Memory for one engine session (operators spill to disk before they fail), in MiB.
    pub memory_mb: Option<u64>,
    /// Time for one query or rule, in seconds.
    pub query_seconds: Option<u64>,
}

/// An accepted risk: alerts of `rule` whose entity matches are kept with status
/// `suppressed` until `expires`; after that the suppression is reported and stops working.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    pub rule: RuleId,
    /// An entity id as alerts show it; `*` matches any run of characters. Default: all.
    #[serde(default = "every_entity")]
    pub entity: String,
    pub reason: String,
    pub owner: String,
    /// RFC 3339 time or date; a suppression without an end date is refused.
    pub expires: Instant,
}

fn every_entity() -> String {
    "*".into()
}

impl Suppression {
    pub fn matches(&self, rule_id: &RuleId, entity_id: &str) -> bool {
        self.rule == *rule_id && glob_match(&self.entity, entity_id)
    }

    /// How alerts and messages name it.
    pub fn describe(&self) -> String {
        format!(
            "{} (owner {}, until {})",
            self.reason, self.owner, self.expires
        )
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassConfig {
    /// Object ids or UPNs of the emergency-access accounts. When given, they *are* the
    /// break-glass set: name patterns no longer apply, so an account that merely looks like
    /// an emergency account never receives their exclusions.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Regular expressions on UPN and display name, used only when no `accounts` are
    /// declared; `[]` turns name matching off.
    pub patterns: Option<Vec<String>>,
}

impl BreakGlassConfig {
    /// The name patterns in force: none once accounts are declared, else the configured
    /// ones, else the defaults.
    pub fn patterns(&self) -> Vec<String> {
        if !self.accounts.is_empty() {
            return Vec::new();
        }
        self.patterns.clone().unwrap_or_else(|| {
            DEFAULT_BREAK_GLASS_PATTERNS
                .iter()
                .map(|p| p.to_string())
                .collect()
        })
    }

    /// How the break-glass set is decided, for messages.
    pub fn source(&self) -> &'static str {
        if self.accounts.is_empty() {
            "matched by name pattern; declare them in pimwatch.toml [break_glass] accounts"
        } else {
            "declared in pimwatch.toml"
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    #[serde(default)]
    pub disabled: Vec<RuleId>,
    /// Days of events event rules read (default 7).
    pub lookback_days: Option<u32>,
    /// Parameter overrides, by rule id.
    #[serde(default)]
    pub params: BTreeMap<RuleId, BTreeMap<String, ParamValue>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::parse(path, &text)?;
        // Paths in the file are relative to the file.
        let base = path.parent().unwrap_or(Path::new(""));
        if let Some(inbox) = config.run.inbox.as_mut() {
            if inbox.is_relative() {
                *inbox = base.join(&*inbox);
            }
        }
        for report in &mut config.run.reports {
            if report.path.is_relative() {
                report.path = base.join(&report.path);
            }
        }
        for file in [
            config.graph.client_secret_file.as_mut(),
            config.graph.client_certificate_file.as_mut(),
            config.graph.federated_token_file.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
        for hook in &mut config.run.webhooks {
            if let Some(file) = hook.url_file.as_mut() {
                if file.is_relative() {
                    *file = base.join(&*file);
                }
            }
        }
        Ok(config)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            line: e.span().map(|s| {
                text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1
            }),
            message: e.message().to_string(),
        })
    }

    /// Checks that every rule id and parameter named here exists in `rules`.
    pub fn check_against(&self, rules: &RuleSet, path: &Path) -> Result<(), ConfigError> {
        let error = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            line: None,
            message,
        };
        if !self.break_glass.accounts.is_empty()
            && self
                .break_glass
                .patterns
                .as_ref()
                .is_some_and(|p| !p.is_empty())
        {
            return Err(error(
                "[break_glass]: declare either `accounts` or `patterns`: declared accounts are the break-glass set, and name patterns would not apply next to them".into(),
            ));
        }
        for id in self.rules.disabled.iter().chain(self.rules.params.keys()) {
            if rules.get(id).is_none() {
                return Err(error(format!(
                    "no rule has the id `{id}` (see `pimwatch rules list`)"
                )));
            }
        }
        for (n, suppression) in self.suppressions.iter().enumerate() {
            if rules.get(&suppression.rule).is_none() {
                return Err(error(format!(
                    "suppression {}: no rule has the id `{}`",
                    n + 1,
                    suppression.rule
                )));
            }
            if suppression.reason.trim().is_empty() || suppression.owner.trim().is_empty() {
                return Err(error(format!(
                    "suppression {}: say why (`reason`) and who answers for it (`owner`)",
                    n + 1
                )));
            }
        }
        for (id, params) in &self.rules.params {
            let Some(rule) = rules.get(id) else { continue };
            for (name, value) in params {
                rule.check_param(name, value)
                    .map_err(|e| error(format!("[rules.params.{id}]: {e}")))?;
            }
        }
        for (n, pattern) in self.break_glass.patterns.iter().flatten().enumerate() {
            regex::Regex::new(pattern).map_err(|e| {
                error(format!(
                    "[break_glass] patterns[{n}] `{pattern}` is not a regular expression: {e}"
                ))
            })?;
        }
        if let Some(days) = self.rules.lookback_days {
            if !(1..=MAX_LOOKBACK_DAYS).contains(&days) {
                return Err(error(format!(
                    "[rules] lookback_days = {days}: use 1 to {MAX_LOOKBACK_DAYS} days"
                )));
            }
        }
        if let Some(days) = self.run.lookback_days {
            if !(1..=MAX_LOOKBACK_DAYS).contains(&days) {
                return Err(error(format!(
                    "[run] lookback_days = {days}: use 1 to {MAX_LOOKBACK_DAYS} days"
                )));
            }
        }
        for (n, report) in self.run.reports.iter().enumerate() {
            let at = format!("[[run.reports]] {}", n + 1);
            if report.path.file_name().is_none() {
                return Err(error(format!("{at}: `path` must name a file")));
            }
            match report.report {
                ReportKind::Alerts if report.period_days.is_some() => {
                    return Err(error(format!(
                        "{at}: period_days is for access-review reports"
                    )))
                }
                ReportKind::AccessReview if report.min_severity.is_some() => {
                    return Err(error(format!("{at}: min_severity is for alert reports")))
                }
                ReportKind::AccessReview if report.format == crate::report::Format::Ocsf => {
                    return Err(error(format!("{at}: ocsf is a format for alerts")))
                }
                _ => {}
            }
            if let Some(days) = report.period_days {
                if !(1..=MAX_LOOKBACK_DAYS).contains(&days) {
                    return Err(error(format!(
                        "{at}: period_days = {days}: use 1 to {MAX_LOOKBACK_DAYS} days"
                    )));
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (n, hook) in self.run.webhooks.iter().enumerate() {
            let at = format!("[[run.webhooks]] {}", n + 1);
            if hook.name.trim().is_empty() || !names.insert(hook.name.as_str()) {
                return Err(error(format!("{at}: every webhook needs its own `name`")));
            }
            let sources = [
                hook.url.is_some(),
                hook.url_env.is_some(),
                hook.url_file.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() != 1 {
                return Err(error(format!(
                    "{at} ({}): give the URL once: `url_env` (an environment variable), `url_file`, or `url`",
                    hook.name
                )));
            }
            if let Some(url) = &hook.url {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(error(format!(
                        "{at} ({}): `url` is not an http(s) URL",
                        hook.name
                    )));
                }
            }
            if hook.max_per_run == Some(0) || hook.timeout_seconds == Some(0) {
                return Err(error(format!(
                    "{at} ({}): max_per_run and timeout_seconds are at least 1",
                    hook.name
                )));
            }
        }
        if let Some(cloud) = &self.graph.cloud {
            if !["global", "usgov", "china"].contains(&cloud.as_str()) {
                return Err(error(format!(
                    "[graph] cloud = \"{cloud}\": use global, usgov or china"
                )));
            }
        }
        if let Some(days) = self.graph.backfill_days {
            if !(1..=MAX_LOOKBACK_DAYS).contains(&days) {
                return Err(error(format!(
                    "[graph] backfill_days = {days}: use 1 to {MAX_LOOKBACK_DAYS} days"
                )));
            }
        }
        if let Some(mb) = self.limits.memory_mb {
            if mb < 64 {
                return Err(error(format!("[limits] memory_mb = {mb}: at least 64 MiB")));
            }
        }
        if let Some(seconds) = self.limits.query_seconds {
            if !(1..=86_400).contains(&seconds) {
                return Err(error(format!(
                    "[limits] query_seconds = {seconds}: use 1 to 86400"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_match_whole_ids() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("abc", "abc"));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("a*/62e9*", "a1/62e90394"));
        assert!(glob_match("*/62e90394", "x/62e90394"));
        assert!(!glob_match("*/62e90394", "x/62e90395"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXcYb"));
    }
}
