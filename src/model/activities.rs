//! The activity catalogue: every role-related activity name that Entra PIM, Core Directory,
//! the Azure Activity Log and Windows Security write, mapped to its normalized meaning.
//!
//! Rules key on [`RoleAction`], never on raw activity strings: the same lifecycle step has
//! different names in different logs (and Microsoft's names carry typos such as `comleted`).
//! This module knows nothing about file formats; readers hand it a name and get a meaning.

use std::fmt;

/// The application id of PIM's own service principal ("MS-PIM"), which makes the Core
/// Directory change behind every PIM action. The same in every tenant and cloud; the service
/// principal's object id differs per tenant.
pub const MS_PIM_APP_ID: &str = "01fc33a7-78ba-4d2f-a4b7-768e336e890e";

/// Display names PIM's service principal goes by (`MS-PIM-Fairfax` in US Government clouds).
/// A name alone proves nothing: any app can be called that.
pub const MS_PIM_NAMES: &[&str] = &["MS-PIM", "MS-PIM-Fairfax"];

/// The normalized meaning of a role event (`audit_events.role_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleAction {
    ActivationRequested,
    ActivationApprovalRequested,
    ActivationApproved,
    ActivationDenied,
    ActivationCompleted,
    ActivationCanceled,
    ActivationRequestExpired,
    ActivationExpired,
    DeactivationRequested,
    Deactivated,
    EligibleAssignRequested,
    EligibleAssigned,
    EligibleAssignCanceled,
    EligibleRemoveRequested,
    EligibleRemoved,
    EligibleRestored,
    ActiveAssignRequested,
    ActiveAssigned,
    ActiveAssignCanceled,
    ActiveRemoveRequested,
    ActiveRemoved,
    ActiveRestored,
    AssignedOutsidePim,
    DirectRoleAdded,
    DirectRoleRemoved,
    AssignmentExtendRequested,
    AssignmentExtendCanceled,
    AssignmentExtended,
    AssignmentExtendDenied,
    RequestApproved,
    RequestCanceled,
    RequestProcessed,
    RequestRemoved,
    PolicyUpdated,
    PolicyRemoved,
    PimAlertTriggered,
    PimAlertResolved,
    PimAlertDisabled,
    PimAlertEnabled,
    PimAlertSettingUpdated,
    PimAlertRefreshed,
    ResourceOnboarded,
    ResourceOffboarded,
    ResourceUpdated,
    TenantOffboarded,
    RoleDefinitionCreated,
    RoleDefinitionUpdated,
    RoleDefinitionDeleted,
    ElevatedAccess,
}

impl RoleAction {
    /// The snake_case value stored in the lake.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ActivationRequested => "activation_requested",
            Self::ActivationApprovalRequested => "activation_approval_requested",
            Self::ActivationApproved => "activation_approved",
            Self::ActivationDenied => "activation_denied",
            Self::ActivationCompleted => "activation_completed",
            Self::ActivationCanceled => "activation_canceled",
            Self::ActivationRequestExpired => "activation_request_expired",
            Self::ActivationExpired => "activation_expired",
            Self::DeactivationRequested => "deactivation_requested",
            Self::Deactivated => "deactivated",
            Self::EligibleAssignRequested => "eligible_assign_requested",
            Self::EligibleAssigned => "eligible_assigned",
            Self::EligibleAssignCanceled => "eligible_assign_canceled",
            Self::EligibleRemoveRequested => "eligible_remove_requested",
            Self::EligibleRemoved => "eligible_removed",
            Self::EligibleRestored => "eligible_restored",
            Self::ActiveAssignRequested => "active_assign_requested",
            Self::ActiveAssigned => "active_assigned",
            Self::ActiveAssignCanceled => "active_assign_canceled",
            Self::ActiveRemoveRequested => "active_remove_requested",
            Self::ActiveRemoved => "active_removed",
            Self::ActiveRestored => "active_restored",
            Self::AssignedOutsidePim => "assigned_outside_pim",
            Self::DirectRoleAdded => "direct_role_added",
            Self::DirectRoleRemoved => "direct_role_removed",
            Self::AssignmentExtendRequested => "assignment_extend_requested",
            Self::AssignmentExtendCanceled => "assignment_extend_canceled",
            Self::AssignmentExtended => "assignment_extended",
            Self::AssignmentExtendDenied => "assignment_extend_denied",
            Self::RequestApproved => "request_approved",
            Self::RequestCanceled => "request_canceled",
            Self::RequestProcessed => "request_processed",
            Self::RequestRemoved => "request_removed",
            Self::PolicyUpdated => "policy_updated",
            Self::PolicyRemoved => "policy_removed",
            Self::PimAlertTriggered => "pim_alert_triggered",
            Self::PimAlertResolved => "pim_alert_resolved",
            Self::PimAlertDisabled => "pim_alert_disabled",
            Self::PimAlertEnabled => "pim_alert_enabled",
            Self::PimAlertSettingUpdated => "pim_alert_setting_updated",
            Self::PimAlertRefreshed => "pim_alert_refreshed",
            Self::ResourceOnboarded => "resource_onboarded",
            Self::ResourceOffboarded => "resource_offboarded",
            Self::ResourceUpdated => "resource_updated",
            Self::TenantOffboarded => "tenant_offboarded",
            Self::RoleDefinitionCreated => "role_definition_created",
            Self::RoleDefinitionUpdated => "role_definition_updated",
            Self::RoleDefinitionDeleted => "role_definition_deleted",
            Self::ElevatedAccess => "elevated_access",
        }
    }

    /// Whether the event is about one of PIM's security alerts (its record names the alert as
    /// an `Other` target, not a principal).
    pub fn is_pim_alert(self) -> bool {
        matches!(
            self,
            Self::PimAlertTriggered
                | Self::PimAlertResolved
                | Self::PimAlertDisabled
                | Self::PimAlertEnabled
                | Self::PimAlertSettingUpdated
                | Self::PimAlertRefreshed
        )
    }
}

impl fmt::Display for RoleAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of assignment an event is about (`audit_events.assignment_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentKind {
    /// Eligible (must be activated before use).
    Eligible,
    /// Active, standing assignment.
    Active,
    /// Just-in-time activation of an eligible assignment.
    Activation,
}

impl AssignmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eligible => "eligible",
            Self::Active => "active",
            Self::Activation => "activation",
        }
    }
}

/// How long the assignment an event creates lasts (`audit_events.duration_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationKind {
    Permanent,
    Timebound,
    Renew,
    Extend,
}

impl DurationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Permanent => "permanent",
            Self::Timebound => "timebound",
            Self::Renew => "renew",
            Self::Extend => "extend",
        }
    }
}

/// The normalized meaning of one activity name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityMeaning {
    pub role_action: RoleAction,
    pub assignment_kind: Option<AssignmentKind>,
    pub duration_kind: Option<DurationKind>,
}

/// Which log an activity name comes from; the same words can mean different things in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivitySource {
    /// Entra directory audit (PIM, Core Directory, Azure RBAC via Entra) and Azure-resource
    /// PIM events in the Activity Log, which reuse the PIM activity names.
    EntraAudit,
    /// Azure Activity Log `operationName` (e.g. `Microsoft.Authorization/roleAssignments/write`).
    AzureActivity,
}

use AssignmentKind as A;
use DurationKind as D;
use RoleAction as R;

const fn meaning(
    role_action: RoleAction,
    assignment_kind: Option<AssignmentKind>,
    duration_kind: Option<DurationKind>,
) -> ActivityMeaning {
    ActivityMeaning {
        role_action,
        assignment_kind,
        duration_kind,
    }
}

/// Exact (case-insensitive) activity names that do not follow the PIM grammar parsed by
/// [`parse_pim_lifecycle`]: Core Directory, alerts, policies, resources and requests.
const EXACT: &[(&str, ActivityMeaning)] = &[
    // Core Directory writes these; the ones initiated by the MS-PIM app are PIM twins.
    (
        "Add member to role",
        meaning(R::DirectRoleAdded, Some(A::Active), None),
    ),
    (
        "Add scoped member to role",
        meaning(R::DirectRoleAdded, Some(A::Active), None),
    ),
    (
        "Remove member from role",
        meaning(R::DirectRoleRemoved, Some(A::Active), None),
    ),
    (
        "Remove scoped member from role",
        meaning(R::DirectRoleRemoved, Some(A::Active), None),
    ),
    (
        "Add eligible member to role",
        meaning(R::EligibleAssigned, Some(A::Eligible), None),
    ),
    (
        "Remove eligible member from role",
        meaning(R::EligibleRemoved, Some(A::Eligible), None),
    ),
    (
        "Add role definition",
        meaning(R::RoleDefinitionCreated, None, None),
    ),
    (
        "Update role definition",
        meaning(R::RoleDefinitionUpdated, None, None),
    ),
    (
        "Delete role definition",
        meaning(R::RoleDefinitionDeleted, None, None),
    ),
    (
        "User has elevated their access to User Access Administrator for their Azure Resources",
        meaning(R::ElevatedAccess, Some(A::Active), None),
    ),
    // PIM
    (
        "Add member to role outside of PIM (permanent)",
        meaning(R::AssignedOutsidePim, Some(A::Active), Some(D::Permanent)),
    ),
    (
        "Add member to role requested (PIM activation)",
        meaning(R::ActivationRequested, Some(A::Activation), None),
    ),
    (
        "Add member to role approval requested (PIM activation)",
        meaning(R::ActivationApprovalRequested, Some(A::Activation), None),
    ),
    (
        "Add member to role request approved (PIM activation)",
        meaning(R::ActivationApproved, Some(A::Activation), None),
    ),
    (
        "Add member to role request denied (PIM activation)",
        meaning(R::ActivationDenied, Some(A::Activation), None),
    ),
    (
        "Add member to role completed (PIM activation)",
        meaning(R::ActivationCompleted, Some(A::Activation), None),
    ),
    (
        "Add member to role canceled (PIM activation)",
        meaning(R::ActivationCanceled, Some(A::Activation), None),
    ),
    (
        "PIM activation request expired",
        meaning(R::ActivationRequestExpired, Some(A::Activation), None),
    ),
    (
        "Remove member from role (PIM activation expired)",
        meaning(R::ActivationExpired, Some(A::Activation), None),
    ),
    (
        "Remove member from role requested (PIM deactivate)",
        meaning(R::DeactivationRequested, Some(A::Activation), None),
    ),
    (
        "Remove member from role completed (PIM deactivate)",
        meaning(R::Deactivated, Some(A::Activation), None),
    ),
    (
        "Remove permanent direct role assignment",
        meaning(R::ActiveRemoved, Some(A::Active), Some(D::Permanent)),
    ),
    (
        "Remove permanent eligible role assignment",
        meaning(R::EligibleRemoved, Some(A::Eligible), Some(D::Permanent)),
    ),
    (
        "Restore permanent direct role assignment",
        meaning(R::ActiveRestored, Some(A::Active), Some(D::Permanent)),
    ),
    (
        "Restore permanent eligible role assignment",
        meaning(R::EligibleRestored, Some(A::Eligible), Some(D::Permanent)),
    ),
    (
        "Restore member from role",
        meaning(R::ActiveRestored, Some(A::Active), None),
    ),
    (
        "Restore member from role in PIM completed",
        meaning(R::ActiveRestored, Some(A::Active), None),
    ),
    (
        "Restore eligible member from role in PIM completed",
        meaning(R::EligibleRestored, Some(A::Eligible), None),
    ),
    // Microsoft's own typo, kept verbatim: it is what the log says.
    (
        "Restore eligible member from role in PIM comleted",
        meaning(R::EligibleRestored, Some(A::Eligible), None),
    ),
    (
        "Update member in PIM approved by admin (extend/renew)",
        meaning(R::AssignmentExtended, Some(A::Active), Some(D::Extend)),
    ),
    (
        "Update member in PIM denied by admin (extend/renew)",
        meaning(R::AssignmentExtendDenied, Some(A::Active), Some(D::Extend)),
    ),
    (
        "Update member in PIM requested (extend)",
        meaning(
            R::AssignmentExtendRequested,
            Some(A::Active),
            Some(D::Extend),
        ),
    ),
    (
        "Update member in PIM canceled (extend)",
        meaning(
            R::AssignmentExtendCanceled,
            Some(A::Active),
            Some(D::Extend),
        ),
    ),
    (
        "Update eligible member in PIM requested (extend)",
        meaning(
            R::AssignmentExtendRequested,
            Some(A::Eligible),
            Some(D::Extend),
        ),
    ),
    (
        "Update eligible member in PIM canceled (extend)",
        meaning(
            R::AssignmentExtendCanceled,
            Some(A::Eligible),
            Some(D::Extend),
        ),
    ),
    (
        "Approve request - direct role assignment",
        meaning(R::RequestApproved, Some(A::Active), None),
    ),
    ("Cancel request", meaning(R::RequestCanceled, None, None)),
    (
        "Cancel request for role removal",
        meaning(R::RequestCanceled, None, None),
    ),
    (
        "Cancel request for role update",
        meaning(R::RequestCanceled, None, None),
    ),
    ("Process request", meaning(R::RequestProcessed, None, None)),
    (
        "Process role removal request",
        meaning(R::RequestProcessed, None, None),
    ),
    (
        "Process role update request",
        meaning(R::RequestProcessed, None, None),
    ),
    ("Remove request", meaning(R::RequestRemoved, None, None)),
    (
        "Update role setting in PIM",
        meaning(R::PolicyUpdated, None, None),
    ),
    ("PIM policy removed", meaning(R::PolicyRemoved, None, None)),
    (
        "Triggered PIM alert",
        meaning(R::PimAlertTriggered, None, None),
    ),
    (
        "Resolve PIM alert",
        meaning(R::PimAlertResolved, None, None),
    ),
    (
        "Disable PIM alert",
        meaning(R::PimAlertDisabled, None, None),
    ),
    (
        "Deactivate PIM alert",
        meaning(R::PimAlertDisabled, None, None),
    ),
    ("Enable PIM alert", meaning(R::PimAlertEnabled, None, None)),
    (
        "Update PIM alert setting",
        meaning(R::PimAlertSettingUpdated, None, None),
    ),
    (
        "Refresh PIM alert",
        meaning(R::PimAlertRefreshed, None, None),
    ),
    (
        "Onboarded resource to PIM",
        meaning(R::ResourceOnboarded, None, None),
    ),
    // "from" is how the other categories spell it; both are real.
    (
        "Onboarded resource from PIM",
        meaning(R::ResourceOnboarded, None, None),
    ),
    (
        "Offboarded resource from PIM",
        meaning(R::ResourceOffboarded, None, None),
    ),
    ("Resource updated", meaning(R::ResourceUpdated, None, None)),
    (
        "Tenant offboarded from PIM",
        meaning(R::TenantOffboarded, None, None),
    ),
    (
        "Role definition created",
        meaning(R::RoleDefinitionCreated, None, None),
    ),
];

/// Azure Activity Log operations (compared case-insensitively: the log writes both
/// `Microsoft.Authorization/...` and `MICROSOFT.AUTHORIZATION/...`).
const AZURE_OPERATIONS: &[(&str, ActivityMeaning)] = &[
    (
        "Microsoft.Authorization/roleAssignments/write",
        meaning(R::DirectRoleAdded, Some(A::Active), None),
    ),
    (
        "Microsoft.Authorization/roleAssignments/delete",
        meaning(R::DirectRoleRemoved, Some(A::Active), None),
    ),
    (
        "Microsoft.Authorization/elevateAccess/action",
        meaning(R::ElevatedAccess, Some(A::Active), None),
    ),
    (
        "Microsoft.Authorization/roleAssignmentScheduleRequests/write",
        meaning(R::ActiveAssignRequested, Some(A::Active), None),
    ),
    (
        "Microsoft.Authorization/roleEligibilityScheduleRequests/write",
        meaning(R::EligibleAssignRequested, Some(A::Eligible), None),
    ),
    (
        "Microsoft.Authorization/roleDefinitions/write",
        meaning(R::RoleDefinitionUpdated, None, None),
    ),
    (
        "Microsoft.Authorization/roleDefinitions/delete",
        meaning(R::RoleDefinitionDeleted, None, None),
    ),
    (
        "Microsoft.Authorization/roleManagementPolicies/write",
        meaning(R::PolicyUpdated, None, None),
    ),
];

/// Windows Security events for membership changes of security-enabled groups: the on-prem
/// equivalent of a role assignment (Domain Admins, Enterprise Admins, BUILTIN\Administrators…).
pub const WINDOWS_GROUP_EVENTS: &[(u32, &str, RoleAction)] = &[
    (
        4728,
        "A member was added to a security-enabled global group",
        R::DirectRoleAdded,
    ),
    (
        4729,
        "A member was removed from a security-enabled global group",
        R::DirectRoleRemoved,
    ),
    (
        4732,
        "A member was added to a security-enabled local group",
        R::DirectRoleAdded,
    ),
    (
        4733,
        "A member was removed from a security-enabled local group",
        R::DirectRoleRemoved,
    ),
    (
        4756,
        "A member was added to a security-enabled universal group",
        R::DirectRoleAdded,
    ),
    (
        4757,
        "A member was removed from a security-enabled universal group",
        R::DirectRoleRemoved,
    ),
];

/// The meaning of a Windows Security event id, if it is a group-membership change.
pub fn windows_event_meaning(event_id: u32) -> Option<(&'static str, ActivityMeaning)> {
    WINDOWS_GROUP_EVENTS
        .iter()
        .find(|(id, _, _)| *id == event_id)
        .map(|(_, description, action)| (*description, meaning(*action, Some(A::Active), None)))
}

/// The meaning of an activity name, or `None` when it is not a role event.
pub fn activity_meaning(source: ActivitySource, activity: &str) -> Option<ActivityMeaning> {
    let activity = activity.trim();
    match source {
        ActivitySource::EntraAudit => EXACT
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(activity))
            .map(|(_, m)| *m)
            .or_else(|| parse_pim_lifecycle(activity)),
        ActivitySource::AzureActivity => AZURE_OPERATIONS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(activity))
            .map(|(_, m)| *m)
            .or_else(|| activity_meaning(ActivitySource::EntraAudit, activity)),
    }
}

/// Parses the regular PIM assignment grammar:
/// `<Add|Remove> [eligible] member <to|from> role in PIM <requested|completed|canceled> (<duration>)`.
fn parse_pim_lifecycle(activity: &str) -> Option<ActivityMeaning> {
    let lower = activity.to_ascii_lowercase();
    let (verb, rest) = if let Some(rest) = lower.strip_prefix("add ") {
        ("add", rest)
    } else if let Some(rest) = lower.strip_prefix("remove ") {
        ("remove", rest)
    } else {
        return None;
    };
    let (eligible, rest) = match rest.strip_prefix("eligible ") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let rest = rest
        .strip_prefix("member to role in pim ")
        .or_else(|| rest.strip_prefix("member from role in pim "))?;
    let (step, duration) = match rest.split_once(" (") {
        Some((step, duration)) => (step, duration.strip_suffix(')')),
        None => (rest, None),
    };
    let duration_kind = match duration {
        Some("permanent") => Some(D::Permanent),
        Some("timebound") | Some("time bound") => Some(D::Timebound),
        Some("renew") => Some(D::Renew),
        Some("extend") => Some(D::Extend),
        Some(_) => return None,
        None => None,
    };
    let action = match (verb, eligible, step) {
        ("add", true, "requested") => R::EligibleAssignRequested,
        ("add", true, "completed") => R::EligibleAssigned,
        ("add", true, "canceled") => R::EligibleAssignCanceled,
        ("add", false, "requested") => R::ActiveAssignRequested,
        ("add", false, "completed") => R::ActiveAssigned,
        ("add", false, "canceled") => R::ActiveAssignCanceled,
        ("remove", true, "requested") => R::EligibleRemoveRequested,
        ("remove", true, "completed") => R::EligibleRemoved,
        ("remove", false, "requested") => R::ActiveRemoveRequested,
        ("remove", false, "completed") => R::ActiveRemoved,
        _ => return None,
    };
    let kind = if eligible { A::Eligible } else { A::Active };
    Some(meaning(action, Some(kind), duration_kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pim_grammar_reads_eligible_and_duration() {
        let m = activity_meaning(
            ActivitySource::EntraAudit,
            "Add eligible member to role in PIM completed (timebound)",
        );
        assert_eq!(
            m,
            Some(meaning(
                R::EligibleAssigned,
                Some(A::Eligible),
                Some(D::Timebound)
            ))
        );
    }

    #[test]
    fn azure_operations_match_any_case() {
        let m = activity_meaning(
            ActivitySource::AzureActivity,
            "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
        );
        assert_eq!(m.map(|m| m.role_action), Some(R::DirectRoleAdded));
    }

    #[test]
    fn unrelated_activity_is_not_a_role_event() {
        assert_eq!(
            activity_meaning(ActivitySource::EntraAudit, "Add member to group"),
            None
        );
    }
}
