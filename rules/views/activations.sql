-- pimwatch: materialize
-- One row per PIM activation request: who, which role, when it was requested, approved or
-- denied (and by whom), completed, expired or deactivated; justification, ticket, duration.
-- `justification` is the requester's; what the approver wrote is `approver_justification`.
-- Only events since `$history_start` (what the run's rules read; all history in `query`),
-- so that only those date partitions are scanned.
SELECT e.request_id,
       coalesce(max(CASE WHEN e.role_action = 'activation_requested' THEN e.target_id END),
                max(e.target_id)) AS principal_id,
       max(e.target_upn) AS principal_upn,
       max(e.role_id) AS role_id,
       max(e.role_name) AS role_name,
       max(e.tenant_id) AS tenant_id,
       min(CASE WHEN e.role_action = 'activation_requested' THEN e.time END) AS requested_at,
       min(CASE WHEN e.role_action = 'activation_approval_requested' THEN e.time END) AS approval_requested_at,
       min(CASE WHEN e.role_action = 'activation_approved' THEN e.time END) AS approved_at,
       max(CASE WHEN e.role_action = 'activation_approved' THEN e.actor_id END) AS approver_id,
       max(CASE WHEN e.role_action = 'activation_approved' THEN e.actor_upn END) AS approver_upn,
       min(CASE WHEN e.role_action = 'activation_denied' THEN e.time END) AS denied_at,
       max(CASE WHEN e.role_action = 'activation_denied' THEN e.actor_id END) AS denier_id,
       max(CASE WHEN e.role_action = 'activation_denied'
                THEN coalesce(e.actor_upn, e.actor_name) END) AS denier,
       max(CASE WHEN e.role_action = 'activation_denied' THEN e.result_reason END) AS denial_reason,
       min(CASE WHEN e.role_action = 'activation_completed' THEN e.time END) AS completed_at,
       min(CASE WHEN e.role_action = 'activation_expired' THEN e.time END) AS expired_at,
       min(CASE WHEN e.role_action = 'deactivated' THEN e.time END) AS deactivated_at,
       max(CASE WHEN e.role_action NOT IN ('activation_approved', 'activation_denied')
                THEN e.justification END) AS justification,
       max(CASE WHEN e.role_action IN ('activation_approved', 'activation_denied')
                THEN e.justification END) AS approver_justification,
       max(e.ticket_number) AS ticket_number,
       max(e.ticket_system) AS ticket_system,
       max(CASE WHEN e.role_action = 'activation_completed' THEN e.start_time END) AS active_from,
       max(CASE WHEN e.role_action = 'activation_completed' THEN e.end_time END) AS active_until,
       coalesce(min(CASE WHEN e.role_action = 'activation_requested' THEN e.time END),
                min(CASE WHEN e.role_action = 'activation_completed' THEN e.time END)) AS activated_at,
       count(*) AS event_count
FROM audit_events e
WHERE e.request_id IS NOT NULL
  AND e.date >= CAST($history_start AS DATE) AND e.time > $history_start
  AND e.role_action IN ('activation_requested', 'activation_approval_requested',
                        'activation_approved', 'activation_denied', 'activation_completed',
                        'activation_expired', 'deactivated')
GROUP BY e.request_id
