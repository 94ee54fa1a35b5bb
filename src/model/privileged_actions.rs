//! Which Entra resource actions make a role privileged, so that a custom role is judged by
//! what it allows rather than by its name or by an `isPrivileged` flag the export may lack.
//!
//! Sources:
//! - Microsoft Learn, "Microsoft Entra built-in roles" (permissions-reference.md,
//!   MicrosoftDocs/entra-docs @ d5f7a99c): every action listed below under [`MICROSOFT`]
//!   carries Microsoft's PRIVILEGED label there.
//! - Microsoft Learn, "Privileged roles and permissions in Microsoft Entra ID": privileged
//!   permissions "delegate the management of directory resources, modify credentials,
//!   authentication or authorization policies, or access restricted data".
//! - pimwatch's additions ([`PIMWATCH`]): actions Microsoft does not label but that hand over
//!   control of other identities or of PIM itself (assigning roles, managing role-assignable
//!   groups, Conditional Access, owners of apps). Each says why.
//!
//! Matching is on the action's prefix, case-insensitively, so `…/applications/allProperties/allTasks`
//! and the finer `…/applications/credentials/update` are both found; `*` in a custom role's
//! action matches too.

/// One privileged action (or prefix of a family of actions) and whether it is control plane
/// (tier 0: it can take over the tenant or every application in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivilegedAction {
    pub action: &'static str,
    pub control_plane: bool,
}

const fn action(action: &'static str, control_plane: bool) -> PrivilegedAction {
    PrivilegedAction {
        action,
        control_plane,
    }
}

/// Actions Microsoft labels PRIVILEGED in the permissions reference.
pub const MICROSOFT: &[PrivilegedAction] = &[
    action(
        "microsoft.directory/applications/allProperties/allTasks",
        true,
    ),
    action("microsoft.directory/applications/credentials/update", true),
    action(
        "microsoft.directory/authorizationPolicy/allProperties/allTasks",
        true,
    ),
    action("microsoft.directory/bitlockerKeys/key/read", false),
    action(
        "microsoft.directory/customAuthenticationExtensions/allProperties/allTasks",
        true,
    ),
    action(
        "microsoft.directory/deviceManagementPolicies/basic/update",
        false,
    ),
    action(
        "microsoft.directory/deviceRegistrationPolicy/basic/update",
        false,
    ),
    action("microsoft.directory/devices/allProperties/allTasks", false),
    action("microsoft.directory/domains/allProperties/allTasks", true),
    action("microsoft.directory/groups/allProperties/allTasks", false),
    action(
        "microsoft.directory/hybridAuthenticationPolicy/allProperties/allTasks",
        true,
    ),
    action(
        "microsoft.directory/identityProtection/allProperties/allTasks",
        false,
    ),
    action(
        "microsoft.directory/oAuth2PermissionGrants/allProperties/allTasks",
        true,
    ),
    action("microsoft.directory/policies/allProperties/allTasks", true),
    action(
        "microsoft.directory/resourceNamespaces/resourceActions/authenticationContext/update",
        true,
    ),
    action(
        "microsoft.directory/servicePrincipals/allProperties/allTasks",
        true,
    ),
    action(
        "microsoft.directory/servicePrincipals/credentials/update",
        true,
    ),
    action("microsoft.directory/users/allProperties/allTasks", true),
    action("microsoft.directory/users/authenticationMethods/", true),
    action("microsoft.directory/users/password/update", false),
];

/// Actions pimwatch treats as privileged too, with the reason.
pub const PIMWATCH: &[PrivilegedAction] = &[
    // Assigning roles or defining them is the control plane itself.
    action("microsoft.directory/roleAssignments/", true),
    action("microsoft.directory/roleDefinitions/", true),
    action("microsoft.directory/roleEligibilitySchedules/", true),
    action("microsoft.directory/roleAssignmentSchedules/", true),
    action(
        "microsoft.directory/privilegedIdentityManagement/allProperties/allTasks",
        true,
    ),
    // Conditional Access decides who must do MFA, including admins.
    action("microsoft.directory/conditionalAccessPolicies/", true),
    // Owners of an application or service principal can add credentials to it.
    action("microsoft.directory/applications/owners/update", true),
    action("microsoft.directory/servicePrincipals/owners/update", true),
    // Granting consent to any permission for any app is Graph app-role assignment.
    action(
        "microsoft.directory/servicePrincipals/managePermissionGrantsForAll",
        true,
    ),
    action(
        "microsoft.directory/servicePrincipals/appRoleAssignedTo/update",
        true,
    ),
    // Membership of role-assignable groups hands out the roles those groups hold.
    action("microsoft.directory/groupsAssignableToRoles/", true),
    action("microsoft.directory/groups.security/members/update", false),
    // Azure RBAC: whoever may write role assignments (or all of Microsoft.Authorization) can
    // make themselves Owner (User Access Administrator, Owner, RBAC Administrator).
    action("Microsoft.Authorization/roleAssignments/write", true),
    action("Microsoft.Authorization/elevateAccess/action", true),
    // Federation settings let an attacker mint tokens for any user of the domain.
    action("microsoft.directory/domains/federation/update", true),
    action("microsoft.directory/domains/federationConfiguration/", true),
];

/// The privileged actions among `allowed`, in their original spelling, each once.
pub fn privileged_among(allowed: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for granted in allowed {
        if classify(granted).is_some() && !found.contains(granted) {
            found.push(granted.clone());
        }
    }
    found
}

/// Whether any of `allowed` is a control-plane action.
pub fn any_control_plane(allowed: &[String]) -> bool {
    allowed
        .iter()
        .any(|a| classify(a).is_some_and(|p| p.control_plane))
}

fn classify(granted: &str) -> Option<PrivilegedAction> {
    let granted = granted.trim().to_ascii_lowercase();
    // `microsoft.directory/*` or `microsoft.directory/applications/*/update`: a wildcard grant
    // covers every privileged action it could stand for.
    let wildcard = granted.find('*').map(|at| &granted[..at]);
    MICROSOFT
        .iter()
        .chain(PIMWATCH)
        .find(|p| {
            let listed = p.action.to_ascii_lowercase();
            match wildcard {
                Some(prefix) => listed.starts_with(prefix),
                None => granted.starts_with(&listed),
            }
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn credentials_and_role_assignments_are_privileged_reading_is_not() {
        let allowed = strings(&[
            "microsoft.directory/applications/credentials/update",
            "microsoft.directory/users/standard/read",
            "microsoft.directory/roleAssignments/allProperties/allTasks",
        ]);
        assert_eq!(
            privileged_among(&allowed),
            strings(&[
                "microsoft.directory/applications/credentials/update",
                "microsoft.directory/roleAssignments/allProperties/allTasks",
            ])
        );
        assert!(any_control_plane(&allowed));
        let harmless = strings(&[
            "microsoft.directory/users/standard/read",
            "microsoft.directory/groups/basic/update",
        ]);
        assert!(privileged_among(&harmless).is_empty());
    }

    #[test]
    fn authentication_methods_match_every_action_of_the_family_any_case() {
        assert_eq!(
            privileged_among(&strings(&[
                "Microsoft.Directory/Users/AuthenticationMethods/Create"
            ]))
            .len(),
            1
        );
    }

    #[test]
    fn a_wildcard_grant_covers_the_privileged_actions_it_stands_for() {
        assert!(any_control_plane(&strings(&["microsoft.directory/*"])));
        assert!(!privileged_among(&strings(&["microsoft.directory/applications/*"])).is_empty());
        assert!(privileged_among(&strings(&["microsoft.office365.webPortal/*"])).is_empty());
    }

    #[test]
    fn password_resets_are_privileged_but_not_control_plane() {
        let reset = strings(&["microsoft.directory/users/password/update"]);
        assert_eq!(privileged_among(&reset).len(), 1);
        assert!(!any_control_plane(&reset));
    }
}
