//! PIM and role-management state (Graph `roleManagement/directory/*`, ARM
//! `Microsoft.Authorization/*` resources, role-management policies and their rules) →
//! `role_definitions`, `role_assignments`, `role_eligibilities`, `role_requests` and
//! `role_policies`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::directory::quoted_key;
use super::{CanonicalRow, FileContext};
use crate::ingest::detect::{context_path, record_body};
use crate::ingest::fields::{
    array, boolean, elements, get, lower, object, parse_iso_duration, principal_type, text,
    text_any, text_of, timestamp, RecordError,
};
use crate::model::privileged_actions::{any_control_plane, privileged_among};
use crate::model::roles::{lookup, normalize_role_id};
use crate::model::{RoleAssignment, RoleDefinition, RoleEligibility, RolePolicy, RoleRequest};

pub fn role_definition(record: &Value, file: &FileContext) -> Result<RoleDefinition, RecordError> {
    // ARM role definitions keep their fields under `properties` (`roleName`, `permissions`).
    let arm = get(record, "properties").filter(|p| p.is_object());
    let definition_id = text(record, "id");
    let role_id = text(record, "templateId")
        .or_else(|| definition_id.clone())
        .map(|id| normalize_role_id(&id))
        .ok_or_else(|| {
            RecordError::field("id", "missing: a role definition needs an id or templateId")
        })?;
    let known = lookup(&role_id);
    let allowed_actions: Vec<String> = elements(get(record, "rolePermissions"))
        .iter()
        .flat_map(|p| {
            elements(get(p, "allowedResourceActions"))
                .iter()
                .filter_map(text_of)
        })
        .chain(
            elements(arm.and_then(|a| get(a, "permissions")))
                .iter()
                .flat_map(|p| elements(get(p, "actions")).iter().filter_map(text_of)),
        )
        .collect();
    // A custom role is judged by what it allows: an export may lack `isPrivileged`, and a
    // role that can reset credentials is privileged whatever it is called.
    let privileged_actions = privileged_among(&allowed_actions);
    let is_privileged = match known {
        Some(r) => Some(r.is_privileged),
        None => {
            Some(boolean(record, "isPrivileged") == Some(true) || !privileged_actions.is_empty())
        }
    };
    let tier = match known {
        Some(r) => i64::from(r.tier),
        None if any_control_plane(&allowed_actions) => 0,
        None if is_privileged == Some(true) => 1,
        None => 2,
    };
    Ok(RoleDefinition {
        snapshot_time: Some(file.snapshot_time),
        role_id: Some(role_id),
        definition_id,
        display_name: text(record, "displayName")
            .or_else(|| arm.and_then(|a| text(a, "roleName")))
            .or_else(|| known.map(|r| r.display_name.clone())),
        description: text(record, "description")
            .or_else(|| arm.and_then(|a| text(a, "description"))),
        is_built_in: boolean(record, "isBuiltIn").or_else(|| {
            arm.and_then(|a| text(a, "type"))
                .map(|t| t.eq_ignore_ascii_case("BuiltInRole"))
        }),
        is_enabled: boolean(record, "isEnabled"),
        is_privileged,
        tier: Some(tier),
        allowed_actions,
        privileged_actions,
        ..Default::default()
    })
}

/// A `directoryRoles` object: the tenant's object id for a built-in role (what Core Directory
/// audits and `directoryRoles/{id}/members` name) and its template id; with `$expand=members`,
/// each member becomes an active assignment.
pub fn directory_role(
    record: &Value,
    file: &FileContext,
) -> Result<Vec<CanonicalRow>, RecordError> {
    let object_id = lower(text(record, "id"))
        .ok_or_else(|| RecordError::field("id", "missing: a directory role needs its object id"))?;
    let role_id = text(record, "roleTemplateId")
        .map(|t| normalize_role_id(&t))
        .ok_or_else(|| {
            RecordError::field(
                "roleTemplateId",
                "missing: a directory role names its template",
            )
        })?;
    let known = lookup(&role_id);
    let mut rows = vec![CanonicalRow::RoleDefinition(Box::new(RoleDefinition {
        snapshot_time: Some(file.snapshot_time),
        role_id: Some(role_id.clone()),
        definition_id: Some(object_id.clone()),
        display_name: text(record, "displayName").or_else(|| known.map(|r| r.display_name.clone())),
        description: text(record, "description"),
        is_built_in: Some(true),
        is_enabled: Some(true),
        is_privileged: known.map(|r| r.is_privileged),
        tier: known.map(|r| i64::from(r.tier)),
        ..Default::default()
    }))];
    for member in elements(get(record, "members")) {
        let mut row = directory_role_assignment(&role_id, &object_id, member, file)?;
        row.raw = serde_json::to_string(member).ok();
        rows.push(CanonicalRow::RoleAssignment(Box::new(row)));
    }
    Ok(rows)
}

/// A member on a `directoryRoles('<object id>')/members` page (or the
/// `directoryRoles(roleTemplateId='<template id>')/members` form). The object id is resolved
/// to the template id by the views, through the lake's `directoryRoles` snapshot.
pub fn directory_role_member(
    record: &Value,
    odata_context: Option<&str>,
    file: &FileContext,
) -> Result<RoleAssignment, RecordError> {
    let path = odata_context.map(context_path).unwrap_or_default();
    let by_template = path
        .split_once("roletemplateid='")
        .and_then(|(_, rest)| rest.split_once('\'').map(|(id, _)| id.to_string()));
    let role = by_template
        .or_else(|| quoted_key(&path, "directoryroles"))
        .or_else(|| text(record, "roleId").map(|r| r.to_ascii_lowercase()))
        .ok_or_else(|| {
            RecordError::record(
                "directory role member without its role: keep the page's @odata.context (directoryRoles('<id>')/members)",
            )
        })?;
    directory_role_assignment(
        &normalize_role_id(&role),
        &normalize_role_id(&role),
        record,
        file,
    )
}

fn directory_role_assignment(
    role_id: &str,
    object_id: &str,
    member: &Value,
    file: &FileContext,
) -> Result<RoleAssignment, RecordError> {
    let principal_id = lower(text(member, "id")).ok_or_else(|| {
        RecordError::field("id", "missing: a directory role member needs its object id")
    })?;
    let principal_type = text(member, "@odata.type").map(|t| principal_type(&t));
    Ok(RoleAssignment {
        snapshot_time: Some(file.snapshot_time),
        assignment_id: Some(format!("{object_id}/{principal_id}")),
        principal_id: Some(principal_id),
        principal_type,
        role_id: Some(role_id.to_string()),
        directory_scope_id: Some("/".into()),
        record_type: Some("directory_role_member".into()),
        ..Default::default()
    })
}

/// The common fields of schedule instances, schedules and plain assignments.
struct Schedule {
    id: String,
    principal_id: Option<String>,
    principal_type: Option<String>,
    role_id: String,
    directory_scope_id: Option<String>,
    app_scope_id: Option<String>,
    member_type: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    record_type: Option<String>,
}

fn schedule(record: &Value, odata_context: Option<&str>) -> Result<Schedule, RecordError> {
    let body = record_body(record);
    let id = text(record, "id")
        .or_else(|| text(body, "id"))
        .ok_or_else(|| RecordError::field("id", "missing"))?;
    let role_id = text(body, "roleDefinitionId")
        .map(|r| normalize_role_id(&r))
        .ok_or_else(|| RecordError::field("roleDefinitionId", "missing"))?;
    // Schedules keep their times in scheduleInfo; instances at the top level.
    let schedule_info = object(body, "scheduleInfo")?;
    let expiration = schedule_info.as_deref().and_then(|s| get(s, "expiration"));
    let start_time = match timestamp(body, "startDateTime")? {
        Some(t) => Some(t),
        None => schedule_info
            .as_deref()
            .map(|s| timestamp(s, "startDateTime"))
            .transpose()?
            .flatten(),
    };
    let end_time = match timestamp(body, "endDateTime")? {
        Some(t) => Some(t),
        None => expiration
            .map(|e| timestamp(e, "endDateTime"))
            .transpose()?
            .flatten(),
    };
    let principal = get(body, "principal")
        .or_else(|| get(body, "expandedProperties").and_then(|e| get(e, "principal")));
    let path = odata_context.map(context_path).unwrap_or_default();
    let record_type = if path.contains("scheduleinstances") {
        Some("instance")
    } else if path.contains("schedules") {
        Some("schedule")
    } else if path.contains("roleassignments") {
        Some("assignment")
    } else {
        None
    };
    Ok(Schedule {
        id,
        principal_id: lower(text(body, "principalId")),
        principal_type: text(body, "principalType")
            .or_else(|| principal.and_then(|p| text_any(p, &["@odata.type", "type"])))
            .map(|t| principal_type(&t)),
        role_id,
        directory_scope_id: text_any(body, &["directoryScopeId", "scope"]),
        app_scope_id: text(body, "appScopeId"),
        member_type: lower(text(body, "memberType")),
        start_time,
        end_time,
        record_type: record_type.map(str::to_string),
    })
}

pub fn role_assignment(
    record: &Value,
    odata_context: Option<&str>,
    file: &FileContext,
) -> Result<RoleAssignment, RecordError> {
    let body = record_body(record);
    let s = schedule(record, odata_context)?;
    let schedule_id = text_any(
        body,
        &[
            "roleAssignmentScheduleId",
            "linkedRoleEligibilityScheduleId",
        ],
    );
    let assignment_type = lower(text(body, "assignmentType"));
    let record_type = s.record_type.or_else(|| {
        Some(
            if get(body, "roleAssignmentOriginId").is_some() || assignment_type.is_some() {
                "instance".to_string()
            } else {
                "assignment".to_string()
            },
        )
    });
    // PIM names the schedule an instance came from; an instance with none was made outside
    // PIM. Plain role assignments and schedules do not tell, so the column stays null there.
    let created_outside_pim = match record_type.as_deref() {
        Some("instance") => Some(text(body, "roleAssignmentScheduleId").is_none()),
        Some("schedule") => text(body, "createdUsing").map(|_| false),
        _ => None,
    };
    Ok(RoleAssignment {
        snapshot_time: Some(file.snapshot_time),
        assignment_id: Some(s.id),
        principal_id: s.principal_id,
        principal_type: s.principal_type,
        role_id: Some(s.role_id),
        directory_scope_id: s.directory_scope_id,
        app_scope_id: s.app_scope_id,
        assignment_type,
        member_type: s.member_type,
        start_time: s.start_time,
        end_time: s.end_time,
        created_outside_pim,
        schedule_id,
        origin_id: text_any(body, &["roleAssignmentOriginId", "originRoleAssignmentId"]),
        record_type,
        ..Default::default()
    })
}

pub fn role_eligibility(
    record: &Value,
    odata_context: Option<&str>,
    file: &FileContext,
) -> Result<RoleEligibility, RecordError> {
    let body = record_body(record);
    let s = schedule(record, odata_context)?;
    let record_type = s.record_type.or_else(|| {
        Some(
            if get(body, "roleEligibilityScheduleId").is_some() {
                "instance"
            } else {
                "schedule"
            }
            .to_string(),
        )
    });
    Ok(RoleEligibility {
        snapshot_time: Some(file.snapshot_time),
        eligibility_id: Some(s.id),
        principal_id: s.principal_id,
        principal_type: s.principal_type,
        role_id: Some(s.role_id),
        directory_scope_id: s.directory_scope_id,
        app_scope_id: s.app_scope_id,
        member_type: s.member_type,
        start_time: s.start_time,
        end_time: s.end_time,
        schedule_id: text(body, "roleEligibilityScheduleId"),
        record_type,
        ..Default::default()
    })
}

/// Graph writes expiration types camelCase on output but accepts any case on input.
fn expiration_type(value: &str) -> String {
    match value.to_ascii_lowercase().as_str() {
        "notspecified" => "notSpecified".into(),
        "noexpiration" => "noExpiration".into(),
        "afterdatetime" => "afterDateTime".into(),
        "afterduration" => "afterDuration".into(),
        other => other.into(),
    }
}

pub fn role_request(
    record: &Value,
    request_kind: &str,
    file: &FileContext,
) -> Result<RoleRequest, RecordError> {
    let body = record_body(record);
    let request_id = text(record, "id")
        .or_else(|| text(body, "id"))
        .ok_or_else(|| RecordError::field("id", "missing: a request needs its id"))?;
    let schedule_info = object(body, "scheduleInfo")?;
    let expiration = schedule_info.as_deref().and_then(|s| get(s, "expiration"));
    let ticket = object(body, "ticketInfo")?;
    let duration = expiration.and_then(|e| text(e, "duration"));
    let created_by = object(body, "createdBy")?;
    Ok(RoleRequest {
        snapshot_time: Some(file.snapshot_time),
        request_id: Some(request_id),
        request_kind: Some(request_kind.into()),
        action: text_any(body, &["action", "requestType"]),
        status: text(body, "status"),
        principal_id: lower(text(body, "principalId")),
        role_id: text(body, "roleDefinitionId").map(|r| normalize_role_id(&r)),
        directory_scope_id: text_any(body, &["directoryScopeId", "scope"]),
        justification: text(body, "justification"),
        ticket_number: ticket.as_deref().and_then(|t| text(t, "ticketNumber")),
        ticket_system: ticket.as_deref().and_then(|t| text(t, "ticketSystem")),
        created_time: timestamp(body, "createdDateTime")?.or(timestamp(body, "createdOn")?),
        completed_time: timestamp(body, "completedDateTime")?,
        created_by_id: created_by
            .as_deref()
            .and_then(|c| get(c, "user").or_else(|| get(c, "application")))
            .and_then(|u| text(u, "id"))
            .or_else(|| text(body, "requestorId")),
        approval_id: text(body, "approvalId"),
        schedule_start: schedule_info
            .as_deref()
            .map(|s| timestamp(s, "startDateTime"))
            .transpose()?
            .flatten(),
        expiration_type: expiration
            .and_then(|e| text(e, "type"))
            .map(|t| expiration_type(&t)),
        expiration_end: expiration
            .map(|e| timestamp(e, "endDateTime"))
            .transpose()?
            .flatten(),
        expiration_seconds: duration.as_deref().and_then(parse_iso_duration),
        expiration_duration: duration,
        target_schedule_id: text(body, "targetScheduleId"),
        ..Default::default()
    })
}

/// A policy object with its rules expanded (Graph `roleManagementPolicies?$expand=rules`, or
/// ARM `roleManagementPolicies` with `effectiveRules`).
pub fn role_policy(record: &Value, file: &FileContext) -> Result<RolePolicy, RecordError> {
    let body = match get(record, "properties") {
        Some(p) if p.is_object() => p,
        _ => record,
    };
    let rules = match array(body, "rules")? {
        Some(r) => r.into_owned(),
        None => array(body, "effectiveRules")?
            .map(|r| r.into_owned())
            .unwrap_or(Value::Array(Vec::new())),
    };
    let mut policy = policy_from_rules(elements(Some(&rules)), file);
    policy.record_type = Some("policy".into());
    policy.policy_id = text(record, "id").or_else(|| text(record, "name"));
    policy.scope_id = text_any(body, &["scopeId", "scope"]);
    policy.scope_type = text(body, "scopeType");
    policy.tenant_id = policy.policy_id.as_deref().and_then(tenant_of_policy);
    Ok(policy)
}

/// A policy assignment links a policy to a role; with `$expand=policy($expand=rules)` it
/// carries the whole policy.
pub fn role_policy_assignment(
    record: &Value,
    file: &FileContext,
) -> Result<RolePolicy, RecordError> {
    let body = match get(record, "properties") {
        Some(p) if p.is_object() => p,
        _ => record,
    };
    let embedded = object(body, "policy")?;
    let effective_rules = array(body, "effectiveRules")?;
    let mut policy = match (embedded.as_deref(), effective_rules.as_deref()) {
        (Some(p), _) => role_policy(p, file)?,
        (None, Some(rules)) => policy_from_rules(elements(Some(rules)), file),
        (None, None) => RolePolicy {
            snapshot_time: Some(file.snapshot_time),
            rule_count: Some(0),
            ..Default::default()
        },
    };
    // With its policy expanded (Graph) or its effective rules (ARM) an assignment carries the
    // settings too; a bare one only links a policy to a role, and `current_policies` joins it
    // to the policy's own record.
    policy.record_type = Some(
        if embedded.is_some() || effective_rules.is_some() {
            "policy_assignment"
        } else {
            "assignment"
        }
        .into(),
    );
    policy.policy_id = text(body, "policyId").or(policy.policy_id);
    policy.role_id = text(body, "roleDefinitionId").map(|r| normalize_role_id(&r));
    policy.scope_id = text_any(body, &["scopeId", "scope"]).or(policy.scope_id);
    policy.scope_type = text(body, "scopeType").or(policy.scope_type);
    policy.tenant_id = policy.policy_id.as_deref().and_then(tenant_of_policy);
    Ok(policy)
}

/// `DirectoryRole_<tenant id>_<guid>` (or `Directory_…`, as some responses name them) → the
/// tenant id.
fn tenant_of_policy(policy_id: &str) -> Option<String> {
    let mut parts = policy_id.split('_');
    match (parts.next(), parts.next()) {
        (Some("DirectoryRole" | "Directory"), Some(tenant)) if !tenant.is_empty() => {
            Some(tenant.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// Reads the rules of a policy into its settings. Only the `*_EndUser_*` rules describe
/// activation; `*_Admin_*` rules describe what admins may assign.
fn policy_from_rules(rules: &[Value], file: &FileContext) -> RolePolicy {
    let mut policy = RolePolicy {
        snapshot_time: Some(file.snapshot_time),
        rule_count: Some(rules.len() as i64),
        ..Default::default()
    };
    for rule in rules {
        let Some(id) = text(rule, "id") else { continue };
        match id.to_ascii_lowercase().as_str() {
            "enablement_enduser_assignment" => {
                // A rule listed without its settings (`rules($select=id)`) says nothing: the
                // settings stay unknown (null), never "not required".
                if let Some(enabled) = get(rule, "enabledRules") {
                    let enabled: Vec<String> =
                        elements(Some(enabled)).iter().filter_map(text_of).collect();
                    let has =
                        |name: &str| Some(enabled.iter().any(|e| e.eq_ignore_ascii_case(name)));
                    policy.activation_mfa_required = has("MultiFactorAuthentication");
                    policy.activation_justification_required = has("Justification");
                    policy.activation_ticket_required = has("Ticketing");
                }
            }
            "expiration_enduser_assignment" => {
                policy.activation_max_duration = text(rule, "maximumDuration");
                policy.activation_max_seconds = policy
                    .activation_max_duration
                    .as_deref()
                    .and_then(parse_iso_duration);
            }
            "approval_enduser_assignment" => {
                if let Some(setting) = get(rule, "setting") {
                    policy.approval_required = boolean(setting, "isApprovalRequired");
                    let approvers: Vec<String> = elements(get(setting, "approvalStages"))
                        .iter()
                        .flat_map(|stage| elements(get(stage, "primaryApprovers")))
                        .filter_map(|a| text_any(a, &["userId", "groupId", "id", "description"]))
                        .collect();
                    policy.approver_count = Some(approvers.len() as i64);
                    policy.approver_ids = approvers;
                }
            }
            "authenticationcontext_enduser_assignment" => {
                policy.activation_auth_context_required = boolean(rule, "isEnabled");
                policy.activation_auth_context = text(rule, "claimValue");
            }
            "expiration_admin_eligibility" => {
                policy.eligible_expiration_required = boolean(rule, "isExpirationRequired");
                policy.eligible_max_duration = text(rule, "maximumDuration");
                policy.eligible_max_seconds = policy
                    .eligible_max_duration
                    .as_deref()
                    .and_then(parse_iso_duration);
            }
            "expiration_admin_assignment" => {
                policy.active_expiration_required = boolean(rule, "isExpirationRequired");
                policy.active_max_duration = text(rule, "maximumDuration");
                policy.active_max_seconds = policy
                    .active_max_duration
                    .as_deref()
                    .and_then(parse_iso_duration);
            }
            "notification_admin_admin_eligibility" => {
                policy.notify_eligible_assignment_recipients = recipients(rule);
            }
            "notification_admin_admin_assignment" => {
                policy.notify_active_assignment_recipients = recipients(rule);
            }
            "notification_admin_enduser_assignment" => {
                policy.notify_activation_recipients = recipients(rule);
            }
            _ => {}
        }
    }
    policy
}

fn recipients(rule: &Value) -> Vec<String> {
    elements(get(rule, "notificationRecipients"))
        .iter()
        .filter_map(text_of)
        .collect()
}

/// The policy id of a `roleManagementPolicies('<id>')/rules` context, in its original case.
fn policy_id_from_context(context: &str) -> Option<String> {
    let lowered = context_path(context);
    let original = &context[context.len() - lowered.len()..];
    let key = quoted_key(&lowered, "rolemanagementpolicies")?;
    let start = lowered.find(&key)?;
    original.get(start..start + key.len()).map(str::to_string)
}

/// Collects the rules of `roleManagementPolicies('<id>')/rules` pages, which arrive one rule
/// per record, into one `role_policies` row per policy at the end of the file.
#[derive(Debug, Default)]
pub struct PolicyRuleCollector {
    policies: BTreeMap<String, Vec<Value>>,
}

impl PolicyRuleCollector {
    pub fn add(&mut self, rule: &Value, odata_context: Option<&str>) -> Result<(), RecordError> {
        let policy_id = odata_context
            .and_then(policy_id_from_context)
            .or_else(|| text(rule, "policyId"))
            .ok_or_else(|| {
                RecordError::record(
                    "policy rule without its policy: keep the page's @odata.context (roleManagementPolicies('<id>')/rules)",
                )
            })?;
        self.policies
            .entry(policy_id)
            .or_default()
            .push(rule.clone());
        Ok(())
    }

    /// One row per policy seen since the last call.
    pub fn finish(&mut self, file: &FileContext) -> Vec<RolePolicy> {
        std::mem::take(&mut self.policies)
            .into_iter()
            .map(|(policy_id, rules)| {
                let mut policy = policy_from_rules(&rules, file);
                policy.record_type = Some("policy".into());
                policy.tenant_id = tenant_of_policy(&policy_id);
                policy.policy_id = Some(policy_id);
                policy.raw = serde_json::to_string(&rules).ok();
                policy
            })
            .collect()
    }
}
