//! Entra directory audits (Graph `directoryAudit`, the Event Hub `AuditLogs` envelope whose
//! `properties` is that object, and Log Analytics `AuditLogs` rows with stringified dynamic
//! columns) → `audit_events`.

use std::borrow::Cow;

use serde_json::Value;

use crate::ingest::fields::{
    array, decode_json_text, elements, get, lower, object, text, text_any, text_of, timestamp,
    RecordError,
};
use crate::model::activities::{
    activity_meaning, ActivitySource, RoleAction, MS_PIM_APP_ID, MS_PIM_NAMES,
};
use crate::model::roles::{lookup, normalize_role_id};
use crate::model::time::{parse_timestamp, Instant};
use crate::model::{AuditEvent, ModifiedProperty, Target};

pub const SOURCE: &str = "entra_audit";
const PRINCIPAL_TYPES: &[&str] = &["User", "Group", "ServicePrincipal", "Application", "Device"];
const NON_PRINCIPAL_TYPES: &[&str] = &["Role", "Request", "Directory", "Other", "N/A", "Policy"];

/// Normalizes one audit record. Fields that could not be read but do not make the record
/// useless (a detail's start time that is no timestamp) are left empty and reported in
/// `warnings`, naming the field.
pub fn normalize(
    record: &Value,
    warnings: &mut Vec<RecordError>,
) -> Result<AuditEvent, RecordError> {
    if get(record, "Date (UTC)").is_some() {
        return normalize(&portal_csv_to_graph(record), warnings);
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

    let mut initiator = Initiator::Nobody;
    if let Some(initiated_by) = object(body, "initiatedBy")? {
        if let Some(user) = get(&initiated_by, "user").filter(|u| u.is_object()) {
            event.actor_type = Some("user".into());
            event.actor_id = lower(text(user, "id"));
            event.actor_upn = text(user, "userPrincipalName");
            event.actor_name = text(user, "displayName");
            event.actor_ip = text(user, "ipAddress");
            initiator = Initiator::User;
        } else if let Some(app) = get(&initiated_by, "app").filter(|a| a.is_object()) {
            event.actor_type = Some("app".into());
            event.actor_id = lower(text(app, "servicePrincipalId"));
            event.actor_name = text(app, "displayName");
            event.actor_app_id = lower(text(app, "appId"));
            initiator = Initiator::App {
                app_id: event.actor_app_id.clone(),
                name: event.actor_name.clone(),
            };
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
        event.target_id = lower(p.id.clone());
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
        // PIM's own writes are recognised by PIM's application id, never by a name; a record
        // that names MS-PIM without the id is left for the views to decide.
        let twin = if is_pim_service {
            Some(false)
        } else {
            initiator.is_pim()
        };
        event.pim_twin = twin;
        // A PIM alert record names its alert as an `Other` target (no principal).
        if meaning.role_action.is_pim_alert() && principal.is_none() {
            if let Some(alert) = targets.iter().find(|t| {
                t.target_type
                    .as_deref()
                    .is_some_and(|ty| ty.eq_ignore_ascii_case("Other"))
            }) {
                event.target_id = alert.id.clone();
                event.target_name = alert.display_name.clone();
                event.target_type = alert.target_type.clone();
            }
        }
        // A direct (Core Directory) change went through PIM only when PIM itself made it.
        let direct = matches!(
            meaning.role_action,
            RoleAction::DirectRoleAdded | RoleAction::DirectRoleRemoved
        );
        event.via_pim = if direct && !is_pim_service {
            twin
        } else {
            Some(
                twin == Some(true)
                    || (is_pim_service
                        && !direct
                        && meaning.role_action != RoleAction::AssignedOutsidePim),
            )
        };

        let role = find_role(&targets, &detail);
        event.role_id = role.template_id;
        event.role_name = role.name;
        event.role_object_id = role.object_id;
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
        let mut detail_time = |key: &str| {
            let text = detail(key)?;
            match parse_timestamp(&text) {
                Ok(time) => time.map(Instant::nanos),
                Err(e) => {
                    warnings.push(RecordError::field(
                        &format!("additionalDetails.{key}"),
                        format!("{e}; the event is kept without it"),
                    ));
                    None
                }
            }
        };
        event.start_time = detail_time("StartTime");
        event.end_time = detail_time("ExpirationTime").or_else(|| detail_time("EndTime"));
    }
    event.targets = targets;
    Ok(event)
}

/// Who made a change, as far as PIM recognition needs.
enum Initiator {
    Nobody,
    User,
    App {
        app_id: Option<String>,
        name: Option<String>,
    },
}

impl Initiator {
    /// Whether PIM made the change: `Some(true)` for PIM's application id, `None` when the app
    /// is *named* like PIM but the record leaves out its application id (real Core Directory
    /// records do; the views resolve its service principal), `Some(false)` otherwise.
    fn is_pim(&self) -> Option<bool> {
        match self {
            Initiator::Nobody | Initiator::User => Some(false),
            Initiator::App {
                app_id: Some(id), ..
            } => Some(id.eq_ignore_ascii_case(MS_PIM_APP_ID)),
            Initiator::App { app_id: None, name } => {
                let named_pim = name.as_deref().is_some_and(|n| {
                    MS_PIM_NAMES
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(n.trim()))
                });
                if named_pim {
                    None
                } else {
                    Some(false)
                }
            }
        }
    }
}

/// The role a role event is about.
struct RoleRef {
    /// The role's template id (lowercase), or the only id the record has.
    template_id: Option<String>,
    name: Option<String>,
    /// The tenant's directoryRole object id, when the record names one.
    object_id: Option<String>,
}

/// The role of a role event, always by template id when the record has it:
/// - Core Directory records carry `Role.TemplateId` (and `Role.ObjectID`, the directoryRole
///   object id, which differs per tenant) on the principal's target, plus a `Role` target
///   whose `id` is that object id;
/// - PIM records have a `Role` target whose id is the role definition (template) id, and
///   `TemplateId` / `RoleDefinitionOriginId` in their properties and details.
fn find_role(targets: &[Target], detail: &dyn Fn(&str) -> Option<String>) -> RoleRef {
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
    let any_prop = |name: &str| targets.iter().find_map(|t| prop(t, name));
    let role_target = targets.iter().find(|t| {
        t.target_type
            .as_deref()
            .is_some_and(|ty| ty.eq_ignore_ascii_case("Role"))
    });
    let target_id = role_target
        .and_then(|r| r.id.clone())
        .filter(|id| !id.is_empty())
        .map(|id| normalize_role_id(&id));
    let template = any_prop("Role.TemplateId")
        .or_else(|| role_target.and_then(|r| prop(r, "TemplateId")))
        .or_else(|| detail("TemplateId"))
        .or_else(|| detail("RoleDefinitionOriginId"))
        .map(|id| normalize_role_id(&id));
    let mut object_id = any_prop("Role.ObjectID").map(|id| normalize_role_id(&id));
    let template_id = match template {
        Some(t) => {
            // A `Role` target whose id is not the template is the directoryRole object.
            if object_id.is_none() {
                object_id = target_id.filter(|id| *id != t);
            }
            Some(t)
        }
        None => {
            // Only the `Role` target's id: a template id when the catalogue knows it; else it
            // may be a directoryRole object id, which the views map through `directoryRoles`.
            if let Some(id) = &target_id {
                if lookup(id).is_none() && object_id.is_none() {
                    object_id = Some(id.clone());
                }
            }
            target_id
        }
    };
    let name = role_target
        .and_then(|r| r.display_name.clone())
        .or_else(|| any_prop("Role.DisplayName"))
        .or_else(|| {
            template_id
                .as_deref()
                .and_then(lookup)
                .map(|r| r.display_name.clone())
        });
    RoleRef {
        template_id,
        name,
        object_id,
    }
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
