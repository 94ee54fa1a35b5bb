-- pimwatch: materialize
-- How far back the run's role events reach (one row): the earliest audit event about a role
-- since `$history_start`, null when there is none. Rules that judge novelty or baselines say
-- in their evidence how many days of history they saw, and claim no novelty beyond it.
SELECT min(time) AS earliest
FROM audit_events
WHERE role_action IS NOT NULL
  AND date >= CAST($history_start AS DATE) AND time > $history_start
