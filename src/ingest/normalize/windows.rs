//! Windows Security events (NXLog JSON with EventData flattened to the top level, Sentinel
//! `SecurityEvent`) → `audit_events`. Membership changes of security groups (4728/4729,
//! 4732/4733, 4756/4757) become role events; the group is the "role", identified by SID.

use serde_json::Value;

use crate::ingest::fields::{integer, text, text_any, text_of, timestamp, RecordError};
use crate::model::activities::windows_event_meaning;
use crate::model::roles::lookup_ad_group;
use crate::model::AuditEvent;

pub const SOURCE: &str = "windows_security";

pub fn normalize(record: &Value) -> Result<AuditEvent, RecordError> {
    let event_id = integer(record, "EventID")
        .and_then(|id| u32::try_from(id).ok())
        .ok_or_else(|| RecordError::field("EventID", "expected a Windows event number"))?;
    // `@timestamp` (NXLog) and `TimeCreated`/`TimeGenerated` (Sentinel) are UTC; NXLog's
    // `EventTime` is local time without a zone and is only the last resort.
    let time = timestamp(record, "@timestamp")?
        .or(timestamp(record, "TimeCreated")?)
        .or(timestamp(record, "TimeGenerated")?)
        .or(timestamp(record, "EventTime")?)
        .ok_or_else(|| RecordError::field("@timestamp", "missing: a Windows event needs a time"))?;

    let computer = text_any(record, &["Computer", "Hostname", "host"]);
    let record_number = text_any(record, &["EventRecordID", "RecordNumber"]);
    let meaning = windows_event_meaning(event_id);
    let message_title =
        text(record, "Message").and_then(|m| m.lines().next().map(|l| l.trim().to_string()));
    let activity = text(record, "Activity")
        .or_else(|| meaning.map(|(description, _)| format!("{event_id} - {description}")))
        .or_else(|| message_title.map(|t| format!("{event_id} - {t}")))
        .unwrap_or_else(|| format!("Windows event {event_id}"));

    let subject_name = text(record, "SubjectUserName");
    let actor_name = match (text(record, "SubjectDomainName"), subject_name.clone()) {
        (Some(domain), Some(user)) => Some(format!("{domain}\\{user}")),
        (_, user) => user,
    };
    let keywords = text(record, "EventType").or_else(|| text(record, "Keywords"));
    let result = keywords.as_deref().map(|k| {
        let k = k.to_ascii_uppercase();
        if k.contains("FAILURE") || k == "0X8010000000000000" {
            "failure".to_string()
        } else {
            "success".to_string()
        }
    });

    let mut event = AuditEvent {
        event_id: match (&computer, &record_number) {
            (Some(c), Some(n)) => Some(format!("{c}:{n}")),
            _ => None,
        },
        source: Some(SOURCE.into()),
        time: Some(time),
        category: text(record, "Category").or(Some("Security".into())),
        activity: Some(activity),
        operation_type: Some(event_id.to_string()),
        result,
        service: Some("Windows Security".into()),
        actor_type: Some(
            if subject_name.as_deref().is_some_and(|n| n.ends_with('$')) {
                "machine"
            } else {
                "user"
            }
            .into(),
        ),
        actor_id: text(record, "SubjectUserSid"),
        actor_name,
        actor_ip: text_any(record, &["IpAddress"]).filter(|ip| ip != "-"),
        details: record
            .as_object()
            .map(|map| {
                map.iter()
                    .filter(|(k, v)| {
                        !v.is_object() && !v.is_array() && !k.eq_ignore_ascii_case("Message")
                    })
                    .map(|(k, v)| (k.clone(), text_of(v)))
                    .collect()
            })
            .unwrap_or_default(),
        ..Default::default()
    };

    match meaning {
        Some((_, meaning)) => {
            let group_sid = text(record, "TargetSid");
            let known = group_sid.as_deref().and_then(lookup_ad_group);
            event.role_action = Some(meaning.role_action.as_str().into());
            event.assignment_kind = meaning.assignment_kind.map(|k| k.as_str().into());
            event.via_pim = Some(false);
            event.pim_twin = Some(false);
            event.role_id = group_sid;
            event.role_name = known
                .map(|r| r.display_name.clone())
                .or_else(|| text(record, "TargetUserName"));
            event.role_scope = text(record, "TargetDomainName");
            event.target_id = text(record, "MemberSid");
            event.target_name = text(record, "MemberName").filter(|n| n != "-");
            event.target_type = Some("User".into());
        }
        None => {
            // Account events (4720 created, 4726 deleted, …) name the account in Target*.
            event.target_id = text(record, "TargetSid");
            event.target_name = text(record, "TargetUserName");
            event.target_type = event.target_id.as_ref().map(|_| "User".into());
        }
    }
    Ok(event)
}
