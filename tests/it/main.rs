//! The one integration-test binary (every extra binary links DataFusion again).

mod access_review;
mod catalogue;
mod channels;
mod cli;
mod fake_graph;
mod formats;
mod fuzz;
mod generate;
mod ingest_samples;
mod lake;
mod malformed;
mod notify;
mod pull;
mod query;
mod real_shapes;
mod reliability;
mod report;
mod rules;
mod run;
mod support;
mod triage;
