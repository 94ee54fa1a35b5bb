-- pimwatch: materialize
-- Roles that matter for privileged access: Microsoft's privileged label, our tier 0 (control
-- plane) and CISA's highly privileged set.
SELECT * FROM roles WHERE is_privileged OR tier = 0 OR highly_privileged
