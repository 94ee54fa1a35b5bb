-- Audit events about roles (every source: Entra PIM and Core Directory, Azure Activity,
-- Windows), with the role's privilege and tier; since `$history_start` (see `activations`).
SELECT e.*,
       coalesce(r.is_privileged, false) AS role_is_privileged,
       coalesce(r.tier, 2) AS role_tier
FROM audit_events e
LEFT JOIN roles r ON r.role_id = e.role_id
WHERE e.role_action IS NOT NULL
  AND e.date >= CAST($history_start AS DATE) AND e.time > $history_start
