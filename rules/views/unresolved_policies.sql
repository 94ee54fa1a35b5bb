-- pimwatch: materialize
-- PIM policy records pimwatch cannot judge, and why: a policy that no policy assignment links
-- to a role, or a role's policy assignment whose policy (with the settings of its rules) is not
-- in the lake. `detect` and `lake stats` report them; no rule reads them as weak settings.
WITH links AS (
    SELECT DISTINCT policy_id, role_id, scope_id FROM policy_records WHERE role_id IS NOT NULL
),
with_settings AS (
    SELECT DISTINCT lower(policy_id) AS policy_id FROM policy_records WHERE has_settings
)
SELECT p.policy_id,
       CAST(NULL AS VARCHAR) AS role_id,
       p.scope_id,
       'policy without a role: no policy assignment in the lake links it to a role (export policies/roleManagementPolicyAssignments too)' AS problem
FROM (SELECT DISTINCT policy_id, scope_id FROM policy_records WHERE role_id IS NULL) p
WHERE lower(p.policy_id) NOT IN (SELECT lower(policy_id) FROM links)
UNION ALL
SELECT l.policy_id,
       l.role_id,
       l.scope_id,
       'role without its policy settings: the policy this assignment names is not in the lake with its rules (export policies/roleManagementPolicies?$expand=rules, every field of the rules)' AS problem
FROM links l
WHERE lower(l.policy_id) NOT IN (SELECT policy_id FROM with_settings)
