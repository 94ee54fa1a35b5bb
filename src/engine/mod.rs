//! The engine: one DataFusion session over the lake, every canonical table registered once,
//! JSON functions (`json_get`, `json_get_str`, … on `raw`) available, and SQL read-only.
//!
//! Besides the lake's tables it registers the run's context: `run` (one row: `as_of`), the
//! built-in `role_catalogue`, `break_glass_config` (accounts and name patterns from config),
//! and the views it is given (`rules/views/*.sql`), so that views see the run's time.
//!
//! This is the one seam between pimwatch and DataFusion's execution: a distributed context
//! (Ballista) can replace the local one here without the rest of the code noticing.

mod context_tables;

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::ParamValues;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SQLOptions, SessionContext};
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::SessionConfig;
use datafusion::scalar::ScalarValue;

use crate::lake::{partition_column, Lake, LakeError};
use crate::model::{all_tables, Instant, Layout};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("queries are read-only: {0}")]
    ReadOnly(String),
    #[error("{0}")]
    Query(DataFusionError),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("view `{name}`: {message}")]
    View { name: String, message: String },
}

impl From<DataFusionError> for EngineError {
    fn from(e: DataFusionError) -> Self {
        let message = e.strip_backtrace();
        if message.contains("DDL not supported")
            || message.contains("DML not supported")
            || message.contains("Statement not supported")
        {
            EngineError::ReadOnly(
                "pimwatch SQL can only read the lake; CREATE, INSERT, DROP, COPY, SET and other statements are refused"
                    .into(),
            )
        } else {
            EngineError::Query(e)
        }
    }
}

/// What a session sees besides the lake.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The run's time: the `run` table's `as_of`.
    pub as_of: Instant,
    /// (name, SELECT) of views to register, e.g. `rules/views/*.sql`.
    pub views: Vec<(String, String)>,
    /// Declared break-glass accounts (object ids or UPNs).
    pub break_glass_accounts: Vec<String>,
    /// Regular expressions matched against UPN and display name to find break-glass accounts.
    pub break_glass_patterns: Vec<String>,
    /// The earliest event time the run needs; views bind it as `$history_start` and read
    /// only the date partitions from there. `None`: all history.
    pub history_start: Option<Instant>,
}

impl EngineOptions {
    /// What views and `query` may bind: `$as_of` and `$history_start`.
    pub fn time_params(&self) -> Vec<(String, ScalarValue)> {
        time_params(self.as_of, self.history_start)
    }
}

/// `$as_of` and `$history_start` (1970 when all history is wanted) as bound values.
pub fn time_params(as_of: Instant, history_start: Option<Instant>) -> Vec<(String, ScalarValue)> {
    let timestamp =
        |t: Instant| ScalarValue::TimestampNanosecond(Some(t.nanos()), Some("UTC".into()));
    vec![
        ("as_of".into(), timestamp(as_of)),
        (
            "history_start".into(),
            timestamp(history_start.unwrap_or(Instant::from_nanos(0))),
        ),
    ]
}

fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// A DataFusion session with the lake's tables registered; clones share the session.
#[derive(Clone)]
pub struct Engine {
    ctx: SessionContext,
}

impl Engine {
    /// A session over the lake with the run's context and views.
    pub async fn open_with(lake: &Lake, options: &EngineOptions) -> Result<Self, EngineError> {
        let engine = Self::open(lake).await?;
        context_tables::register(&engine.ctx, options)?;
        engine
            .register_views(&options.views, options.time_params())
            .await?;
        Ok(engine)
    }

    /// Registers views in dependency order: a view that names one not registered yet is
    /// retried after the others, so file order does not matter. `$as_of` and `$history_start`
    /// are bound as literals, so filters on them prune date partitions.
    async fn register_views(
        &self,
        views: &[(String, String)],
        params: Vec<(String, ScalarValue)>,
    ) -> Result<(), EngineError> {
        let mut pending: Vec<&(String, String)> = views.iter().collect();
        while !pending.is_empty() {
            let mut failed = Vec::new();
            let mut last_error = None;
            for view in &pending {
                let (name, sql) = (&view.0, &view.1);
                match self.frame(sql, params.clone()).await {
                    Ok(frame) => {
                        self.ctx.register_table(name.as_str(), frame.into_view())?;
                    }
                    Err(e) => {
                        last_error = Some((name.clone(), e));
                        failed.push(*view);
                    }
                }
            }
            if failed.len() == pending.len() {
                if let Some((name, error)) = last_error {
                    return Err(EngineError::View {
                        name,
                        message: error.to_string(),
                    });
                }
            }
            pending = failed;
        }
        Ok(())
    }

    /// Registers every canonical table of `lake` (an empty table when nothing was ingested).
    pub async fn open(lake: &Lake) -> Result<Self, EngineError> {
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema("pimwatch", "lake");
        let mut ctx = SessionContext::new_with_config(config);
        datafusion_functions_json::register_all(&mut ctx)?;
        for (table, schema, layout) in all_tables() {
            let partition = (partition_column(layout).to_string(), partition_type(layout));
            if lake.table_files(table)?.is_empty() {
                let mut fields: Vec<Field> =
                    schema.fields().iter().map(|f| f.as_ref().clone()).collect();
                fields.push(Field::new(&partition.0, partition.1.clone(), false));
                let empty = MemTable::try_new(Arc::new(Schema::new(fields)), vec![vec![]])?;
                ctx.register_table(table, Arc::new(empty))?;
                continue;
            }
            let dir =
                std::path::absolute(lake.table_dir(table)).map_err(|source| LakeError::Io {
                    path: lake.table_dir(table),
                    source,
                })?;
            let url = ListingTableUrl::parse(format!("{}/", dir.display()))?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet")
                .with_table_partition_cols(vec![partition]);
            let listing = ListingTableConfig::new(url)
                .with_listing_options(options)
                .with_schema(Arc::new(schema));
            ctx.register_table(table, Arc::new(ListingTable::try_new(listing)?))?;
        }
        register_alerts(&ctx, lake).await?;
        Ok(Self { ctx })
    }

    /// Runs one read-only SQL statement and collects its result.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, EngineError> {
        let frame = self.ctx.sql_with_options(sql, read_only()).await?;
        Ok(frame.collect().await?)
    }

    /// A read-only statement with named parameters (`$name`) bound as values, never pasted
    /// into the text.
    async fn frame(
        &self,
        sql: &str,
        params: Vec<(String, ScalarValue)>,
    ) -> Result<DataFrame, EngineError> {
        let frame = self.ctx.sql_with_options(sql, read_only()).await?;
        let values = ParamValues::Map(
            params
                .into_iter()
                .map(|(name, value)| (name, value.into()))
                .collect(),
        );
        Ok(frame.with_param_values(values)?)
    }

    /// Plans a statement without running it: every table, column, function and type is
    /// checked.
    pub async fn plan(
        &self,
        sql: &str,
        params: Vec<(String, ScalarValue)>,
    ) -> Result<LogicalPlan, EngineError> {
        Ok(self.frame(sql, params).await?.into_optimized_plan()?)
    }

    /// The clock functions (`now()`/`current_timestamp`, `current_date`, `current_time`) a
    /// statement calls anywhere in its plan, subqueries included. Read from the plan as
    /// written, before the optimizer folds them into constants; comments and string literals
    /// are not calls, whatever the spelling or spacing.
    pub async fn clock_functions(
        &self,
        sql: &str,
        params: Vec<(String, ScalarValue)>,
    ) -> Result<BTreeSet<String>, EngineError> {
        const CLOCKS: &[&str] = &[
            "now",
            "current_timestamp",
            "current_date",
            "today",
            "current_time",
        ];
        let frame = self.frame(sql, params).await?;
        let mut found = BTreeSet::new();
        frame.logical_plan().apply_with_subqueries(|node| {
            node.apply_expressions(|expr| {
                expr.apply(|e| {
                    if let Expr::ScalarFunction(call) = e {
                        let name = call.func.name();
                        if CLOCKS.contains(&name) {
                            found.insert(name.to_string());
                        }
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
            })
        })?;
        Ok(found)
    }

    /// Runs one read-only statement with named parameters and collects its result.
    pub async fn query_with_params(
        &self,
        sql: &str,
        params: Vec<(String, ScalarValue)>,
    ) -> Result<Vec<RecordBatch>, EngineError> {
        Ok(self.frame(sql, params).await?.collect().await?)
    }
}

/// Stored alert runs (`alerts/run=…/`), when there are any, as the table `alerts`.
async fn register_alerts(ctx: &SessionContext, lake: &Lake) -> Result<(), EngineError> {
    const ALERTS: &str = "alerts";
    if lake.table_files(ALERTS)?.is_empty() {
        return Ok(());
    }
    let dir = std::path::absolute(lake.table_dir(ALERTS)).map_err(|source| LakeError::Io {
        path: lake.table_dir(ALERTS),
        source,
    })?;
    let url = ListingTableUrl::parse(format!("{}/", dir.display()))?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![("run".to_string(), DataType::Utf8)]);
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .infer_schema(&ctx.state())
        .await?;
    ctx.register_table(ALERTS, Arc::new(ListingTable::try_new(config)?))?;
    Ok(())
}

fn partition_type(layout: Layout) -> DataType {
    match layout {
        Layout::Event => DataType::Date32,
        Layout::Snapshot => DataType::Utf8,
    }
}

/// One column of a result as display strings (nulls as empty strings); an error when a batch
/// lacks the column or it cannot be shown, never a silently shorter list.
pub fn column_strings(batches: &[RecordBatch], column: usize) -> Result<Vec<String>, EngineError> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default().with_null("");
    let mut values = Vec::new();
    for batch in batches {
        if column >= batch.num_columns() {
            return Err(EngineError::Query(DataFusionError::Plan(format!(
                "the result has {} column(s), not {}",
                batch.num_columns(),
                column + 1
            ))));
        }
        let formatter = ArrayFormatter::try_new(batch.column(column).as_ref(), &options)
            .map_err(|e| EngineError::Query(e.into()))?;
        values.extend((0..batch.num_rows()).map(|row| formatter.value(row).to_string()));
    }
    Ok(values)
}
