-- For each activation, the requester's successful sign-ins in the 24 hours before it, and the
-- evidence of fresh MFA (for `activation-without-mfa`): the last *interactive* sign-in in
-- which a second factor was performed, with its id and method. MFA "satisfied by claim in the
-- token" or "Previously satisfied" is not performed (a stolen session token looks exactly like
-- that). When the requester's sign-ins carry no step details at all, the requirement they
-- satisfied is used instead, and `mfa_evidence` says so.
WITH a AS (
    SELECT request_id, principal_id, role_id, activated_at FROM activations
    WHERE activated_at IS NOT NULL AND principal_id IS NOT NULL
),
s AS (
    SELECT event_id, user_id, time, mfa_satisfied, mfa_performed, mfa_method,
           coalesce(is_interactive, sign_in_type = 'interactive', false) AS interactive
    FROM sign_ins
    WHERE (result IS NULL OR result = 'success')
      AND date >= CAST($history_start - INTERVAL '1 day' AS DATE)
      AND time > $history_start - INTERVAL '1 day'
),
before AS (
    SELECT a.request_id, a.principal_id, a.role_id, a.activated_at,
           s.event_id, s.time, s.mfa_method, s.interactive, s.mfa_performed, s.mfa_satisfied,
           s.interactive AND (s.mfa_performed
                              OR (s.mfa_performed IS NULL AND coalesce(s.mfa_satisfied, false))) AS is_mfa
    FROM a
    LEFT JOIN s ON s.user_id = a.principal_id
               AND s.time <= a.activated_at
               AND s.time > a.activated_at - INTERVAL '1 day'
),
last_mfa AS (
    SELECT request_id, event_id, time, mfa_method, mfa_performed
    FROM (
        SELECT request_id, event_id, time, mfa_method, mfa_performed,
               row_number() OVER (PARTITION BY request_id ORDER BY time DESC, event_id) AS n
        FROM before WHERE is_mfa
    ) ranked
    WHERE n = 1
)
SELECT b.request_id,
       b.principal_id,
       b.role_id,
       b.activated_at,
       max(b.time) AS last_sign_in,
       max(l.time) AS last_mfa_sign_in,
       max(l.event_id) AS mfa_sign_in_id,
       max(l.mfa_method) AS mfa_method,
       CASE WHEN max(l.time) IS NULL THEN NULL
            WHEN bool_or(l.mfa_performed) THEN 'performed'
            ELSE 'requirement only: the sign-in logs no authentication steps' END AS mfa_evidence,
       count(b.time) AS sign_ins_before,
       count(CASE WHEN b.interactive THEN b.time END) AS interactive_sign_ins_before
FROM before b
LEFT JOIN last_mfa l ON l.request_id = b.request_id
GROUP BY b.request_id, b.principal_id, b.role_id, b.activated_at
