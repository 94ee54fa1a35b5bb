-- pimwatch: materialize
-- Emergency-access accounts: declared in pimwatch.toml ([break_glass] accounts, by object id
-- or UPN) or matched by name pattern on UPN and display name.
SELECT p.principal_id,
       p.upn,
       p.display_name,
       min(c.kind) AS matched_by
FROM current_principals p, break_glass_config c
WHERE p.principal_type = 'user'
  AND ((c.kind = 'account' AND (lower(p.principal_id) = c.value OR lower(p.upn) = c.value))
    OR (c.kind = 'pattern' AND (regexp_like(coalesce(p.upn, ''), c.value)
                             OR regexp_like(coalesce(p.display_name, ''), c.value))))
GROUP BY p.principal_id, p.upn, p.display_name
