//! The canonical tables: one row struct and Arrow schema per table (DESIGN.md §3).
//! `docs/schema.md` documents every column; a test keeps the two in step.

use crate::define_table;

/// How snapshots are named, in the lake (`snapshot=20261128T060000Z`) and in input paths:
/// basic ISO 8601, no colons, so the name is valid on every file system and object store.
pub const SNAPSHOT_NAME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// How a table is laid out in the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Events: partitioned by the UTC date of `time` (`date=YYYY-MM-DD`).
    Event,
    /// State: one partition per snapshot (`snapshot=YYYYMMDDTHHMMSSZ`).
    Snapshot,
}

/// What the lake needs of a canonical row; implemented by [`define_table!`] for every table.
pub trait TableRow: Sized + Clone + Send + 'static {
    const TABLE: &'static str;
    const LAYOUT: Layout;
    fn schema() -> datafusion::arrow::datatypes::Schema;
    fn to_batch(
        rows: &[Self],
    ) -> Result<datafusion::arrow::record_batch::RecordBatch, datafusion::arrow::error::ArrowError>;
    /// The time that places the row in its partition (event time or snapshot time).
    fn partition_time(&self) -> Option<i64>;
    fn content_hash(&self, hasher: &mut super::columns::StableHasher);
    fn set_dedupe_key(&mut self, key: [u8; 16]);
    /// Approximate bytes the row holds in memory.
    fn approx_size(&self) -> usize;
    /// Sets where and when the row was read, and its original text unless it has one.
    fn stamp(&mut self, raw: Option<String>, source_file: &str, ingested_at: i64);
    /// Names what was exported (state tables; a no-op for event tables).
    fn set_collection(&mut self, collection: String);
}

/// Every canonical table, once: `Variant => RowType`. Whatever must cover every table (the
/// catalogue below, the row enum and the writers of ingest) is generated from this list by
/// passing a macro to it, so adding a table is one `define_table!` and one line here.
#[macro_export]
macro_rules! for_each_table {
    ($callback:ident) => {
        $callback! {
            Audit => AuditEvent,
            SignIn => SignIn,
            Principal => Principal,
            RoleDefinition => RoleDefinition,
            RoleAssignment => RoleAssignment,
            RoleEligibility => RoleEligibility,
            RoleRequest => RoleRequest,
            RolePolicy => RolePolicy,
            GroupMember => GroupMember,
        }
    };
}

define_table!(
    /// One audit record: Entra directory audit, Azure Activity Log or Windows Security event.
    AuditEvent, "audit_events", Event(time), {
    dedupe_key: Key,
    event_id: Str,
    source: Str,
    tenant_id: Str,
    time: Ts,
    category: Str,
    activity: Str,
    operation_type: Str,
    result: Str,
    result_reason: Str,
    service: Str,
    correlation_id: Str,
    actor_type: Str,
    actor_id: Str,
    actor_upn: Str,
    actor_name: Str,
    actor_app_id: Str,
    actor_ip: Str,
    actor_auth_methods: Str,
    target_id: Str,
    target_type: Str,
    target_upn: Str,
    target_name: Str,
    role_id: Str,
    role_name: Str,
    role_object_id: Str,
    role_scope: Str,
    role_action: Str,
    assignment_kind: Str,
    duration_kind: Str,
    via_pim: Bool,
    pim_twin: Bool,
    justification: Str,
    ticket_number: Str,
    ticket_system: Str,
    start_time: Ts,
    end_time: Ts,
    request_id: Str,
    targets: Targets,
    details: KeyValues,
    raw: Str,
    source_file: Str,
    ingested_at: Ts,
});

define_table!(
    /// One sign-in: interactive, non-interactive, service principal or managed identity.
    SignIn, "sign_ins", Event(time), {
    dedupe_key: Key,
    event_id: Str,
    source: Str,
    tenant_id: Str,
    time: Ts,
    sign_in_type: Str,
    user_id: Str,
    upn: Str,
    user_name: Str,
    user_type: Str,
    service_principal_id: Str,
    service_principal_name: Str,
    app_id: Str,
    app_name: Str,
    resource_id: Str,
    resource_name: Str,
    ip: Str,
    country: Str,
    city: Str,
    client_app: Str,
    auth_protocol: Str,
    is_interactive: Bool,
    error_code: Int,
    result: Str,
    failure_reason: Str,
    auth_requirement: Str,
    mfa_satisfied: Bool,
    mfa_performed: Bool,
    mfa_method: Str,
    auth_methods: Strs,
    ca_status: Str,
    risk_level: Str,
    risk_level_aggregated: Str,
    risk_state: Str,
    risk_detail: Str,
    device_id: Str,
    device_os: Str,
    device_compliant: Bool,
    device_managed: Bool,
    correlation_id: Str,
    raw: Str,
    source_file: Str,
    ingested_at: Ts,
});

define_table!(
    /// A user, service principal or group as of a snapshot.
    Principal, "principals", Snapshot(snapshot_time), {
    dedupe_key: Key,
    snapshot_time: Ts,
    collection: Str,
    tenant_id: Str,
    principal_id: Str,
    principal_type: Str,
    display_name: Str,
    upn: Str,
    mail: Str,
    user_type: Str,
    is_external: Bool,
    account_enabled: Bool,
    on_premises_sync_enabled: Bool,
    on_premises_immutable_id: Str,
    created_time: Ts,
    sign_in_activity: Str,
    last_sign_in: Ts,
    last_non_interactive_sign_in: Ts,
    last_successful_sign_in: Ts,
    app_id: Str,
    service_principal_type: Str,
    password_credential_count: Int,
    key_credential_count: Int,
    is_assignable_to_role: Bool,
    security_enabled: Bool,
    group_types: Strs,
    raw: Str,
    source_file: Str,
    ingested_at: Ts,
});

define_table!(
    /// A role definition (built-in or custom) with its privilege classification.
    RoleDefinition, "role_definitions", Snapshot(snapshot_time), {
    dedupe_key: Key,
    snapshot_time: Ts,
    collection: Str,
    tenant_id: Str,
    role_id: Str,
    definition_id: Str,
    display_name: Str,
    description: Str,
    is_built_in: Bool,
    is_enabled: Bool,
    is_privileged: Bool,
    tier: Int,
    allowed_actions: Strs,
    privileged_actions: Strs,
    raw: Str,
    source_file: Str,
    ingested_at: Ts,
});

define_table!(
    /// An active role assignment: standing (`assigned`) or just-in-time (`activated`).
    RoleAssignment, "role_assignments", Snapshot(snapshot_time), {
    dedupe_key: Key,
    snapshot_time: Ts,
    collection: Str,
    tenant_id: Str,
    assignment_id: Str,
    principal_id: Str,
    principal_type: Str,
    role_id: Str,
    directory_scope_id: Str,
    app_scope_id: Str,
    assignment_type: Str,
    member_type: Str,
    start_time: Ts,
    end_time: Ts,
    created_outside_pim: Bool,
    schedule_id: Str,
    origin_id: Str,
    record_type: Str,
    raw: Str,
    source_file: Str,
    ingested_at: Ts,
});

define_table!(
    /// An eligible role assignment (must be activated through PIM).
    RoleEligibility, "role_eligibilities", Snapshot(snapshot_time), {
    dedupe_key: Key,
    snapshot_time: Ts,
    collection: Str,
    tenant_id: Str,
    eligibility_id: Str,
    principal_id: Str,
    principal_type: Str,
    role_id: Str,
    directory_scope_id: Str,
    app_scope_id: Str,
    member_type: Str,
    start_time: Ts,
    end_time: Ts,
    schedule_id: Str,
    record_type: Str,
    raw: Str,
    source_file: Str,
    ingested_at: Ts,
});

define_table!(
    /// A PIM role assignment or eligibility schedule request.
    RoleRequest, "role_requests", Snapshot(snapshot_time), {
    dedupe_key: Key,
    snapshot_time: Ts,
    collection: Str,
    tenant_id: Str,
    request_id: Str,
    request_kind: Str,
    action: Str,
    status: Str,
    principal_id: Str,
    role_id: Str,
    directory_scope_id: Str,
    justification: Str,
    ticket_number: Str,
    ticket_system: Str,
    created_time: Ts,
    completed_time: Ts,
    created_by_id: Str,
    approval_id: Str,
    schedule_start: Ts,
    expiration_type: Str,
    expiration_end: Ts,
    expiration_duration: Str,
    expiration_seconds: Int,
    target_schedule_id: Str,
    raw: Str,
    source_file: Str,
    ingested_at: Ts,
});

define_table!(
    /// The PIM settings of one role (a role-management policy and its rules), one row per policy.
    RolePolicy, "role_policies", Snapshot(snapshot_time), {
    dedupe_key: Key,
    snapshot_time: Ts,
    collection: Str,
    tenant_id: Str,
    policy_id: Str,
    role_id: Str,
    scope_id: Str,
    scope_type: Str,
    record_type: Str,
    rule_count: Int,
    activation_mfa_required: Bool,
    activation_justification_required: Bool,
    activation_ticket_required: Bool,
    activation_auth_context_required: Bool,
    activation_auth_context: Str,
    activation_max_duration: Str,
    activation_max_seconds: Int,
    approval_required: Bool,
    approver_ids: Strs,
    approver_count: Int,
    eligible_expiration_required: Bool,
    eligible_max_duration: Str,
    eligible_max_seconds: Int,
    active_expiration_required: Bool,
    active_max_duration: Str,
    active_max_seconds: Int,
    notify_eligible_assignment_recipients: Strs,
    notify_active_assignment_recipients: Strs,
    notify_activation_recipients: Strs,
    raw: Str,
    source_file: Str,
    ingested_at: Ts,
});

define_table!(
    /// A member of a group (role-assignable groups make their members role holders).
    GroupMember, "group_members", Snapshot(snapshot_time), {
    dedupe_key: Key,
    snapshot_time: Ts,
    collection: Str,
    tenant_id: Str,
    group_id: Str,
    member_id: Str,
    member_type: Str,
    member_name: Str,
    member_upn: Str,
    access_type: Str,
    membership_type: Str,
    start_time: Ts,
    end_time: Ts,
    raw: Str,
    source_file: Str,
    ingested_at: Ts,
});

macro_rules! table_catalogue {
    ($($variant:ident => $row:ident,)*) => {
        /// Every canonical table, in documentation order: (name, schema, layout).
        pub fn all_tables() -> Vec<(&'static str, datafusion::arrow::datatypes::Schema, Layout)> {
            vec![$(($row::TABLE, $row::schema(), $row::LAYOUT),)*]
        }
    };
}

for_each_table!(table_catalogue);
