//! The directory of a synthetic tenant: people, their admin accounts, break-glass accounts,
//! service principals, groups, PIM eligibilities and assignments, and role policies.
//! Activity and scenarios change it; [`Tenant::write_state`] writes it as Graph pages.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::channels::GraphPageWriter;
use super::iso;
use super::rng::Rng;
use crate::model::roles::{self, GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR};

pub const SECURITY_ADMINISTRATOR: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";
pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
pub const EXCHANGE_ADMINISTRATOR: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
pub const HELPDESK_ADMINISTRATOR: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
pub const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";

/// Custom role definitions: (id, name, allowed actions). Exports rarely carry `isPrivileged`
/// for custom roles, so none is written: pimwatch must judge them by what they allow.
const CUSTOM_ROLES: &[(&str, &str, &[&str])] = &[
    (
        "5d3e8c1a-7b2f-4c9e-9a41-3f6b2d8e1c07",
        "Contoso Mailbox Viewer",
        &["microsoft.directory/users/standard/read"],
    ),
    (
        CUSTOM_PRIVILEGED_ROLE,
        "Contoso App Credential Manager",
        &[
            "microsoft.directory/applications/credentials/update",
            "microsoft.directory/applications/basic/update",
        ],
    ),
];

/// A custom role's name and allowed actions.
pub fn custom_role(id: &str) -> Option<(&'static str, &'static [&'static str])> {
    CUSTOM_ROLES
        .iter()
        .find(|(role, _, _)| *role == id)
        .map(|(_, name, actions)| (*name, *actions))
}

/// The custom role that allows a privileged action (application credentials).
pub const CUSTOM_PRIVILEGED_ROLE: &str = "8f1b6a2c-4e3d-4a7b-b5c9-1d2e3f4a5b6c";

/// `Role.WellKnownObjectName` of Core Directory records, for the roles whose name is known
/// from public queries over real logs (Microsoft Sentinel's `UseraddedtoPrivilgedGroups`).
/// Others are written without it.
pub fn well_known_object_name(role: &str) -> Option<&'static str> {
    match role {
        GLOBAL_ADMINISTRATOR => Some("TenantAdmins"),
        PRIVILEGED_ROLE_ADMINISTRATOR => Some("PrivilegedRoleAdmins"),
        USER_ADMINISTRATOR => Some("UserAccountAdmins"),
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13" => Some("PrivilegedAuthenticationAdmins"),
        _ => None,
    }
}

/// How the generated export lists PIM policies; both are real (see INPUTS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyShape {
    /// `policies/roleManagementPolicyAssignments?$expand=policy($expand=rules)`: one object
    /// per role holding the link and the rules.
    #[default]
    Expand,
    /// `policies/roleManagementPolicies?$expand=rules` and
    /// `policies/roleManagementPolicyAssignments` as two lists, joined by `policyId`.
    Split,
    /// Both of the above.
    Both,
}

/// Roles admins are made eligible for, most common first.
const ELIGIBLE_ROLES: &[&str] = &[
    USER_ADMINISTRATOR,
    HELPDESK_ADMINISTRATOR,
    EXCHANGE_ADMINISTRATOR,
    GLOBAL_READER,
    SECURITY_ADMINISTRATOR,
];

/// Roles that need approval to activate (Microsoft's guidance for the top roles).
pub fn needs_approval(role: &str) -> bool {
    role == GLOBAL_ADMINISTRATOR || role == PRIVILEGED_ROLE_ADMINISTRATOR
}

/// Which PIM settings a generated tenant starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyBaseline {
    /// A well-run tenant (MFA and justification on every role, approval and 4-hour
    /// activations on the most privileged, expiring assignments, a notified security
    /// mailbox): only planted weaknesses show.
    #[default]
    Hardened,
    /// Microsoft's defaults for an untouched role (MFA and justification, 8-hour activations,
    /// no approval, permanent assignments allowed, no extra notification): what most tenants
    /// run, and what CISA's baseline flags on every highly privileged role.
    Microsoft,
}

/// The PIM settings of one role, as the generator writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySettings {
    pub mfa: bool,
    pub justification: bool,
    /// Maximum activation, ISO 8601 (`PT8H`).
    pub max_activation: &'static str,
    pub approval: bool,
    /// Whether the approval stage names the tenant's approvers (else none).
    pub named_approvers: bool,
    pub eligible_expiry_required: bool,
    pub active_expiry_required: bool,
    /// A security mailbox notified of assignments and activations.
    pub extra_recipients: bool,
}

impl PolicySettings {
    /// A well-run tenant: MFA and justification, at most 8 hours (4 for the top roles),
    /// approval by named approvers for the top roles, expiring assignments (Global
    /// Administrator may be permanent: the break-glass accounts need it), the SOC notified.
    pub fn hardened(role: &str) -> Self {
        Self {
            mfa: true,
            justification: true,
            max_activation: if needs_approval(role) { "PT4H" } else { "PT8H" },
            approval: needs_approval(role),
            named_approvers: needs_approval(role),
            eligible_expiry_required: true,
            active_expiry_required: role != GLOBAL_ADMINISTRATOR,
            extra_recipients: true,
        }
    }

    /// Microsoft's settings for a role nobody has configured (the example payload in
    /// RULE-ANCHORS §2): MFA and justification, 8 hours, no approval, permanent assignments
    /// allowed, default recipients only.
    pub fn microsoft_default() -> Self {
        Self {
            mfa: true,
            justification: true,
            max_activation: "PT8H",
            approval: false,
            named_approvers: false,
            eligible_expiry_required: false,
            active_expiry_required: false,
            extra_recipients: false,
        }
    }

    /// What `self` allows that `before` did not, in the words `pim-settings-weakened` uses:
    /// MFA, justification or approval dropped, approvers or notification recipients removed,
    /// a longer activation, permanent assignments allowed.
    pub fn weakened_from(&self, before: &Self) -> Vec<&'static str> {
        let hours = |duration: &str| {
            duration
                .trim_start_matches("PT")
                .trim_end_matches('H')
                .parse::<u32>()
                .unwrap_or(0)
        };
        let dropped = |was: bool, is: bool| was && !is;
        [
            (dropped(before.mfa, self.mfa), "mfa"),
            (
                dropped(before.justification, self.justification),
                "justification",
            ),
            (dropped(before.approval, self.approval), "approval"),
            (
                self.approval && dropped(before.named_approvers, self.named_approvers),
                "approvers",
            ),
            (
                hours(self.max_activation) > hours(before.max_activation),
                "max_activation",
            ),
            (
                dropped(
                    before.eligible_expiry_required,
                    self.eligible_expiry_required,
                ),
                "eligible_expiration",
            ),
            (
                dropped(before.active_expiry_required, self.active_expiry_required),
                "active_expiration",
            ),
            (
                dropped(before.extra_recipients, self.extra_recipients),
                "notifications",
            ),
        ]
        .into_iter()
        .filter_map(|(weakened, what)| weakened.then_some(what))
        .collect()
    }

    pub fn baseline(role: &str, baseline: PolicyBaseline) -> Self {
        match baseline {
            PolicyBaseline::Hardened => Self::hardened(role),
            PolicyBaseline::Microsoft => Self::microsoft_default(),
        }
    }
}

const PLACES: &[(&str, &str)] = &[
    ("US", "Seattle"),
    ("GB", "London"),
    ("DE", "Berlin"),
    ("FR", "Paris"),
    ("IN", "Bengaluru"),
];
const FIRST: &[&str] = &[
    "ada", "alan", "grace", "linus", "barbara", "ken", "margaret", "dennis", "frances", "edsger",
];
const LAST: &[&str] = &[
    "lovelace", "turing", "hopper", "torvalds", "liskov", "thompson", "hamilton", "ritchie",
    "allen", "dijkstra",
];

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub guest: bool,
    pub enabled: bool,
    pub synced: bool,
    pub created: i64,
    pub country: &'static str,
    pub city: &'static str,
    pub work_hour: i64,
    /// Synced from on-premises but sync was turned off later: `onPremisesSyncEnabled` is
    /// false, and only `onPremisesImmutableId` tells where the account came from.
    pub sync_stopped: bool,
    /// A dedicated `adm-` account (activates roles; its owner signs in with it to do so).
    pub admin: bool,
    pub break_glass: bool,
    /// Never signs in during the period (a scenario's stale admin).
    pub silent: bool,
    pub last_sign_in: Option<i64>,
    pub last_non_interactive: Option<i64>,
    pub last_success: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub id: String,
    pub principal: usize,
    pub role: &'static str,
    pub start: i64,
    pub end: Option<i64>,
    /// PIM's schedule id; `None` for an assignment made outside PIM.
    pub schedule_id: Option<String>,
    /// `directoryScopeId`: `/` (tenant-wide) or `/administrativeUnits/<id>`.
    pub scope: String,
}

/// A role-assignable group holding one role through an active, time-bound PIM assignment:
/// its members hold the role too, and so (eligibly) do its PIM for Groups eligible members.
#[derive(Debug, Clone)]
pub struct RoleGroup {
    pub id: String,
    pub name: String,
    pub members: Vec<usize>,
    /// Eligible for membership through PIM for Groups (they activate it when needed).
    pub eligible_members: Vec<usize>,
    pub role: &'static str,
    pub assignment_id: String,
    pub schedule_id: String,
    pub start: i64,
    pub end: i64,
}

#[derive(Debug)]
pub struct Tenant {
    pub id: String,
    pub domain: String,
    pub users: Vec<User>,
    pub eligibilities: Vec<Schedule>,
    pub assignments: Vec<Schedule>,
    /// Users who approve GA and PRA activations (admins eligible for PRA).
    pub approvers: Vec<usize>,
    /// (object id, application id); the n-th has n client secrets.
    pub service_principals: Vec<(String, String)>,
    /// PIM's own service principal in this tenant (application id `01fc33a7-…`).
    pub pim_service_principal: String,
    /// An app registration that calls itself "MS-PIM" (a scenario plants it): its service
    /// principal's object id and application id.
    pub lookalike_pim_app: Option<(String, String)>,
    /// One PIM policy per role, in the order written.
    pub policies: Vec<(&'static str, PolicySettings)>,
    /// Indexes of the policies changed during the period.
    pub changed_policies: Vec<usize>,
    /// The settings each changed policy had before its change (by index).
    pub settings_before_change: Vec<(usize, PolicySettings)>,
    pub groups: Vec<RoleGroup>,
}

impl Tenant {
    /// Builds the directory as it stands at `start`.
    pub fn build(rng: &mut Rng, users: usize, start: i64, baseline: PolicyBaseline) -> Self {
        let id = rng.guid();
        let domain = "contoso.onmicrosoft.com".to_string();
        let mut tenant = Tenant {
            id,
            domain,
            users: Vec::new(),
            eligibilities: Vec::new(),
            assignments: Vec::new(),
            approvers: Vec::new(),
            service_principals: Vec::new(),
            pim_service_principal: String::new(),
            lookalike_pim_app: None,
            // One PIM policy per Entra role, as every tenant has.
            policies: roles::catalogue()
                .iter()
                .filter(|r| r.platform == roles::RolePlatform::Entra)
                .map(|r| {
                    (
                        r.role_id.as_str(),
                        PolicySettings::baseline(&r.role_id, baseline),
                    )
                })
                .collect(),
            changed_policies: Vec::new(),
            settings_before_change: Vec::new(),
            groups: Vec::new(),
        };
        for i in 0..users {
            let (first, last) = (*rng.pick(FIRST), *rng.pick(LAST));
            let guest = rng.chance(0.05);
            let place = *rng.pick(PLACES);
            let upn = if guest {
                format!("{first}.{last}{i}_fabrikam.com#EXT#@{}", tenant.domain)
            } else {
                format!("{first}.{last}{i}@{}", tenant.domain)
            };
            tenant.users.push(User {
                id: rng.guid(),
                upn,
                display_name: format!("{} {}", capitalize(first), capitalize(last)),
                guest,
                enabled: !rng.chance(0.03),
                synced: !guest && rng.chance(0.3),
                sync_stopped: false,
                created: start - 86_400 * (100 + rng.below(900) as i64),
                country: place.0,
                city: place.1,
                work_hour: 7 + rng.below(4) as i64,
                admin: false,
                break_glass: false,
                silent: false,
                last_sign_in: None,
                last_non_interactive: None,
                last_success: None,
            });
            // Active before the period too: a sign-in in the last days before it.
            let before = start - 3600 * (12 + rng.below(60) as i64);
            let user = tenant.users.last_mut().expect("just pushed");
            user.last_sign_in = Some(before);
            user.last_success = Some(before);
        }
        // Dedicated admin accounts for a few people, eligible for one or two roles.
        // At least 80: three approvers (so that none approves the one who approves them),
        // two GA-eligible, one to three apiece for the scenarios, enough to outnumber the other privileged users for `global-admin-ratio`, and a few
        // left for routine changes (an access review, an extension).
        let admins = (users / 30).max(80);
        // Admin accounts belong to employees, never to guests.
        let members: Vec<usize> = (0..tenant.users.len())
            .filter(|&u| !tenant.users[u].guest)
            .collect();
        for a in 0..admins {
            let owner = tenant.users[members[a % members.len().max(1)]].clone();
            let index = tenant.add_account(
                rng,
                &format!("adm-{}", owner.upn.split('@').next().unwrap_or("admin")),
                &owner,
                start,
            );
            let role = match a {
                0..=2 => PRIVILEGED_ROLE_ADMINISTRATOR,
                3 | 4 => GLOBAL_ADMINISTRATOR,
                _ => *rng.pick(ELIGIBLE_ROLES),
            };
            if role == PRIVILEGED_ROLE_ADMINISTRATOR {
                tenant.approvers.push(index);
            }
            tenant.add_eligibility(rng, index, role, start);
            if rng.chance(0.3) {
                let second = *rng.pick(ELIGIBLE_ROLES);
                if second != role {
                    tenant.add_eligibility(rng, index, second, start);
                }
            }
        }
        // Two break-glass accounts: cloud-only, standing permanent Global Administrator.
        for n in 1..=2 {
            let index = tenant.add_break_glass(rng, n, start);
            tenant.add_assignment(
                rng,
                index,
                GLOBAL_ADMINISTRATOR,
                start - 86_400 * 400,
                None,
                true,
            );
        }
        for _ in 0..3 {
            tenant.service_principals.push((rng.guid(), rng.guid()));
        }
        // PIM's own service principal: its object id is the tenant's, its app id Microsoft's.
        tenant.pim_service_principal = derived_guid(&tenant.id, "MS-PIM service principal");
        // The first-line helpdesk: three employees who hold Helpdesk Administrator through a
        // role-assignable group.
        let offset = rng.below(tenant.users.len() as u64) as usize;
        let count = tenant.users.len();
        let members: Vec<usize> = (0..count)
            .map(|i| (i + offset) % count)
            .filter(|&u| {
                let user = &tenant.users[u];
                !user.admin && !user.break_glass && !user.guest && !user.synced && user.enabled
            })
            .take(3)
            .collect();
        let group_start = start - 86_400 * 100;
        tenant.groups.push(RoleGroup {
            id: rng.guid(),
            name: "SG-Helpdesk-Tier1".into(),
            members,
            eligible_members: Vec::new(),
            role: HELPDESK_ADMINISTRATOR,
            assignment_id: format!("{}-1-e", rng.guid()),
            schedule_id: rng.guid(),
            start: group_start,
            end: group_start + 86_400 * 500,
        });
        tenant
    }

    pub fn add_account(&mut self, rng: &mut Rng, name: &str, owner: &User, start: i64) -> usize {
        self.users.push(User {
            id: rng.guid(),
            upn: format!("{name}@{}", self.domain),
            display_name: format!("{} (admin)", owner.display_name),
            guest: false,
            enabled: true,
            synced: false,
            sync_stopped: false,
            created: start - 86_400 * (60 + rng.below(300) as i64),
            country: owner.country,
            city: owner.city,
            work_hour: owner.work_hour,
            admin: true,
            break_glass: false,
            silent: false,
            last_sign_in: Some(start - 3600 * (12 + rng.below(60) as i64)),
            last_non_interactive: None,
            last_success: None,
        });
        let index = self.users.len() - 1;
        self.users[index].last_success = self.users[index].last_sign_in;
        index
    }

    /// An emergency-access account `breakglass<n>` (cloud-only, never signs in); no role yet.
    pub fn add_break_glass(&mut self, rng: &mut Rng, n: usize, start: i64) -> usize {
        let owner = self.users[0].clone();
        let index = self.add_account(rng, &format!("breakglass{n}"), &owner, start);
        let account = &mut self.users[index];
        account.admin = false;
        account.break_glass = true;
        account.display_name = format!("Emergency Access {n}");
        account.last_sign_in = None;
        account.last_success = None;
        index
    }

    /// An eligibility granted 40 to 240 days before `start`, half of them expiring after a year.
    pub fn add_eligibility(
        &mut self,
        rng: &mut Rng,
        principal: usize,
        role: &'static str,
        start: i64,
    ) {
        let since = start - 86_400 * (40 + rng.below(200) as i64);
        let end = rng.chance(0.5).then_some(since + 86_400 * 365);
        self.add_eligibility_at(rng, principal, role, since, end);
    }

    /// An eligibility from `since` until `end` (`None`: permanent).
    pub fn add_eligibility_at(
        &mut self,
        rng: &mut Rng,
        principal: usize,
        role: &'static str,
        since: i64,
        end: Option<i64>,
    ) {
        self.eligibilities.push(Schedule {
            id: format!("{}-1-e", rng.guid()),
            principal,
            role,
            start: since,
            end,
            schedule_id: Some(rng.guid()),
            scope: "/".into(),
        });
    }

    /// A standing (`Assigned`) assignment; `via_pim` false leaves it without a PIM schedule.
    pub fn add_assignment(
        &mut self,
        rng: &mut Rng,
        principal: usize,
        role: &'static str,
        start: i64,
        end: Option<i64>,
        via_pim: bool,
    ) {
        self.assignments.push(Schedule {
            id: format!("{}-1-e", rng.guid()),
            principal,
            role,
            start,
            end,
            schedule_id: via_pim.then(|| rng.guid()),
            scope: "/".into(),
        });
    }

    /// The tenant's directoryRole object id of a role: what Core Directory audits name in
    /// `Role.ObjectID` and their `Role` target. It differs from the template id in every
    /// tenant, as real ones do.
    pub fn directory_role_object_id(&self, role: &str) -> String {
        derived_guid(&self.id, role)
    }

    /// Accounts that hold a role: eligible, assigned, or as a member (or PIM for Groups
    /// eligible member) of a role-assignable group.
    pub fn role_holders(&self) -> std::collections::BTreeSet<usize> {
        self.eligibilities
            .iter()
            .chain(&self.assignments)
            .map(|s| s.principal)
            .chain(
                self.groups
                    .iter()
                    .flat_map(|g| g.members.iter().chain(&g.eligible_members).copied()),
            )
            .collect()
    }

    pub fn eligible_roles(&self, principal: usize) -> Vec<&'static str> {
        self.eligibilities
            .iter()
            .filter(|e| e.principal == principal)
            .map(|e| e.role)
            .collect()
    }

    /// Writes the directory as Graph pages under `dir`, PIM policies in the given shape;
    /// returns the files and their counts.
    pub fn write_state(
        &self,
        dir: &Path,
        snapshot: i64,
        shape: PolicyShape,
    ) -> io::Result<Vec<(PathBuf, u64)>> {
        const GRAPH: &str = "https://graph.microsoft.com/v1.0/$metadata#";
        let mut written = Vec::new();
        let mut finish = |writer: GraphPageWriter| -> io::Result<()> {
            let (files, _) = writer.finish()?;
            written.extend(files);
            Ok(())
        };

        let mut users = GraphPageWriter::new(dir, "users", &format!("{GRAPH}users(id,displayName,userPrincipalName,userType,accountEnabled,onPremisesSyncEnabled,onPremisesImmutableId,createdDateTime,signInActivity)"))?;
        for u in &self.users {
            let never = |t: Option<i64>| {
                t.map(|t| iso(t, 0))
                    .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
            };
            users.write(json!({
                "id": u.id, "displayName": u.display_name, "userPrincipalName": u.upn,
                "userType": if u.guest { "Guest" } else { "Member" }, "accountEnabled": u.enabled,
                // Graph: true while synced, false once sync was turned off, null for cloud-only;
                // the immutable id stays with an account that came from on-premises.
                "onPremisesSyncEnabled": if u.synced { Value::Bool(!u.sync_stopped) } else { Value::Null },
                "onPremisesImmutableId": if u.synced { Value::String(immutable_id(&u.id)) } else { Value::Null },
                "createdDateTime": iso(u.created, 0),
                "signInActivity": {
                    "lastSignInDateTime": never(u.last_sign_in),
                    "lastNonInteractiveSignInDateTime": never(u.last_non_interactive),
                    "lastSuccessfulSignInDateTime": u.last_success.map(|t| iso(t, 0)).unwrap_or_default(),
                },
            }))?;
        }
        finish(users)?;

        let mut sps = GraphPageWriter::new(
            dir,
            "servicePrincipals",
            &format!("{GRAPH}servicePrincipals"),
        )?;
        for (n, (id, app_id)) in self.service_principals.iter().enumerate() {
            let secrets: Vec<Value> = (0..n).map(|k| json!({"keyId": format!("{id}-{k}"), "displayName": "ci", "endDateTime": iso(snapshot + 86_400 * 180, 0)})).collect();
            sps.write(json!({"id": id, "appId": app_id, "displayName": format!("automation-{n}"), "servicePrincipalType": "Application", "accountEnabled": true, "servicePrincipalNames": [app_id], "passwordCredentials": secrets, "keyCredentials": []}))?;
        }
        // PIM's own service principal, as every tenant with PIM has it.
        sps.write(json!({"id": self.pim_service_principal, "appId": crate::model::activities::MS_PIM_APP_ID, "displayName": "MS-PIM", "servicePrincipalType": "Application", "accountEnabled": true, "servicePrincipalNames": [crate::model::activities::MS_PIM_APP_ID], "passwordCredentials": [], "keyCredentials": []}))?;
        if let Some((id, app_id)) = &self.lookalike_pim_app {
            sps.write(json!({"id": id, "appId": app_id, "displayName": "MS-PIM", "servicePrincipalType": "Application", "accountEnabled": true, "servicePrincipalNames": [app_id], "passwordCredentials": [{"keyId": format!("{id}-0"), "displayName": "deploy", "endDateTime": iso(snapshot + 86_400 * 365, 0)}], "keyCredentials": []}))?;
        }
        finish(sps)?;

        let mut groups = GraphPageWriter::new(
            dir,
            "groups",
            &format!("{GRAPH}groups(id,displayName,isAssignableToRole,securityEnabled,groupTypes,members())"),
        )?;
        for group in &self.groups {
            let members: Vec<Value> = group
                .members
                .iter()
                .map(|&m| {
                    let user = &self.users[m];
                    json!({"@odata.type": "#microsoft.graph.user", "id": user.id, "displayName": user.display_name, "userPrincipalName": user.upn})
                })
                .collect();
            groups.write(json!({"id": group.id, "displayName": group.name, "isAssignableToRole": true, "securityEnabled": true, "mailEnabled": false, "groupTypes": [], "members": members}))?;
        }
        finish(groups)?;

        // PIM for Groups: who may activate membership of a role-assignable group.
        if self.groups.iter().any(|g| !g.eligible_members.is_empty()) {
            let mut eligible = GraphPageWriter::new(
                dir,
                "groupEligibilityScheduleInstances",
                &format!(
                    "{GRAPH}identityGovernance/privilegedAccess/group/eligibilityScheduleInstances"
                ),
            )?;
            for group in &self.groups {
                for &m in &group.eligible_members {
                    let user = &self.users[m];
                    eligible.write(json!({
                        "id": format!("{}_member_{}", group.id, derived_guid(&group.id, &user.id)),
                        "startDateTime": iso(group.start, 0), "endDateTime": null,
                        "accessId": "member", "principalId": user.id, "groupId": group.id,
                        "memberType": "Direct",
                    }))?;
                }
            }
            finish(eligible)?;
        }

        let mut definitions = GraphPageWriter::new(
            dir,
            "roleDefinitions",
            &format!("{GRAPH}roleManagement/directory/roleDefinitions"),
        )?;
        for role in roles::catalogue()
            .iter()
            .filter(|r| r.platform == roles::RolePlatform::Entra)
        {
            definitions.write(json!({"id": role.role_id, "templateId": role.role_id, "displayName": role.display_name, "isBuiltIn": true, "isEnabled": true, "rolePermissions": [{"allowedResourceActions": []}]}))?;
        }
        // Two custom roles, as tenants make them.
        for (id, name, actions) in CUSTOM_ROLES {
            definitions.write(json!({"id": id, "templateId": id, "displayName": name, "description": format!("Contoso custom role: {name}"), "isBuiltIn": false, "isEnabled": true, "rolePermissions": [{"allowedResourceActions": actions, "condition": null}]}))?;
        }
        finish(definitions)?;

        // The tenant's directoryRole objects of the roles someone holds: their object ids are
        // what Core Directory audits name.
        let mut held: Vec<&str> = self
            .eligibilities
            .iter()
            .chain(&self.assignments)
            .map(|s| s.role)
            .chain(self.groups.iter().map(|g| g.role))
            .filter(|r| roles::lookup(r).is_some())
            .collect();
        held.sort_unstable();
        held.dedup();
        let mut directory_roles =
            GraphPageWriter::new(dir, "directoryRoles", &format!("{GRAPH}directoryRoles"))?;
        for role in held {
            let name = roles::lookup(role)
                .map(|r| r.display_name.clone())
                .unwrap_or_default();
            directory_roles.write(json!({"id": self.directory_role_object_id(role), "deletedDateTime": null, "description": name, "displayName": name, "roleTemplateId": role}))?;
        }
        finish(directory_roles)?;

        let policy_files = self.write_policies(dir, &self.policies, shape)?;

        let schedules = |stem: &str,
                         resource: &str,
                         items: &[Schedule],
                         eligible: bool|
         -> io::Result<GraphPageWriter> {
            let mut writer = GraphPageWriter::new(
                dir,
                stem,
                &format!("{GRAPH}roleManagement/directory/{resource}"),
            )?;
            for s in items {
                let mut object = json!({
                    "id": s.id, "principalId": self.users[s.principal].id, "roleDefinitionId": s.role, "directoryScopeId": s.scope, "appScopeId": null,
                    "startDateTime": iso(s.start, 0), "endDateTime": s.end.map(|e| iso(e, 0)), "memberType": "Direct",
                });
                if eligible {
                    object["roleEligibilityScheduleId"] = json!(s.schedule_id);
                } else {
                    object["assignmentType"] = json!("Assigned");
                    object["roleAssignmentOriginId"] = json!(s.id.trim_end_matches("-e"));
                    if let Some(schedule) = &s.schedule_id {
                        object["roleAssignmentScheduleId"] = json!(schedule);
                    }
                }
                writer.write(object)?;
            }
            Ok(writer)
        };
        finish(schedules(
            "roleEligibilityScheduleInstances",
            "roleEligibilityScheduleInstances",
            &self.eligibilities,
            true,
        )?)?;
        let mut assignments = schedules(
            "roleAssignmentScheduleInstances",
            "roleAssignmentScheduleInstances",
            &self.assignments,
            false,
        )?;
        for group in &self.groups {
            assignments.write(json!({
                "id": group.assignment_id, "principalId": group.id, "roleDefinitionId": group.role, "directoryScopeId": "/", "appScopeId": null,
                "startDateTime": iso(group.start, 0), "endDateTime": iso(group.end, 0), "memberType": "Direct",
                "assignmentType": "Assigned", "roleAssignmentOriginId": group.assignment_id.trim_end_matches("-e"), "roleAssignmentScheduleId": group.schedule_id,
            }))?;
        }
        finish(assignments)?;
        written.extend(policy_files);
        Ok(written)
    }

    /// The PIM policies in `shape`: what `write_state` writes, and the snapshot of the
    /// policies as they stood before the period's changes.
    pub fn write_policies(
        &self,
        dir: &Path,
        all: &[(&'static str, PolicySettings)],
        shape: PolicyShape,
    ) -> io::Result<Vec<(PathBuf, u64)>> {
        const GRAPH: &str = "https://graph.microsoft.com/v1.0/$metadata#";
        let mut written = Vec::new();
        let mut finish = |writer: GraphPageWriter| -> io::Result<()> {
            let (files, _) = writer.finish()?;
            written.extend(files);
            Ok(())
        };
        if matches!(shape, PolicyShape::Expand | PolicyShape::Both) {
            let mut policies = GraphPageWriter::new(
                dir,
                "roleManagementPolicyAssignments-expanded",
                &format!("{GRAPH}policies/roleManagementPolicyAssignments(policy(rules()))"),
            )?;
            for (n, (role, settings)) in all.iter().enumerate() {
                let policy_id = self.policy_id(n);
                policies.write(json!({
                    "id": format!("{policy_id}_{role}"), "policyId": policy_id, "scopeId": "/", "scopeType": "DirectoryRole", "roleDefinitionId": role,
                    "policy": self.policy_object(&policy_id, settings),
                }))?;
            }
            finish(policies)?;
        }
        if matches!(shape, PolicyShape::Split | PolicyShape::Both) {
            let mut policies = GraphPageWriter::new(
                dir,
                "roleManagementPolicies",
                &format!("{GRAPH}policies/roleManagementPolicies(rules())"),
            )?;
            for (n, (_, settings)) in all.iter().enumerate() {
                policies.write(self.policy_object(&self.policy_id(n), settings))?;
            }
            finish(policies)?;
            let mut links = GraphPageWriter::new(
                dir,
                "roleManagementPolicyAssignments",
                &format!("{GRAPH}policies/roleManagementPolicyAssignments"),
            )?;
            for (n, (role, _)) in all.iter().enumerate() {
                let policy_id = self.policy_id(n);
                links.write(json!({"id": format!("{policy_id}_{role}"), "policyId": policy_id, "scopeId": "/", "scopeType": "DirectoryRole", "roleDefinitionId": role}))?;
            }
            finish(links)?;
        }

        Ok(written)
    }

    /// A `unifiedRoleManagementPolicy` with its rules, as Graph returns it.
    fn policy_object(&self, policy_id: &str, settings: &PolicySettings) -> Value {
        json!({
            "id": policy_id, "displayName": "DirectoryRole", "description": "DirectoryRole", "isOrganizationDefault": false,
            "scopeId": "/", "scopeType": "DirectoryRole", "lastModifiedDateTime": null,
            "lastModifiedBy": {"displayName": null, "id": null},
            "rules": self.policy_rules(settings),
        })
    }

    /// The policy's rules as Graph's `unifiedRoleManagementPolicy` returns them.
    fn policy_rules(&self, settings: &PolicySettings) -> Value {
        let target = |caller: &str, level: &str| json!({"caller": caller, "operations": ["all"], "level": level, "inheritableSettings": [], "enforcedSettings": []});
        let approvers: Vec<Value> = if settings.named_approvers {
            self.approvers
                .iter()
                .map(|&a| json!({"@odata.type": "#microsoft.graph.singleUser", "userId": self.users[a].id, "description": self.users[a].display_name}))
                .collect()
        } else {
            Vec::new()
        };
        let recipients = if settings.extra_recipients {
            json!([format!("secops@{}", self.domain)])
        } else {
            json!([])
        };
        let mut enabled = Vec::new();
        if settings.mfa {
            enabled.push("MultiFactorAuthentication");
        }
        if settings.justification {
            enabled.push("Justification");
        }
        let notify = |id: &str, caller: &str, level: &str| json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyNotificationRule", "id": id, "notificationType": "Email", "recipientType": "Admin", "notificationLevel": "All", "isDefaultRecipientsEnabled": true, "notificationRecipients": recipients, "target": target(caller, level)});
        json!([
            {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule", "id": "Enablement_EndUser_Assignment", "enabledRules": enabled, "target": target("EndUser", "Assignment")},
            {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule", "id": "Expiration_EndUser_Assignment", "isExpirationRequired": true, "maximumDuration": settings.max_activation, "target": target("EndUser", "Assignment")},
            {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule", "id": "Approval_EndUser_Assignment", "setting": {"isApprovalRequired": settings.approval, "approvalMode": "SingleStage", "approvalStages": [{"approvalStageTimeOutInDays": 1, "primaryApprovers": approvers}]}, "target": target("EndUser", "Assignment")},
            {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule", "id": "Expiration_Admin_Eligibility", "isExpirationRequired": settings.eligible_expiry_required, "maximumDuration": "P365D", "target": target("Admin", "Eligibility")},
            {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule", "id": "Expiration_Admin_Assignment", "isExpirationRequired": settings.active_expiry_required, "maximumDuration": "P180D", "target": target("Admin", "Assignment")},
            notify("Notification_Admin_Admin_Eligibility", "Admin", "Eligibility"),
            notify("Notification_Admin_Admin_Assignment", "Admin", "Assignment"),
            notify("Notification_Admin_EndUser_Assignment", "EndUser", "Assignment"),
        ])
    }

    /// Whether activating `role` needs approval under the tenant's policy.
    pub fn requires_approval(&self, role: &str) -> bool {
        self.policies
            .iter()
            .find(|(r, _)| *r == role)
            .is_some_and(|(_, p)| p.approval)
    }

    /// The id of the n-th policy: `DirectoryRole_<tenant>_<guid>`, as Graph names them.
    pub fn policy_id(&self, n: usize) -> String {
        format!(
            "DirectoryRole_{}_{:08x}-0000-4000-8000-{:012x}",
            self.id, n, n
        )
    }

    /// The policy settings of `role`, added (hardened) if the tenant has none yet.
    /// Scenarios change policies through this; the change is logged ("Update role setting in
    /// PIM") during the period.
    pub fn policy_mut(&mut self, role: &'static str) -> &mut PolicySettings {
        let index = match self.policies.iter().position(|(r, _)| *r == role) {
            Some(i) => i,
            None => {
                self.policies.push((role, PolicySettings::hardened(role)));
                self.policies.len() - 1
            }
        };
        if !self.changed_policies.contains(&index) {
            self.changed_policies.push(index);
            self.settings_before_change
                .push((index, self.policies[index].1.clone()));
        }
        &mut self.policies[index].1
    }

    /// The policies as they stood at the start of the period, before the scenarios' changes.
    pub fn policies_at_start(&self) -> Vec<(&'static str, PolicySettings)> {
        let mut policies = self.policies.clone();
        for (index, before) in &self.settings_before_change {
            policies[*index].1 = before.clone();
        }
        policies
    }
}

/// A GUID derived from a tenant id and a name, so that it is stable without drawing from the
/// random stream (drawing would reshuffle everything generated after it).
pub(super) fn derived_guid(tenant: &str, name: &str) -> String {
    let mut hasher = crate::model::columns::StableHasher::default();
    hasher.write_field(tenant.as_bytes());
    hasher.write_field(name.as_bytes());
    let b = hasher.finish();
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-4{:01x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5], b[6] & 0x0f, b[7], 0x80 | (b[8] & 0x3f), b[9],
        b[10], b[11], b[12], b[13], b[14], b[15]
    )
}

/// `onPremisesImmutableId`: the base64 of the on-premises objectGUID; derived from the object
/// id here.
fn immutable_id(user_id: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut hasher = crate::model::columns::StableHasher::default();
    hasher.write_field(user_id.as_bytes());
    let bytes = hasher.finish();
    let mut text: String = bytes
        .iter()
        .take(15)
        .map(|b| ALPHABET[usize::from(*b & 0x3f)] as char)
        .collect();
    text.push_str("Ow==");
    text.truncate(22);
    text + "=="
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}
