-- pimwatch: materialize
-- Users, service principals and groups as of the run: each collection's latest export at or
-- before `$as_of` (see `latest_exports`), each principal once, from the newest page.
SELECT * EXCLUDE (newest) FROM (
    SELECT t.*, row_number() OVER (PARTITION BY t.principal_id ORDER BY t.snapshot_time DESC) AS newest
    FROM principals t
    JOIN latest_exports l ON l.table_name = 'principals' AND l.collection = coalesce(t.collection, '')
    WHERE t.snapshot_time <= l.snapshot_time
      AND t.snapshot_time > l.snapshot_time - INTERVAL '1 hour'
)
WHERE newest = 1
