//! Alerts in the lake: one Parquet file per run under `alerts/run=<run id>/`. The run id is
//! the run's `as_of` in the snapshot name format, so replaying a day replaces that day's
//! alerts instead of adding a second copy, and "the previous run" is the one before it in time.

use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::record_batch::RecordBatch;

use super::columns::{self, Column};
use super::Alert;
use crate::lake::{Lake, LakeError, WriteLock};
use crate::model::Instant;
use crate::rules::context::BreakGlassAccount;

pub const ALERTS_TABLE: &str = "alerts";
const RUN_COLUMN: &str = "run";

/// The run id of a run as of `as_of`.
pub fn run_id(as_of: Instant) -> String {
    as_of.snapshot_name()
}

/// The latest stored run strictly before `run_id`.
pub fn previous_run_id(lake: &Lake, run_id: &str) -> Result<Option<String>, LakeError> {
    Ok(lake
        .partition_values(ALERTS_TABLE, RUN_COLUMN)?
        .into_iter()
        .filter(|r| r.as_str() < run_id)
        .max())
}

/// The alert table's schema (what readers register without opening a file).
pub fn alert_schema() -> Schema {
    schema()
}

/// Declares the alert table once: its Arrow schema, the batch written from alerts, and the
/// alerts read back, all from one list of `field: kind` (kinds in `columns.rs`).
macro_rules! alert_columns {
    ($($field:ident: $kind:ident,)*) => {
        fn schema() -> Schema {
            Schema::new(vec![$(<columns::$kind as Column>::field(stringify!($field)),)*])
        }

        /// The alerts as the canonical alert table (what `alerts/run=…/` holds and reports
        /// render).
        pub fn alert_batch(alerts: &[Alert]) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
            RecordBatch::try_new(
                Arc::new(schema()),
                vec![$(<columns::$kind as Column>::build(alerts.iter().map(|a| &a.$field)),)*],
            )
        }

        /// Reads alerts back; the error names the first column that is missing or wrong.
        fn from_batch(batch: &RecordBatch) -> Result<Vec<Alert>, String> {
            $(let $field = batch.column_by_name(stringify!($field));)*
            (0..batch.num_rows())
                .map(|row| {
                    Ok(Alert {
                        $($field: match $field {
                            Some(column) => <columns::$kind as Column>::read(column, row),
                            None => <columns::$kind as Column>::missing(),
                        }
                        .ok_or_else(|| stringify!($field).to_string())?,)*
                    })
                })
                .collect()
        }
    };
}

// The alert table. Its JSON form (`--format json|ndjson`) has the same fields, with
// `evidence` an object and `score_reasons`/`mitre` arrays; see `Alert` for each field.
alert_columns! {
    alert_id: Text,
    rule_id: RuleIdText,
    title: Text,
    severity: SeverityText,
    score: Score,
    score_reasons: List,
    entity_type: Text,
    entity_id: Text,
    entity_name: OptText,
    summary: Text,
    first_seen: OptText,
    last_seen: OptText,
    event_count: Count,
    evidence: Json,
    mitre: List,
    remediation: Text,
    status: StatusText,
    suppression: OptText,
    triage: OptText,
    run_id: Text,
    as_of: Text,
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

/// Stores a run's alerts, replacing an earlier run with the same id at `lock`'s next commit.
pub fn store_run(
    lake: &Lake,
    lock: &mut WriteLock,
    run_id: &str,
    alerts: &[Alert],
) -> Result<(), LakeError> {
    let batch = alert_batch(alerts).map_err(|source| LakeError::Arrow {
        table: ALERTS_TABLE.into(),
        source,
    })?;
    lake.replace_partition(lock, ALERTS_TABLE, RUN_COLUMN, run_id, &batch)
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
