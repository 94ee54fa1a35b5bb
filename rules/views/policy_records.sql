-- pimwatch: materialize
-- Every PIM policy record as of the run, whatever its shape (see `role_policies` in
-- docs/schema.md): each collection's latest export (see `latest_exports`), each record once,
-- with whether it carries settings (a policy listed with `rules($select=id)`, or without its
-- rules, carries none).
SELECT * EXCLUDE (newest),
       (activation_mfa_required IS NOT NULL OR activation_max_seconds IS NOT NULL
        OR approval_required IS NOT NULL OR eligible_expiration_required IS NOT NULL
        OR active_expiration_required IS NOT NULL
        OR activation_auth_context_required IS NOT NULL) AS has_settings
FROM (
    SELECT t.*, row_number() OVER (
               PARTITION BY t.policy_id, t.role_id, t.record_type, t.scope_id
               ORDER BY t.snapshot_time DESC) AS newest
    FROM role_policies t
    JOIN latest_exports l ON l.table_name = 'role_policies' AND l.collection = coalesce(t.collection, '')
    WHERE t.snapshot_time <= l.snapshot_time
      AND t.snapshot_time > l.snapshot_time - INTERVAL '1 hour'
)
WHERE newest = 1
