//! The role catalogue: every Entra built-in role (template id, name, Microsoft's privileged
//! label), our tier (0 = control plane), the Azure RBAC roles that administer access, and the
//! on-premises Active Directory groups that are privileged by their well-known SID.
//!
//! Source of the Entra list: Microsoft Learn "Microsoft Entra built-in roles"
//! (permissions-reference.md, 2026-01-20), transcribed in `data/entra_builtin_roles.csv`.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Which system a catalogue role belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolePlatform {
    Entra,
    AzureRbac,
    ActiveDirectory,
}

impl RolePlatform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entra => "entra",
            Self::AzureRbac => "azure",
            Self::ActiveDirectory => "active_directory",
        }
    }
}

/// One role known to pimwatch without reading any tenant data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueRole {
    /// Lowercase template id (Entra), role definition GUID (Azure) or SID pattern (AD).
    pub role_id: String,
    pub display_name: String,
    pub platform: RolePlatform,
    /// Microsoft's "Privileged" label (Entra), or our judgement for Azure and AD roles.
    pub is_privileged: bool,
    /// 0 = control plane (can take over the tenant), 1 = privileged, 2 = everything else.
    pub tier: u8,
    /// In CISA's highly privileged set (Entra) or able to grant access (Azure, AD tier 0).
    pub highly_privileged: bool,
}

/// Entra roles that control the tenant itself. Overridable later in config.
pub const TIER0_ENTRA_ROLES: &[&str] = &[
    "62e90394-69f5-4237-9190-012177145e10", // Global Administrator
    "e8611ab8-c189-46e8-94e1-60213ab1f814", // Privileged Role Administrator
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13", // Privileged Authentication Administrator
    "194ae4cb-b126-40b2-bd5b-6091b380977d", // Security Administrator
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", // Conditional Access Administrator
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2", // Hybrid Identity Administrator
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", // Application Administrator
    "158c047a-c907-4556-b7ef-446551a6b5f7", // Cloud Application Administrator
    "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8", // Partner Tier2 Support
    "3a2c62db-5318-420d-8d74-23affee5d9d5", // Intune Administrator
];

/// CISA ScubaGear's "highly privileged" Entra roles (MS.AAD.7): the set the baseline's
/// permanent-assignment, PIM-only and cloud-only requirements apply to.
pub const HIGHLY_PRIVILEGED_ENTRA_ROLES: &[&str] = &[
    "62e90394-69f5-4237-9190-012177145e10", // Global Administrator
    "e8611ab8-c189-46e8-94e1-60213ab1f814", // Privileged Role Administrator
    "fe930be7-5e62-47db-91af-98c3a49a38b1", // User Administrator
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c", // SharePoint Administrator
    "29232cdf-9323-42fd-ade2-1d097af3e4de", // Exchange Administrator
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2", // Hybrid Identity Administrator
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", // Application Administrator
    "158c047a-c907-4556-b7ef-446551a6b5f7", // Cloud Application Administrator
];

pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
pub const USER_ACCESS_ADMINISTRATOR: &str = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";

/// Azure RBAC roles that can grant access (or everything): (definition GUID, name, tier).
const AZURE_ADMIN_ROLES: &[(&str, &str, u8)] = &[
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", 0),
    (USER_ACCESS_ADMINISTRATOR, "User Access Administrator", 0),
    (
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        "Role Based Access Control Administrator",
        0,
    ),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", 1),
];

/// Well-known privileged Active Directory groups. `-512` style entries are relative ids
/// under a domain SID (`S-1-5-21-…-512`); `S-1-5-32-…` entries are BUILTIN groups.
const AD_PRIVILEGED_GROUPS: &[(&str, &str, u8)] = &[
    ("-512", "Domain Admins", 0),
    ("-518", "Schema Admins", 0),
    ("-519", "Enterprise Admins", 0),
    ("-520", "Group Policy Creator Owners", 1),
    ("-526", "Key Admins", 0),
    ("-527", "Enterprise Key Admins", 0),
    ("S-1-5-32-544", "Administrators", 0),
    ("S-1-5-32-548", "Account Operators", 0),
    ("S-1-5-32-549", "Server Operators", 0),
    ("S-1-5-32-550", "Print Operators", 1),
    ("S-1-5-32-551", "Backup Operators", 0),
];

const ENTRA_CSV: &str = include_str!("data/entra_builtin_roles.csv");

/// The whole catalogue, parsed once.
pub fn catalogue() -> &'static [CatalogueRole] {
    static CATALOGUE: OnceLock<Vec<CatalogueRole>> = OnceLock::new();
    CATALOGUE.get_or_init(build_catalogue)
}

fn build_catalogue() -> Vec<CatalogueRole> {
    let mut roles = Vec::new();
    // The CSV is compiled in and checked by a unit test, so a malformed line is a build bug;
    // it is skipped rather than trusted.
    for line in ENTRA_CSV.lines().skip(1) {
        let mut parts = line.split(',');
        let (Some(name), Some(id), Some(privileged)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let id = id.trim().to_ascii_lowercase();
        let is_privileged = privileged.trim() == "true";
        let tier = if TIER0_ENTRA_ROLES.contains(&id.as_str()) {
            0
        } else if is_privileged {
            1
        } else {
            2
        };
        roles.push(CatalogueRole {
            highly_privileged: HIGHLY_PRIVILEGED_ENTRA_ROLES.contains(&id.as_str()),
            role_id: id,
            display_name: name.trim().to_string(),
            platform: RolePlatform::Entra,
            is_privileged,
            tier,
        });
    }
    for (id, name, tier) in AZURE_ADMIN_ROLES {
        roles.push(CatalogueRole {
            role_id: id.to_string(),
            display_name: name.to_string(),
            platform: RolePlatform::AzureRbac,
            is_privileged: true,
            tier: *tier,
            highly_privileged: *tier == 0,
        });
    }
    for (sid, name, tier) in AD_PRIVILEGED_GROUPS {
        roles.push(CatalogueRole {
            role_id: sid.to_string(),
            display_name: name.to_string(),
            platform: RolePlatform::ActiveDirectory,
            is_privileged: true,
            tier: *tier,
            highly_privileged: *tier == 0,
        });
    }
    roles
}

fn by_id() -> &'static HashMap<String, usize> {
    static INDEX: OnceLock<HashMap<String, usize>> = OnceLock::new();
    INDEX.get_or_init(|| {
        catalogue()
            .iter()
            .enumerate()
            .map(|(i, r)| (r.role_id.clone(), i))
            .collect()
    })
}

/// Looks a role up by Entra template id or Azure role definition id (any case, bare GUID or
/// ARM path).
pub fn lookup(role_id: &str) -> Option<&'static CatalogueRole> {
    let id = normalize_role_id(role_id);
    by_id().get(&id).map(|&i| &catalogue()[i])
}

/// Looks up a well-known privileged Active Directory group by its SID.
pub fn lookup_ad_group(sid: &str) -> Option<&'static CatalogueRole> {
    let sid = sid.trim();
    catalogue()
        .iter()
        .filter(|r| r.platform == RolePlatform::ActiveDirectory)
        .find(|r| {
            if r.role_id.starts_with('-') {
                sid.to_ascii_uppercase().starts_with("S-1-5-21-") && sid.ends_with(&r.role_id)
            } else {
                sid.eq_ignore_ascii_case(&r.role_id)
            }
        })
}

/// Normalizes a role id the way every table stores it: the last path segment, lowercase.
///
/// ```
/// use pimwatch::model::roles::normalize_role_id;
/// assert_eq!(
///     normalize_role_id("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635"),
///     "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
/// );
/// assert_eq!(normalize_role_id("62e90394-69f5-4237-9190-012177145e10"), "62e90394-69f5-4237-9190-012177145e10");
/// ```
pub fn normalize_role_id(role_id: &str) -> String {
    role_id
        .trim()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_every_entra_role_and_tier0() {
        let entra: Vec<_> = catalogue()
            .iter()
            .filter(|r| r.platform == RolePlatform::Entra)
            .collect();
        assert_eq!(entra.len(), 123);
        assert_eq!(entra.iter().filter(|r| r.is_privileged).count(), 29);
        for id in TIER0_ENTRA_ROLES {
            assert_eq!(lookup(id).map(|r| r.tier), Some(0), "{id}");
        }
        for id in HIGHLY_PRIVILEGED_ENTRA_ROLES {
            assert_eq!(lookup(id).map(|r| r.highly_privileged), Some(true), "{id}");
        }
    }

    #[test]
    fn arm_paths_resolve_to_the_role() {
        let owner = lookup(
            "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635",
        );
        assert_eq!(owner.map(|r| r.display_name.as_str()), Some("Owner"));
    }

    #[test]
    fn ad_groups_match_by_rid_not_name() {
        let da = lookup_ad_group("S-1-5-21-1-2-3-512");
        assert_eq!(da.map(|r| r.display_name.as_str()), Some("Domain Admins"));
        assert!(lookup_ad_group("S-1-5-21-1-2-3-513").is_none());
        assert!(lookup_ad_group("S-1-5-32-544").is_some());
    }
}
