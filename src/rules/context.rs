//! What a run learns about the lake besides findings, read from the pack's views: the
//! break-glass set the rules used, and the gaps in the data (`data_warnings`) that rules
//! must not read as findings. Both are said on every run.

use serde::{Deserialize, Serialize};

use crate::engine::{column_strings, Engine, EngineError};

/// One account of the break-glass set, and how it was recognised (`account`: declared in
/// config; `pattern`: by name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BreakGlassAccount {
    pub principal_id: String,
    pub upn: Option<String>,
    pub matched_by: String,
}

impl BreakGlassAccount {
    /// How messages name the account.
    pub fn label(&self) -> String {
        self.upn
            .clone()
            .unwrap_or_else(|| self.principal_id.clone())
    }
}

/// One kind of gap in the data: what, how many objects, and what to export to close it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataWarning {
    pub topic: String,
    pub affected: u64,
    pub detail: String,
}

/// The view the break-glass set is read from, and the one gaps are read from.
pub const BREAK_GLASS_VIEW: &str = "break_glass_accounts";
pub const DATA_WARNINGS_VIEW: &str = "data_warnings";

/// The break-glass set as of the engine's run, sorted.
pub async fn break_glass_set(engine: &Engine) -> Result<Vec<BreakGlassAccount>, EngineError> {
    let batches = engine
        .query(&format!(
            "SELECT principal_id, upn, matched_by FROM {BREAK_GLASS_VIEW} ORDER BY principal_id"
        ))
        .await?;
    let (ids, upns, how) = (
        column_strings(&batches, 0)?,
        column_strings(&batches, 1)?,
        column_strings(&batches, 2)?,
    );
    Ok(ids
        .into_iter()
        .zip(upns)
        .zip(how)
        .map(|((principal_id, upn), matched_by)| BreakGlassAccount {
            principal_id,
            upn: (!upn.is_empty()).then_some(upn),
            matched_by,
        })
        .collect())
}

/// The gaps in the data as of the engine's run.
pub async fn data_warnings(engine: &Engine) -> Result<Vec<DataWarning>, EngineError> {
    let batches = engine
        .query(&format!(
            "SELECT topic, CAST(affected AS VARCHAR), detail FROM {DATA_WARNINGS_VIEW} ORDER BY topic, detail"
        ))
        .await?;
    let (topics, counts, details) = (
        column_strings(&batches, 0)?,
        column_strings(&batches, 1)?,
        column_strings(&batches, 2)?,
    );
    Ok(topics
        .into_iter()
        .zip(counts)
        .zip(details)
        .map(|((topic, affected), detail)| DataWarning {
            topic,
            affected: affected.parse().unwrap_or(0),
            detail,
        })
        .collect())
}

/// What changed in the break-glass set since the previous run: (added, removed).
pub fn break_glass_changes<'a>(
    before: &'a [BreakGlassAccount],
    now: &'a [BreakGlassAccount],
) -> (Vec<&'a BreakGlassAccount>, Vec<&'a BreakGlassAccount>) {
    let added = now
        .iter()
        .filter(|a| !before.iter().any(|b| b.principal_id == a.principal_id))
        .collect();
    let removed = before
        .iter()
        .filter(|b| !now.iter().any(|a| a.principal_id == b.principal_id))
        .collect();
    (added, removed)
}
