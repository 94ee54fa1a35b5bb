-- pimwatch: materialize
-- Group members in force at `$as_of`: members pages and expanded members (`direct`), and PIM
-- for Groups eligibilities (`eligible`) and assignments (`active`); each collection's latest
-- export (see `latest_exports`), each membership once.
SELECT * EXCLUDE (newest) FROM (
    SELECT t.*, row_number() OVER (
               PARTITION BY t.group_id, t.member_id, t.access_type, t.membership_type
               ORDER BY t.snapshot_time DESC) AS newest
    FROM group_members t
    JOIN latest_exports l ON l.table_name = 'group_members' AND l.collection = coalesce(t.collection, '')
    WHERE t.snapshot_time <= l.snapshot_time
      AND t.snapshot_time > l.snapshot_time - INTERVAL '1 hour'
)
WHERE newest = 1
  AND (start_time IS NULL OR start_time <= $as_of)
  AND (end_time IS NULL OR end_time > $as_of)
