//! The engine: one DataFusion session over the lake, every canonical table registered once,
//! JSON functions (`json_get`, `json_get_str`, … on `raw`) and pimwatch's own (`functions`:
//! `privileged_actions`) available, and SQL read-only.
//!
//! Besides the lake's tables it registers the run's context: `run` (one row: `as_of`), the
//! built-in `role_catalogue`, `break_glass_config` (accounts and name patterns from config),
//! and the views it is given (`rules/views/*.sql`), so that views see the run's time.
//!
//! This is the one seam between pimwatch and DataFusion's execution: a distributed context
//! (Ballista) can replace the local one here without the rest of the code noticing.

mod committed_store;
mod context_tables;
mod functions;

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
use datafusion::execution::memory_pool::MemoryConsumer;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::SessionConfig;
use datafusion::scalar::ScalarValue;
use futures::StreamExt;

use crate::lake::{partition_column, Lake, LakeError};
use crate::model::{all_tables, Instant, Layout};
use committed_store::CommittedStore;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::object_store::local::LocalFileSystem;

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
    #[error("the query needs more memory than the limit of {} (raise [limits] memory_mb in pimwatch.toml or --memory-limit): {detail}", human_bytes(*limit))]
    MemoryLimit { limit: usize, detail: String },
    #[error("the query ran longer than the limit of {} s (raise [limits] query_seconds in pimwatch.toml or --query-timeout)", .0.as_secs())]
    Timeout(std::time::Duration),
}

/// `4.0 GiB`, `512 MiB`.
pub fn human_bytes(bytes: usize) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    let b = bytes as f64;
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.0} MiB", b / MIB)
    }
}

/// How much one session may use: memory for its operators and results (sorts, joins and
/// aggregates spill to disk before they fail), and time per query (a rule is one query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: usize,
    pub query_timeout: std::time::Duration,
}

impl Limits {
    /// Default time for one query or rule.
    pub const DEFAULT_QUERY_SECONDS: u64 = 300;

    /// Half the machine's memory (4 GiB when it cannot be read) and five minutes a query.
    pub fn machine_default() -> Self {
        Self {
            memory_bytes: total_memory().map_or(4 << 30, |total| total / 2),
            query_timeout: std::time::Duration::from_secs(Self::DEFAULT_QUERY_SECONDS),
        }
    }
}

/// The machine's memory, from `/proc/meminfo` (Linux).
fn total_memory() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

impl From<DataFusionError> for EngineError {
    fn from(e: DataFusionError) -> Self {
        if let DataFusionError::ResourcesExhausted(detail) = e.find_root() {
            return EngineError::MemoryLimit {
                limit: 0,
                detail: detail.trim().replace('\n', "; "),
            };
        }
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
    /// Memory and time a query may use.
    pub limits: Limits,
    /// Compute the views marked [`MATERIALIZE_MARK`] once, when the session opens, and keep
    /// their rows in memory: a run of many rules then pays for them once, not once per rule.
    /// Worth it only when many statements follow (detect, rule tests), never for one query.
    pub materialize_views: bool,
}

/// The line a view's SQL carries to be computed once per run when
/// [`EngineOptions::materialize_views`] is set: small results that many rules read.
pub const MATERIALIZE_MARK: &str = "-- pimwatch: materialize";

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
    damaged: Arc<Vec<DamagedFile>>,
    limits: Limits,
}

impl Engine {
    /// A session over the lake with the run's context and views.
    pub async fn open_with(lake: &Lake, options: &EngineOptions) -> Result<Self, EngineError> {
        let engine = Self::open_limited(lake, options.limits).await?;
        context_tables::register(&engine.ctx, options)?;
        engine
            .register_views(
                &options.views,
                options.time_params(),
                options.materialize_views,
            )
            .await?;
        Ok(engine)
    }

    /// Registers views in dependency order: a view that names one not registered yet is
    /// retried after the others, so file order does not matter. `$as_of` and `$history_start`
    /// are bound as literals, so filters on them prune date partitions. With `materialize`,
    /// a view marked [`MATERIALIZE_MARK`] is computed now and later views read its rows; one
    /// that cannot be computed (out of memory) stays a plain view, so each rule reading it
    /// fails or succeeds on its own as before.
    async fn register_views(
        &self,
        views: &[(String, String)],
        params: Vec<(String, ScalarValue)>,
        materialize: bool,
    ) -> Result<(), EngineError> {
        let mut pending: Vec<&(String, String)> = views.iter().collect();
        while !pending.is_empty() {
            let mut failed = Vec::new();
            let mut last_error = None;
            for view in &pending {
                let (name, sql) = (&view.0, &view.1);
                match self.frame(sql, params.clone()).await {
                    Ok(frame) => {
                        let marked = sql.lines().any(|l| l.trim() == MATERIALIZE_MARK);
                        let rows = if materialize && marked {
                            frame.clone().cache().await.ok()
                        } else {
                            None
                        };
                        let table = rows.unwrap_or(frame).into_view();
                        self.ctx.register_table(name.as_str(), table)?;
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

    /// Registers every canonical table of `lake` (an empty table when nothing was ingested),
    /// as of the lake's last commit: files written since, or never committed, are not seen.
    /// A committed file that is no longer Parquet (truncated, overwritten) is left out and
    /// named in [`Engine::damaged`], so that one bad file does not stop every query.
    pub async fn open(lake: &Lake) -> Result<Self, EngineError> {
        Self::open_limited(lake, Limits::machine_default()).await
    }

    async fn open_limited(lake: &Lake, limits: Limits) -> Result<Self, EngineError> {
        let snapshot = lake.snapshot()?;
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema("pimwatch", "lake");
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(limits.memory_bytes, 1.0)
            .build_arc()?;
        let mut ctx = SessionContext::new_with_config_rt(config, runtime);
        datafusion_functions_json::register_all(&mut ctx)?;
        functions::register(&ctx);
        let mut visible = BTreeSet::new();
        let mut damaged = Vec::new();
        for relative in snapshot.all_files() {
            let path = lake.root().join(relative);
            match check_parquet_ends(&path) {
                Ok(()) => {
                    visible.insert(relative.clone());
                }
                Err(reason) => damaged.push(DamagedFile { path, reason }),
            }
        }
        if !visible.is_empty() {
            let root = std::path::absolute(lake.root()).map_err(|source| LakeError::Io {
                path: lake.root().to_path_buf(),
                source,
            })?;
            let local = LocalFileSystem::new_with_prefix(&root)
                .map_err(|e| EngineError::Query(DataFusionError::ObjectStore(Box::new(e))))?;
            let url = ObjectStoreUrl::parse(LAKE_URL)?;
            ctx.register_object_store(
                url.as_ref(),
                Arc::new(CommittedStore::new(Arc::new(local), visible.clone())),
            );
        }
        let has_files = |table: &str| visible.iter().any(|f| f.starts_with(&format!("{table}/")));
        for (table, schema, layout) in all_tables() {
            let partition = (partition_column(layout).to_string(), partition_type(layout));
            if !has_files(table) {
                let mut fields: Vec<Field> =
                    schema.fields().iter().map(|f| f.as_ref().clone()).collect();
                fields.push(Field::new(&partition.0, partition.1.clone(), false));
                let empty = MemTable::try_new(Arc::new(Schema::new(fields)), vec![vec![]])?;
                ctx.register_table(table, Arc::new(empty))?;
                continue;
            }
            register_listing(&ctx, table, Arc::new(schema), partition)?;
        }
        if has_files(ALERTS) {
            // Stored alerts that cannot be read must not stop queries over the other tables.
            if let Err(e) = register_alerts(&ctx).await {
                damaged.push(DamagedFile {
                    path: lake.table_dir(ALERTS),
                    reason: format!("the stored alerts cannot be read: {e}"),
                });
            }
        }
        Ok(Self {
            ctx,
            damaged: Arc::new(damaged),
            limits,
        })
    }

    /// Committed files left out because they are not readable Parquet.
    pub fn damaged(&self) -> &[DamagedFile] {
        &self.damaged
    }

    /// Runs one read-only SQL statement and collects its result.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, EngineError> {
        self.query_with_params(sql, Vec::new()).await
    }

    /// Runs a planned statement within the limits: the result counts against the memory
    /// pool like any operator, and the whole run (planning included) against the time limit.
    async fn collect_limited(
        &self,
        work: impl std::future::Future<Output = Result<DataFrame, EngineError>>,
    ) -> Result<Vec<RecordBatch>, EngineError> {
        let limits = self.limits;
        let pool = Arc::clone(&self.ctx.runtime_env().memory_pool);
        let run = async move {
            let frame = work.await?;
            let mut stream = frame.execute_stream().await?;
            let reservation = MemoryConsumer::new("query result").register(&pool);
            let mut batches = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                reservation.try_grow(batch.get_array_memory_size())?;
                batches.push(batch);
            }
            Ok(batches)
        };
        match tokio::time::timeout(limits.query_timeout, run).await {
            Ok(Err(EngineError::MemoryLimit { detail, .. })) => Err(EngineError::MemoryLimit {
                limit: limits.memory_bytes,
                detail,
            }),
            Ok(result) => result,
            Err(_) => Err(EngineError::Timeout(limits.query_timeout)),
        }
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
        self.collect_limited(self.frame(sql, params)).await
    }
}

/// Names every session registers itself: the canonical tables, `alerts` and the run's
/// context tables. A view may not take one.
pub fn reserved_table_names() -> Vec<&'static str> {
    all_tables()
        .into_iter()
        .map(|(name, _, _)| name)
        .chain([ALERTS])
        .chain(context_tables::NAMES.iter().copied())
        .collect()
}

/// The object store URL the committed lake is registered under.
const LAKE_URL: &str = "pimwatch-lake://committed";
/// Stored alert runs (`alerts/run=…/`), the table `alerts` (its schema is the alerts module's;
/// the engine reads it from the files).
const ALERTS: &str = "alerts";

async fn register_alerts(ctx: &SessionContext) -> Result<(), EngineError> {
    let url = ListingTableUrl::parse(format!("{LAKE_URL}/{ALERTS}/"))?;
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

/// Registers `table` over its committed files, with its known schema (no file is opened to
/// infer it).
fn register_listing(
    ctx: &SessionContext,
    table: &str,
    schema: Arc<Schema>,
    partition: (String, DataType),
) -> Result<(), EngineError> {
    let url = ListingTableUrl::parse(format!("{LAKE_URL}/{table}/"))?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![partition]);
    let listing = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(schema);
    ctx.register_table(table, Arc::new(ListingTable::try_new(listing)?))?;
    Ok(())
}

/// A committed file that cannot be read as Parquet, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedFile {
    pub path: std::path::PathBuf,
    pub reason: String,
}

/// The cheap check every reader makes: the file starts and ends with Parquet's magic bytes
/// and its footer fits in it (a truncated or overwritten file fails; Parquet's own readers
/// are not all safe against a footer longer than the file).
pub fn check_parquet_ends(path: &std::path::Path) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};
    const MAGIC: &[u8; 4] = b"PAR1";
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    if size < 12 {
        return Err(format!("{size} bytes is too short for a Parquet file"));
    }
    let (mut head, mut tail) = ([0u8; 4], [0u8; 8]);
    file.read_exact(&mut head)
        .and_then(|()| file.seek(SeekFrom::End(-8)))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|e| e.to_string())?;
    if &head != MAGIC || &tail[4..] != MAGIC {
        return Err("not a Parquet file (truncated, or written by something else)".into());
    }
    let footer = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if footer + 12 > size {
        return Err(format!(
            "its footer says {footer} bytes but the file has {size}: truncated or damaged"
        ));
    }
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
