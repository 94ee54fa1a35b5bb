//! Entra sign-ins (Graph `signIn`, the Event Hub `*SignInLogs` envelope, Log Analytics
//! `SigninLogs`/`AADNonInteractiveUserSignInLogs` rows) → `sign_ins`, with the MFA evidence
//! that PIM audit records lack: `auth_requirement`, `mfa_satisfied` and `auth_methods`.

use std::borrow::Cow;

use serde_json::Value;

use crate::ingest::detect::envelope_category;
use crate::ingest::fields::{
    array, boolean, dynamic, elements, get, integer, lower, object, text, text_any, text_of,
    timestamp, RecordError,
};
use crate::model::SignIn;

pub const SOURCE: &str = "entra_signin";

pub fn normalize(record: &Value) -> Result<SignIn, RecordError> {
    let category = envelope_category(record);
    let body: Cow<Value> = match object(record, "properties")? {
        Some(props) if category.is_some() => props,
        _ => Cow::Borrowed(record),
    };
    let body = body.as_ref();

    let time = timestamp(body, "createdDateTime")?
        .or(timestamp(record, "time")?)
        .or(timestamp(record, "TimeGenerated")?)
        .ok_or_else(|| RecordError::field("createdDateTime", "missing: a sign-in needs a time"))?;

    let table = text(record, "Type").or(category);
    let sign_in_type = sign_in_type(table.as_deref(), body);
    let is_interactive = boolean(body, "isInteractive").or(match sign_in_type.as_deref() {
        Some("interactive") => Some(true),
        Some(_) => Some(false),
        None => None,
    });

    // Graph: status.errorCode (int); exports: resultType (a string such as "50126").
    let status = object(body, "status")?;
    let error_code = status
        .as_deref()
        .and_then(|s| integer(s, "errorCode"))
        .or_else(|| integer(body, "ResultType"))
        .or_else(|| integer(record, "resultType"));
    let failure_reason = status
        .as_deref()
        .and_then(|s| text(s, "failureReason"))
        .or_else(|| text_any(body, &["ResultDescription"]))
        .or_else(|| text(record, "resultDescription"))
        // Graph writes "Other." as the failure reason of successful sign-ins.
        .filter(|_| error_code != Some(0));

    let (country, city) = location(body)?;
    let device = object(body, "deviceDetail")?;
    let device_field = |key: &str| device.as_deref().and_then(|d| text(d, key));
    let auth_requirement = text(body, "authenticationRequirement");
    let steps = array(body, "authenticationDetails")?;
    let mfa_detail = object(body, "mfaDetail")?;
    let auth_methods = auth_methods(steps.as_deref(), body)?;
    let mfa_satisfied = mfa_satisfied(
        error_code,
        auth_requirement.as_deref(),
        steps.as_deref(),
        mfa_detail.as_deref(),
    );
    let (mfa_performed, mfa_method) =
        mfa_performed(error_code, steps.as_deref(), mfa_detail.as_deref());

    Ok(SignIn {
        event_id: text(body, "id"),
        source: Some(SOURCE.into()),
        tenant_id: text_any(record, &["tenantId", "AADTenantId"])
            .or_else(|| text(body, "resourceTenantId")),
        time: Some(time),
        sign_in_type,
        user_id: lower(text(body, "userId")),
        upn: lower(text(body, "userPrincipalName")),
        user_name: text(body, "userDisplayName"),
        user_type: lower(text(body, "userType")),
        service_principal_id: lower(text(body, "servicePrincipalId")),
        service_principal_name: text(body, "servicePrincipalName"),
        app_id: lower(text(body, "appId")),
        app_name: text(body, "appDisplayName"),
        resource_id: lower(text(body, "resourceId")),
        resource_name: text(body, "resourceDisplayName"),
        ip: text_any(body, &["ipAddress", "IPAddress"]).or_else(|| text(record, "callerIpAddress")),
        country,
        city,
        client_app: text(body, "clientAppUsed"),
        auth_protocol: text(body, "authenticationProtocol"),
        is_interactive,
        error_code,
        result: error_code.map(|c| if c == 0 { "success" } else { "failure" }.into()),
        failure_reason,
        auth_requirement,
        mfa_satisfied,
        mfa_performed,
        mfa_method,
        auth_methods,
        ca_status: text(body, "conditionalAccessStatus"),
        risk_level: lower(text(body, "riskLevelDuringSignIn")),
        risk_level_aggregated: lower(text(body, "riskLevelAggregated")),
        risk_state: text(body, "riskState"),
        risk_detail: text(body, "riskDetail"),
        device_id: device_field("deviceId"),
        device_os: device_field("operatingSystem"),
        device_compliant: device.as_deref().and_then(|d| boolean(d, "isCompliant")),
        device_managed: device.as_deref().and_then(|d| boolean(d, "isManaged")),
        correlation_id: text(body, "correlationId").or_else(|| text(record, "correlationId")),
        ..Default::default()
    })
}

fn sign_in_type(table: Option<&str>, body: &Value) -> Option<String> {
    let from_table = table.map(|t| t.to_ascii_lowercase()).and_then(|t| {
        Some(match t.as_str() {
            "signinlogs" => "interactive",
            "noninteractiveusersigninlogs" | "aadnoninteractiveusersigninlogs" => "non_interactive",
            "serviceprincipalsigninlogs"
            | "aadserviceprincipalsigninlogs"
            | "microsoftserviceprincipalsigninlogs" => "service_principal",
            "managedidentitysigninlogs" | "aadmanagedidentitysigninlogs" => "managed_identity",
            _ => return None,
        })
    });
    let from_event_types = elements(get(body, "signInEventTypes"))
        .first()
        .and_then(text_of)
        .map(|t| match t.as_str() {
            "interactiveUser" => "interactive",
            "nonInteractiveUser" => "non_interactive",
            "servicePrincipal" => "service_principal",
            "managedIdentity" => "managed_identity",
            _ => "other",
        });
    from_table
        .or(from_event_types)
        .or_else(|| {
            boolean(body, "isInteractive")
                .map(|i| if i { "interactive" } else { "non_interactive" })
        })
        .map(str::to_string)
}

/// Country and city: Graph has a `location` object; Log Analytics has `Location` (country
/// code) plus a `LocationDetails` column.
fn location(body: &Value) -> Result<(Option<String>, Option<String>), RecordError> {
    match get(body, "location") {
        Some(Value::Object(_)) | None => {}
        Some(Value::String(country)) => {
            let details = dynamic(body, "LocationDetails")?;
            let city = details.as_deref().and_then(|d| text(d, "city"));
            return Ok((Some(country.clone()).filter(|c| !c.is_empty()), city));
        }
        Some(_) => {}
    }
    let location = dynamic(body, "location")?;
    let location = location.as_deref().filter(|l| l.is_object());
    Ok((
        location.and_then(|l| text(l, "countryOrRegion")),
        location.and_then(|l| text(l, "city")),
    ))
}

/// Methods of the authentication steps that succeeded (or all steps when the log does not
/// say), then `authenticationMethodsUsed`; each method once, in order.
fn auth_methods(steps: Option<&Value>, body: &Value) -> Result<Vec<String>, RecordError> {
    let mut methods: Vec<String> = Vec::new();
    let mut push = |m: String| {
        if !m.is_empty() && !methods.contains(&m) {
            methods.push(m);
        }
    };
    for step in elements(steps) {
        if boolean(step, "succeeded") != Some(false) {
            if let Some(method) = text(step, "authenticationMethod") {
                push(method);
            }
        }
    }
    match get(body, "authenticationMethodsUsed") {
        Some(Value::Array(items)) => items.iter().filter_map(text_of).for_each(&mut push),
        Some(Value::String(s)) if s.trim_start().starts_with('[') => {
            if let Some(items) = dynamic(body, "authenticationMethodsUsed")? {
                elements(Some(&items))
                    .iter()
                    .filter_map(text_of)
                    .for_each(&mut push);
            }
        }
        Some(Value::String(s)) => s
            .split(',')
            .map(|m| m.trim().to_string())
            .for_each(&mut push),
        _ => {}
    }
    Ok(methods)
}

const SINGLE_FACTOR_METHODS: &[&str] = &["password", "previously satisfied", "none", ""];

/// Whether the session was established with multi-factor authentication:
/// - a failed sign-in established no session: `false`;
/// - `authenticationRequirement = multiFactorAuthentication` on a success: `true` (the
///   requirement is the strongest one the sign-in satisfied);
/// - a succeeded authentication step with a second-factor method, or a step whose result
///   says MFA was completed or satisfied, or a non-empty `mfaDetail`: `true`;
/// - otherwise `singleFactorAuthentication`: `false`; and no evidence at all: unknown (null).
fn mfa_satisfied(
    error_code: Option<i64>,
    requirement: Option<&str>,
    steps: Option<&Value>,
    mfa_detail: Option<&Value>,
) -> Option<bool> {
    if error_code.is_some_and(|c| c != 0) {
        return Some(false);
    }
    if requirement.is_some_and(|r| r.eq_ignore_ascii_case("multiFactorAuthentication")) {
        return Some(true);
    }
    let step_proves_mfa = elements(steps).iter().any(|step| {
        if boolean(step, "succeeded") == Some(false) {
            return false;
        }
        let method = text(step, "authenticationMethod")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let detail = text(step, "authenticationStepResultDetail")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let strong_method = !SINGLE_FACTOR_METHODS.contains(&method.as_str());
        let mfa_result =
            detail.contains("mfa") && !detail.contains("denied") && !detail.contains("required");
        strong_method || mfa_result
    });
    let detail_proves_mfa = mfa_detail.is_some_and(|d| text(d, "authMethod").is_some());
    if step_proves_mfa || detail_proves_mfa {
        return Some(true);
    }
    if requirement.is_some_and(|r| r.eq_ignore_ascii_case("singleFactorAuthentication")) {
        return Some(false);
    }
    None
}

/// Whether a second factor was *performed* in this sign-in, and with which method. A step
/// that MFA "satisfied by claim in the token" or that was "Previously satisfied" performed
/// nothing: a stolen session token looks exactly like that. Failed sign-ins performed nothing
/// that counts; without step details (and without `mfaDetail`) the answer is unknown.
fn mfa_performed(
    error_code: Option<i64>,
    steps: Option<&Value>,
    mfa_detail: Option<&Value>,
) -> (Option<bool>, Option<String>) {
    if error_code.is_some_and(|c| c != 0) {
        return (Some(false), None);
    }
    let steps = elements(steps);
    if !steps.is_empty() {
        for step in steps {
            if boolean(step, "succeeded") == Some(false) {
                continue;
            }
            let method = text(step, "authenticationMethod").unwrap_or_default();
            let detail = text(step, "authenticationStepResultDetail")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let by_claim = detail.contains("satisfied by claim")
                || detail.contains("previously satisfied")
                || method.eq_ignore_ascii_case("Previously satisfied");
            if by_claim {
                continue;
            }
            let strong_method =
                !SINGLE_FACTOR_METHODS.contains(&method.to_ascii_lowercase().as_str());
            let mfa_result = detail.contains("mfa")
                && (detail.contains("completed") || detail.contains("successful"))
                && !detail.contains("denied");
            if strong_method || mfa_result {
                let method = if method.is_empty() {
                    "MFA".into()
                } else {
                    method
                };
                return (Some(true), Some(method));
            }
        }
        return (Some(false), None);
    }
    match mfa_detail.and_then(|d| text(d, "authMethod")) {
        Some(method) => (Some(true), Some(method)),
        None => (None, None),
    }
}
