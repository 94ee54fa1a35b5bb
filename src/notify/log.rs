//! Which alert went to which webhook, in which run: the lake's `notifications/` log, so an
//! alert is posted once per webhook however often the run is repeated.

use crate::lake::{append_log, read_log, Lake, LakeError, WriteLock};
use crate::model::Instant;

pub const NOTIFICATIONS_TABLE: &str = "notifications";
const COLUMNS: [&str; 4] = ["alert_id", "webhook", "run_id", "at"];

/// One alert delivered to one webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub alert_id: String,
    /// The webhook's `name` (never its URL).
    pub webhook: String,
    pub run_id: String,
    pub at: Instant,
}

pub fn record_deliveries(
    lake: &Lake,
    lock: &mut WriteLock,
    deliveries: &[Delivery],
) -> Result<(), LakeError> {
    let Some(first) = deliveries.first() else {
        return Ok(());
    };
    let day: String = first.at.to_rfc3339().chars().take(10).collect();
    let rows: Vec<Vec<String>> = deliveries
        .iter()
        .map(|d| {
            vec![
                d.alert_id.clone(),
                d.webhook.clone(),
                d.run_id.clone(),
                d.at.to_rfc3339(),
            ]
        })
        .collect();
    append_log(lake, lock, NOTIFICATIONS_TABLE, &day, &COLUMNS, &rows)
}

pub fn load_deliveries(lake: &Lake) -> Result<Vec<Delivery>, LakeError> {
    read_log(lake, NOTIFICATIONS_TABLE, &COLUMNS)?
        .into_iter()
        .map(|row| {
            let [alert_id, webhook, run_id, at]: [String; 4] =
                row.try_into().map_err(|_| unexpected(lake, "alert_id"))?;
            Ok(Delivery {
                alert_id,
                webhook,
                run_id,
                at: Instant::parse(&at).map_err(|_| unexpected(lake, "at"))?,
            })
        })
        .collect()
}

fn unexpected(lake: &Lake, column: &str) -> LakeError {
    LakeError::UnexpectedFile {
        path: lake.table_dir(NOTIFICATIONS_TABLE),
        column: column.to_string(),
    }
}
