//! The engine: one DataFusion session over the lake, every canonical table registered once,
//! JSON functions (`json_get`, `json_get_str`, … on `raw`) available, and SQL read-only.
//!
//! This is the one seam between pimwatch and DataFusion's execution: a distributed context
//! (Ballista) can replace the local one here without the rest of the code noticing.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SQLOptions, SessionContext};
use datafusion::prelude::SessionConfig;

use crate::lake::{partition_column, Lake, LakeError};
use crate::model::{all_tables, Layout};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("queries are read-only: {0}")]
    ReadOnly(String),
    #[error("{0}")]
    Query(DataFusionError),
    #[error(transparent)]
    Lake(#[from] LakeError),
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

/// A DataFusion session with the lake's tables registered.
pub struct Engine {
    ctx: SessionContext,
}

impl Engine {
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
        Ok(Self { ctx })
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs one read-only SQL statement and collects its result.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, EngineError> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let frame = self.ctx.sql_with_options(sql, options).await?;
        Ok(frame.collect().await?)
    }
}

fn partition_type(layout: Layout) -> DataType {
    match layout {
        Layout::Event => DataType::Date32,
        Layout::Snapshot => DataType::Utf8,
    }
}
