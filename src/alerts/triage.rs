//! Triage: what people decided about an alert (`pimwatch alerts ack|close|reopen`), kept in
//! the lake as an append-only log (`triage/date=<day>/triage-<session>-<uuid>.parquet`, one
//! file per decision), never rewritten. An alert's triage is its latest entry; detect adds an
//! entry of its own (`by = pimwatch`) when a closed alert is found again and reopened.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::lake::{append_log, read_log, Lake, LakeError, WriteLock};
use crate::model::Instant;

pub const TRIAGE_TABLE: &str = "triage";
/// Who detect's own entries are by.
pub const PIMWATCH: &str = "pimwatch";

/// What a person did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TriageAction {
    /// Seen and being looked at: the alert stays open.
    Ack,
    /// Dealt with: the alert is no longer open, until it is found again after the close.
    Close,
    /// Open again (by a person, or by detect when a closed alert came back).
    Reopen,
}

impl TriageAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ack => "ack",
            Self::Close => "close",
            Self::Reopen => "reopen",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Ack, Self::Close, Self::Reopen]
            .into_iter()
            .find(|a| a.as_str() == text)
    }

    /// `acknowledged`, `closed`, `reopened`: how reports say it.
    pub fn past_tense(self) -> &'static str {
        match self {
            Self::Ack => "acknowledged",
            Self::Close => "closed",
            Self::Reopen => "reopened",
        }
    }
}

/// One triage decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageEntry {
    pub alert_id: String,
    pub action: TriageAction,
    pub reason: String,
    pub by: String,
    /// When it was decided (wall-clock time).
    #[serde(serialize_with = "rfc3339")]
    pub at: Instant,
    /// The stored run the alert was in when it was decided.
    pub run_id: String,
}

impl TriageEntry {
    /// The time the decision judged the alert at: the `as_of` of the run it was made on
    /// (wall-clock time of the decision when that run id is not a time).
    pub fn decided_as_of(&self) -> Instant {
        Instant::from_snapshot_name(&self.run_id).unwrap_or(self.at)
    }

    /// `closed by alice at 2026-12-02T10:00:00Z: fixed in CHG-1234`.
    pub fn describe(&self) -> String {
        format!(
            "{} by {} at {}: {}",
            self.action.past_tense(),
            self.by,
            self.at,
            self.reason
        )
    }
}

fn rfc3339<S: serde::Serializer>(at: &Instant, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339())
}

const COLUMNS: [&str; 6] = ["alert_id", "action", "reason", "by", "at", "run_id"];

/// Appends `entries` to the triage log at `lock`'s next commit.
pub fn record_triage(
    lake: &Lake,
    lock: &mut WriteLock,
    entries: &[TriageEntry],
) -> Result<(), LakeError> {
    let Some(first) = entries.first() else {
        return Ok(());
    };
    let day = first.at.to_rfc3339().chars().take(10).collect::<String>();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.alert_id.clone(),
                e.action.as_str().to_string(),
                e.reason.clone(),
                e.by.clone(),
                e.at.to_rfc3339(),
                e.run_id.clone(),
            ]
        })
        .collect();
    append_log(lake, lock, TRIAGE_TABLE, &day, &COLUMNS, &rows)
}

/// Every committed triage entry, oldest first.
pub fn load_triage(lake: &Lake) -> Result<Vec<TriageEntry>, LakeError> {
    let unexpected = |column: &str| LakeError::UnexpectedFile {
        path: lake.table_dir(TRIAGE_TABLE),
        column: column.to_string(),
    };
    let mut entries = read_log(lake, TRIAGE_TABLE, &COLUMNS)?
        .into_iter()
        .map(|row| {
            let [alert_id, action, reason, by, at, run_id]: [String; 6] =
                row.try_into().map_err(|_| unexpected("alert_id"))?;
            Ok(TriageEntry {
                alert_id,
                action: TriageAction::parse(&action).ok_or_else(|| unexpected("action"))?,
                reason,
                by,
                at: Instant::parse(&at).map_err(|_| unexpected("at"))?,
                run_id,
            })
        })
        .collect::<Result<Vec<_>, LakeError>>()?;
    entries.sort_by_key(|e| e.at);
    Ok(entries)
}

/// Each alert's latest triage entry.
pub fn latest_triage(entries: &[TriageEntry]) -> BTreeMap<String, TriageEntry> {
    let mut latest = BTreeMap::new();
    for entry in entries {
        // Oldest first: a later entry replaces an earlier one.
        latest.insert(entry.alert_id.clone(), entry.clone());
    }
    latest
}
