-- Audit events about roles (every source: Entra PIM and Core Directory, Azure Activity,
-- Windows), since `$history_start` (see `activations`), with the role's privilege and tier.
-- Two things the raw rows leave open are decided here:
-- - `role_id`: a directoryRole object id the record left (a Core Directory record without
--   `Role.TemplateId`) is mapped to the template id through `directoryRoles`.
-- - `pim_twin` / `via_pim` of a Core Directory change made by an app *named* MS-PIM without
--   its application id in the record (real records look like that): PIM made it when that
--   service principal is PIM's own (application id 01fc33a7-…) in `principals`; when the lake
--   has no such service principal, when PIM logged the same principal and role within ten
--   minutes (the PIM record it mirrors). An app merely named MS-PIM is not PIM.
WITH base AS (
    SELECT e.* REPLACE (coalesce(m.role_id, e.role_id) AS role_id)
    FROM audit_events e
    LEFT JOIN role_id_map m ON m.object_id = e.role_id
    WHERE e.role_action IS NOT NULL
      AND e.date >= CAST($history_start AS DATE) AND e.time > $history_start
),
actors AS (
    SELECT principal_id, app_id FROM current_principals WHERE principal_type = 'service_principal'
),
unknown AS (
    SELECT b.dedupe_key, b.target_id, b.role_id, b.time
    FROM base b
    LEFT JOIN actors a ON a.principal_id = b.actor_id
    WHERE b.pim_twin IS NULL AND a.principal_id IS NULL
),
mirrored AS (
    SELECT DISTINCT u.dedupe_key
    FROM unknown u
    JOIN base p ON p.service = 'PIM' AND p.target_id = u.target_id AND p.role_id = u.role_id
               AND p.time >= u.time - INTERVAL '10 minutes'
               AND p.time <= u.time + INTERVAL '10 minutes'
)
SELECT b.* REPLACE (
           coalesce(b.pim_twin, a.app_id = '01fc33a7-78ba-4d2f-a4b7-768e336e890e',
                    mi.dedupe_key IS NOT NULL) AS pim_twin,
           CASE WHEN b.via_pim IS NOT NULL THEN b.via_pim
                ELSE coalesce(a.app_id = '01fc33a7-78ba-4d2f-a4b7-768e336e890e',
                              mi.dedupe_key IS NOT NULL) END AS via_pim),
       CASE WHEN b.pim_twin IS NOT NULL THEN 'record'
            WHEN a.principal_id IS NOT NULL THEN 'service principal'
            ELSE 'mirrored PIM record' END AS pim_identity_by,
       coalesce(r.is_privileged, false) AS role_is_privileged,
       coalesce(r.tier, 2) AS role_tier
FROM base b
LEFT JOIN actors a ON a.principal_id = b.actor_id AND b.pim_twin IS NULL
LEFT JOIN mirrored mi ON mi.dedupe_key = b.dedupe_key
LEFT JOIN roles r ON r.role_id = b.role_id
