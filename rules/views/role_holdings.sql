-- pimwatch: materialize
-- Every current holding of a role: one row per active assignment or eligibility, as the
-- directory states it, with its scope (a group holding a role is one row; `effective_holders`
-- expands it).
SELECT a.principal_id,
       a.principal_type,
       a.role_id,
       coalesce(a.directory_scope_id, '/') AS directory_scope_id,
       'active' AS holding,
       a.assignment_type,
       a.start_time,
       a.end_time,
       coalesce(a.created_outside_pim, false) AS created_outside_pim,
       a.schedule_id,
       a.record_type
FROM current_assignments a
UNION ALL
SELECT e.principal_id,
       e.principal_type,
       e.role_id,
       coalesce(e.directory_scope_id, '/') AS directory_scope_id,
       'eligible' AS holding,
       CAST(NULL AS VARCHAR) AS assignment_type,
       e.start_time,
       e.end_time,
       false AS created_outside_pim,
       e.schedule_id,
       e.record_type
FROM current_eligibilities e
