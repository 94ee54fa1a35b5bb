-- pimwatch: materialize
-- Accounts that hold a privileged role (see `privileged_roles`): as of the run (effective
-- holders: directly, through a role-assignable group, eligible or active, at any scope), or
-- given one since `$history_start` (a grant in `role_changes`, which a later removal does not
-- undo for the rules that ask). One row per principal (lower-case id): its lowest tier and its
-- privileged roles. Rules about accounts — authentication methods, MFA, sign-in failures, a
-- guest made member — judge "privileged" by this, never by a name.
WITH held AS (
    SELECT lower(h.principal_id) AS principal_id, r.role_name, r.tier
    FROM effective_holders h
    JOIN privileged_roles r ON r.role_id = h.role_id
    WHERE h.principal_type <> 'group'
    UNION ALL
    SELECT lower(c.target_id) AS principal_id, coalesce(r.role_name, c.role_name, c.role_id) AS role_name,
           coalesce(r.tier, c.role_tier) AS tier
    FROM role_changes c
    LEFT JOIN roles r ON r.role_id = c.role_id
    WHERE c.change = 'added' AND c.role_is_privileged AND c.time <= $as_of
)
SELECT principal_id,
       min(tier) AS tier,
       string_agg(DISTINCT role_name, ', ') AS roles
FROM held
WHERE principal_id IS NOT NULL
GROUP BY principal_id
