//! The truth of `activation-then-sensitive-change`, read off the audit records the generator
//! writes, as Microsoft documents them: the windows in which users hold a role they activated
//! (PIM's `StartTime` to its `ExpirationTime`, or an earlier deactivation), and the changes
//! users make to what guards the tenant — PIM settings and alerts, Conditional Access,
//! application credentials, domain federation, and another principal's privileged role. A
//! user who makes such a change inside one of their windows is a finding. Every scenario and
//! the everyday activity are covered, whatever writes the records.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::model::activities::{activity_meaning, ActivitySource, RoleAction};
use crate::model::Instant;

/// The activity names (lowercase) of guard-rail changes that are not role events.
const GUARD_RAIL_ACTIVITIES: &[&str] = &[
    "add conditional access policy",
    "update conditional access policy",
    "delete conditional access policy",
    "add service principal credentials",
    "set domain authentication",
    "set federation settings on domain",
];

#[derive(Debug, Default)]
pub struct SensitiveChanges {
    /// Activation request id → (user id, active from, active until), in nanoseconds.
    windows: BTreeMap<String, (String, i64, i64)>,
    /// (user id, time) of each sensitive change a user made.
    changes: Vec<(String, i64)>,
}

fn time(text: Option<&str>) -> Option<i64> {
    Instant::parse(text?).ok().map(|t| t.nanos())
}

fn detail<'a>(audit: &'a Value, key: &str) -> Option<&'a str> {
    audit["additionalDetails"]
        .as_array()?
        .iter()
        .find(|d| d["key"] == key)?["value"]
        .as_str()
}

/// The principal the record is about: its first user, group or service principal target.
fn principal(audit: &Value) -> Option<&str> {
    audit["targetResources"].as_array()?.iter().find(|t| {
        matches!(
            t["type"].as_str(),
            Some("User" | "Group" | "ServicePrincipal")
        )
    })?["id"]
        .as_str()
}

/// The role's template id: PIM's `Role` target, or Core Directory's `Role.TemplateId`.
fn role(audit: &Value) -> Option<String> {
    let targets = audit["targetResources"].as_array()?;
    let template = targets
        .iter()
        .flat_map(|t| t["modifiedProperties"].as_array().into_iter().flatten())
        .find(|p| p["displayName"] == "Role.TemplateId")
        .and_then(|p| p["newValue"].as_str().or(p["oldValue"].as_str()))
        .map(|v| v.trim_matches('"').to_string());
    template.or_else(|| {
        (audit["loggedByService"] == "PIM")
            .then(|| targets.iter().find(|t| t["type"] == "Role"))
            .flatten()
            .and_then(|t| t["id"].as_str())
            .map(str::to_string)
    })
}

impl SensitiveChanges {
    /// Notes what `audit` opens, closes or changes.
    pub fn observe(&mut self, audit: &Value, is_privileged: impl Fn(&str) -> bool) {
        let activity = audit["activityDisplayName"].as_str().unwrap_or("").trim();
        let Some(at) = time(audit["activityDateTime"].as_str()) else {
            return;
        };
        if audit["result"].as_str().is_some_and(|r| r != "success") {
            return;
        }
        let request = detail(audit, "RoleAssignmentRequestId");
        let meaning = activity_meaning(ActivitySource::EntraAudit, activity).map(|m| m.role_action);
        match meaning {
            Some(RoleAction::ActivationCompleted) => {
                let (Some(request), Some(user)) = (request, principal(audit)) else {
                    return;
                };
                let from = time(detail(audit, "StartTime")).unwrap_or(at);
                let until =
                    time(detail(audit, "ExpirationTime")).unwrap_or(at + 86_400 * 1_000_000_000);
                self.windows
                    .insert(request.to_string(), (user.to_string(), from, until));
                return;
            }
            Some(RoleAction::Deactivated) => {
                if let Some(window) = request.and_then(|r| self.windows.get_mut(r)) {
                    window.2 = window.2.min(at);
                }
                return;
            }
            _ => {}
        }
        let Some(actor) = audit["initiatedBy"]["user"]["id"].as_str() else {
            return;
        };
        let lower = activity.to_ascii_lowercase();
        let guard_rail = GUARD_RAIL_ACTIVITIES.contains(&lower.as_str())
            || (lower.starts_with("update application")
                && lower.contains("certificates and secrets management"))
            || matches!(
                meaning,
                Some(
                    RoleAction::PolicyUpdated
                        | RoleAction::PolicyRemoved
                        | RoleAction::PimAlertDisabled
                        | RoleAction::PimAlertSettingUpdated
                )
            );
        let others_role = matches!(
            meaning,
            Some(
                RoleAction::EligibleAssigned
                    | RoleAction::ActiveAssigned
                    | RoleAction::EligibleRemoved
                    | RoleAction::ActiveRemoved
                    | RoleAction::DirectRoleAdded
                    | RoleAction::DirectRoleRemoved
            )
        ) && principal(audit).is_some_and(|p| p != actor)
            && role(audit).is_some_and(|r| is_privileged(&r));
        if guard_rail || others_role {
            self.changes.push((actor.to_string(), at));
        }
    }

    /// The users who made a sensitive change while a role they activated was active.
    pub fn users_in_chains(&self) -> BTreeSet<String> {
        let mut windows_of: BTreeMap<&str, Vec<(i64, i64)>> = BTreeMap::new();
        for (user, from, until) in self.windows.values() {
            windows_of.entry(user).or_default().push((*from, *until));
        }
        self.changes
            .iter()
            .filter(|(actor, at)| {
                windows_of
                    .get(actor.as_str())
                    .is_some_and(|w| w.iter().any(|(from, until)| from <= at && at <= until))
            })
            .map(|(actor, _)| actor.clone())
            .collect()
    }
}
