-- Audit events about roles (every source: Entra PIM and Core Directory, Azure Activity,
-- Windows), since `$history_start` (see `activations`), with the role's privilege and tier.
-- Two things the raw rows leave open are decided here:
-- - `role_id`: a directoryRole object id the record left (a Core Directory record without
--   `Role.TemplateId`) is mapped to the template id through `directoryRoles`.
-- - `pim_twin` / `via_pim` of a Core Directory change made by an app *named* MS-PIM without
--   its application id in the record (real records look like that): PIM made it when that
--   service principal is PIM's own (application id 01fc33a7-…) in `principals`; when the lake
--   has no such service principal, when PIM logged the same principal and role within ten
--   minutes (the PIM record it mirrors). An app merely named MS-PIM is not PIM. A direct
--   change that shares its correlation id with PIM's record of the same principal and role is
--   that PIM action, whoever the record names as initiator.
-- - a role id no catalogue or tenant knows (test data, redacted exports) with the exact display
--   name of one built-in role of its platform is that role; never a partial name match.
-- - a Windows group by domain SID (`S-1-5-21-…-512`) is judged as the well-known group its
--   relative id names (Domain Admins), whatever the group is called in that language.
WITH builtin_names AS (
    SELECT lower(role_name) AS name, platform, max(role_id) AS role_id
    FROM roles
    WHERE is_built_in
    GROUP BY lower(role_name), platform
    HAVING count(*) = 1
),
base AS (
    SELECT e.* REPLACE (coalesce(m.role_id, CASE WHEN k.role_id IS NULL THEN n.role_id END,
                                 e.role_id) AS role_id)
    FROM audit_events e
    LEFT JOIN role_id_map m ON m.object_id = e.role_id
    LEFT JOIN roles k ON k.role_id = coalesce(m.role_id, e.role_id)
    LEFT JOIN builtin_names n
           ON n.name = lower(e.role_name)
          AND n.platform = CASE e.source WHEN 'azure_activity' THEN 'azure' ELSE 'entra' END
          AND e.source <> 'windows_security'
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
),
same_operation AS (
    SELECT DISTINCT b.dedupe_key
    FROM base b
    JOIN base p ON p.correlation_id = b.correlation_id AND p.service = 'PIM'
               AND p.role_action IN ('eligible_assigned', 'active_assigned', 'activation_completed',
                                     'eligible_removed', 'active_removed', 'deactivated',
                                     'activation_expired')
               AND p.target_id = b.target_id AND p.role_id = b.role_id
    WHERE b.role_action IN ('direct_role_added', 'direct_role_removed')
      AND b.correlation_id IS NOT NULL
)
SELECT b.* REPLACE (
           CASE WHEN so.dedupe_key IS NOT NULL THEN true
                ELSE coalesce(b.pim_twin, a.app_id = '01fc33a7-78ba-4d2f-a4b7-768e336e890e',
                              mi.dedupe_key IS NOT NULL) END AS pim_twin,
           CASE WHEN so.dedupe_key IS NOT NULL THEN true
                WHEN b.via_pim IS NOT NULL THEN b.via_pim
                ELSE coalesce(a.app_id = '01fc33a7-78ba-4d2f-a4b7-768e336e890e',
                              mi.dedupe_key IS NOT NULL) END AS via_pim),
       CASE WHEN so.dedupe_key IS NOT NULL AND NOT coalesce(b.pim_twin, true) THEN 'same operation'
            WHEN b.pim_twin IS NOT NULL THEN 'record'
            WHEN a.principal_id IS NOT NULL THEN 'service principal'
            ELSE 'mirrored PIM record' END AS pim_identity_by,
       coalesce(r.is_privileged OR r.tier = 0 OR r.highly_privileged,
                g.is_privileged, false) AS role_is_privileged,
       coalesce(r.tier, g.tier, 2) AS role_tier
FROM base b
LEFT JOIN actors a ON a.principal_id = b.actor_id AND b.pim_twin IS NULL
LEFT JOIN mirrored mi ON mi.dedupe_key = b.dedupe_key
LEFT JOIN same_operation so ON so.dedupe_key = b.dedupe_key
LEFT JOIN roles r ON r.role_id = b.role_id
LEFT JOIN roles g ON b.source = 'windows_security' AND g.platform = 'active_directory'
                 AND g.role_id LIKE '-%' AND b.role_id LIKE 'S-1-5-21-%'
                 AND ends_with(b.role_id, g.role_id)
