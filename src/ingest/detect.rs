//! Deciding what a record is: an audit event, a sign-in, a user, a role assignment… from its
//! page's `@odata.context` when there is one, else from `@odata.type`, else from its shape.
//! Every record is classified on its own, so one file may mix kinds (an Event Hub blob holds
//! audit and sign-in records side by side).

use serde_json::Value;

use super::fields::{get, text};

/// What one record describes. Also the values of `pimwatch ingest --kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum RecordKind {
    /// Entra directory audit (Graph, Event Hub `AuditLogs`, Log Analytics `AuditLogs`).
    DirectoryAudit,
    /// Entra sign-in of any type (Graph, Event Hub, Log Analytics).
    SignIn,
    /// Azure Activity Log event (export envelope, REST shape, Log Analytics `AzureActivity`).
    ActivityLog,
    /// Windows Security event (NXLog JSON, Sentinel `SecurityEvent`).
    WindowsEvent,
    User,
    ServicePrincipal,
    Group,
    /// A member of a group (Graph `groups/{id}/members`).
    GroupMember,
    /// A PIM for Groups eligibility (`identityGovernance/privilegedAccess/group/eligibility…`):
    /// a principal who may activate membership or ownership of a group.
    GroupEligibility,
    /// A PIM for Groups assignment (`…/privilegedAccess/group/assignment…`): an active
    /// membership or ownership, standing or activated.
    GroupAssignment,
    /// A `directoryRoles` object: the tenant's object id of a built-in role, with its template
    /// id and, when expanded, its members.
    DirectoryRole,
    /// A member of a directory role (`directoryRoles/{id}/members`).
    DirectoryRoleMember,
    RoleDefinition,
    /// Active role assignment (schedule instance, schedule or plain assignment).
    RoleAssignment,
    /// Eligible role assignment (schedule instance or schedule).
    RoleEligibility,
    RoleAssignmentRequest,
    RoleEligibilityRequest,
    /// A role-management policy with its rules.
    RolePolicy,
    /// One rule of a role-management policy (Graph `.../rules` pages).
    RolePolicyRule,
    /// A role-management policy assignment (links a policy to a role).
    RolePolicyAssignment,
}

impl RecordKind {
    pub fn describe(self) -> &'static str {
        match self {
            Self::DirectoryAudit => "directory audit",
            Self::SignIn => "sign-in",
            Self::ActivityLog => "Azure Activity Log event",
            Self::WindowsEvent => "Windows Security event",
            Self::User => "user",
            Self::ServicePrincipal => "service principal",
            Self::Group => "group",
            Self::GroupMember => "group member",
            Self::GroupEligibility => "PIM for Groups eligibility",
            Self::GroupAssignment => "PIM for Groups assignment",
            Self::DirectoryRole => "directory role",
            Self::DirectoryRoleMember => "directory role member",
            Self::RoleDefinition => "role definition",
            Self::RoleAssignment => "role assignment",
            Self::RoleEligibility => "role eligibility",
            Self::RoleAssignmentRequest => "role assignment request",
            Self::RoleEligibilityRequest => "role eligibility request",
            Self::RolePolicy => "role management policy",
            Self::RolePolicyRule => "role management policy rule",
            Self::RolePolicyAssignment => "role management policy assignment",
        }
    }
}

/// Classifies a record; `None` when nothing about it is recognisable.
pub fn classify(record: &Value, context: Option<&str>) -> Option<RecordKind> {
    from_context(context)
        .or_else(|| from_odata_type(record))
        .or_else(|| from_shape(record))
}

/// The resource path of an `@odata.context` URL (the part after `$metadata#`), lowercased.
pub fn context_path(context: &str) -> String {
    context
        .rsplit_once('#')
        .map(|(_, path)| path)
        .unwrap_or(context)
        .to_ascii_lowercase()
}

fn from_context(context: Option<&str>) -> Option<RecordKind> {
    use RecordKind::*;
    let path = context_path(context?);
    if let Some(rest) = path.split("privilegedaccess/group/").nth(1) {
        if rest.starts_with("eligibility") {
            return Some(GroupEligibility);
        }
        if rest.starts_with("assignment") {
            return Some(GroupAssignment);
        }
    }
    if path.starts_with("directoryroles") {
        return Some(if path.contains("/members") {
            DirectoryRoleMember
        } else {
            DirectoryRole
        });
    }
    // Most specific first: "roleassignmentschedulerequests" also contains "roleassignment".
    const ORDERED: &[(&str, RecordKind)] = &[
        ("directoryaudits", DirectoryAudit),
        ("signins", SignIn),
        ("roleassignmentschedulerequests", RoleAssignmentRequest),
        ("roleeligibilityschedulerequests", RoleEligibilityRequest),
        ("roleeligibilityscheduleinstances", RoleEligibility),
        ("roleeligibilityschedules", RoleEligibility),
        ("roleassignmentscheduleinstances", RoleAssignment),
        ("roleassignmentschedules", RoleAssignment),
        ("rolemanagementpolicyassignments", RolePolicyAssignment),
        ("roledefinitions", RoleDefinition),
        ("roleassignments", RoleAssignment),
    ];
    if let Some((_, kind)) = ORDERED.iter().find(|(needle, _)| path.contains(needle)) {
        return Some(*kind);
    }
    if path.contains("rolemanagementpolicies") {
        return Some(if path.ends_with("/rules") || path.contains("/rules(") {
            RolePolicyRule
        } else {
            RolePolicy
        });
    }
    if path.contains("/members") || path.contains("/transitivemembers") {
        return Some(GroupMember);
    }
    if path.starts_with("users") {
        return Some(User);
    }
    if path.starts_with("serviceprincipals") {
        return Some(ServicePrincipal);
    }
    if path.starts_with("groups") {
        return Some(Group);
    }
    None
}

fn from_odata_type(record: &Value) -> Option<RecordKind> {
    use RecordKind::*;
    let odata_type = text(record, "@odata.type")?.to_ascii_lowercase();
    let name = odata_type
        .trim_start_matches('#')
        .trim_start_matches("microsoft.graph.");
    Some(match name {
        "user" => User,
        "serviceprincipal" => ServicePrincipal,
        "group" => Group,
        "directoryrole" => DirectoryRole,
        "privilegedaccessgroupeligibilityscheduleinstance"
        | "privilegedaccessgroupeligibilityschedule" => GroupEligibility,
        "privilegedaccessgroupassignmentscheduleinstance"
        | "privilegedaccessgroupassignmentschedule" => GroupAssignment,
        "directoryaudit" => DirectoryAudit,
        "signin" => SignIn,
        "unifiedroledefinition" => RoleDefinition,
        "unifiedroleassignment"
        | "unifiedroleassignmentscheduleinstance"
        | "unifiedroleassignmentschedule" => RoleAssignment,
        "unifiedroleeligibilityscheduleinstance" | "unifiedroleeligibilityschedule" => {
            RoleEligibility
        }
        "unifiedroleassignmentschedulerequest" => RoleAssignmentRequest,
        "unifiedroleeligibilityschedulerequest" => RoleEligibilityRequest,
        "unifiedrolemanagementpolicy" => RolePolicy,
        "unifiedrolemanagementpolicyassignment" => RolePolicyAssignment,
        n if n.starts_with("unifiedrolemanagementpolicy") && n.ends_with("rule") => RolePolicyRule,
        _ => return None,
    })
}

/// The `category` of an export envelope: a string, or `{value: …}` in the Activity REST shape.
pub fn envelope_category(record: &Value) -> Option<String> {
    match get(record, "category")? {
        Value::String(s) => Some(s.clone()),
        Value::Object(_) => get(record, "category").and_then(|c| text(c, "value")),
        _ => None,
    }
}

/// Categories of the Azure Activity Log.
const ACTIVITY_LOG_CATEGORIES: &[&str] = &[
    "Administrative",
    "Security",
    "ServiceHealth",
    "Alert",
    "Recommendation",
    "Policy",
    "Autoscale",
    "ResourceHealth",
];

fn is_sign_in_category(category: &str) -> bool {
    let c = category.to_ascii_lowercase();
    c.ends_with("signinlogs") || c == "signinlogs"
}

fn from_shape(record: &Value) -> Option<RecordKind> {
    use RecordKind::*;
    let has = |key: &str| get(record, key).is_some();

    // Log Analytics exports name their table; ARM resources their resource type.
    if let Some(table) = text(record, "Type") {
        if let Some(kind) = arm_resource_kind(&table) {
            return Some(kind);
        }
        match table.to_ascii_lowercase().as_str() {
            "auditlogs" => return Some(DirectoryAudit),
            "signinlogs"
            | "aadnoninteractiveusersigninlogs"
            | "aadserviceprincipalsigninlogs"
            | "aadmanagedidentitysigninlogs" => return Some(SignIn),
            "azureactivity" => return Some(ActivityLog),
            "securityevent" | "windowsevent" => return Some(WindowsEvent),
            _ => {}
        }
    }
    // The Entra admin center's "Download" CSV of audit logs.
    if has("Date (UTC)") && has("Activity") {
        return Some(DirectoryAudit);
    }
    if has("EventID") && (has("Channel") || has("SourceName") || has("Computer") || has("Hostname"))
    {
        return Some(WindowsEvent);
    }
    let category = envelope_category(record);
    if let Some(category) = &category {
        if category.eq_ignore_ascii_case("AuditLogs") {
            return Some(DirectoryAudit);
        }
        if is_sign_in_category(category) {
            return Some(SignIn);
        }
    }
    // Graph objects and Log Analytics rows (whose `Category` is the Graph category).
    if has("activityDisplayName") && (has("activityDateTime") || has("TimeGenerated")) {
        return Some(DirectoryAudit);
    }
    if has("OperationNameValue") || has("eventDataId") {
        return Some(ActivityLog);
    }
    if category.is_some_and(|c| {
        ACTIVITY_LOG_CATEGORIES
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&c))
    }) && has("operationName")
    {
        return Some(ActivityLog);
    }
    if has("authenticationRequirement")
        || has("conditionalAccessStatus")
        || (has("createdDateTime") && has("appDisplayName") && (has("status") || has("ResultType")))
    {
        return Some(SignIn);
    }
    if has("rules") || has("effectiveRules") {
        return Some(RolePolicy);
    }
    if has("policyId") && has("roleDefinitionId") {
        return Some(RolePolicyAssignment);
    }
    if has("ruleType")
        || (has("target") && text(record, "id").is_some_and(|id| is_policy_rule_id(&id)))
    {
        return Some(RolePolicyRule);
    }
    if has("rolePermissions") || (has("templateId") && has("isBuiltIn")) {
        return Some(RoleDefinition);
    }
    if has("roleTemplateId") {
        return Some(DirectoryRole);
    }
    if has("groupId") && has("accessId") && has("principalId") {
        return Some(if has("assignmentType") || has("assignmentScheduleId") {
            GroupAssignment
        } else {
            GroupEligibility
        });
    }
    let body = record_body(record);
    let body_has = |key: &str| get(body, key).is_some();
    if body_has("principalId") && body_has("roleDefinitionId") {
        if body_has("action") && body_has("status") {
            return Some(RoleAssignmentRequest);
        }
        if body_has("roleEligibilityScheduleId") {
            return Some(RoleEligibility);
        }
        if !body_has("assignmentType")
            && body_has("memberType")
            && !body_has("roleAssignmentOriginId")
        {
            return Some(RoleEligibility);
        }
        return Some(RoleAssignment);
    }
    if has("servicePrincipalType") || (has("appId") && has("servicePrincipalNames")) {
        return Some(ServicePrincipal);
    }
    if has("securityEnabled") || has("groupTypes") || has("isAssignableToRole") {
        return Some(Group);
    }
    if has("userPrincipalName") || has("signInActivity") {
        return Some(User);
    }
    None
}

/// The kind of an ARM resource by its `type` (`Microsoft.Authorization/roleManagementPolicies`,
/// any case).
fn arm_resource_kind(resource_type: &str) -> Option<RecordKind> {
    use RecordKind::*;
    let lower = resource_type.to_ascii_lowercase();
    let name = lower.strip_prefix("microsoft.authorization/")?;
    Some(match name {
        "rolemanagementpolicies" => RolePolicy,
        "rolemanagementpolicyassignments" | "rolemanagementpolicyassignment" => {
            RolePolicyAssignment
        }
        "roleassignmentscheduleinstances" | "roleassignmentschedules" | "roleassignments" => {
            RoleAssignment
        }
        "roleeligibilityscheduleinstances" | "roleeligibilityschedules" => RoleEligibility,
        "roleassignmentschedulerequests" => RoleAssignmentRequest,
        "roleeligibilityschedulerequests" => RoleEligibilityRequest,
        "roledefinitions" => RoleDefinition,
        _ => return None,
    })
}

/// ARM resources put their fields under `properties`; Graph objects have them at the top.
pub fn record_body(record: &Value) -> &Value {
    match get(record, "properties") {
        Some(props) if props.is_object() && get(props, "principalId").is_some() => props,
        _ => record,
    }
}

fn is_policy_rule_id(id: &str) -> bool {
    [
        "Enablement_",
        "Expiration_",
        "Approval_",
        "AuthenticationContext_",
        "Notification_",
    ]
    .iter()
    .any(|prefix| id.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_decides_before_shape() {
        let ctx = "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignmentScheduleRequests/$entity";
        assert_eq!(
            classify(&json!({"id": "x"}), Some(ctx)),
            Some(RecordKind::RoleAssignmentRequest)
        );
        let rules = "https://graph.microsoft.com/v1.0/$metadata#policies/roleManagementPolicies('DirectoryRole_x_y')/rules";
        assert_eq!(
            classify(&json!({}), Some(rules)),
            Some(RecordKind::RolePolicyRule)
        );
        assert_eq!(
            classify(&json!({}), Some("x#users(displayName,signInActivity)")),
            Some(RecordKind::User)
        );
        assert_eq!(
            classify(&json!({}), Some("x#groups('abc')/members")),
            Some(RecordKind::GroupMember)
        );
    }

    #[test]
    fn envelopes_are_told_apart_by_category() {
        assert_eq!(
            classify(&json!({"category": "AuditLogs", "properties": {}}), None),
            Some(RecordKind::DirectoryAudit)
        );
        assert_eq!(
            classify(&json!({"category": "NonInteractiveUserSignInLogs"}), None),
            Some(RecordKind::SignIn)
        );
        assert_eq!(
            classify(
                &json!({"category": {"value": "Administrative"}, "operationName": {"value": "x"}, "eventDataId": "1"}),
                None
            ),
            Some(RecordKind::ActivityLog)
        );
        assert_eq!(
            classify(&json!({"EventID": 4728, "Channel": "Security"}), None),
            Some(RecordKind::WindowsEvent)
        );
        assert_eq!(classify(&json!({"nothing": 1}), None), None);
    }
}
