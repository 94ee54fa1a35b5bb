-- pimwatch: materialize
-- PIM settings as of the run: one row per (role, scope), whichever shape the export had — a
-- policy assignment with its policy expanded (Graph `$expand=policy($expand=rules)`), policies
-- with their rules and policy assignments as two lists joined by policy id, or ARM policy
-- assignments with their effective rules. `policy_key` is the role id for a tenant-wide
-- policy and `<role id>@<scope>` for a scoped one. What cannot be joined is listed by
-- `unresolved_policies`, never read as a weak policy.
WITH links AS (
    SELECT DISTINCT policy_id, role_id, scope_id, scope_type FROM policy_records WHERE role_id IS NOT NULL
),
joined AS (
    SELECT s.* EXCLUDE (has_settings) REPLACE (
               l.role_id AS role_id,
               coalesce(l.scope_id, s.scope_id) AS scope_id,
               coalesce(l.scope_type, s.scope_type) AS scope_type),
           row_number() OVER (
               PARTITION BY l.role_id, coalesce(l.scope_id, s.scope_id, '/')
               ORDER BY s.record_type DESC, s.snapshot_time DESC) AS newest
    FROM links l
    JOIN policy_records s ON s.has_settings AND lower(s.policy_id) = lower(l.policy_id)
)
SELECT * EXCLUDE (newest),
       CASE WHEN coalesce(scope_id, '/') = '/' THEN role_id
            ELSE role_id || '@' || lower(scope_id) END AS policy_key
FROM joined
WHERE newest = 1
