//! Triage: what people decided about an alert (`pimwatch alerts ack|close|reopen`), kept in
//! the lake as an append-only log (`triage/date=<day>/triage-<session>-<uuid>.parquet`, one
//! file per decision), never rewritten. An alert's triage is its latest entry; detect adds an
//! entry of its own (`by = pimwatch`) when a closed alert is found again and reopened.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use serde::Serialize;

use crate::lake::{Lake, LakeError, WriteLock};
use crate::model::Instant;

pub const TRIAGE_TABLE: &str = "triage";
const DATE_COLUMN: &str = "date";
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

fn schema() -> Schema {
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    Schema::new(vec![
        text("alert_id"),
        text("action"),
        text("reason"),
        text("by"),
        text("at"),
        text("run_id"),
    ])
}

fn to_batch(entries: &[TriageEntry]) -> Result<RecordBatch, LakeError> {
    let column = |f: &dyn Fn(&TriageEntry) -> String| -> ArrayRef {
        Arc::new(entries.iter().map(|e| Some(f(e))).collect::<StringArray>())
    };
    RecordBatch::try_new(
        Arc::new(schema()),
        vec![
            column(&|e| e.alert_id.clone()),
            column(&|e| e.action.as_str().to_string()),
            column(&|e| e.reason.clone()),
            column(&|e| e.by.clone()),
            column(&|e| e.at.to_rfc3339()),
            column(&|e| e.run_id.clone()),
        ],
    )
    .map_err(|source| LakeError::Arrow {
        table: TRIAGE_TABLE.into(),
        source,
    })
}

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
    lake.append_partition(lock, TRIAGE_TABLE, DATE_COLUMN, &day, &to_batch(entries)?)
}

/// Every committed triage entry, oldest first.
pub fn load_triage(lake: &Lake) -> Result<Vec<TriageEntry>, LakeError> {
    let mut entries = Vec::new();
    for day in lake.partition_values(TRIAGE_TABLE, DATE_COLUMN)? {
        for batch in lake.read_partition(TRIAGE_TABLE, DATE_COLUMN, &day)? {
            let unexpected = |column: &str| LakeError::UnexpectedFile {
                path: lake
                    .table_dir(TRIAGE_TABLE)
                    .join(format!("{DATE_COLUMN}={day}")),
                column: column.to_string(),
            };
            let text = |name: &str| -> Result<StringArray, LakeError> {
                batch
                    .column_by_name(name)
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                    .cloned()
                    .ok_or_else(|| unexpected(name))
            };
            let (ids, actions, reasons, bys, ats, runs) = (
                text("alert_id")?,
                text("action")?,
                text("reason")?,
                text("by")?,
                text("at")?,
                text("run_id")?,
            );
            for row in 0..batch.num_rows() {
                if ids.is_null(row) {
                    return Err(unexpected("alert_id"));
                }
                entries.push(TriageEntry {
                    alert_id: ids.value(row).to_string(),
                    action: TriageAction::parse(actions.value(row))
                        .ok_or_else(|| unexpected("action"))?,
                    reason: reasons.value(row).to_string(),
                    by: bys.value(row).to_string(),
                    at: Instant::parse(ats.value(row)).map_err(|_| unexpected("at"))?,
                    run_id: runs.value(row).to_string(),
                });
            }
        }
    }
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
