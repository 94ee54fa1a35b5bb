-- Who holds each role as of the run: direct holders and members of role-assignable groups,
-- eligible and active, each principal once per role, with what rules need to judge them.
WITH expanded AS (
    SELECT h.principal_id AS holder_id, h.*, CAST(NULL AS VARCHAR) AS via_group_id
    FROM role_holdings h
    UNION ALL
    SELECT m.member_id AS holder_id, h.*, h.principal_id AS via_group_id
    FROM role_holdings h
    JOIN current_group_members m ON m.group_id = h.principal_id
),
held AS (
    SELECT holder_id,
           role_id,
           bool_or(holding = 'active') AS is_active,
           bool_or(holding = 'eligible') AS is_eligible,
           bool_or(holding = 'active' AND end_time IS NULL AND assignment_type = 'assigned') AS is_permanent_active,
           bool_or(holding = 'active' AND assignment_type = 'assigned') AS is_standing,
           bool_or(holding = 'active' AND created_outside_pim) AS has_assignment_outside_pim,
           bool_or(via_group_id IS NULL) AS is_direct,
           min(via_group_id) AS via_group_id,
           min(start_time) AS holding_since,
           count(*) AS holding_count
    FROM expanded
    GROUP BY holder_id, role_id
)
SELECT h.holder_id AS principal_id,
       coalesce(p.principal_type, 'unknown') AS principal_type,
       coalesce(p.display_name, p.upn, h.holder_id) AS principal_name,
       p.upn,
       p.user_type,
       coalesce(p.is_external, false) OR coalesce(p.user_type = 'guest', false)
           OR coalesce(p.upn LIKE '%#EXT#%', false) AS is_external,
       p.account_enabled,
       coalesce(p.on_premises_sync_enabled, false) AS on_premises_sync_enabled,
       p.created_time,
       p.last_sign_in,
       p.last_non_interactive_sign_in,
       p.last_successful_sign_in,
       p.password_credential_count,
       h.role_id,
       coalesce(r.role_name, h.role_id) AS role_name,
       coalesce(r.is_privileged, false) AS is_privileged,
       coalesce(r.highly_privileged, false) AS highly_privileged,
       coalesce(r.tier, 2) AS tier,
       h.is_active,
       h.is_eligible,
       h.is_permanent_active,
       h.is_standing,
       h.has_assignment_outside_pim,
       h.is_direct,
       h.via_group_id,
       h.holding_since,
       h.holding_count,
       b.principal_id IS NOT NULL AS is_break_glass
FROM held h
LEFT JOIN current_principals p ON p.principal_id = h.holder_id
LEFT JOIN roles r ON r.role_id = h.role_id
LEFT JOIN break_glass_accounts b ON b.principal_id = h.holder_id
