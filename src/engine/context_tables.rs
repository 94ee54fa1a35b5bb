//! Small in-memory tables that give SQL the run's context: `run` (the `as_of` every view is
//! evaluated at), `role_catalogue` (the built-in roles with privilege and tier) and
//! `break_glass_config` (what config says identifies a break-glass account).

use std::sync::Arc;

use datafusion::arrow::array::TimestampNanosecondArray;
use datafusion::arrow::array::{ArrayRef, BooleanArray, Int32Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::execution::context::SessionContext;

use super::{EngineError, EngineOptions};
use crate::model::roles;

/// The tables registered here.
pub(super) const NAMES: &[&str] = &["run", "role_catalogue", "break_glass_config"];

pub(super) fn register(ctx: &SessionContext, options: &EngineOptions) -> Result<(), EngineError> {
    let utc = DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
    let run = batch(
        vec![Field::new("as_of", utc, false)],
        vec![Arc::new(
            TimestampNanosecondArray::from(vec![options.as_of.nanos()]).with_timezone("UTC"),
        )],
    )?;
    register_batch(ctx, "run", run)?;

    let catalogue = roles::catalogue();
    let text = |f: fn(&roles::CatalogueRole) -> String| -> ArrayRef {
        Arc::new(StringArray::from(
            catalogue.iter().map(f).collect::<Vec<_>>(),
        ))
    };
    let flag = |f: fn(&roles::CatalogueRole) -> bool| -> ArrayRef {
        Arc::new(BooleanArray::from(
            catalogue.iter().map(f).collect::<Vec<_>>(),
        ))
    };
    let catalogue_batch = batch(
        vec![
            Field::new("role_id", DataType::Utf8, false),
            Field::new("display_name", DataType::Utf8, false),
            Field::new("platform", DataType::Utf8, false),
            Field::new("is_privileged", DataType::Boolean, false),
            Field::new("highly_privileged", DataType::Boolean, false),
            Field::new("tier", DataType::Int32, false),
        ],
        vec![
            text(|r| r.role_id.clone()),
            text(|r| r.display_name.clone()),
            text(|r| r.platform.as_str().to_string()),
            flag(|r| r.is_privileged),
            flag(|r| r.highly_privileged),
            Arc::new(Int32Array::from(
                catalogue
                    .iter()
                    .map(|r| i32::from(r.tier))
                    .collect::<Vec<_>>(),
            )),
        ],
    )?;
    register_batch(ctx, "role_catalogue", catalogue_batch)?;

    let mut values = Vec::new();
    let mut kinds = Vec::new();
    for account in &options.break_glass_accounts {
        values.push(account.trim().to_lowercase());
        kinds.push("account");
    }
    for pattern in &options.break_glass_patterns {
        values.push(pattern.clone());
        kinds.push("pattern");
    }
    let break_glass = batch(
        vec![
            Field::new("value", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
        ],
        vec![
            Arc::new(StringArray::from(values)),
            Arc::new(StringArray::from(kinds)),
        ],
    )?;
    register_batch(ctx, "break_glass_config", break_glass)
}

fn batch(fields: Vec<Field>, columns: Vec<ArrayRef>) -> Result<RecordBatch, EngineError> {
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| EngineError::Query(e.into()))
}

fn register_batch(ctx: &SessionContext, name: &str, batch: RecordBatch) -> Result<(), EngineError> {
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}
