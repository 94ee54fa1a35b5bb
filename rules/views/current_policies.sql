-- role_policies as of the run: the latest snapshot at or before `run.as_of`.
SELECT t.*
FROM role_policies t
WHERE t.snapshot_time = (
    SELECT max(l.snapshot_time) FROM role_policies l, run WHERE l.snapshot_time <= run.as_of
)
