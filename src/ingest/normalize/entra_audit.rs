//! Entra directory audits (Graph `directoryAudit`, the Event Hub `AuditLogs` envelope whose
//! `properties` is that object, and Log Analytics `AuditLogs` rows with stringified dynamic
//! columns) → `audit_events`.

use std::borrow::Cow;

use serde_json::Value;

use crate::ingest::fields::{
    array, decode_json_text, elements, get, object, parse_timestamp, text, text_any, text_of,
    timestamp, RecordError,
};
use crate::model::activities::{activity_meaning, ActivitySource, RoleAction};
use crate::model::roles::normalize_role_id;
use crate::model::{AuditEvent, ModifiedProperty, Target};

pub const SOURCE: &str = "entra_audit";
const PIM_APP: &str = "MS-PIM";
const PRINCIPAL_TYPES: &[&str] = &["User", "Group", "ServicePrincipal", "Application", "Device"];
const NON_PRINCIPAL_TYPES: &[&str] = &["Role", "Request", "Directory", "Other", "N/A", "Policy"];

pub fn normalize(record: &Value) -> Result<AuditEvent, RecordError> {
    if get(record, "Date (UTC)").is_some() {
        return normalize(&portal_csv_to_graph(record));
    }
    // The Event Hub envelope carries the Graph object in `properties`.
    let body: Cow<Value> = match object(record, "properties")? {
        Some(props) if get(record, "category").is_some() => props,
        _ => Cow::Borrowed(record),
    };
    let body = body.as_ref();

    let time = match timestamp(body, "activityDateTime")? {
        Some(t) => t,
        None => timestamp(record, "time")?
            .or(timestamp(record, "TimeGenerated")?)
            .ok_or_else(|| {
                RecordError::field("activityDateTime", "missing: an audit record needs a time")
            })?,
    };

    let details = key_values(array(body, "additionalDetails")?.as_deref());
    let detail = |key: &str| {
        details
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.clone())
    };

    let targets = parse_targets(array(body, "targetResources")?.as_deref())?;
    let activity = text(body, "activityDisplayName")
        .or_else(|| text_any(record, &["operationName", "OperationName"]));
    let service = text(body, "loggedByService");

    let mut event = AuditEvent {
        event_id: text(body, "id"),
        source: Some(SOURCE.into()),
        tenant_id: text_any(record, &["tenantId", "AADTenantId"]).or_else(|| detail("tid")),
        time: Some(time),
        category: text(body, "category"),
        activity: activity.clone(),
        operation_type: text_any(body, &["operationType", "AADOperationType"]),
        result: text(body, "result")
            .or_else(|| text(record, "result"))
            .map(|r| r.to_ascii_lowercase()),
        result_reason: text(body, "resultReason"),
        service: service.clone(),
        correlation_id: text(body, "correlationId").or_else(|| text(record, "correlationId")),
        details: details.clone(),
        ..Default::default()
    };

    let mut initiator_app_name = None;
    if let Some(initiated_by) = object(body, "initiatedBy")? {
        if let Some(user) = get(&initiated_by, "user").filter(|u| u.is_object()) {
            event.actor_type = Some("user".into());
            event.actor_id = text(user, "id");
            event.actor_upn = text(user, "userPrincipalName");
            event.actor_name = text(user, "displayName");
            event.actor_ip = text(user, "ipAddress");
        } else if let Some(app) = get(&initiated_by, "app").filter(|a| a.is_object()) {
            event.actor_type = Some("app".into());
            event.actor_id = text(app, "servicePrincipalId");
            event.actor_name = text(app, "displayName");
            event.actor_app_id = text(app, "appId");
            initiator_app_name = event.actor_name.clone();
        }
    }
    if event.actor_ip.is_none() {
        event.actor_ip = text_any(record, &["callerIpAddress"]).or_else(|| detail("ipaddr"));
    }

    // The principal a role event is about: found by type, never by position.
    let principal = targets
        .iter()
        .find(|t| {
            t.target_type
                .as_deref()
                .is_some_and(|ty| PRINCIPAL_TYPES.iter().any(|p| p.eq_ignore_ascii_case(ty)))
        })
        .or_else(|| {
            targets.iter().find(|t| {
                t.target_type.as_deref().is_none_or(|ty| {
                    !NON_PRINCIPAL_TYPES
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(ty))
                })
            })
        });
    if let Some(p) = principal {
        event.target_id = p.id.clone();
        event.target_type = p.target_type.clone();
        event.target_upn = p.upn.clone();
        event.target_name = p.display_name.clone();
    }

    let meaning = activity
        .as_deref()
        .and_then(|a| activity_meaning(ActivitySource::EntraAudit, a));
    if let Some(meaning) = meaning {
        event.role_action = Some(meaning.role_action.as_str().into());
        event.assignment_kind = meaning.assignment_kind.map(|k| k.as_str().into());
        event.duration_kind = meaning.duration_kind.map(|k| k.as_str().into());

        let is_pim_service = service
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("PIM"));
        let twin = !is_pim_service
            && initiator_app_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(PIM_APP));
        event.pim_twin = Some(twin);
        // A direct (Core Directory) change went through PIM only when PIM itself made it.
        let direct = matches!(
            meaning.role_action,
            RoleAction::DirectRoleAdded | RoleAction::DirectRoleRemoved
        );
        event.via_pim = Some(
            twin || (is_pim_service
                && !direct
                && meaning.role_action != RoleAction::AssignedOutsidePim),
        );

        let (role_id, role_name) = find_role(&targets, &detail);
        event.role_id = role_id;
        event.role_name = role_name;
        if meaning.role_action == RoleAction::ElevatedAccess {
            event.role_id = event
                .role_id
                .or(Some(crate::model::roles::USER_ACCESS_ADMINISTRATOR.into()));
            event.role_name = event.role_name.or(Some("User Access Administrator".into()));
            event.target_id = event.target_id.clone().or(event.actor_id.clone());
            event.target_upn = event.target_upn.clone().or(event.actor_upn.clone());
            event.target_name = event.target_name.clone().or(event.actor_name.clone());
            event.target_type = event.target_type.clone().or(Some("User".into()));
        }
        event.role_scope = detail("ResourceOriginId")
            .or_else(|| detail("DirectoryScopeId"))
            .or_else(|| detail("Scope"))
            .or_else(|| event.role_id.as_ref().map(|_| "/".to_string()));
        event.request_id = detail("RoleAssignmentRequestId")
            .or_else(|| {
                targets
                    .iter()
                    .find(|t| {
                        t.target_type
                            .as_deref()
                            .is_some_and(|ty| ty.eq_ignore_ascii_case("Request"))
                    })
                    .and_then(|t| t.id.clone())
            })
            .or_else(|| detail("RequestId"));
        event.justification = detail("Justification").or_else(|| {
            if is_pim_service {
                event.result_reason.clone()
            } else {
                None
            }
        });
        event.ticket_number = detail("TicketNumber").or_else(|| detail("Ticket Number"));
        event.ticket_system = detail("TicketSystem").or_else(|| detail("Ticket System"));
        event.start_time = detail("StartTime").and_then(|s| parse_timestamp(&s).ok().flatten());
        event.end_time = detail("ExpirationTime")
            .or_else(|| detail("EndTime"))
            .and_then(|s| parse_timestamp(&s).ok().flatten());
    }
    event.targets = targets;
    Ok(event)
}

/// The role of a role event: the `Role` target (PIM) or the `Role.*` properties of the user
/// target (Core Directory), else the ids in `additionalDetails`.
fn find_role(
    targets: &[Target],
    detail: &dyn Fn(&str) -> Option<String>,
) -> (Option<String>, Option<String>) {
    let prop = |t: &Target, name: &str| {
        t.modified_properties
            .iter()
            .find(|p| {
                p.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|p| {
                p.new_value
                    .clone()
                    .filter(|v| !v.is_empty())
                    .or_else(|| p.old_value.clone())
            })
            .filter(|v| !v.is_empty())
    };
    if let Some(role) = targets.iter().find(|t| {
        t.target_type
            .as_deref()
            .is_some_and(|ty| ty.eq_ignore_ascii_case("Role"))
    }) {
        let id = prop(role, "TemplateId")
            .or_else(|| detail("TemplateId"))
            .or_else(|| role.id.clone())
            .or_else(|| detail("RoleDefinitionOriginId"));
        return (id.map(|i| normalize_role_id(&i)), role.display_name.clone());
    }
    for t in targets {
        let id = prop(t, "Role.TemplateId");
        let name = prop(t, "Role.DisplayName");
        if id.is_some() || name.is_some() {
            return (id.map(|i| normalize_role_id(&i)), name);
        }
    }
    let id = detail("TemplateId").or_else(|| detail("RoleDefinitionOriginId"));
    let name = id
        .as_deref()
        .and_then(crate::model::roles::lookup)
        .map(|r| r.display_name.clone());
    (id.map(|i| normalize_role_id(&i)), name)
}

pub fn key_values(details: Option<&Value>) -> Vec<(String, Option<String>)> {
    elements(details)
        .iter()
        .filter_map(|d| {
            let key = text(d, "key")?;
            Some((key, get(d, "value").and_then(text_of)))
        })
        .collect()
}

fn parse_targets(targets: Option<&Value>) -> Result<Vec<Target>, RecordError> {
    elements(targets)
        .iter()
        .map(|t| {
            if !t.is_object() {
                return Err(RecordError::field(
                    "targetResources",
                    "every entry must be an object",
                ));
            }
            let modified_properties = match array(t, "modifiedProperties")? {
                Some(props) => elements(Some(&props))
                    .iter()
                    .map(|p| ModifiedProperty {
                        name: text(p, "displayName"),
                        old_value: get(p, "oldValue").and_then(decode_json_text),
                        new_value: get(p, "newValue").and_then(decode_json_text),
                    })
                    .collect(),
                None => Vec::new(),
            };
            Ok(Target {
                id: text(t, "id"),
                target_type: text(t, "type"),
                display_name: text(t, "displayName"),
                upn: text(t, "userPrincipalName"),
                group_type: text(t, "groupType"),
                modified_properties,
            })
        })
        .collect()
}

/// What pimwatch adds to `details` for rows read from the admin center's CSV download.
pub const PORTAL_CSV_NOTE: &str = "Entra admin center CSV download: at most 3 targets, 5 modified properties each and 6 additional details were kept";

/// Rebuilds a Graph `directoryAudit` object from a row of the Entra admin center's CSV
/// download (English headers), so that one normalizer serves both. The download truncates
/// records (3 targets × 5 properties, 6 details); `details` says so on every such row.
fn portal_csv_to_graph(row: &Value) -> Value {
    let cell = |key: &str| {
        text(row, key)
            .filter(|v| !v.is_empty())
            .map(Value::String)
            .unwrap_or(Value::Null)
    };
    let first = |a: &str, b: &str| {
        let value = cell(a);
        if value.is_null() {
            cell(b)
        } else {
            value
        }
    };
    let initiated_by = if text(row, "ActorType").is_some_and(|t| t.eq_ignore_ascii_case("User")) {
        serde_json::json!({"user": {
            "id": cell("ActorObjectId"), "displayName": cell("ActorDisplayName"),
            "userPrincipalName": cell("ActorUserPrincipalName"), "ipAddress": cell("IPAddress"),
        }})
    } else {
        serde_json::json!({"app": {
            "servicePrincipalId": first("ActorServicePrincipalId", "ActorObjectId"),
            "displayName": first("ActorServicePrincipalName", "ActorDisplayName"),
        }})
    };
    let mut targets = Vec::new();
    for t in 1..=3 {
        if cell(&format!("Target{t}Type")).is_null()
            && cell(&format!("Target{t}ObjectId")).is_null()
        {
            continue;
        }
        let properties: Vec<Value> = (1..=5)
            .filter(|p| !cell(&format!("Target{t}ModifiedProperty{p}Name")).is_null())
            .map(|p| {
                serde_json::json!({
                    "displayName": cell(&format!("Target{t}ModifiedProperty{p}Name")),
                    "oldValue": cell(&format!("Target{t}ModifiedProperty{p}OldValue")),
                    "newValue": cell(&format!("Target{t}ModifiedProperty{p}NewValue")),
                })
            })
            .collect();
        targets.push(serde_json::json!({
            "id": cell(&format!("Target{t}ObjectId")), "type": cell(&format!("Target{t}Type")),
            "displayName": cell(&format!("Target{t}DisplayName")),
            "userPrincipalName": cell(&format!("Target{t}UserPrincipalName")),
            "modifiedProperties": properties,
        }));
    }
    let mut details: Vec<Value> = (1..=6)
        .filter(|d| !cell(&format!("AdditionalDetail{d}Key")).is_null())
        .map(|d| {
            serde_json::json!({
                "key": cell(&format!("AdditionalDetail{d}Key")),
                "value": cell(&format!("AdditionalDetail{d}Value")),
            })
        })
        .collect();
    details.push(serde_json::json!({"key": "pimwatch.export", "value": PORTAL_CSV_NOTE}));
    serde_json::json!({
        "activityDateTime": cell("Date (UTC)"), "correlationId": cell("CorrelationId"),
        "loggedByService": cell("Service"), "category": cell("Category"),
        "activityDisplayName": cell("Activity"), "result": cell("Result"), "resultReason": cell("ResultReason"),
        "initiatedBy": initiated_by, "targetResources": targets, "additionalDetails": details,
    })
}
