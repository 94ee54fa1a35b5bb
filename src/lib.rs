//! pimwatch: audit-and-alert analytics for privileged access in Microsoft Entra ID and Azure.
//!
//! Data flows one way: [`ingest`] (read and normalize) → [`lake`] (Parquet) → [`engine`]
//! (DataFusion SQL) → [`rules`] → [`alerts`] → [`report`]s and [`notify`] (webhooks);
//! [`pull`] brings Microsoft Graph into [`ingest`].
//! [`model`] is the canonical schema
//! every stage shares; [`config`] is `pimwatch.toml`. [`workspace`] holds the services every
//! front end calls (detect, query, stats, lint, tests, demo); [`cli`] only parses arguments,
//! renders results and maps them to exit codes.

pub mod alerts;
pub mod cli;
pub mod config;
pub mod engine;
pub mod generate;
pub mod ingest;
pub mod lake;
pub mod model;
pub mod notify;
pub mod pull;
pub mod report;
pub mod rules;
pub mod workspace;
