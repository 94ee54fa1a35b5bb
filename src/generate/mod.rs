//! Synthetic tenants (issue 3). This first part owns the *channels*: the same Graph object
//! written as a Graph page, as an Azure Monitor Event Hub / storage record, or as a Log
//! Analytics export row — the three ways real logs reach pimwatch. The tenant generator
//! builds on it. Knows nothing of ingest, the lake or rules.

pub mod channels;
