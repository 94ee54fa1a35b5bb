-- principals as of the run: the latest snapshot at or before `run.as_of`.
SELECT t.*
FROM principals t
WHERE t.snapshot_time = (
    SELECT max(l.snapshot_time) FROM principals l, run WHERE l.snapshot_time <= run.as_of
)
