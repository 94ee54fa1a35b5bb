-- pimwatch: materialize
-- Role definitions (and the tenant's directoryRole objects) as of the run: each collection's
-- latest export at or before `$as_of` (see `latest_exports`), each definition once.
SELECT * EXCLUDE (newest) FROM (
    SELECT t.*, row_number() OVER (PARTITION BY t.role_id, t.definition_id ORDER BY t.snapshot_time DESC) AS newest
    FROM role_definitions t
    JOIN latest_exports l ON l.table_name = 'role_definitions' AND l.collection = coalesce(t.collection, '')
    WHERE t.snapshot_time <= l.snapshot_time
      AND t.snapshot_time > l.snapshot_time - INTERVAL '1 hour'
)
WHERE newest = 1
