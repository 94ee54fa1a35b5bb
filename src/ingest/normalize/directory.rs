//! Directory objects (Graph `users` with `signInActivity`, `servicePrincipals`, `groups`,
//! group members; the Log Analytics `AADUserInfo` custom table) → `principals` and
//! `group_members`, stamped with the file's snapshot time.

use serde_json::Value;

use super::{CanonicalRow, FileContext};
use crate::ingest::detect::context_path;
use crate::ingest::detect::RecordKind;
use crate::ingest::fields::{
    boolean, elements, get, lower, object, text, text_any, text_of, timestamp, RecordError,
};
use crate::model::{GroupMember, Principal, PrincipalType};

/// A user, service principal or group; a group with expanded `members` also yields its
/// memberships.
pub fn normalize_principal(
    kind: RecordKind,
    record: &Value,
    file: &FileContext,
) -> Result<Vec<CanonicalRow>, RecordError> {
    let principal_type = odata_principal_type(record).unwrap_or(match kind {
        RecordKind::ServicePrincipal => PrincipalType::ServicePrincipal.as_str(),
        RecordKind::Group => PrincipalType::Group.as_str(),
        _ => PrincipalType::User.as_str(),
    });
    let principal_id = lower(text_any(record, &["id", "ObjectId"])).ok_or_else(|| {
        RecordError::field("id", "missing: a directory object needs its object id")
    })?;
    let upn = text(record, "userPrincipalName");
    let user_type = lower(text(record, "userType"));
    let sign_in_activity = object(record, "signInActivity")?;
    let activity_time = |key: &str| -> Result<Option<i64>, RecordError> {
        match sign_in_activity.as_deref() {
            Some(a) => timestamp(a, key)
                .map_err(|e| RecordError::field(&format!("signInActivity.{key}"), e.message)),
            None => Ok(None),
        }
    };
    let count = |key: &str| {
        get(record, key)
            .and_then(Value::as_array)
            .map(|a| a.len() as i64)
    };

    let principal = Principal {
        snapshot_time: Some(file.snapshot_time),
        tenant_id: text(record, "TenantId"),
        principal_id: Some(principal_id.clone()),
        principal_type: Some(principal_type.into()),
        display_name: text(record, "displayName"),
        is_external: Some(
            upn.as_deref()
                .is_some_and(|u| u.to_ascii_uppercase().contains("#EXT#"))
                || user_type.as_deref() == Some("guest"),
        )
        .filter(|_| principal_type == "user"),
        upn: lower(upn),
        mail: text(record, "mail"),
        user_type,
        account_enabled: boolean(record, "accountEnabled"),
        // Log Analytics' AADUserInfo calls it DirSyncEnabled and leaves it blank for cloud-only.
        on_premises_sync_enabled: boolean(record, "onPremisesSyncEnabled")
            .or_else(|| boolean(record, "DirSyncEnabled")),
        // Set for accounts that came from on-premises AD, even after sync was turned off.
        on_premises_immutable_id: text_any(
            record,
            &["onPremisesImmutableId", "onPremisesSecurityIdentifier"],
        ),
        sign_in_activity: (principal_type == "user")
            .then(|| sign_in_evidence(record, sign_in_activity.as_deref()).to_string()),
        created_time: match timestamp(record, "createdDateTime")? {
            Some(t) => Some(t),
            // Log Analytics' AADUserInfo keeps it as an extension property.
            None => timestamp(record, "ExtensionProperty_createdDateTime")?,
        },
        last_sign_in: activity_time("lastSignInDateTime")?,
        last_non_interactive_sign_in: activity_time("lastNonInteractiveSignInDateTime")?,
        last_successful_sign_in: activity_time("lastSuccessfulSignInDateTime")?,
        app_id: lower(text(record, "appId")),
        service_principal_type: text(record, "servicePrincipalType"),
        password_credential_count: count("passwordCredentials"),
        key_credential_count: count("keyCredentials"),
        is_assignable_to_role: boolean(record, "isAssignableToRole"),
        security_enabled: boolean(record, "securityEnabled"),
        group_types: elements(get(record, "groupTypes"))
            .iter()
            .filter_map(text_of)
            .collect(),
        ..Default::default()
    };
    let mut rows = vec![CanonicalRow::Principal(Box::new(principal))];
    for member in elements(get(record, "members")) {
        let mut row = member_row(&principal_id, member, file)?;
        // An expanded member's own record, not the whole group's.
        row.raw = serde_json::to_string(member).ok();
        rows.push(CanonicalRow::GroupMember(Box::new(row)));
    }
    Ok(rows)
}

/// What a user record says about sign-ins: `successful` when `signInActivity` carries
/// `lastSuccessfulSignInDateTime` (even empty: no success since Microsoft began recording it
/// in 2023-12), `attempts` when it only has the attempt times (failed attempts included),
/// `absent` when the export has no `signInActivity` (last sign-in unknown, not never).
fn sign_in_evidence(record: &Value, activity: Option<&Value>) -> &'static str {
    let has_key = |object: &Value, key: &str| {
        object
            .as_object()
            .is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case(key)))
    };
    match activity {
        Some(a) if has_key(a, "lastSuccessfulSignInDateTime") => "successful",
        Some(_) => "attempts",
        // `signInActivity: null` was selected and came back empty: no sign-in recorded.
        None if has_key(record, "signInActivity") => "attempts",
        None => "absent",
    }
}

/// A member listed on a `groups/{id}/members` page; the group id comes from the page context.
pub fn normalize_member(
    record: &Value,
    odata_context: Option<&str>,
    file: &FileContext,
) -> Result<GroupMember, RecordError> {
    let group_id = odata_context
        .map(context_path)
        .and_then(|path| quoted_key(&path, "groups"))
        .or_else(|| text(record, "groupId"))
        .ok_or_else(|| {
            RecordError::record("group member without its group: keep the page's @odata.context (groups('<id>')/members)")
        })?;
    member_row(&group_id, record, file)
}

/// A PIM for Groups eligibility or assignment (instance or schedule): a principal who may
/// activate, or holds, membership or ownership of a group. Members of a role-assignable group
/// hold its roles, so just-in-time members are role holders too.
pub fn group_membership_schedule(
    record: &Value,
    eligible: bool,
    file: &FileContext,
) -> Result<GroupMember, RecordError> {
    let group_id = lower(text(record, "groupId")).ok_or_else(|| {
        RecordError::field(
            "groupId",
            "missing: a PIM for Groups record names its group",
        )
    })?;
    let member_id = lower(text(record, "principalId")).ok_or_else(|| {
        RecordError::field(
            "principalId",
            "missing: a PIM for Groups record names its principal",
        )
    })?;
    let principal = get(record, "principal");
    // Schedules keep their times in scheduleInfo; instances at the top level.
    let schedule_info = object(record, "scheduleInfo")?;
    let start_time = match timestamp(record, "startDateTime")? {
        Some(t) => Some(t),
        None => schedule_info
            .as_deref()
            .map(|s| timestamp(s, "startDateTime"))
            .transpose()?
            .flatten(),
    };
    let end_time = match timestamp(record, "endDateTime")? {
        Some(t) => Some(t),
        None => schedule_info
            .as_deref()
            .and_then(|s| get(s, "expiration"))
            .map(|e| timestamp(e, "endDateTime"))
            .transpose()?
            .flatten(),
    };
    Ok(GroupMember {
        snapshot_time: Some(file.snapshot_time),
        group_id: Some(group_id),
        member_id: Some(member_id),
        member_type: principal.and_then(odata_principal_type).map(str::to_string),
        member_name: principal.and_then(|p| text(p, "displayName")),
        member_upn: principal.and_then(|p| lower(text(p, "userPrincipalName"))),
        access_type: lower(text(record, "accessId")),
        membership_type: Some(if eligible { "eligible" } else { "active" }.into()),
        start_time,
        end_time,
        ..Default::default()
    })
}

fn member_row(
    group_id: &str,
    member: &Value,
    file: &FileContext,
) -> Result<GroupMember, RecordError> {
    Ok(GroupMember {
        snapshot_time: Some(file.snapshot_time),
        group_id: Some(group_id.to_ascii_lowercase()),
        member_id: Some(lower(text(member, "id")).ok_or_else(|| {
            RecordError::field("id", "missing: a group member needs its object id")
        })?),
        member_type: odata_principal_type(member).map(str::to_string),
        member_name: text(member, "displayName"),
        member_upn: lower(text(member, "userPrincipalName")),
        access_type: Some("member".into()),
        membership_type: Some("direct".into()),
        ..Default::default()
    })
}

fn odata_principal_type(record: &Value) -> Option<&'static str> {
    let spelled = text(record, "@odata.type").or_else(|| text(record, "ObjectType"))?;
    PrincipalType::parse(&spelled).map(PrincipalType::as_str)
}

/// The key inside `segment('<key>')` of a context path, e.g. the group id of
/// `groups('abc')/members`.
pub fn quoted_key(path: &str, segment: &str) -> Option<String> {
    let start = path.find(&format!("{segment}('"))? + segment.len() + 2;
    let end = path[start..].find('\'')? + start;
    Some(path[start..end].to_string())
}
