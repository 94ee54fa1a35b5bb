//! The canonical model: table schemas, the role catalogue and the activity catalogue.
//! It knows nothing of files, the lake or rules: everything else depends on it.

pub mod activities;
pub mod columns;
pub mod kinds;
pub mod privileged_actions;
pub mod roles;
pub mod schema;
pub mod time;

pub use activities::{ActivityMeaning, AssignmentKind, DurationKind, RoleAction};
pub use columns::{ModifiedProperty, Target};
pub use kinds::{PrincipalType, Severity};
pub use schema::{
    all_tables, AuditEvent, GroupMember, Layout, Principal, RoleAssignment, RoleDefinition,
    RoleEligibility, RolePolicy, RoleRequest, SignIn, TableRow, SNAPSHOT_NAME_FORMAT,
};
pub use time::Instant;
