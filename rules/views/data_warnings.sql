-- What the lake cannot tell as of the run, one row per kind of gap, for `detect` and
-- `lake stats` to say instead of guessing: rules never read a gap as a finding.
SELECT 'pim-policies' AS topic,
       count(*) AS affected,
       min(problem) AS detail
FROM unresolved_policies
GROUP BY problem
UNION ALL
SELECT 'sign-in-activity' AS topic,
       count(DISTINCT principal_id) AS affected,
       'privileged users exported without signInActivity: their last sign-in is unknown, so staleness is not judged (export users with $select=…,signInActivity; it needs AuditLog.Read.All and P1/P2)' AS detail
FROM effective_holders
WHERE principal_type = 'user' AND sign_in_activity = 'absent'
  AND (is_privileged OR highly_privileged OR tier = 0)
HAVING count(*) > 0
UNION ALL
SELECT 'pim-identity' AS topic,
       count(*) AS affected,
       'Core Directory role changes by an app named MS-PIM whose service principal is not in the lake: judged by the PIM record each mirrors (export servicePrincipals to decide by identity)' AS detail
FROM role_events
WHERE pim_identity_by = 'mirrored PIM record'
HAVING count(*) > 0
