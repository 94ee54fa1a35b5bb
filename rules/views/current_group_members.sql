-- group_members as of the run: the latest snapshot at or before `run.as_of`.
SELECT t.*
FROM group_members t
WHERE t.snapshot_time = (
    SELECT max(l.snapshot_time) FROM group_members l, run WHERE l.snapshot_time <= run.as_of
)
