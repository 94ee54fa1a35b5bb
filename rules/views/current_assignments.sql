-- pimwatch: materialize
-- Active role assignments (standing `assigned` and just-in-time `activated`) in force at
-- `$as_of`: each collection's latest export (see `latest_exports`), each assignment once, role
-- ids resolved to template ids (a `directoryRoles/{id}/members` page names the object id).
WITH latest AS (
    SELECT * EXCLUDE (newest) FROM (
        SELECT t.*, row_number() OVER (PARTITION BY t.assignment_id ORDER BY t.snapshot_time DESC) AS newest
        FROM role_assignments t
        JOIN latest_exports l ON l.table_name = 'role_assignments' AND l.collection = coalesce(t.collection, '')
        WHERE t.snapshot_time <= l.snapshot_time
          AND t.snapshot_time > l.snapshot_time - INTERVAL '1 hour'
    )
    WHERE newest = 1
)
SELECT a.* REPLACE (coalesce(m.role_id, a.role_id) AS role_id)
FROM latest a
LEFT JOIN role_id_map m ON m.object_id = a.role_id
WHERE (a.start_time IS NULL OR a.start_time <= $as_of)
  AND (a.end_time IS NULL OR a.end_time > $as_of)
