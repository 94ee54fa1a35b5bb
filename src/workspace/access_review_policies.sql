-- The PIM settings of the privileged roles as of `$as_of` (one row per role and scope), for
-- the access review's second section; the weak settings are named in Rust.
SELECT p.role_id,
       coalesce(r.role_name, p.role_id) AS role_name,
       coalesce(r.tier, 2) AS tier,
       coalesce(p.scope_id, '/') AS scope,
       p.activation_mfa_required,
       p.activation_auth_context_required,
       p.activation_justification_required,
       p.activation_ticket_required,
       p.activation_max_seconds,
       p.approval_required,
       p.approver_count,
       p.eligible_expiration_required,
       p.active_expiration_required,
       coalesce(cardinality(p.notify_activation_recipients), 0) AS activation_notify_count
FROM current_policies p
JOIN privileged_roles r ON r.role_id = p.role_id
ORDER BY role_name, scope
