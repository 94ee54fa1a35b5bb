-- For each activation, the requester's successful sign-ins in the 24 hours before it: the
-- latest one, and the latest one that satisfied MFA (the evidence for `activation-without-mfa`).
WITH a AS (
    SELECT request_id, principal_id, role_id, activated_at FROM activations
    WHERE activated_at IS NOT NULL AND principal_id IS NOT NULL
),
s AS (
    SELECT user_id, time, mfa_satisfied
    FROM sign_ins
    WHERE (result IS NULL OR result = 'success')
      AND date >= CAST($history_start - INTERVAL '1 day' AS DATE)
      AND time > $history_start - INTERVAL '1 day'
)
SELECT a.request_id,
       a.principal_id,
       a.role_id,
       a.activated_at,
       max(s.time) AS last_sign_in,
       max(CASE WHEN s.mfa_satisfied THEN s.time END) AS last_mfa_sign_in,
       count(s.time) AS sign_ins_before
FROM a
LEFT JOIN s ON s.user_id = a.principal_id
           AND s.time <= a.activated_at
           AND s.time > a.activated_at - INTERVAL '1 day'
GROUP BY a.request_id, a.principal_id, a.role_id, a.activated_at
