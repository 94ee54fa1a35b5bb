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
    RolePolicy, RoleRequest, SignIn, TableRow,
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

macro_rules! canonical_row {
    ($($variant:ident => $row:ident,)*) => {
        /// A normalized row for one of the canonical tables.
        #[derive(Debug, Clone, PartialEq)]
        pub enum CanonicalRow {
            $($variant(Box<$row>),)*
        }

        impl CanonicalRow {
            fn row_mut(&mut self) -> &mut dyn RowBookkeeping {
                match self {
                    $(CanonicalRow::$variant(r) => r.as_mut(),)*
                }
            }
        }
    };
}

crate::for_each_table!(canonical_row);

/// What every canonical row lets ingest set, whatever its table.
trait RowBookkeeping {
    fn stamp(&mut self, raw: Option<String>, source_file: &str, ingested_at: i64);
    fn set_collection(&mut self, collection: String);
}

impl<R: TableRow> RowBookkeeping for R {
    fn stamp(&mut self, raw: Option<String>, source_file: &str, ingested_at: i64) {
        TableRow::stamp(self, raw, source_file, ingested_at);
    }
    fn set_collection(&mut self, collection: String) {
        TableRow::set_collection(self, collection);
    }
}

/// A record's rows, and what could not be read in it without losing the record.
#[derive(Debug, Default)]
pub struct Normalized {
    pub rows: Vec<CanonicalRow>,
    pub warnings: Vec<RecordError>,
}

/// Normalizes one record of a known kind and stamps its rows with `raw` and the file's
/// bookkeeping. Policy rules are not rows on their own: they are
/// handed to `rules` and become one `role_policies` row per policy when the file ends.
pub fn normalize(
    kind: RecordKind,
    record: &Value,
    raw: String,
    odata_context: Option<&str>,
    file: &FileContext,
    rules: &mut PolicyRuleCollector,
) -> Result<Normalized, RecordError> {
    let mut warnings = Vec::new();
    let mut rows = normalize_record(kind, record, odata_context, file, rules, &mut warnings)?;
    for row in &mut rows {
        row.set_collection(kind);
    }
    let mut raw = Some(raw);
    let last = rows.len().saturating_sub(1);
    for (i, row) in rows.iter_mut().enumerate() {
        let raw = if i == last { raw.take() } else { raw.clone() };
        row.stamp(raw, file);
    }
    Ok(Normalized { rows, warnings })
}

/// Stamps the ingest bookkeeping of every row in one place: the record's original text
/// (unless the normalizer kept a more specific one) and where and when it was read.
pub fn stamp_rows(rows: &mut [CanonicalRow], file: &FileContext) {
    for row in rows {
        row.stamp(None, file);
    }
}

fn normalize_record(
    kind: RecordKind,
    record: &Value,
    odata_context: Option<&str>,
    file: &FileContext,
    rules: &mut PolicyRuleCollector,
    warnings: &mut Vec<RecordError>,
) -> Result<Vec<CanonicalRow>, RecordError> {
    let one = |row: CanonicalRow| Ok(vec![row]);
    match kind {
        RecordKind::DirectoryAudit => one(CanonicalRow::Audit(Box::new(entra_audit::normalize(
            record, warnings,
        )?))),
        RecordKind::ActivityLog => one(CanonicalRow::Audit(Box::new(activity_log::normalize(
            record,
        )?))),
        RecordKind::WindowsEvent => one(CanonicalRow::Audit(Box::new(windows::normalize(record)?))),
        RecordKind::SignIn => one(CanonicalRow::SignIn(Box::new(sign_in::normalize(record)?))),
        RecordKind::User | RecordKind::ServicePrincipal | RecordKind::Group => {
            directory::normalize_principal(kind, record, file)
        }
        RecordKind::GroupMember => one(CanonicalRow::GroupMember(Box::new(
            directory::normalize_member(record, odata_context, file)?,
        ))),
        RecordKind::GroupEligibility | RecordKind::GroupAssignment => one(
            CanonicalRow::GroupMember(Box::new(directory::group_membership_schedule(
                record,
                kind == RecordKind::GroupEligibility,
                file,
            )?)),
        ),
        RecordKind::DirectoryRole => pim::directory_role(record, file),
        RecordKind::DirectoryRoleMember => one(CanonicalRow::RoleAssignment(Box::new(
            pim::directory_role_member(record, odata_context, file)?,
        ))),
        RecordKind::RoleDefinition => one(CanonicalRow::RoleDefinition(Box::new(
            pim::role_definition(record, file)?,
        ))),
        RecordKind::RoleAssignment => one(CanonicalRow::RoleAssignment(Box::new(
            pim::role_assignment(record, odata_context, file)?,
        ))),
        RecordKind::RoleEligibility => one(CanonicalRow::RoleEligibility(Box::new(
            pim::role_eligibility(record, odata_context, file)?,
        ))),
        RecordKind::RoleAssignmentRequest => one(CanonicalRow::RoleRequest(Box::new(
            pim::role_request(record, "assignment", file)?,
        ))),
        RecordKind::RoleEligibilityRequest => one(CanonicalRow::RoleRequest(Box::new(
            pim::role_request(record, "eligibility", file)?,
        ))),
        RecordKind::RolePolicy => one(CanonicalRow::RolePolicy(Box::new(pim::role_policy(
            record, file,
        )?))),
        RecordKind::RolePolicyAssignment => one(CanonicalRow::RolePolicy(Box::new(
            pim::role_policy_assignment(record, file)?,
        ))),
        RecordKind::RolePolicyRule => {
            rules.add(record, odata_context)?;
            Ok(Vec::new())
        }
    }
}

impl CanonicalRow {
    /// Names what was exported, so that the `current_*` views take the latest export of each
    /// collection (users, one group's members, …) rather than one snapshot per table.
    pub fn set_collection(&mut self, kind: RecordKind) {
        let collection = match (&*self, kind) {
            (CanonicalRow::Principal(_), RecordKind::User) => "users".to_string(),
            (CanonicalRow::Principal(_), RecordKind::ServicePrincipal) => {
                "servicePrincipals".to_string()
            }
            (CanonicalRow::Principal(_), _) => "groups".to_string(),
            (CanonicalRow::GroupMember(_), RecordKind::Group) => "groups/members".to_string(),
            (CanonicalRow::GroupMember(m), RecordKind::GroupMember) => format!(
                "groups('{}')/members",
                m.group_id.as_deref().unwrap_or_default()
            ),
            (CanonicalRow::GroupMember(_), RecordKind::GroupEligibility) => {
                "privilegedAccess/group/eligibility".to_string()
            }
            (CanonicalRow::GroupMember(_), _) => "privilegedAccess/group/assignment".to_string(),
            (CanonicalRow::RoleDefinition(_), RecordKind::DirectoryRole) => {
                "directoryRoles".to_string()
            }
            (CanonicalRow::RoleDefinition(_), _) => "roleDefinitions".to_string(),
            (CanonicalRow::RoleAssignment(_), RecordKind::DirectoryRole) => {
                "directoryRoles/members".to_string()
            }
            (CanonicalRow::RoleAssignment(a), RecordKind::DirectoryRoleMember) => format!(
                "directoryRoles('{}')/members",
                a.role_id.as_deref().unwrap_or_default()
            ),
            (CanonicalRow::RoleAssignment(a), _) => format!(
                "roleAssignments:{}",
                a.record_type.as_deref().unwrap_or_default()
            ),
            (CanonicalRow::RoleEligibility(e), _) => format!(
                "roleEligibilities:{}",
                e.record_type.as_deref().unwrap_or_default()
            ),
            (CanonicalRow::RoleRequest(r), _) => format!(
                "roleRequests:{}",
                r.request_kind.as_deref().unwrap_or_default()
            ),
            (CanonicalRow::RolePolicy(p), _) => format!(
                "rolePolicies:{}",
                p.record_type.as_deref().unwrap_or_default()
            ),
            (CanonicalRow::Audit(_) | CanonicalRow::SignIn(_), _) => return,
        };
        self.row_mut().set_collection(collection);
    }

    /// Sets `source_file` and `ingested_at`, and `raw` unless the row already has one.
    fn stamp(&mut self, raw: Option<String>, file: &FileContext) {
        self.row_mut()
            .stamp(raw, &file.source_file, file.ingested_at);
    }
}
