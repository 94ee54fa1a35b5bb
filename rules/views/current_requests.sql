-- pimwatch: materialize
-- PIM requests as of the run: each collection's latest export at or before `$as_of` (see
-- `latest_exports`), each request once, in its latest state.
SELECT * EXCLUDE (newest) FROM (
    SELECT t.*, row_number() OVER (PARTITION BY t.request_id ORDER BY t.snapshot_time DESC) AS newest
    FROM role_requests t
    JOIN latest_exports l ON l.table_name = 'role_requests' AND l.collection = coalesce(t.collection, '')
    WHERE t.snapshot_time <= l.snapshot_time
      AND t.snapshot_time > l.snapshot_time - INTERVAL '1 hour'
)
WHERE newest = 1
