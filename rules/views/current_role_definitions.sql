-- role_definitions as of the run: the latest snapshot at or before `run.as_of`.
SELECT t.*
FROM role_definitions t
WHERE t.snapshot_time = (
    SELECT max(l.snapshot_time) FROM role_definitions l, run WHERE l.snapshot_time <= run.as_of
)
