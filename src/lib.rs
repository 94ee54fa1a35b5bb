//! pimwatch: audit-and-alert analytics for privileged access in Microsoft Entra ID and Azure.
//!
//! Data flows one way: [`ingest`] (read and normalize) → [`lake`] (Parquet) → [`engine`]
//! (DataFusion SQL) → [`rules`] → [`alerts`] → [`report`]s. [`model`] is the canonical schema
//! every stage shares; [`config`] is `pimwatch.toml`; [`cli`] is the command line over all of it.

pub mod alerts;
pub mod cli;
pub mod config;
pub mod engine;
pub mod generate;
pub mod ingest;
pub mod lake;
pub mod model;
pub mod report;
pub mod rules;
