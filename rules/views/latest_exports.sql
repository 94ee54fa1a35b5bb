-- pimwatch: materialize
-- What was exported, and when: for each state table and collection (users, service principals,
-- one group's members, role assignment instances, …) the latest export at or before the run's
-- time. The `current_*` views read each collection from its latest export, together with the
-- pages of that collection exported in the hour before it (one listing spans many files).
SELECT 'principals' AS table_name, coalesce(collection, '') AS collection, max(snapshot_time) AS snapshot_time
FROM principals WHERE snapshot_time <= $as_of GROUP BY coalesce(collection, '')
UNION ALL
SELECT 'role_definitions', coalesce(collection, ''), max(snapshot_time)
FROM role_definitions WHERE snapshot_time <= $as_of GROUP BY coalesce(collection, '')
UNION ALL
SELECT 'role_assignments', coalesce(collection, ''), max(snapshot_time)
FROM role_assignments WHERE snapshot_time <= $as_of GROUP BY coalesce(collection, '')
UNION ALL
SELECT 'role_eligibilities', coalesce(collection, ''), max(snapshot_time)
FROM role_eligibilities WHERE snapshot_time <= $as_of GROUP BY coalesce(collection, '')
UNION ALL
SELECT 'role_requests', coalesce(collection, ''), max(snapshot_time)
FROM role_requests WHERE snapshot_time <= $as_of GROUP BY coalesce(collection, '')
UNION ALL
SELECT 'role_policies', coalesce(collection, ''), max(snapshot_time)
FROM role_policies WHERE snapshot_time <= $as_of GROUP BY coalesce(collection, '')
UNION ALL
SELECT 'group_members', coalesce(collection, ''), max(snapshot_time)
FROM group_members WHERE snapshot_time <= $as_of GROUP BY coalesce(collection, '')
