-- pimwatch: materialize
-- Eligible role assignments in force at `$as_of`: each collection's latest export (see
-- `latest_exports`), each eligibility once.
SELECT * EXCLUDE (newest) FROM (
    SELECT t.*, row_number() OVER (PARTITION BY t.eligibility_id ORDER BY t.snapshot_time DESC) AS newest
    FROM role_eligibilities t
    JOIN latest_exports l ON l.table_name = 'role_eligibilities' AND l.collection = coalesce(t.collection, '')
    WHERE t.snapshot_time <= l.snapshot_time
      AND t.snapshot_time > l.snapshot_time - INTERVAL '1 hour'
)
WHERE newest = 1
  AND (start_time IS NULL OR start_time <= $as_of)
  AND (end_time IS NULL OR end_time > $as_of)
