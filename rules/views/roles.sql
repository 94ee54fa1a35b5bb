-- pimwatch: materialize
-- Every role pimwatch knows: the built-in catalogue (privilege label, tier, CISA's highly
-- privileged set) and the tenant's custom roles from the latest role definitions, judged by
-- the actions they allow (`role_definitions.privileged_actions`).
SELECT c.role_id,
       c.display_name AS role_name,
       c.platform,
       c.is_privileged,
       c.highly_privileged,
       c.tier,
       true AS is_built_in
FROM role_catalogue c
UNION ALL
SELECT role_id, role_name, platform, is_privileged, highly_privileged, tier, is_built_in
FROM (
    SELECT d.role_id,
           d.display_name AS role_name,
           CASE WHEN d.definition_id LIKE '/%' THEN 'azure' ELSE 'entra' END AS platform,
           coalesce(d.is_privileged, false) AS is_privileged,
           false AS highly_privileged,
           CAST(coalesce(d.tier, CASE WHEN d.is_privileged THEN 1 ELSE 2 END) AS INT) AS tier,
           coalesce(d.is_built_in, false) AS is_built_in,
           row_number() OVER (PARTITION BY d.role_id ORDER BY d.snapshot_time DESC) AS newest
    FROM current_role_definitions d
    WHERE d.role_id NOT IN (SELECT role_id FROM role_catalogue)
)
WHERE newest = 1
