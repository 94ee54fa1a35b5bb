-- pimwatch: materialize
-- Who holds each role as of the run, and at which scope: direct holders, and members of a
-- role-assignable group that holds a role (a PIM for Groups *eligible* member holds it
-- eligibly: they must activate their membership first); eligible and active; each principal
-- once per role and scope, with what rules need to judge them.
-- - A group that holds a role is a row too (`principal_type = 'group'`): head counts count
--   users and service principals, never these rows.
-- - A scoped holding (an administrative unit, one application) is not a tenant-wide one:
--   `is_tenant_wide` is false, `tier` is at least 1 and `highly_privileged` false;
--   `role_tier` keeps the role's own tier.
-- - `is_permanent_active`: a standing active assignment with no end, or one that ends further
--   ahead than the role policy's maximum for active assignments (180 days when none): that is
--   standing access, not time-bound.
-- - `last_signed_in`: the last *successful* sign-in where the export says
--   (`lastSuccessfulSignInDateTime`; attempts before Microsoft began recording it in
--   2023-12 still count), else the last attempt; null when never. `sign_in_activity` is
--   `absent` when the export had no `signInActivity`: then it is unknown, not never.
-- - `counts_as_holder`: what head counts (how many Global Administrators, privileged
--   assignments) count: a tenant-wide holding by an enabled user or service principal —
--   never a group's own row, a disabled account or a scoped holding.
WITH expanded AS (
    SELECT h.principal_id AS holder_id, h.*, CAST(NULL AS VARCHAR) AS via_group_id,
           h.holding AS effective_holding
    FROM role_holdings h
    UNION ALL
    SELECT m.member_id AS holder_id, h.*, h.principal_id AS via_group_id,
           CASE WHEN m.membership_type = 'eligible' THEN 'eligible' ELSE h.holding END AS effective_holding
    FROM role_holdings h
    JOIN current_group_members m ON m.group_id = h.principal_id
                                AND coalesce(m.access_type, 'member') = 'member'
),
limits AS (
    SELECT role_id, max(active_max_seconds) AS active_max_seconds
    FROM current_policies
    WHERE coalesce(scope_id, '/') = '/'
    GROUP BY role_id
),
held AS (
    SELECT x.holder_id,
           x.role_id,
           x.directory_scope_id,
           bool_or(x.effective_holding = 'active') AS is_active,
           bool_or(x.effective_holding = 'eligible') AS is_eligible,
           bool_or(x.effective_holding = 'active' AND x.assignment_type = 'assigned'
                   AND (x.end_time IS NULL
                        OR CAST(x.end_time AS BIGINT) - CAST($as_of AS BIGINT)
                           > coalesce(lim.active_max_seconds, 15552000) * 1000000000)) AS is_permanent_active,
           bool_or(x.effective_holding = 'active' AND x.assignment_type = 'assigned') AS is_standing,
           bool_or(x.effective_holding = 'active' AND x.created_outside_pim) AS has_assignment_outside_pim,
           bool_or(x.via_group_id IS NULL) AS is_direct,
           min(x.via_group_id) AS via_group_id,
           min(x.start_time) AS holding_since,
           max(CASE WHEN x.effective_holding = 'active' THEN x.end_time END) AS active_until,
           count(*) AS holding_count
    FROM expanded x
    LEFT JOIN limits lim ON lim.role_id = x.role_id
    GROUP BY x.holder_id, x.role_id, x.directory_scope_id
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
       coalesce(p.on_premises_sync_enabled, false) OR p.on_premises_immutable_id IS NOT NULL AS is_synced,
       p.created_time,
       p.sign_in_activity,
       p.last_sign_in,
       p.last_non_interactive_sign_in,
       p.last_successful_sign_in,
       CASE p.sign_in_activity
            WHEN 'successful' THEN coalesce(
                p.last_successful_sign_in,
                CASE WHEN greatest(p.last_sign_in, p.last_non_interactive_sign_in)
                          < CAST('2023-12-01T00:00:00Z' AS TIMESTAMP)
                     THEN greatest(p.last_sign_in, p.last_non_interactive_sign_in) END)
            WHEN 'attempts' THEN greatest(p.last_sign_in, p.last_non_interactive_sign_in)
       END AS last_signed_in,
       p.password_credential_count,
       h.role_id,
       h.directory_scope_id,
       h.directory_scope_id = '/' OR coalesce(r.platform, 'entra') <> 'entra' AS is_tenant_wide,
       coalesce(r.role_name, h.role_id) AS role_name,
       coalesce(r.is_privileged, false) AS is_privileged,
       coalesce(r.highly_privileged, false)
           AND (h.directory_scope_id = '/' OR coalesce(r.platform, 'entra') <> 'entra') AS highly_privileged,
       CASE WHEN h.directory_scope_id = '/' OR coalesce(r.platform, 'entra') <> 'entra'
            THEN coalesce(r.tier, 2)
            ELSE greatest(coalesce(r.tier, 2), 1) END AS tier,
       coalesce(r.tier, 2) AS role_tier,
       h.is_active,
       h.is_eligible,
       h.is_permanent_active,
       h.is_standing,
       h.has_assignment_outside_pim,
       h.is_direct,
       h.via_group_id,
       h.holding_since,
       h.active_until,
       h.holding_count,
       coalesce(p.principal_type, 'unknown') <> 'group' AND coalesce(p.account_enabled, true)
           AND (h.directory_scope_id = '/' OR coalesce(r.platform, 'entra') <> 'entra') AS counts_as_holder,
       b.principal_id IS NOT NULL AS is_break_glass
FROM held h
LEFT JOIN current_principals p ON p.principal_id = h.holder_id
LEFT JOIN roles r ON r.role_id = h.role_id
LEFT JOIN break_glass_accounts b ON b.principal_id = h.holder_id
