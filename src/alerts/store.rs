//! Alerts in the lake: one Parquet file per run under `alerts/run=<run id>/`. The run id is
//! the run's `as_of` in the snapshot name format, so replaying a day replaces that day's
//! alerts instead of adding a second copy, and "the previous run" is the one before it in time.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Int32Array, Int64Array, ListArray, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use super::{Alert, Status};
use crate::lake::{Lake, LakeError};
use crate::model::SNAPSHOT_NAME_FORMAT;
use crate::rules::context::BreakGlassAccount;
use crate::rules::Severity;

pub const ALERTS_TABLE: &str = "alerts";
const RUN_COLUMN: &str = "run";

/// The run id of a run as of `as_of` (nanoseconds).
pub fn run_id(as_of: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(as_of)
        .format(SNAPSHOT_NAME_FORMAT)
        .to_string()
}

/// The latest stored run strictly before `run_id`.
pub fn previous_run_id(lake: &Lake, run_id: &str) -> Result<Option<String>, LakeError> {
    Ok(lake
        .partition_values(ALERTS_TABLE, RUN_COLUMN)?
        .into_iter()
        .filter(|r| r.as_str() < run_id)
        .max())
}

fn schema() -> Schema {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let list = |name: &str| {
        Field::new(
            name,
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        )
    };
    Schema::new(vec![
        text("alert_id", false),
        text("rule_id", false),
        text("title", false),
        text("severity", false),
        Field::new("score", DataType::Int32, false),
        list("score_reasons"),
        text("entity_type", false),
        text("entity_id", false),
        text("entity_name", true),
        text("summary", false),
        text("first_seen", true),
        text("last_seen", true),
        Field::new("event_count", DataType::Int64, true),
        text("evidence", false),
        list("mitre"),
        text("remediation", false),
        text("status", false),
        text("suppression", true),
        text("run_id", false),
        text("as_of", false),
    ])
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn lists<'a>(values: impl Iterator<Item = &'a Vec<String>>) -> ArrayRef {
    let mut builder = ListBuilder::new(StringBuilder::new());
    for list in values {
        for item in list {
            builder.values().append_value(item);
        }
        builder.append(true);
    }
    Arc::new(builder.finish())
}

fn to_batch(alerts: &[Alert]) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let evidence: Vec<String> = alerts
        .iter()
        .map(|a| serde_json::Value::Object(a.evidence.clone()).to_string())
        .collect();
    let columns: Vec<ArrayRef> = vec![
        strings(alerts.iter().map(|a| Some(a.alert_id.as_str()))),
        strings(alerts.iter().map(|a| Some(a.rule_id.as_str()))),
        strings(alerts.iter().map(|a| Some(a.title.as_str()))),
        strings(alerts.iter().map(|a| Some(a.severity.as_str()))),
        Arc::new(Int32Array::from_iter_values(
            alerts.iter().map(|a| i32::from(a.score)),
        )),
        lists(alerts.iter().map(|a| &a.score_reasons)),
        strings(alerts.iter().map(|a| Some(a.entity_type.as_str()))),
        strings(alerts.iter().map(|a| Some(a.entity_id.as_str()))),
        strings(alerts.iter().map(|a| a.entity_name.as_deref())),
        strings(alerts.iter().map(|a| Some(a.summary.as_str()))),
        strings(alerts.iter().map(|a| a.first_seen.as_deref())),
        strings(alerts.iter().map(|a| a.last_seen.as_deref())),
        Arc::new(alerts.iter().map(|a| a.event_count).collect::<Int64Array>()),
        strings(evidence.iter().map(|e| Some(e.as_str()))),
        lists(alerts.iter().map(|a| &a.mitre)),
        strings(alerts.iter().map(|a| Some(a.remediation.as_str()))),
        strings(alerts.iter().map(|a| Some(a.status.as_str()))),
        strings(alerts.iter().map(|a| a.suppression.as_deref())),
        strings(alerts.iter().map(|a| Some(a.run_id.as_str()))),
        strings(alerts.iter().map(|a| Some(a.as_of.as_str()))),
    ];
    RecordBatch::try_new(Arc::new(schema()), columns)
}

/// What a run saw besides its alerts, kept next to them (`alerts/run=<id>/run.json`) so the
/// next run can say what changed: today, the break-glass set.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub as_of: String,
    pub break_glass: Vec<BreakGlassAccount>,
}

const RUN_RECORD: &str = "run.json";

pub fn store_run_record(lake: &Lake, record: &RunRecord) -> Result<(), LakeError> {
    let bytes = serde_json::to_vec_pretty(record).map_err(|e| LakeError::Io {
        path: lake.table_dir(ALERTS_TABLE),
        source: e.into(),
    })?;
    lake.replace_partition_file(ALERTS_TABLE, RUN_COLUMN, &record.run_id, RUN_RECORD, &bytes)
}

/// The record of a stored run; `None` for runs stored before records existed. A record that
/// cannot be read is an error naming the file.
pub fn load_run_record(lake: &Lake, run_id: &str) -> Result<Option<RunRecord>, LakeError> {
    let Some(bytes) = lake.read_partition_file(ALERTS_TABLE, RUN_COLUMN, run_id, RUN_RECORD)?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|_| LakeError::UnexpectedFile {
            path: lake
                .table_dir(ALERTS_TABLE)
                .join(format!("{RUN_COLUMN}={run_id}"))
                .join(RUN_RECORD),
            column: "break_glass".into(),
        })
}

/// Stores a run's alerts, replacing an earlier run with the same id.
pub fn store_run(lake: &Lake, run_id: &str, alerts: &[Alert]) -> Result<(), LakeError> {
    let batch = to_batch(alerts).map_err(|source| LakeError::Arrow {
        table: ALERTS_TABLE.into(),
        source,
    })?;
    lake.replace_partition(ALERTS_TABLE, RUN_COLUMN, run_id, &batch)
}

/// Reads a stored run back.
pub fn load_run(lake: &Lake, run_id: &str) -> Result<Vec<Alert>, LakeError> {
    let mut alerts = Vec::new();
    for batch in lake.read_partition(ALERTS_TABLE, RUN_COLUMN, run_id)? {
        alerts.extend(from_batch(&batch).map_err(|column| {
            LakeError::UnexpectedFile {
                path: lake
                    .table_dir(ALERTS_TABLE)
                    .join(format!("{RUN_COLUMN}={run_id}")),
                column,
            }
        })?);
    }
    Ok(alerts)
}

fn from_batch(batch: &RecordBatch) -> Result<Vec<Alert>, String> {
    let text = |name: &str| -> Result<&StringArray, String> {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .ok_or_else(|| name.to_string())
    };
    let list = |name: &str| -> Result<&ListArray, String> {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<ListArray>())
            .ok_or_else(|| name.to_string())
    };
    let optional = |array: &StringArray, row: usize| {
        (!array.is_null(row)).then(|| array.value(row).to_string())
    };
    let list_values = |array: &ListArray, row: usize| -> Vec<String> {
        let values = array.value(row);
        values
            .as_any()
            .downcast_ref::<StringArray>()
            .map(|v| v.iter().flatten().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let score = batch
        .column_by_name("score")
        .and_then(|c| c.as_any().downcast_ref::<Int32Array>())
        .ok_or("score")?;
    let count = batch
        .column_by_name("event_count")
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or("event_count")?;
    let (alert_id, rule_id, title, severity) = (
        text("alert_id")?,
        text("rule_id")?,
        text("title")?,
        text("severity")?,
    );
    let (entity_type, entity_id, entity_name, summary) = (
        text("entity_type")?,
        text("entity_id")?,
        text("entity_name")?,
        text("summary")?,
    );
    let (first_seen, last_seen, evidence, remediation) = (
        text("first_seen")?,
        text("last_seen")?,
        text("evidence")?,
        text("remediation")?,
    );
    let (status, run_id, as_of) = (text("status")?, text("run_id")?, text("as_of")?);
    let suppression = text("suppression")?;
    let (reasons, mitre) = (list("score_reasons")?, list("mitre")?);
    let mut alerts = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        alerts.push(Alert {
            alert_id: alert_id.value(row).to_string(),
            rule_id: rule_id.value(row).to_string(),
            title: title.value(row).to_string(),
            severity: Severity::parse(severity.value(row)).ok_or("severity")?,
            score: u8::try_from(score.value(row)).map_err(|_| "score")?,
            score_reasons: list_values(reasons, row),
            entity_type: entity_type.value(row).to_string(),
            entity_id: entity_id.value(row).to_string(),
            entity_name: optional(entity_name, row),
            summary: summary.value(row).to_string(),
            first_seen: optional(first_seen, row),
            last_seen: optional(last_seen, row),
            event_count: (!count.is_null(row)).then(|| count.value(row)),
            evidence: serde_json::from_str(evidence.value(row)).map_err(|_| "evidence")?,
            mitre: list_values(mitre, row),
            remediation: remediation.value(row).to_string(),
            status: Status::parse(status.value(row)).ok_or("status")?,
            suppression: optional(suppression, row),
            run_id: run_id.value(row).to_string(),
            as_of: as_of.value(row).to_string(),
        });
    }
    Ok(alerts)
}
