-- pimwatch: materialize
-- The tenant the lake describes (one row). Graph state pages carry no tenant id, so it is
-- taken from whichever current table has one; `unknown` when none does. No row at all when
-- the lake holds no state as of the run, so tenant-wide rules never judge a tenant they cannot see.
SELECT coalesce(max(tenant_id), 'unknown') AS tenant_id
FROM (
    SELECT tenant_id FROM current_policies
    UNION ALL SELECT tenant_id FROM current_principals
    UNION ALL SELECT tenant_id FROM current_assignments
    UNION ALL SELECT tenant_id FROM current_eligibilities
)
HAVING count(*) > 0
