//! Normalization: one classified JSON record in, canonical rows out. One module per family
//! of inputs; each finds the role, the principal and the request by type and key, never by
//! array position, and keeps the original record in `raw`.

mod activity_log;
mod directory;
mod entra_audit;
mod pim;
mod sign_in;
mod windows;

use serde_json::Value;

use super::detect::RecordKind;
use super::fields::RecordError;
use crate::model::{
    AuditEvent, GroupMember, Principal, RoleAssignment, RoleDefinition, RoleEligibility,
    RolePolicy, RoleRequest, SignIn,
};

pub use pim::PolicyRuleCollector;

/// What every row of one input file shares.
#[derive(Debug, Clone)]
pub struct FileContext {
    pub source_file: String,
    /// The time state rows describe (nanoseconds, UTC).
    pub snapshot_time: i64,
    pub ingested_at: i64,
}

/// A normalized row for one of the canonical tables.
#[derive(Debug, Clone, PartialEq)]
pub enum CanonicalRow {
    Audit(Box<AuditEvent>),
    SignIn(Box<SignIn>),
    Principal(Box<Principal>),
    RoleDefinition(Box<RoleDefinition>),
    RoleAssignment(Box<RoleAssignment>),
    RoleEligibility(Box<RoleEligibility>),
    RoleRequest(Box<RoleRequest>),
    RolePolicy(Box<RolePolicy>),
    GroupMember(Box<GroupMember>),
}

/// Normalizes one record of a known kind. Policy rules are not rows on their own: they are
/// handed to `rules` and become one `role_policies` row per policy when the file ends.
pub fn normalize(
    kind: RecordKind,
    record: &Value,
    raw: String,
    odata_context: Option<&str>,
    file: &FileContext,
    rules: &mut PolicyRuleCollector,
) -> Result<Vec<CanonicalRow>, RecordError> {
    let one = |row: CanonicalRow| Ok(vec![row]);
    match kind {
        RecordKind::DirectoryAudit => one(CanonicalRow::Audit(Box::new(entra_audit::normalize(
            record, raw, file,
        )?))),
        RecordKind::ActivityLog => one(CanonicalRow::Audit(Box::new(activity_log::normalize(
            record, raw, file,
        )?))),
        RecordKind::WindowsEvent => one(CanonicalRow::Audit(Box::new(windows::normalize(
            record, raw, file,
        )?))),
        RecordKind::SignIn => one(CanonicalRow::SignIn(Box::new(sign_in::normalize(
            record, raw, file,
        )?))),
        RecordKind::User | RecordKind::ServicePrincipal | RecordKind::Group => {
            directory::normalize_principal(kind, record, raw, file)
        }
        RecordKind::GroupMember => one(CanonicalRow::GroupMember(Box::new(
            directory::normalize_member(record, odata_context, raw, file)?,
        ))),
        RecordKind::RoleDefinition => one(CanonicalRow::RoleDefinition(Box::new(
            pim::role_definition(record, raw, file)?,
        ))),
        RecordKind::RoleAssignment => one(CanonicalRow::RoleAssignment(Box::new(
            pim::role_assignment(record, odata_context, raw, file)?,
        ))),
        RecordKind::RoleEligibility => one(CanonicalRow::RoleEligibility(Box::new(
            pim::role_eligibility(record, odata_context, raw, file)?,
        ))),
        RecordKind::RoleAssignmentRequest => one(CanonicalRow::RoleRequest(Box::new(
            pim::role_request(record, "assignment", raw, file)?,
        ))),
        RecordKind::RoleEligibilityRequest => one(CanonicalRow::RoleRequest(Box::new(
            pim::role_request(record, "eligibility", raw, file)?,
        ))),
        RecordKind::RolePolicy => one(CanonicalRow::RolePolicy(Box::new(pim::role_policy(
            record, raw, file,
        )?))),
        RecordKind::RolePolicyAssignment => one(CanonicalRow::RolePolicy(Box::new(
            pim::role_policy_assignment(record, raw, file)?,
        ))),
        RecordKind::RolePolicyRule => {
            rules.add(record, odata_context)?;
            Ok(Vec::new())
        }
    }
}
