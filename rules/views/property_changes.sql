-- One row per modified property of a directory audit event since `$history_start`: the event,
-- the target it belongs to (`target_*`), and the property's `name`, `old_value` and
-- `new_value` as `targets` keeps them (JSON text for arrays and objects). Successful events
-- only. What rules read to tell which attribute of a user, group, role or app changed
-- (`UserType`, `StrongAuthenticationRequirement`, `RolePermissions` …).
SELECT event_id, time, activity, category, service, correlation_id,
       actor_id, actor_upn, actor_name, actor_app_id, actor_ip,
       lower(t['id']) AS target_id, t['type'] AS target_type, t['upn'] AS target_upn,
       t['display_name'] AS target_name,
       p['name'] AS name, p['old_value'] AS old_value, p['new_value'] AS new_value
FROM (
    SELECT x.*, unnest(x.t['modified_properties']) AS p
    FROM (
        SELECT e.event_id, e.time, e.activity, e.category, e.service, e.correlation_id,
               e.actor_id, e.actor_upn, e.actor_name, e.actor_app_id, e.actor_ip,
               unnest(e.targets) AS t
        FROM audit_events e
        WHERE e.source = 'entra_audit'
          AND e.date >= CAST($history_start AS DATE) AND e.time > $history_start
          AND coalesce(lower(e.result), 'success') = 'success'
    ) x
) y
