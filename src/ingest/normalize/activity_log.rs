//! Azure Activity Log events (export envelope, REST API shape, Log Analytics `AzureActivity`)
//! → `audit_events`: Azure RBAC role assignments, `elevateAccess`, and Azure-resource PIM
//! events (which reuse the PIM activity names and carry PascalCase `properties`).

use std::borrow::Cow;

use serde_json::Value;

use crate::ingest::detect::envelope_category;
use crate::ingest::fields::{
    dynamic, elements, get, text, text_any, text_of, timestamp, RecordError,
};
use crate::model::activities::{activity_meaning, ActivitySource, RoleAction};
use crate::model::roles::{lookup, normalize_role_id, USER_ACCESS_ADMINISTRATOR};
use crate::model::AuditEvent;

pub const SOURCE: &str = "azure_activity";

const CLAIM_OBJECT_ID: &str = "http://schemas.microsoft.com/identity/claims/objectidentifier";
const CLAIM_UPN: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
const CLAIM_NAME: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
const CLAIM_AUTH_METHODS: &str = "http://schemas.microsoft.com/claims/authnmethodsreferences";
const CLAIM_TENANT: &str = "http://schemas.microsoft.com/identity/claims/tenantid";

/// A field that is a string in exports and `{value, localizedValue}` in the REST shape.
fn value_text(record: &Value, key: &str) -> Option<String> {
    match get(record, key)? {
        Value::Object(_) => get(record, key).and_then(|v| text(v, "value")),
        other => text_of(other),
    }
}

pub fn normalize(record: &Value) -> Result<AuditEvent, RecordError> {
    let time = timestamp(record, "time")?
        .or(timestamp(record, "eventTimestamp")?)
        .or(timestamp(record, "TimeGenerated")?)
        .ok_or_else(|| RecordError::field("time", "missing: an Activity Log event needs a time"))?;
    let operation = value_text(record, "operationName")
        .or_else(|| text(record, "OperationNameValue"))
        .ok_or_else(|| RecordError::field("operationName", "missing"))?;

    let properties = dynamic(record, "properties")?.or(dynamic(record, "Properties_d")?);
    let properties = properties.as_deref().filter(|p| p.is_object());
    let prop = |key: &str| properties.and_then(|p| text(p, key));

    // `identity` is an object in exports and the REST shape, a display name in some fixtures.
    let identity = get(record, "identity");
    let claims: Option<Cow<Value>> = match identity
        .filter(|i| i.is_object())
        .and_then(|i| get(i, "claims"))
    {
        Some(c) => Some(Cow::Borrowed(c)),
        None => dynamic(record, "claims")?.or(dynamic(record, "Claims_d")?),
    };
    let claim = |key: &str| claims.as_deref().and_then(|c| text(c, key));
    let authorization: Option<Cow<Value>> = match identity
        .filter(|i| i.is_object())
        .and_then(|i| get(i, "authorization"))
    {
        Some(a) => Some(Cow::Borrowed(a)),
        None => dynamic(record, "authorization")?.or(dynamic(record, "Authorization_d")?),
    };

    let is_pim = prop("EventName").is_some() || prop("RoleAssignmentRequestId").is_some();
    let meaning = activity_meaning(ActivitySource::AzureActivity, &operation);

    let mut event = AuditEvent {
        event_id: text(record, "eventDataId").or_else(|| prop("EventID")),
        source: Some(SOURCE.into()),
        tenant_id: text_any(record, &["tenantId", "TenantId"])
            .or_else(|| prop("TenantID"))
            .or_else(|| claim(CLAIM_TENANT)),
        time: Some(time),
        category: envelope_category(record).or_else(|| text(record, "CategoryValue")),
        activity: Some(operation.clone()),
        operation_type: prop("EventName").or_else(|| text(record, "operationVersion")),
        result: value_text(record, "resultType")
            .or_else(|| value_text(record, "status"))
            .or_else(|| text(record, "ActivityStatusValue"))
            .map(|r| normalize_result(&r)),
        result_reason: text(record, "resultSignature")
            .or_else(|| value_text(record, "subStatus"))
            .or_else(|| prop("statusMessage")),
        service: Some(
            if is_pim {
                "PIM"
            } else {
                "Azure Resource Manager"
            }
            .into(),
        ),
        correlation_id: text_any(record, &["correlationId"]),
        actor_id: claim(CLAIM_OBJECT_ID),
        actor_upn: claim(CLAIM_UPN).or_else(|| claim(CLAIM_NAME)),
        actor_name: claim("name"),
        actor_app_id: claim("appid"),
        actor_ip: text_any(record, &["callerIpAddress"])
            .or_else(|| get(record, "httpRequest").and_then(|h| text(h, "clientIpAddress")))
            .or_else(|| claim("ipaddr")),
        actor_auth_methods: claim(CLAIM_AUTH_METHODS),
        details: properties.map(scalar_entries).unwrap_or_default(),
        ..Default::default()
    };
    event.actor_type =
        claim("idtyp").or_else(|| event.actor_id.as_ref().map(|_| "user".to_string()));
    if let Some(caller) = text_any(record, &["caller"]) {
        if caller.contains('@') {
            event.actor_upn = event.actor_upn.or(Some(caller));
        } else {
            event.actor_id = event.actor_id.or(Some(caller));
        }
    }
    if event.actor_name.is_none() {
        event.actor_name = identity.and_then(text_of);
    }

    // Azure-resource PIM events describe their caller in a JSON-encoded `CallerInfo` list.
    if let Some(callers) = properties
        .map(|p| dynamic(p, "CallerInfo"))
        .transpose()?
        .flatten()
    {
        for item in elements(Some(&callers)) {
            let value = text(item, "CallerIdentityValue");
            match text(item, "CallerIdentityType").as_deref() {
                Some("ObjectID") => event.actor_id = event.actor_id.clone().or(value),
                Some("UPN") => event.actor_upn = event.actor_upn.clone().or(value),
                Some("Name") => event.actor_name = event.actor_name.clone().or(value),
                Some("ObjectClass") => event.actor_type = value.map(|v| v.to_ascii_lowercase()),
                _ => {}
            }
        }
    }

    let Some(meaning) = meaning else {
        return Ok(event);
    };
    event.role_action = Some(meaning.role_action.as_str().into());
    event.assignment_kind = meaning.assignment_kind.map(|k| k.as_str().into());
    event.duration_kind = meaning.duration_kind.map(|k| k.as_str().into());
    event.via_pim = Some(is_pim);
    event.pim_twin = Some(false);

    // Writes carry the assignment in `requestbody`, deletes in `responseBody`.
    let request_body = match properties
        .map(|p| dynamic(p, "requestbody"))
        .transpose()?
        .flatten()
    {
        Some(body) => Some(body),
        None => properties
            .map(|p| dynamic(p, "responseBody"))
            .transpose()?
            .flatten(),
    };
    let assignment = request_body
        .as_deref()
        .and_then(|b| get(b, "Properties").or(Some(b)));
    let assignment_field = |key: &str| assignment.and_then(|a| text(a, key));

    let role_id = assignment_field("RoleDefinitionId").or_else(|| prop("RoleDefinitionOriginId"));
    event.role_id = role_id.map(|r| normalize_role_id(&r));
    event.role_name = prop("RoleDefinition").or_else(|| {
        event
            .role_id
            .as_deref()
            .and_then(lookup)
            .map(|r| r.display_name.clone())
    });
    event.target_id = assignment_field("PrincipalId").or_else(|| prop("SubjectID"));
    event.target_type =
        assignment_field("PrincipalType").or_else(|| prop("SubjectID").map(|_| "User".into()));
    event.target_name = prop("SubjectName");
    event.role_scope = assignment_field("Scope")
        .or_else(|| {
            authorization
                .as_deref()
                .and_then(|a| text(a, "scope"))
                .map(|s| assignment_scope(&s))
        })
        .or_else(|| text(record, "resourceId"));
    event.request_id = prop("RoleAssignmentRequestId");
    event.justification = prop("Justification");

    if meaning.role_action == RoleAction::ElevatedAccess {
        event.role_id = Some(USER_ACCESS_ADMINISTRATOR.into());
        event.role_name = Some("User Access Administrator".into());
        event.role_scope = Some("/".into());
        event.target_id = event.actor_id.clone();
        event.target_upn = event.actor_upn.clone();
        event.target_name = event.actor_name.clone();
        event.target_type = Some("User".into());
    }
    Ok(event)
}

/// `Success`/`Succeeded` → `success`, `Failure`/`Failed` → `failure`, `Start`/`Accept` →
/// `started`; anything else lowercased.
fn normalize_result(result: &str) -> String {
    match result.to_ascii_lowercase().as_str() {
        "success" | "succeeded" => "success".into(),
        "failure" | "failed" => "failure".into(),
        "start" | "started" | "accept" | "accepted" => "started".into(),
        other => other.into(),
    }
}

/// The scope of a role assignment from the id of the assignment resource itself.
fn assignment_scope(resource: &str) -> String {
    let lower = resource.to_ascii_lowercase();
    match lower.find("/providers/microsoft.authorization/roleassignments") {
        Some(0) => "/".into(),
        Some(i) => resource[..i].to_string(),
        None => resource.to_string(),
    }
}

fn scalar_entries(properties: &Value) -> Vec<(String, Option<String>)> {
    properties
        .as_object()
        .map(|map| {
            map.iter()
                .filter(|(_, v)| !v.is_object() && !v.is_array())
                .map(|(k, v)| (k.clone(), text_of(v)))
                .collect()
        })
        .unwrap_or_default()
}
