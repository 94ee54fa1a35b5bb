-- role_requests as of the run: the latest snapshot at or before `run.as_of`.
SELECT t.*
FROM role_requests t
WHERE t.snapshot_time = (
    SELECT max(l.snapshot_time) FROM role_requests l, run WHERE l.snapshot_time <= run.as_of
)
