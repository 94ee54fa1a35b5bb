-- Eligible role assignments in force at `run.as_of`, from the latest snapshot at or before it.
SELECT t.*
FROM role_eligibilities t, run
WHERE t.snapshot_time = (
        SELECT max(l.snapshot_time) FROM role_eligibilities l, run WHERE l.snapshot_time <= run.as_of
    )
  AND (t.start_time IS NULL OR t.start_time <= run.as_of)
  AND (t.end_time IS NULL OR t.end_time > run.as_of)
