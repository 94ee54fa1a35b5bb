-- pimwatch: materialize
-- The tenant's directoryRole object ids (what Core Directory audits and
-- `directoryRoles/{id}/members` name) mapped to role template ids, from `directoryRoles`.
SELECT DISTINCT definition_id AS object_id, role_id
FROM current_role_definitions
WHERE definition_id IS NOT NULL AND definition_id <> role_id
