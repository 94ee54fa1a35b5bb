-- pimwatch: materialize
-- One row per real change to who holds a role, since `$history_start`: an eligible or active
-- assignment added or removed, through PIM or directly, in Entra (directory roles), Azure RBAC
-- or Active Directory (Windows group membership), successful ones only. Each action once:
-- - the Core Directory write PIM makes for its own assignment (`pim_twin`) is the same action
--   as PIM's record, and is left out;
-- - PIM's "Add member to role outside of PIM" report of a direct add that Core Directory logged
--   in the day before is left out too (the direct add is the action).
-- Activations, deactivations and expiries are not assignment changes (see `activations`).
-- `change` is `added` or `removed`; `kind` is `eligible` or `active`; `platform` is `entra`,
-- `azure` or `active_directory`.
WITH changes AS (
    SELECT e.dedupe_key, e.source, e.time, e.activity, e.role_action, e.service,
           e.correlation_id, e.actor_type, e.actor_id, e.actor_upn, e.actor_name,
           e.actor_app_id, e.actor_ip, e.target_id, e.target_type, e.target_upn,
           e.target_name, e.role_id, e.role_name, e.role_scope, e.duration_kind, e.via_pim,
           e.justification, e.end_time, e.role_is_privileged, e.role_tier,
           CASE WHEN e.role_action IN ('eligible_assigned', 'active_assigned',
                                       'assigned_outside_pim', 'direct_role_added',
                                       'eligible_restored', 'active_restored')
                THEN 'added' ELSE 'removed' END AS change,
           CASE WHEN e.role_action LIKE 'eligible%' THEN 'eligible' ELSE 'active' END AS kind,
           CASE e.source WHEN 'azure_activity' THEN 'azure'
                         WHEN 'windows_security' THEN 'active_directory'
                         ELSE 'entra' END AS platform
    FROM role_events e
    WHERE e.role_action IN ('eligible_assigned', 'active_assigned', 'assigned_outside_pim',
                            'direct_role_added', 'eligible_restored', 'active_restored',
                            'eligible_removed', 'active_removed', 'direct_role_removed')
      AND NOT coalesce(e.pim_twin, false)
      AND coalesce(lower(e.result), 'success') = 'success'
      AND e.target_id IS NOT NULL
      AND e.role_id IS NOT NULL
),
reported AS (
    SELECT DISTINCT c.dedupe_key
    FROM changes c
    JOIN changes d ON d.target_id = c.target_id AND d.role_id = c.role_id
                  AND d.role_action = 'direct_role_added'
                  AND d.time <= c.time AND d.time > c.time - INTERVAL '1 day'
    WHERE c.role_action = 'assigned_outside_pim'
)
SELECT c.*
FROM changes c
LEFT JOIN reported r ON r.dedupe_key = c.dedupe_key
WHERE r.dedupe_key IS NULL
