-- The access review: every holding of a privileged role (Microsoft's privileged label, our
-- tier 0 or CISA's highly privileged set, as `privileged_roles` says) as of `$as_of`, one row per
-- (principal, role, scope, kind), with what a reviewer needs to decide on it. `$period_start`
-- opens the review period (activations, active hours and MFA are counted inside it).
WITH holdings AS (
    SELECT h.*, k.kind
    FROM effective_holders h
    CROSS JOIN (VALUES ('eligible'), ('active')) AS k(kind)
    WHERE (h.is_privileged OR h.highly_privileged OR h.role_tier = 0
           OR h.role_id IN (SELECT role_id FROM privileged_roles))
      AND ((k.kind = 'eligible' AND h.is_eligible) OR (k.kind = 'active' AND h.is_active))
),
-- The holding as the directory states it (for a group's members: the group's holding).
ends AS (
    SELECT principal_id, role_id, directory_scope_id, holding AS kind,
           bool_or(end_time IS NULL) AS open_ended,
           max(end_time) AS end_time,
           min(start_time) AS start_time
    FROM role_holdings
    GROUP BY principal_id, role_id, directory_scope_id, holding
),
-- The latest grant of the role to the principal the logs show, and who made it.
grants AS (
    SELECT target_id, role_id, time, role_action, via_pim,
           coalesce(actor_upn, actor_name, actor_id) AS actor,
           row_number() OVER (PARTITION BY target_id, role_id ORDER BY time DESC) AS newest
    FROM role_events
    WHERE role_action IN ('eligible_assigned', 'active_assigned', 'assigned_outside_pim',
                          'direct_role_added', 'assignment_extended', 'eligible_restored',
                          'active_restored')
      AND time <= $as_of
),
acts AS (
    SELECT principal_id, role_id,
           max(activated_at) AS last_activation,
           sum(CASE WHEN activated_at >= $period_start THEN 1 ELSE 0 END) AS activations,
           sum(greatest(
               CAST(least(coalesce(deactivated_at, active_until, expired_at, $as_of), $as_of) AS BIGINT)
               - CAST(greatest(coalesce(active_from, activated_at), $period_start) AS BIGINT),
               0)) AS active_nanos
    FROM activations
    WHERE activated_at <= $as_of AND denied_at IS NULL
    GROUP BY principal_id, role_id
),
mfa AS (
    SELECT user_id, time, mfa_method,
           row_number() OVER (PARTITION BY user_id ORDER BY time DESC) AS newest
    FROM sign_ins
    WHERE mfa_performed AND (result IS NULL OR result = 'success')
      AND time <= $as_of AND time >= $period_start
)
SELECT h.principal_id,
       h.principal_name,
       h.upn,
       h.principal_type,
       h.is_external,
       h.is_synced,
       coalesce(h.account_enabled, true) AS account_enabled,
       h.is_break_glass,
       h.role_id,
       h.role_name,
       h.tier,
       h.directory_scope_id AS scope,
       h.kind,
       CASE WHEN h.kind = 'active' THEN h.is_permanent_active
            ELSE coalesce(e.open_ended, true) END AS is_permanent,
       e.end_time,
       coalesce(e.start_time, h.holding_since) AS granted_at,
       CASE WHEN h.via_group_id IS NOT NULL THEN 'group ' || h.via_group_id
            WHEN g.role_action IS NULL THEN 'unknown (no grant in the logs)'
            WHEN g.via_pim THEN 'PIM'
            ELSE 'outside PIM' END AS granted_how,
       g.time AS granted_logged_at,
       g.actor AS granted_by,
       a.last_activation,
       coalesce(a.activations, 0) AS activations,
       CAST(coalesce(a.active_nanos, 0) / 3600000000000.0 AS DOUBLE) AS active_hours,
       h.sign_in_activity,
       h.last_signed_in,
       m.time AS last_mfa,
       m.mfa_method AS last_mfa_method
FROM holdings h
LEFT JOIN ends e ON e.principal_id = coalesce(h.via_group_id, h.principal_id)
                AND e.role_id = h.role_id
                AND e.directory_scope_id = h.directory_scope_id
                AND e.kind = h.kind
LEFT JOIN grants g ON g.target_id = h.principal_id AND g.role_id = h.role_id AND g.newest = 1
LEFT JOIN acts a ON a.principal_id = h.principal_id AND a.role_id = h.role_id
LEFT JOIN mfa m ON m.user_id = h.principal_id AND m.newest = 1
ORDER BY h.role_name, h.principal_name, h.directory_scope_id, h.kind
