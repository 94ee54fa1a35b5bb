//! The periodic access review auditors ask for: every holding of a privileged role as of a
//! time, one row per (principal, role, scope, kind), with how it was granted, how it was used
//! in the review period, the evidence on the account, its open alerts, and a recommendation
//! (keep, review, remove) with its reasons; and the roles' PIM settings with what is weak in
//! them. The reviewer columns (decision, justification, reviewer, date) are left for people.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::alerts::{load_run, run_id};
use crate::engine::{DamagedFile, Engine};
use crate::lake::lake_stats;
use crate::model::Instant;
use crate::rules::ParamValue;

use super::{Workspace, WorkspaceError};

const HOLDINGS_SQL: &str = include_str!("access_review.sql");
const POLICIES_SQL: &str = include_str!("access_review_policies.sql");
/// The rule whose `stale_days` says when an account is stale, so that the review and
/// `detect` agree.
const STALE_RULE: &str = "privileged-account-stale";
const DEFAULT_STALE_DAYS: i64 = 30;
/// The longest activation people expect without a reason (PIM's own default is 8 hours).
const LONG_ACTIVATION_SECONDS: i64 = 8 * 3600;
/// An eligibility granted inside the period is unused when it has not been activated in this
/// many days since it was granted (as `eligible-role-not-activated` counts by default).
const UNUSED_DAYS: u32 = 30;

/// What to review.
#[derive(Debug, Clone, Copy)]
pub struct AccessReviewRequest {
    pub as_of: Instant,
    /// Days before `as_of` the review covers (activations, active hours, MFA).
    pub period_days: u32,
}

/// What a reviewer is advised to do with a holding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Recommendation {
    Keep,
    Review,
    Remove,
}

impl Recommendation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keep => "keep",
            Self::Review => "review",
            Self::Remove => "remove",
        }
    }
}

/// One holding under review.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    pub principal_id: String,
    pub principal_name: String,
    pub upn: Option<String>,
    pub principal_type: String,
    pub is_external: bool,
    pub is_synced: bool,
    pub account_enabled: bool,
    pub is_break_glass: bool,
    pub role_id: String,
    pub role_name: String,
    pub tier: i64,
    pub scope: String,
    /// `eligible` or `active`.
    pub kind: String,
    pub is_permanent: bool,
    pub end_time: Option<String>,
    pub granted_at: Option<String>,
    /// `PIM`, `outside PIM`, `group <id>`, or unknown when the logs do not show the grant.
    pub granted_how: String,
    pub granted_by: Option<String>,
    pub last_activation: Option<String>,
    pub activations: i64,
    pub active_hours: f64,
    /// `successful`, `attempts` or `absent` (the export had no `signInActivity`).
    pub sign_in_activity: Option<String>,
    pub last_signed_in: Option<String>,
    pub last_mfa: Option<String>,
    pub last_mfa_method: Option<String>,
    /// Rules with an open alert on this principal (and role) in the run the review read.
    pub open_alerts: Vec<String>,
    pub recommendation: Recommendation,
    pub reasons: Vec<String>,
}

/// A privileged role's PIM settings and what is weak in them.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRow {
    pub role_id: String,
    pub role_name: String,
    pub tier: i64,
    pub scope: String,
    pub weak: Vec<String>,
}

/// The review.
#[derive(Debug, Clone)]
pub struct AccessReview {
    pub as_of: Instant,
    pub period_days: u32,
    pub period_start: Instant,
    /// The oldest activity in the lake, when it starts after the period does: the review saw
    /// less history than the period asks for, and says so in its reasons.
    pub history_from: Option<Instant>,
    pub stale_days: i64,
    pub rows: Vec<ReviewRow>,
    pub policies: Vec<PolicyRow>,
    /// The stored detect run the open alerts come from (the newest at or before `as_of`).
    pub alerts_run: Option<String>,
    pub generated_at: Instant,
    pub damaged: Vec<DamagedFile>,
}

fn text(row: &Map<String, Value>, key: &str) -> Option<String> {
    match row.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    }
}

fn flag(row: &Map<String, Value>, key: &str) -> bool {
    row.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn number(row: &Map<String, Value>, key: &str) -> Option<i64> {
    row.get(key).and_then(Value::as_i64)
}

impl Workspace {
    /// Every privileged holding as of `request.as_of`, with its evidence and recommendation.
    pub async fn access_review(
        &self,
        request: &AccessReviewRequest,
    ) -> Result<AccessReview, WorkspaceError> {
        self.require_data()?;
        let as_of = request.as_of;
        let period_start = as_of
            .days_before(request.period_days)
            .unwrap_or(Instant::MIN);
        let options = self.engine_options(as_of, None);
        let engine = Engine::open_with(&self.lake, &options).await?;
        let mut params = options.time_params();
        params.push((
            "period_start".into(),
            datafusion::scalar::ScalarValue::TimestampNanosecond(
                Some(period_start.nanos()),
                Some("UTC".into()),
            ),
        ));
        let reading = |what| move |source| WorkspaceError::Reading { what, source };
        let holdings = engine
            .query_with_params(HOLDINGS_SQL, params.clone())
            .await
            .map_err(reading("reading the holdings for the access review"))?;
        let policies = engine
            .query_with_params(POLICIES_SQL, params)
            .await
            .map_err(reading("reading the PIM policies for the access review"))?;

        let history_from = lake_stats(&self.lake)?
            .tables
            .iter()
            .filter(|t| matches!(t.table, "audit_events" | "sign_ins"))
            .filter_map(|t| t.min_time)
            .min()
            .map(Instant::from_nanos)
            .filter(|&oldest| oldest > period_start);

        let alerts_run = self
            .stored_runs()?
            .into_iter()
            .rev()
            .find(|r| *r <= run_id(as_of));
        let open_alerts = match &alerts_run {
            Some(run) => load_run(&self.lake, run)?
                .into_iter()
                .filter(|a| a.status.is_open())
                .map(|a| (a.entity_id, a.rule_id.to_string()))
                .collect(),
            None => Vec::new(),
        };

        let stale_days = self.stale_days();
        let context = Judging {
            as_of,
            period_start,
            period_days: request.period_days,
            history_from,
            stale_days,
        };
        let rows = crate::report::json_rows(&holdings)?
            .iter()
            .map(|row| context.judge(row, &open_alerts))
            .collect();
        let policies = crate::report::json_rows(&policies)?
            .iter()
            .map(weak_settings)
            .collect();
        Ok(AccessReview {
            as_of,
            period_days: request.period_days,
            period_start,
            history_from,
            stale_days,
            rows,
            policies,
            alerts_run,
            generated_at: Instant::now(),
            damaged: engine.damaged().to_vec(),
        })
    }

    /// `stale_days` of the stale-account rule, with config's override, as `detect` uses it.
    fn stale_days(&self) -> i64 {
        let configured = self
            .rules
            .get(STALE_RULE)
            .and_then(|rule| {
                self.config
                    .rules
                    .params
                    .get(&rule.id)
                    .and_then(|p| p.get("stale_days"))
                    .or_else(|| rule.params.get("stale_days"))
            })
            .cloned();
        match configured {
            Some(ParamValue::Int(days)) if days > 0 => days,
            _ => DEFAULT_STALE_DAYS,
        }
    }
}

/// What the recommendation of a row is judged against.
struct Judging {
    as_of: Instant,
    period_start: Instant,
    period_days: u32,
    history_from: Option<Instant>,
    stale_days: i64,
}

impl Judging {
    fn judge(&self, row: &Map<String, Value>, open_alerts: &[(String, String)]) -> ReviewRow {
        let principal_id = text(row, "principal_id").unwrap_or_default();
        let role_id = text(row, "role_id").unwrap_or_default();
        let mut review = ReviewRow {
            principal_name: text(row, "principal_name").unwrap_or_else(|| principal_id.clone()),
            upn: text(row, "upn"),
            principal_type: text(row, "principal_type").unwrap_or_else(|| "unknown".into()),
            is_external: flag(row, "is_external"),
            is_synced: flag(row, "is_synced"),
            account_enabled: row
                .get("account_enabled")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            is_break_glass: flag(row, "is_break_glass"),
            role_name: text(row, "role_name").unwrap_or_else(|| role_id.clone()),
            tier: number(row, "tier").unwrap_or(2),
            scope: text(row, "scope").unwrap_or_else(|| "/".into()),
            kind: text(row, "kind").unwrap_or_default(),
            is_permanent: flag(row, "is_permanent"),
            end_time: text(row, "end_time"),
            granted_at: text(row, "granted_at"),
            granted_how: text(row, "granted_how").unwrap_or_default(),
            granted_by: text(row, "granted_by"),
            last_activation: text(row, "last_activation"),
            activations: number(row, "activations").unwrap_or(0),
            active_hours: row
                .get("active_hours")
                .and_then(Value::as_f64)
                .map(|h| (h * 10.0).round() / 10.0)
                .unwrap_or(0.0),
            sign_in_activity: text(row, "sign_in_activity"),
            last_signed_in: text(row, "last_signed_in"),
            last_mfa: text(row, "last_mfa"),
            last_mfa_method: text(row, "last_mfa_method"),
            open_alerts: Vec::new(),
            recommendation: Recommendation::Keep,
            reasons: Vec::new(),
            principal_id,
            role_id,
        };
        review.open_alerts = open_alerts
            .iter()
            .filter(|(entity, _)| {
                let mut parts = entity.split('/');
                parts.next() == Some(review.principal_id.as_str())
                    && parts.all(|p| p == review.role_id || !is_guid(p))
            })
            .map(|(_, rule)| rule.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let (recommendation, reasons) = self.recommend(&review);
        review.recommendation = recommendation;
        review.reasons = reasons;
        review
    }

    /// The recommendation and every reason for it: the strongest reason decides.
    /// "no activation in 90 days", or how much of the period the lake's activity covers.
    fn unused_for_the_period(&self) -> String {
        match self.history_from {
            Some(from) => format!(
                "no activation since {} (the lake's activity starts there; the period asks for {} days)",
                from.to_rfc3339().get(..10).unwrap_or_default(),
                self.period_days
            ),
            None => format!("no activation in {} days", self.period_days),
        }
    }

    fn recommend(&self, r: &ReviewRow) -> (Recommendation, Vec<String>) {
        let mut found: Vec<(Recommendation, String)> = Vec::new();
        let mut say = |level, reason: String| found.push((level, reason));
        if r.principal_type == "group" {
            return (
                Recommendation::Keep,
                vec!["a role-assignable group: its members are reviewed in their own rows".into()],
            );
        }
        if r.is_break_glass {
            // An emergency account is kept whatever its use: it exists for the day nothing
            // else works. What matters is that it works and is watched.
            let mut reasons = vec!["break-glass account: keep, and test it regularly".to_string()];
            if !r.account_enabled {
                reasons.insert(
                    0,
                    "break-glass account is disabled: it will not work when needed".into(),
                );
                return (Recommendation::Review, reasons);
            }
            if !r.open_alerts.is_empty() {
                reasons.insert(0, format!("open alerts: {}", r.open_alerts.join(", ")));
                return (Recommendation::Review, reasons);
            }
            return (Recommendation::Keep, reasons);
        }
        if !r.account_enabled {
            say(
                Recommendation::Remove,
                "disabled account still holds the role".into(),
            );
        }
        if r.principal_type == "user" {
            let last = r
                .last_signed_in
                .as_deref()
                .and_then(|t| Instant::parse(t).ok());
            let stale_since = self.as_of.days_before(self.stale_days as u32);
            match (r.sign_in_activity.as_deref(), last) {
                (Some("absent") | None, _) => say(
                    Recommendation::Review,
                    "last sign-in unknown: the export has no signInActivity".into(),
                ),
                (_, None) => say(
                    Recommendation::Remove,
                    "stale account: never signed in".into(),
                ),
                (_, Some(last)) if stale_since.is_some_and(|s| last < s) => say(
                    Recommendation::Remove,
                    format!(
                        "stale account: no successful sign-in in {} days (last {})",
                        self.stale_days,
                        last.to_rfc3339().get(..10).unwrap_or_default()
                    ),
                ),
                _ => {}
            }
        }
        if r.is_external {
            if r.tier == 0 {
                say(Recommendation::Remove, "guest holding a tier-0 role".into());
            } else {
                say(
                    Recommendation::Review,
                    "guest holding a privileged role".into(),
                );
            }
        }
        if r.kind == "active" && r.is_permanent {
            let what = if r.tier == 0 {
                "standing access to a tier-0 role"
            } else {
                "standing access to a privileged role"
            };
            say(
                Recommendation::Review,
                format!("{what}: make it eligible and activate just in time"),
            );
        }
        let granted = r.granted_at.as_deref().and_then(|t| Instant::parse(t).ok());
        let unused_since = self.as_of.days_before(UNUSED_DAYS);
        if r.kind == "eligible" && r.activations == 0 {
            match granted {
                // Eligible all through the period and never activated in it.
                None => say(Recommendation::Remove, self.unused_for_the_period()),
                Some(at) if at <= self.period_start => {
                    say(Recommendation::Remove, self.unused_for_the_period())
                }
                // Granted inside the period, long enough ago to have been used.
                Some(at) if unused_since.is_some_and(|u| at <= u) => say(
                    Recommendation::Remove,
                    format!(
                        "no activation in the {} days since it was granted ({})",
                        (self.as_of.nanos() - at.nanos()) / 86_400_000_000_000,
                        at.to_rfc3339().get(..10).unwrap_or_default()
                    ),
                ),
                Some(_) => {}
            }
        }
        if r.is_synced && r.tier == 0 {
            say(
                Recommendation::Review,
                "synced from on-premises: a tier-0 account should be cloud-only".into(),
            );
        }
        if r.granted_how == "outside PIM" {
            say(Recommendation::Review, "granted outside PIM".into());
        }
        if !r.open_alerts.is_empty() {
            say(
                Recommendation::Review,
                format!("open alerts: {}", r.open_alerts.join(", ")),
            );
        }
        match found.iter().map(|(level, _)| *level).max() {
            Some(level) => {
                let mut reasons: Vec<String> = found
                    .iter()
                    .filter(|(l, _)| *l == level)
                    .map(|(_, reason)| reason.clone())
                    .collect();
                reasons.extend(
                    found
                        .iter()
                        .filter(|(l, _)| *l != level)
                        .map(|(_, reason)| reason.clone()),
                );
                (level, reasons)
            }
            None => {
                let reason = if r.kind == "eligible" && r.activations > 0 {
                    format!(
                        "in use: activated {} time(s) in the period ({} active hours)",
                        r.activations, r.active_hours
                    )
                } else if r.kind == "eligible" {
                    "eligible since the period began, not activated yet".to_string()
                } else {
                    "time-bound active assignment".to_string()
                };
                (Recommendation::Keep, vec![reason])
            }
        }
    }
}

fn is_guid(text: &str) -> bool {
    text.len() == 36 && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// A role's PIM settings, and what in them is weak.
fn weak_settings(row: &Map<String, Value>) -> PolicyRow {
    let bool_of = |key: &str| row.get(key).and_then(Value::as_bool);
    let mut weak = Vec::new();
    if bool_of("activation_mfa_required") == Some(false)
        && bool_of("activation_auth_context_required") != Some(true)
    {
        weak.push("activation without MFA".to_string());
    }
    if bool_of("activation_justification_required") == Some(false) {
        weak.push("no justification on activation".into());
    }
    if bool_of("approval_required") == Some(true) && number(row, "approver_count").unwrap_or(0) == 0
    {
        weak.push("approval required but no approver named".into());
    }
    let tier = number(row, "tier").unwrap_or(2);
    if tier == 0 && bool_of("approval_required") == Some(false) {
        weak.push("tier-0 activation without approval".into());
    }
    if let Some(seconds) = number(row, "activation_max_seconds") {
        if seconds > LONG_ACTIVATION_SECONDS {
            weak.push(format!("activations last up to {} hours", seconds / 3600));
        }
    }
    if bool_of("eligible_expiration_required") == Some(false) {
        weak.push("permanent eligibility allowed".into());
    }
    if bool_of("active_expiration_required") == Some(false) {
        weak.push("permanent active assignment allowed".into());
    }
    if number(row, "activation_notify_count") == Some(0) && tier == 0 {
        weak.push("activations notify nobody beyond the defaults".into());
    }
    PolicyRow {
        role_id: text(row, "role_id").unwrap_or_default(),
        role_name: text(row, "role_name").unwrap_or_default(),
        tier,
        scope: text(row, "scope").unwrap_or_else(|| "/".into()),
        weak,
    }
}

/// How the rows are grouped in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum GroupBy {
    /// One section per role (the default).
    #[default]
    Role,
    /// One section per principal.
    Principal,
}

impl AccessReview {
    /// The rows in the order `group_by` lists them, with each row's group name.
    pub fn grouped(&self, group_by: GroupBy) -> BTreeMap<String, Vec<&ReviewRow>> {
        let mut groups: BTreeMap<String, Vec<&ReviewRow>> = BTreeMap::new();
        for row in &self.rows {
            let key = match group_by {
                GroupBy::Role => format!("{} (tier {})", row.role_name, row.tier),
                GroupBy::Principal => match &row.upn {
                    Some(upn) => format!("{} <{upn}>", row.principal_name),
                    None => row.principal_name.clone(),
                },
            };
            groups.entry(key).or_default().push(row);
        }
        groups
    }
}
