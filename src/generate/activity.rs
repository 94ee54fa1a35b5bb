//! Day-by-day activity of a synthetic tenant, streamed as it is made: interactive and
//! non-interactive sign-ins shaped by working hours, PIM activations with their whole
//! lifecycle (request → approval → completion and its Core Directory twin → expiry and its
//! twin), and everyday directory noise so that role events are a realistic minority.

use std::io;

use serde_json::{json, Value};

use super::channels::ChannelWriter;
use super::iso;
use super::rng::Rng;
use super::sensitive::SensitiveChanges;
use super::tenant::Tenant;
use crate::model::roles;

const PORTAL_APP: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
const MANAGEMENT_API: &str = "797f4846-ba00-4fd7-ba43-dac1f8f63013";
const AZURE_AD_PIM_USER: &str = "9dfd627f-bdc5-4b1c-af9d-c85097fdeff8";

/// How the interactive sign-in before an activation met MFA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mfa {
    /// Password, then a second factor performed now (Microsoft Authenticator).
    Performed,
    /// "MFA requirement satisfied by claim in the token": the requirement is met, nothing was
    /// performed (what a replayed session token looks like).
    ByClaim,
    /// Password only.
    None,
}

/// An activation a scenario asks for, on a given day of the period.
#[derive(Debug, Clone)]
pub struct PlannedActivation {
    pub user: usize,
    pub day: i64,
    pub role: &'static str,
    pub request_id: String,
    /// Seconds after the start of the user's working day (negative: before it).
    pub offset: i64,
    pub shape: ActivationShape,
}

/// How a planned activation differs from an everyday one. The default is an everyday
/// activation: fresh MFA from the user's usual place, approved (when the role needs it) by the
/// tenant's approver after a few minutes, active for one to four hours.
#[derive(Debug, Clone)]
pub struct ActivationShape {
    /// How the sign-in before it met MFA.
    pub mfa: Mfa,
    /// The approval is logged as the requester's own (what PIM forbids), and approval steps
    /// are logged even when the role's policy needs none.
    pub self_approved: bool,
    /// Who approves; approval steps are logged even when the role's policy needs none.
    pub approver: Option<usize>,
    /// Seconds from the request to the approval (default two to twenty minutes).
    pub approval_delay: Option<i64>,
    /// Hours the role stays active (default one to four).
    pub hours: Option<i64>,
    /// Seconds from the sign-in to the request (default five to thirty minutes).
    pub requested_after: Option<i64>,
    /// `riskLevelDuringSignIn` of the sign-in before it (default `none`).
    pub risk: &'static str,
    /// The sign-in comes from elsewhere: (country, city, IP address).
    pub from: Option<(&'static str, &'static str, &'static str)>,
    pub justification: Option<String>,
    pub ticket: Option<String>,
}

impl Default for ActivationShape {
    fn default() -> Self {
        Self {
            mfa: Mfa::Performed,
            self_approved: false,
            approver: None,
            approval_delay: None,
            hours: None,
            requested_after: None,
            risk: "none",
            from: None,
            justification: None,
            ticket: None,
        }
    }
}

/// Who makes a role change in Core Directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// PIM itself: its own service principal, named "MS-PIM", application id left out as in
    /// real records.
    Pim,
    /// A user (an admin with directory rights).
    User(usize),
    /// The tenant's look-alike app registration that calls itself "MS-PIM".
    LookalikeApp,
    /// The tenant's service principal `n` (index), acting with its own permissions.
    App(usize),
}

/// A role given directly in the directory, not through PIM: by another admin, or by an app
/// named like PIM; `removed_after` seconds later it is taken away again (a grant no state
/// snapshot ever shows).
#[derive(Debug, Clone)]
pub struct OutsidePim {
    pub actor: Actor,
    pub principal: usize,
    pub role: &'static str,
    pub day: i64,
    pub removed_after: Option<i64>,
}

/// An eligibility an administrator removes through PIM on a day of the period.
#[derive(Debug, Clone)]
pub struct Removal {
    pub principal: usize,
    pub role: &'static str,
    pub day: i64,
    /// Who removes it; the tenant's first approver when `None`.
    pub by: Option<usize>,
}

/// Why an activation happens: everyday work (which an approver may deny, or the user end
/// early), or a scenario's plan (which completes and expires as planned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Routine,
    Planned,
}

/// One-off events a scenario plants besides activations and role changes of users.
#[derive(Debug, Clone)]
pub enum PlannedEvent {
    /// A Global Administrator turns on "Access management for Azure resources" (User Access
    /// Administrator at the Azure root), as the directory audit logs it.
    ElevateAccess { user: usize, day: i64 },
    /// An admin disables PIM's "Roles are being assigned outside of PIM" alert.
    PimAlertDisabled { admin: usize, day: i64 },
    /// A break-glass account signs in, or fails to (bad password).
    BreakGlassSignIn {
        user: usize,
        day: i64,
        succeeded: bool,
    },
    /// An admin gives the tenant's service principal `sp` (index) `role` in Core Directory and
    /// takes it back `removed_after` seconds later.
    ServicePrincipalRole {
        admin: usize,
        sp: usize,
        role: &'static str,
        day: i64,
        removed_after: i64,
    },
    /// An admin registers security info for `user`: a Temporary Access Pass, or a phone.
    SecurityInfo {
        admin: usize,
        user: usize,
        day: i64,
        temporary_access_pass: bool,
    },
    /// An admin turns off per-user MFA for `user` (`Disable Strong Authentication`).
    MfaDisabled { admin: usize, user: usize, day: i64 },
    /// An admin converts the guest `user` to a member (`Update user`, `UserType`).
    GuestPromoted { admin: usize, user: usize, day: i64 },
    /// An admin resets `user`'s password.
    PasswordReset { admin: usize, user: usize, day: i64 },
    /// An admin creates the account `user` (`Add user`) at its creation time.
    AccountCreated { admin: usize, user: usize, day: i64 },
    /// An admin adds application credentials to the tenant's custom role `role` (which the
    /// state export then shows with them).
    CustomRoleWidened {
        admin: usize,
        role: &'static str,
        day: i64,
    },
    /// Someone guesses `user`'s password nine times in a quarter of an hour, and smart lockout
    /// locks the account.
    Lockout { user: usize, day: i64 },
    /// An admin adds `user` to the tenant's group `group` (index).
    GroupMemberAdded {
        admin: usize,
        user: usize,
        group: usize,
        day: i64,
    },
    /// An admin updates a Conditional Access policy (its grant controls no longer require
    /// MFA) an hour and a half into their working day.
    ConditionalAccessChanged { admin: usize, day: i64 },
    /// An admin grants the service principal `sp` (index) the Microsoft Graph application
    /// permission `permission` (an app role assignment), at half past noon.
    AppPermissionGranted {
        admin: usize,
        sp: usize,
        permission: &'static str,
        day: i64,
    },
}

#[derive(Debug, Default)]
pub struct Plans {
    pub activations: Vec<PlannedActivation>,
    pub events: Vec<PlannedEvent>,
    pub outside_pim: Vec<OutsidePim>,
    /// (user, day): a password spray against the account: failed interactive sign-ins that
    /// move `lastSignInDateTime` but not `lastSuccessfulSignInDateTime`.
    pub sprays: Vec<(usize, i64)>,
    pub removals: Vec<Removal>,
    /// Time-bound eligibilities their holder asks to extend, and an approver extends by a year.
    pub extensions: Vec<Removal>,
    /// The day changed policies are saved (`Update role setting in PIM`).
    pub policy_change_day: i64,
}

pub struct Activity<'a> {
    pub tenant: &'a mut Tenant,
    pub rng: Rng,
    pub audits: ChannelWriter,
    pub sign_ins: ChannelWriter,
    pub end: i64,
    sequence: u64,
    /// When each admin last activated each role: routine activations keep every eligible
    /// role in use, so that only planted scenarios look like unused eligibilities.
    last_activation: std::collections::HashMap<(usize, &'static str), i64>,
    /// (rule, entity) pairs the everyday activity calls for: a privileged role granted, an
    /// activation denied. They join the scenarios' truth.
    pub expected: Vec<(&'static str, String)>,
    /// Activation windows and sensitive changes, read off every audit record written.
    sensitive: SensitiveChanges,
}

/// What admins write when they activate a role without a change ticket (each with its own
/// incident number).
const TASKS: &[&str] = &[
    "Investigate sign-in alert",
    "Update mailbox permissions for",
    "Review conditional access report for",
    "Reset MFA registration per",
    "Configure app registration per",
    "Offboard leaver per",
];

/// A routine activation is forced once a role has gone this long without one.
const MAX_DAYS_WITHOUT_ACTIVATION: i64 = 14;

pub(super) fn weekday(time: i64) -> i64 {
    // 1970-01-01 was a Thursday (4); Monday = 1 … Sunday = 7.
    (time.div_euclid(86_400) + 3).rem_euclid(7) + 1
}

impl PlannedEvent {
    fn day(&self) -> i64 {
        match *self {
            Self::ElevateAccess { day, .. }
            | Self::PimAlertDisabled { day, .. }
            | Self::BreakGlassSignIn { day, .. }
            | Self::ServicePrincipalRole { day, .. }
            | Self::SecurityInfo { day, .. }
            | Self::MfaDisabled { day, .. }
            | Self::GuestPromoted { day, .. }
            | Self::PasswordReset { day, .. }
            | Self::AccountCreated { day, .. }
            | Self::GroupMemberAdded { day, .. }
            | Self::Lockout { day, .. }
            | Self::CustomRoleWidened { day, .. }
            | Self::ConditionalAccessChanged { day, .. }
            | Self::AppPermissionGranted { day, .. } => day,
        }
    }
}

impl<'a> Activity<'a> {
    pub fn new(
        tenant: &'a mut Tenant,
        rng: Rng,
        audits: ChannelWriter,
        sign_ins: ChannelWriter,
        end: i64,
    ) -> Self {
        Self {
            tenant,
            rng,
            audits,
            sign_ins,
            end,
            sequence: 0,
            last_activation: std::collections::HashMap::new(),
            expected: Vec::new(),
            sensitive: SensitiveChanges::default(),
        }
    }

    pub fn run(&mut self, start: i64, days: i64, plans: &Plans) -> io::Result<()> {
        for day in 0..days {
            let midnight = start + day * 86_400;
            let workday = weekday(midnight) <= 5;
            for u in 0..self.tenant.users.len() {
                let user = &self.tenant.users[u];
                // Accounts created during the period start working the day after.
                if !user.enabled || user.silent || user.break_glass || user.created >= midnight {
                    continue;
                }
                let at = midnight + user.work_hour * 3600 + self.rng.below(3600) as i64;
                let planned_today = plans
                    .activations
                    .iter()
                    .any(|p| p.user == u && p.day == day);
                if user.admin {
                    if workday && !planned_today {
                        self.routine_activation(u, midnight, at)?;
                    }
                } else if workday && self.rng.chance(0.8) {
                    self.sign_in(u, at, true, Mfa::Performed)?;
                    let later = at + 1800 + self.rng.below(6 * 3600) as i64;
                    self.sign_in(u, later, false, Mfa::None)?;
                }
            }
            for planned in plans.activations.iter().filter(|p| p.day == day) {
                let at =
                    midnight + self.tenant.users[planned.user].work_hour * 3600 + planned.offset;
                self.activation(
                    planned.user,
                    planned.role,
                    at,
                    &planned.request_id,
                    Origin::Planned,
                    &planned.shape,
                )?;
            }
            for outside in plans.outside_pim.iter().filter(|o| o.day == day) {
                let at = midnight + 14 * 3600;
                if let Actor::User(actor) = outside.actor {
                    self.sign_in(actor, at - 600, true, Mfa::Performed)?;
                }
                let corr = self.rng.guid();
                let audit = self.core_directory(
                    "Add member to role",
                    at,
                    &corr,
                    outside.principal,
                    outside.role,
                    outside.actor,
                );
                self.write_audit(&audit)?;
                if let Some(after) = outside.removed_after {
                    let corr = self.rng.guid();
                    let audit = self.core_directory(
                        "Remove member from role",
                        at + after,
                        &corr,
                        outside.principal,
                        outside.role,
                        outside.actor,
                    );
                    self.write_audit(&audit)?;
                }
            }
            for event in plans.events.iter().filter(|e| e.day() == day) {
                self.planned_event(event, midnight)?;
            }
            for &(user, _) in plans.sprays.iter().filter(|(_, d)| *d == day) {
                self.password_spray(user, midnight + 3 * 3600)?;
            }
            self.granted_today(midnight)?;
            for removal in plans.removals.iter().filter(|r| r.day == day) {
                self.remove_eligibility(removal, midnight + 15 * 3600)?;
            }
            for extension in plans.extensions.iter().filter(|r| r.day == day) {
                self.extend_eligibility(extension, midnight + 16 * 3600)?;
            }
            if day == plans.policy_change_day {
                self.policy_changes(midnight + 11 * 3600)?;
            }
            self.noise(midnight + 10 * 3600)?;
        }
        for user in self.sensitive.users_in_chains() {
            self.expected
                .push(("activation-then-sensitive-change", user));
        }
        Ok(())
    }

    /// Writes an audit record, noting the activation windows and sensitive changes it shows.
    fn write_audit(&mut self, audit: &Value) -> io::Result<()> {
        self.sensitive
            .observe(audit, super::scenarios::is_privileged);
        self.audits.write(audit)
    }

    /// An administrator removes an eligibility: PIM logs the request and its completion, and
    /// the tenant no longer has it (nor activates it) from then on.
    fn remove_eligibility(&mut self, removal: &Removal, at: i64) -> io::Result<()> {
        let Some(admin) = removal.by.or(self.tenant.approvers.first().copied()) else {
            return Ok(());
        };
        let Some(index) = self
            .tenant
            .eligibilities
            .iter()
            .position(|e| e.principal == removal.principal && e.role == removal.role)
        else {
            return Ok(());
        };
        let schedule = self.tenant.eligibilities.remove(index);
        let kind = if schedule.end.is_none() {
            "permanent"
        } else {
            "timebound"
        };
        let corr = self.rng.guid();
        let request = self.rng.guid();
        let details = vec![
            json!({"key": "TemplateId", "value": removal.role}),
            json!({"key": "RoleAssignmentRequestId", "value": request}),
            json!({"key": "Justification", "value": "Access review: no longer needed"}),
        ];
        for (step, offset) in [("requested", 0), ("completed", 2)] {
            let audit = self.pim(
                &format!("Remove eligible member from role in PIM {step} ({kind})"),
                at + offset,
                &corr,
                Some(admin),
                removal.principal,
                removal.role,
                &request,
                "Access review: no longer needed",
                details.clone(),
            );
            self.write_audit(&audit)?;
        }
        Ok(())
    }

    /// The holder of a time-bound eligibility asks to extend it and the first approver (not the
    /// holder) approves: PIM logs both, and the eligibility ends a year later.
    fn extend_eligibility(&mut self, extension: &Removal, at: i64) -> io::Result<()> {
        let Some(approver) = self
            .tenant
            .approvers
            .iter()
            .copied()
            .find(|&a| a != extension.principal)
        else {
            return Ok(());
        };
        let Some(schedule) = self.tenant.eligibilities.iter_mut().find(|e| {
            e.principal == extension.principal && e.role == extension.role && e.end.is_some()
        }) else {
            return Ok(());
        };
        let new_end = schedule.end.map(|end| end + 365 * 86_400);
        schedule.end = new_end;
        let corr = self.rng.guid();
        let request = self.rng.guid();
        let mut details = vec![
            json!({"key": "TemplateId", "value": extension.role}),
            json!({"key": "RoleAssignmentRequestId", "value": request}),
            json!({"key": "Justification", "value": "Still needed for the on-call rota"}),
        ];
        if let Some(end) = new_end {
            details.push(json!({"key": "ExpirationTime", "value": iso(end, 0)}));
        }
        for (activity, actor, offset) in [
            (
                "Update eligible member in PIM requested (extend)",
                extension.principal,
                0,
            ),
            (
                "Update member in PIM approved by admin (extend/renew)",
                approver,
                1800,
            ),
        ] {
            let audit = self.pim(
                activity,
                at + offset,
                &corr,
                Some(actor),
                extension.principal,
                extension.role,
                &request,
                "Still needed for the on-call rota",
                details.clone(),
            );
            self.write_audit(&audit)?;
        }
        Ok(())
    }

    /// Policies the scenarios changed are saved in PIM, which logs `Update role setting in
    /// PIM` with the role and the policy.
    fn policy_changes(&mut self, at: i64) -> io::Result<()> {
        let Some(&admin) = self.tenant.approvers.first() else {
            return Ok(());
        };
        for (k, index) in self.tenant.changed_policies.clone().into_iter().enumerate() {
            let role = self.tenant.policies[index].0;
            let policy_id = self.tenant.policy_id(index);
            let role_name = roles::lookup(role)
                .map(|r| r.display_name.clone())
                .unwrap_or_default();
            let corr = self.rng.guid();
            let sequence = self.next_sequence();
            let id = format!(
                "PIM_{corr}_{}_{}",
                self.rng.guid(),
                134_000_000_000_000_000u64 + sequence
            );
            let audit = json!({
                "id": id, "category": "RoleManagement", "correlationId": corr, "result": "success", "resultReason": "",
                "activityDisplayName": "Update role setting in PIM", "activityDateTime": iso(at + k as i64 * 60, 0),
                "loggedByService": "PIM", "operationType": "Update", "initiatedBy": self.user_actor(admin),
                "targetResources": [
                    {"id": role, "displayName": role_name, "type": "Role", "modifiedProperties": []},
                    {"id": policy_id, "displayName": null, "type": "Other", "modifiedProperties": []},
                    {"id": self.tenant.id, "displayName": "Contoso", "type": "Directory", "modifiedProperties": []},
                ],
                "additionalDetails": [{"key": "RoleDefinitionOriginId", "value": role}, {"key": "TemplateId", "value": role}],
            });
            self.write_audit(&audit)?;
        }
        Ok(())
    }

    /// Eligibilities and PIM-made assignments that start today were granted today, by the
    /// first approver (a Privileged Role Administrator).
    fn granted_today(&mut self, midnight: i64) -> io::Result<()> {
        let Some(&admin) = self.tenant.approvers.first() else {
            return Ok(());
        };
        let today = |start: i64| start >= midnight && start < midnight + 86_400;
        let mut grants: Vec<(usize, &'static str, i64, bool, bool)> = Vec::new();
        for e in self.tenant.eligibilities.iter().filter(|e| today(e.start)) {
            grants.push((e.principal, e.role, e.start, e.end.is_none(), true));
        }
        for a in self
            .tenant
            .assignments
            .iter()
            .filter(|a| today(a.start) && a.schedule_id.is_some())
        {
            grants.push((a.principal, a.role, a.start, a.end.is_none(), false));
        }
        for (principal, role, at, permanent, eligible) in grants {
            if principal != admin {
                self.admin_assignment(admin, principal, role, at, permanent, eligible)?;
            }
        }
        Ok(())
    }

    /// On a workday an admin activates every role they have not used for two weeks (or ever),
    /// half an hour apart; otherwise, a quarter of the time, the role used least recently.
    /// So every eligible role is in use, and only planted scenarios look unused.
    fn routine_activation(&mut self, u: usize, midnight: i64, at: i64) -> io::Result<()> {
        let roles = self.tenant.eligible_roles(u);
        let last = |this: &Self, role: &'static str| this.last_activation.get(&(u, role)).copied();
        let overdue: Vec<&'static str> = roles
            .iter()
            .copied()
            .filter(|&r| {
                last(self, r).is_none_or(|t| midnight - t >= MAX_DAYS_WITHOUT_ACTIVATION * 86_400)
            })
            .collect();
        if !overdue.is_empty() {
            for (k, role) in overdue.into_iter().enumerate() {
                let request = self.rng.guid();
                self.activation(
                    u,
                    role,
                    at + k as i64 * 1800,
                    &request,
                    Origin::Routine,
                    &ActivationShape::default(),
                )?;
            }
            return Ok(());
        }
        let least_recent = roles
            .iter()
            .copied()
            .min_by_key(|&r| last(self, r).unwrap_or(i64::MIN));
        if let Some(role) = least_recent {
            if self.rng.chance(0.25) {
                let request = self.rng.guid();
                let shape = ActivationShape::default();
                self.activation(u, role, at, &request, Origin::Routine, &shape)?;
            }
        }
        Ok(())
    }

    /// A sign-in to the Azure portal (interactive) or Teams (non-interactive). Interactive
    /// ones meet MFA as `mfa` says; non-interactive ones reuse the session's token.
    fn sign_in(&mut self, u: usize, at: i64, interactive: bool, mfa: Mfa) -> io::Result<()> {
        self.sign_in_from(u, at, interactive, mfa, "none", None)
    }

    /// A sign-in as [`Self::sign_in`], with Identity Protection's risk level during it and,
    /// when `from` says so, from another country, city and address than the user's usual.
    fn sign_in_from(
        &mut self,
        u: usize,
        at: i64,
        interactive: bool,
        mfa: Mfa,
        risk: &str,
        from: Option<(&str, &str, &str)>,
    ) -> io::Result<()> {
        let mfa = if interactive { mfa } else { Mfa::None };
        let first = if interactive && mfa != Mfa::ByClaim {
            json!({"authenticationStepDateTime": iso(at, 0), "authenticationMethod": "Password", "authenticationMethodDetail": "Password in the cloud", "succeeded": true, "authenticationStepResultDetail": "Correct password", "authenticationStepRequirement": "Primary authentication"})
        } else {
            json!({"authenticationStepDateTime": iso(at, 0), "authenticationMethod": "Previously satisfied", "authenticationMethodDetail": "", "succeeded": true, "authenticationStepResultDetail": "First factor requirement satisfied by claim in the token", "authenticationStepRequirement": "Primary authentication"})
        };
        let mut steps = vec![first];
        match mfa {
            Mfa::Performed => steps.push(json!({"authenticationStepDateTime": iso(at + 9, 0), "authenticationMethod": "Microsoft Authenticator", "authenticationMethodDetail": "Mobile app notification", "succeeded": true, "authenticationStepResultDetail": "MFA successfully completed", "authenticationStepRequirement": "Secondary authentication"})),
            Mfa::ByClaim => steps.push(json!({"authenticationStepDateTime": iso(at, 0), "authenticationMethod": "Previously satisfied", "authenticationMethodDetail": "", "succeeded": true, "authenticationStepResultDetail": "MFA requirement satisfied by claim in the token", "authenticationStepRequirement": "Secondary authentication"})),
            Mfa::None => {}
        }
        let user = &self.tenant.users[u];
        let upn = sign_in_upn(&user.upn);
        let usual_ip = format!("203.0.{}.{}", (u / 250) % 250, u % 250 + 1);
        let (country, city, ip) = match from {
            Some((country, city, ip)) => (country, city, ip.to_string()),
            None => (user.country, user.city, usual_ip),
        };
        // Identity Protection: an at-risk sign-in names what it saw; `riskDetail` says how
        // the risk was remediated, none yet.
        let (risk_state, risk_events) = if risk == "none" {
            ("none", json!([]))
        } else {
            (
                "atRisk",
                json!(["unfamiliarFeatures", "anonymizedIPAddress"]),
            )
        };
        let requirement = if mfa == Mfa::None {
            "singleFactorAuthentication"
        } else {
            "multiFactorAuthentication"
        };
        let object = json!({
            "id": self.rng.guid(), "createdDateTime": iso(at, self.rng.below(10_000_000)),
            "userDisplayName": user.display_name, "userPrincipalName": upn, "userId": user.id,
            "appId": if interactive { PORTAL_APP } else { "1fec8e78-bce4-4aaf-ab1b-5451cc387264" },
            "appDisplayName": if interactive { "Azure Portal" } else { "Microsoft Teams" },
            "ipAddress": ip, "clientAppUsed": "Browser", "correlationId": self.rng.guid(),
            "conditionalAccessStatus": "success", "isInteractive": interactive,
            "riskDetail": "none", "riskLevelAggregated": risk, "riskLevelDuringSignIn": risk, "riskState": risk_state,
            "riskEventTypes_v2": risk_events,
            "resourceDisplayName": if interactive { "Windows Azure Service Management API" } else { "Microsoft Graph" },
            "resourceId": if interactive { MANAGEMENT_API } else { "00000003-0000-0000-c000-000000000000" },
            "userType": if user.guest { "guest" } else { "member" },
            "status": {"errorCode": 0, "failureReason": "Other."},
            "location": {"city": city, "countryOrRegion": country, "geoCoordinates": {}},
            "deviceDetail": {"deviceId": "", "operatingSystem": "Windows10", "browser": "Edge 130.0", "isCompliant": true, "isManaged": true},
            "authenticationRequirement": requirement,
            "authenticationDetails": steps,
            "mfaDetail": if mfa == Mfa::Performed { json!({"authMethod": "Mobile app notification"}) } else { json!({}) },
        });
        self.sign_ins.write(&object)?;
        let user = &mut self.tenant.users[u];
        if interactive {
            user.last_sign_in = user.last_sign_in.max(Some(at));
        } else {
            user.last_non_interactive = user.last_non_interactive.max(Some(at));
        }
        user.last_success = user.last_success.max(Some(at));
        Ok(())
    }

    /// A password spray: failed interactive sign-ins (bad password, 50126) from abroad. They
    /// move the account's last *attempt*, never its last success.
    fn password_spray(&mut self, u: usize, at: i64) -> io::Result<()> {
        self.failed_sign_ins(u, at, 3, false)
    }

    /// `count` failed interactive sign-ins with a bad password, 97 seconds apart; with
    /// `lockout`, smart lockout refuses the last one (50053).
    fn failed_sign_ins(&mut self, u: usize, at: i64, count: i64, lockout: bool) -> io::Result<()> {
        for k in 0..count {
            let when = at + k * 97;
            let (code, reason) = if lockout && k == count - 1 {
                (50053, "Account is locked because user tried to sign in too many times with an incorrect user ID or password.")
            } else {
                (
                    50126,
                    "Error validating credentials due to invalid username or password.",
                )
            };
            let user = &self.tenant.users[u];
            let object = json!({
                "id": self.rng.guid(), "createdDateTime": iso(when, self.rng.below(10_000_000)),
                "userDisplayName": user.display_name, "userPrincipalName": sign_in_upn(&user.upn), "userId": user.id,
                "appId": PORTAL_APP, "appDisplayName": "Azure Portal",
                "ipAddress": format!("198.51.100.{}", 10 + k % 5), "clientAppUsed": "Browser", "correlationId": self.rng.guid(),
                "conditionalAccessStatus": "notApplied", "isInteractive": true,
                "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none", "riskState": "none",
                "resourceDisplayName": "Windows Azure Service Management API", "resourceId": MANAGEMENT_API,
                "userType": if user.guest { "guest" } else { "member" },
                "status": {"errorCode": code, "failureReason": reason},
                "location": {"city": "Unknown", "countryOrRegion": "RU", "geoCoordinates": {}},
                "deviceDetail": {"deviceId": "", "operatingSystem": "Linux", "browser": "Python Requests 2.31", "isCompliant": false, "isManaged": false},
                "authenticationRequirement": "singleFactorAuthentication",
                "authenticationDetails": [{"authenticationStepDateTime": iso(when, 0), "authenticationMethod": "Password", "authenticationMethodDetail": "Password in the cloud", "succeeded": false, "authenticationStepResultDetail": "Invalid username or password or Invalid on-premise username or password.", "authenticationStepRequirement": "Primary authentication"}],
                "mfaDetail": {},
            });
            self.sign_ins.write(&object)?;
            let user = &mut self.tenant.users[u];
            user.last_sign_in = user.last_sign_in.max(Some(when));
        }
        Ok(())
    }

    /// Sign-in, then the PIM activation lifecycle with its Core Directory twins. A routine
    /// activation (`routine`) may be denied by the approver, or deactivated early by the user;
    /// a planted one always completes and expires, as its scenario says.
    fn activation(
        &mut self,
        u: usize,
        role: &'static str,
        at: i64,
        request: &str,
        origin: Origin,
        shape: &ActivationShape,
    ) -> io::Result<()> {
        let routine = origin == Origin::Routine;
        let self_approved = shape.self_approved;
        self.sign_in_from(u, at, true, shape.mfa, shape.risk, shape.from)?;
        let corr = self.rng.guid();
        let requested = at
            + shape
                .requested_after
                .unwrap_or_else(|| 300 + self.rng.below(1500) as i64);
        let hours = shape.hours.unwrap_or_else(|| 1 + self.rng.below(4) as i64);
        // Every change ticket and incident is its own: numbers come from a counter, so that
        // only planted scenarios reuse one.
        let ticket = match &shape.ticket {
            Some(t) => Some(t.clone()),
            None => self
                .rng
                .chance(0.5)
                .then(|| format!("CHG{:07}", 1_000_000 + self.next_sequence())),
        };
        let justification = match (&shape.justification, &ticket) {
            (Some(j), _) => j.clone(),
            (None, Some(t)) => format!("Change {t}"),
            (None, None) => {
                let task = *self.rng.pick(TASKS);
                format!("{task} INC{:07}", 2_000_000 + self.next_sequence())
            }
        };
        let details = |start: i64| {
            let mut d = vec![
                json!({"key": "RoleDefinitionOriginId", "value": role}),
                json!({"key": "TemplateId", "value": role}),
                json!({"key": "StartTime", "value": iso(start, 0)}),
                json!({"key": "ExpirationTime", "value": iso(start + hours * 3600, 0)}),
                json!({"key": "Justification", "value": justification}),
                json!({"key": "RoleAssignmentRequestId", "value": request}),
            ];
            if let Some(t) = &ticket {
                d.push(json!({"key": "TicketNumber", "value": t}));
                d.push(json!({"key": "TicketSystem", "value": "ServiceNow"}));
            }
            d
        };
        let request_details = details(requested);
        let audit = self.pim(
            "Add member to role requested (PIM activation)",
            requested,
            &corr,
            Some(u),
            u,
            role,
            request,
            &justification,
            request_details,
        );
        self.write_audit(&audit)?;
        let mut done = requested + 2;
        if self.tenant.requires_approval(role) || self_approved || shape.approver.is_some() {
            let approver = if self_approved {
                Some(u)
            } else {
                shape.approver.or_else(|| self.default_approver(u))
            };
            if let Some(approver) = approver {
                let audit = self.pim(
                    "Add member to role approval requested (PIM activation)",
                    requested + 1,
                    &corr,
                    Some(u),
                    u,
                    role,
                    request,
                    &justification,
                    vec![],
                );
                self.write_audit(&audit)?;
                let approved = requested
                    + shape
                        .approval_delay
                        .unwrap_or_else(|| 120 + self.rng.below(1080) as i64);
                let used_before = self.last_activation.contains_key(&(u, role));
                if routine && used_before && self.rng.chance(0.1) {
                    if super::scenarios::is_privileged(role) {
                        let entity = format!("{}/{role}", self.tenant.users[u].id);
                        self.expected.push(("pim-activation-denied", entity));
                    }
                    // The approver turns it down: no completion, no directory change. (Never
                    // the first request of a role, so that every eligible role gets used.)
                    let audit = self.pim(
                        "Add member to role request denied (PIM activation)",
                        approved,
                        &corr,
                        Some(approver),
                        u,
                        role,
                        request,
                        "Not approved: no matching change ticket",
                        vec![],
                    );
                    return self.write_audit(&audit);
                }
                let audit = self.pim(
                    "Add member to role request approved (PIM activation)",
                    approved,
                    &corr,
                    Some(approver),
                    u,
                    role,
                    request,
                    &justification,
                    vec![],
                );
                self.write_audit(&audit)?;
                done = approved + 2;
            }
        }
        let completion_details = details(done);
        let audit = self.pim(
            "Add member to role completed (PIM activation)",
            done,
            &corr,
            Some(u),
            u,
            role,
            request,
            &justification,
            completion_details,
        );
        self.write_audit(&audit)?;
        let twin_at = done + 1 + self.rng.below(5) as i64;
        let twin = self.core_directory("Add member to role", twin_at, &corr, u, role, Actor::Pim);
        self.write_audit(&twin)?;
        self.last_activation.insert((u, role), at);
        if routine && self.rng.chance(0.15) {
            // Done early: the user deactivates the role before it expires.
            let at = done + 600 + self.rng.below((hours * 3600 - 900).max(1) as u64) as i64;
            if at < self.end {
                return self.deactivation(u, role, at, request);
            }
        }
        let expires = done + hours * 3600;
        if expires < self.end {
            let expiry_corr = self.rng.guid();
            let audit = self.pim(
                "Remove member from role (PIM activation expired)",
                expires,
                &expiry_corr,
                None,
                u,
                role,
                request,
                "",
                vec![json!({"key": "RoleAssignmentRequestId", "value": request})],
            );
            self.write_audit(&audit)?;
            let twin_at = expires - 6 + self.rng.below(5) as i64;
            let twin = self.core_directory(
                "Remove member from role",
                twin_at,
                &expiry_corr,
                u,
                role,
                Actor::Pim,
            );
            self.write_audit(&twin)?;
        }
        Ok(())
    }

    /// Who approves `u`'s requests: the first approver, and an approver's the next one in
    /// the list (so that no two approvers approve each other: that is a finding).
    fn default_approver(&self, u: usize) -> Option<usize> {
        let approvers = &self.tenant.approvers;
        match approvers.iter().position(|&a| a == u) {
            Some(i) if approvers.len() > 1 => Some(approvers[(i + 1) % approvers.len()]),
            Some(_) => None,
            None => approvers.first().copied(),
        }
    }

    /// The user ends an activation early: PIM's request and completion, and the Core
    /// Directory removal PIM makes.
    fn deactivation(&mut self, u: usize, role: &str, at: i64, request: &str) -> io::Result<()> {
        let corr = self.rng.guid();
        let details = vec![json!({"key": "RoleAssignmentRequestId", "value": request})];
        for (activity, offset) in [
            ("Remove member from role requested (PIM deactivate)", 0),
            ("Remove member from role completed (PIM deactivate)", 2),
        ] {
            let audit = self.pim(
                activity,
                at + offset,
                &corr,
                Some(u),
                u,
                role,
                request,
                "",
                details.clone(),
            );
            self.write_audit(&audit)?;
        }
        let twin = self.core_directory(
            "Remove member from role",
            at + 3,
            &corr,
            u,
            role,
            Actor::Pim,
        );
        self.write_audit(&twin)
    }

    /// An administrator grants an eligible or active assignment through PIM (`Add eligible
    /// member to role in PIM completed (timebound)` and the like); an active one also
    /// changes the directory, which Core Directory logs as done by MS-PIM.
    pub fn admin_assignment(
        &mut self,
        admin: usize,
        principal: usize,
        role: &'static str,
        at: i64,
        permanent: bool,
        eligible: bool,
    ) -> io::Result<()> {
        if super::scenarios::is_privileged(role) {
            let entity = format!("{}/{role}", self.tenant.users[principal].id);
            self.expected.push(("privileged-role-assigned", entity));
        }
        let corr = self.rng.guid();
        let request = self.rng.guid();
        let activity = match (eligible, permanent) {
            (true, true) => "Add eligible member to role in PIM completed (permanent)",
            (true, false) => "Add eligible member to role in PIM completed (timebound)",
            (false, true) => "Add member to role in PIM completed (permanent)",
            (false, false) => "Add member to role in PIM completed (timebound)",
        };
        let details = vec![
            json!({"key": "TemplateId", "value": role}),
            json!({"key": "StartTime", "value": iso(at, 0)}),
            json!({"key": "Justification", "value": "Approved access request"}),
            json!({"key": "RoleAssignmentRequestId", "value": request}),
        ];
        let audit = self.pim(
            activity,
            at,
            &corr,
            Some(admin),
            principal,
            role,
            &request,
            "Approved access request",
            details,
        );
        self.write_audit(&audit)?;
        if !eligible {
            let twin = self.core_directory(
                "Add member to role",
                at + 2,
                &corr,
                principal,
                role,
                Actor::Pim,
            );
            self.write_audit(&twin)?;
        }
        Ok(())
    }

    /// A Core Directory audit id: `Directory_<correlation>_<5 letters>_<number>`.
    fn directory_id(&mut self, corr: &str) -> String {
        let sequence = self.next_sequence();
        format!(
            "Directory_{corr}_{}_{}",
            letters(&mut self.rng),
            120_000_000 + sequence
        )
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    fn user_actor(&self, u: usize) -> Value {
        let user = &self.tenant.users[u];
        json!({"user": {"id": user.id, "displayName": user.display_name, "userPrincipalName": user.upn, "ipAddress": format!("203.0.{}.{}", (u / 250) % 250, u % 250 + 1)}, "app": null})
    }

    /// A record logged by PIM; `actor` None is PIM itself ("Azure AD PIM").
    #[allow(clippy::too_many_arguments)]
    fn pim(
        &mut self,
        activity: &str,
        at: i64,
        corr: &str,
        actor: Option<usize>,
        principal: usize,
        role: &str,
        request: &str,
        justification: &str,
        details: Vec<Value>,
    ) -> Value {
        let role_name = roles::lookup(role)
            .map(|r| r.display_name.clone())
            .unwrap_or_default();
        let initiated_by = match actor {
            Some(a) => self.user_actor(a),
            None => {
                json!({"app": null, "user": {"id": AZURE_AD_PIM_USER, "displayName": "Azure AD PIM", "userPrincipalName": null, "ipAddress": null}})
            }
        };
        let sequence = self.next_sequence();
        let id = format!(
            "PIM_{corr}_{}_{}",
            self.rng.guid(),
            134_000_000_000_000_000u64 + sequence
        );
        let ticks = self.rng.below(10_000_000);
        let user = &self.tenant.users[principal];
        json!({
            "id": id,
            "category": "RoleManagement", "correlationId": corr, "result": "success", "resultReason": justification,
            "activityDisplayName": activity, "activityDateTime": iso(at, ticks),
            "loggedByService": "PIM", "operationType": "Update", "initiatedBy": initiated_by,
            "targetResources": [
                {"id": role, "displayName": role_name, "type": "Role", "modifiedProperties": [
                    {"displayName": "RoleDefinitionOriginId", "oldValue": "\"\"", "newValue": format!("\"{role}\"")},
                    {"displayName": "TemplateId", "oldValue": "\"\"", "newValue": format!("\"{role}\"")}]},
                {"id": request, "displayName": null, "type": "Request", "modifiedProperties": []},
                {"id": user.id, "displayName": user.display_name, "type": "User", "userPrincipalName": user.upn, "modifiedProperties": []},
                {"id": self.tenant.id, "displayName": "Contoso", "type": "Directory", "modifiedProperties": []},
            ],
            "additionalDetails": details,
        })
    }

    /// A Core Directory role change, shaped as Microsoft writes it: the principal's target
    /// carries `Role.ObjectID` (the tenant's directoryRole object id), `Role.DisplayName`,
    /// `Role.TemplateId` and `Role.WellKnownObjectName`, and a second `Role` target has the
    /// object id, not the template id. PIM's own changes name the `MS-PIM` app without its
    /// application id, as real records do.
    fn core_directory(
        &mut self,
        activity: &str,
        at: i64,
        corr: &str,
        principal: usize,
        role: &str,
        actor: Actor,
    ) -> Value {
        let role_name = roles::lookup(role)
            .map(|r| r.display_name.clone())
            .unwrap_or_default();
        let object_id = self.tenant.directory_role_object_id(role);
        let adding = activity.starts_with("Add");
        let value = |v: String| {
            if adding {
                (Value::Null, Value::String(v))
            } else {
                (Value::String(v), Value::Null)
            }
        };
        let mut names = vec![
            ("Role.ObjectID", format!("\"{object_id}\"")),
            ("Role.DisplayName", format!("\"{role_name}\"")),
            ("Role.TemplateId", format!("\"{role}\"")),
        ];
        if let Some(well_known) = super::tenant::well_known_object_name(role) {
            names.push(("Role.WellKnownObjectName", format!("\"{well_known}\"")));
        }
        let properties: Vec<Value> = names
            .into_iter()
            .map(|(name, v)| {
                let (old, new) = value(v);
                json!({"displayName": name, "oldValue": old, "newValue": new})
            })
            .collect();
        let initiated_by = match actor {
            Actor::User(a) => self.user_actor(a),
            Actor::Pim => {
                json!({"user": null, "app": {"appId": null, "displayName": "MS-PIM", "servicePrincipalId": self.tenant.pim_service_principal, "servicePrincipalName": null}})
            }
            Actor::App(n) => {
                // Core Directory names the app's service principal, not its application id.
                let sp = &self.tenant.service_principals[n].0;
                json!({"user": null, "app": {"appId": null, "displayName": format!("automation-{n}"), "servicePrincipalId": sp, "servicePrincipalName": null}})
            }
            Actor::LookalikeApp => {
                let sp = self
                    .tenant
                    .lookalike_pim_app
                    .as_ref()
                    .map(|(id, _)| id.clone())
                    .unwrap_or_default();
                json!({"user": null, "app": {"appId": null, "displayName": "MS-PIM", "servicePrincipalId": sp, "servicePrincipalName": null}})
            }
        };
        let id = self.directory_id(corr);
        let ticks = self.rng.below(10_000_000);
        let user = &self.tenant.users[principal];
        json!({
            "id": id,
            "category": "RoleManagement", "correlationId": corr, "result": "success", "resultReason": "",
            "activityDisplayName": activity, "activityDateTime": iso(at, ticks),
            "loggedByService": "Core Directory", "operationType": if adding { "Assign" } else { "Unassign" },
            "initiatedBy": initiated_by,
            "targetResources": [
                {"id": user.id, "displayName": null, "type": "User", "userPrincipalName": user.upn, "groupType": null, "modifiedProperties": properties},
                {"id": object_id, "displayName": null, "type": "Role", "userPrincipalName": null, "groupType": null, "modifiedProperties": []},
            ],
            "additionalDetails": [],
        })
    }

    fn planned_event(&mut self, event: &PlannedEvent, midnight: i64) -> io::Result<()> {
        match *event {
            PlannedEvent::ElevateAccess { user, .. } => {
                let at = midnight + 22 * 3600 + 840;
                self.sign_in(user, at - 300, true, Mfa::Performed)?;
                let corr = self.rng.guid();
                let audit = json!({
                    "id": format!("Elevate_{corr}"), "category": "AzureRBACRoleManagementElevateAccess",
                    "correlationId": corr, "result": "success", "resultReason": "",
                    "activityDisplayName": "User has elevated their access to User Access Administrator for their Azure Resources",
                    "activityDateTime": iso(at, self.rng.below(10_000_000)),
                    "loggedByService": "Azure RBAC (Elevated Access)", "operationType": "Assign",
                    "initiatedBy": self.user_actor(user), "targetResources": [], "additionalDetails": [],
                });
                self.write_audit(&audit)
            }
            PlannedEvent::PimAlertDisabled { admin, .. } => {
                let at = midnight + 17 * 3600 + 1800;
                let corr = self.rng.guid();
                let audit = json!({
                    "id": format!("PIM_{corr}_{:06}", self.next_sequence()), "category": "RoleManagement",
                    "correlationId": corr, "result": "success", "resultReason": "",
                    "activityDisplayName": "Disable PIM alert", "activityDateTime": iso(at, 0),
                    "loggedByService": "PIM", "operationType": "Update", "initiatedBy": self.user_actor(admin),
                    "targetResources": [
                        {"id": "RolesAssignedOutsidePimAlert", "displayName": "Roles are being assigned outside of Privileged Identity Management", "type": "Other", "modifiedProperties": []},
                        {"id": self.tenant.id, "displayName": "Contoso", "type": "Directory", "modifiedProperties": []},
                    ],
                    "additionalDetails": [],
                });
                self.write_audit(&audit)
            }
            PlannedEvent::ConditionalAccessChanged { admin, .. } => {
                let at = midnight + self.tenant.users[admin].work_hour * 3600 + 5400;
                let corr = self.rng.guid();
                let policy = |controls: &str| {
                    format!(
                        "{{\"id\":\"{corr}\",\"displayName\":\"Require MFA for admins\",\"state\":\"enabled\",\"conditions\":{{\"users\":{{\"includeRoles\":[\"62e90394-69f5-4237-9190-012177145e10\"]}}}},\"grantControls\":{{\"operator\":\"OR\",\"builtInControls\":[{controls}]}}}}"
                    )
                };
                // Shaped as Microsoft writes it (Panther's azure_mfa_disabled record): the whole
                // policy, before and after, as JSON text in `ConditionalAccessPolicy`.
                let audit = json!({
                    "id": format!("IPCGraph_{corr}"), "category": "Policy", "correlationId": corr,
                    "result": "success", "resultReason": null,
                    "activityDisplayName": "Update conditional access policy",
                    "activityDateTime": iso(at, self.rng.below(10_000_000)),
                    "loggedByService": "Conditional Access", "operationType": "Update",
                    "initiatedBy": self.user_actor(admin),
                    "targetResources": [{"id": corr, "displayName": "Require MFA for admins", "type": "Policy", "modifiedProperties": [
                        {"displayName": "ConditionalAccessPolicy", "oldValue": policy("\"mfa\""), "newValue": policy("")}]}],
                    "additionalDetails": [],
                });
                self.write_audit(&audit)
            }
            PlannedEvent::BreakGlassSignIn {
                user, succeeded, ..
            } => {
                let at = midnight + 3 * 3600 + 720;
                if succeeded {
                    self.sign_in(user, at, true, Mfa::Performed)
                } else {
                    self.password_spray(user, at)
                }
            }
            PlannedEvent::ServicePrincipalRole {
                admin,
                sp,
                role,
                removed_after,
                ..
            } => {
                let at = midnight + 10 * 3600;
                for (activity, time) in [
                    ("Add member to role", at),
                    ("Remove member from role", at + removed_after),
                ] {
                    let corr = self.rng.guid();
                    let mut audit =
                        self.core_directory(activity, time, &corr, admin, role, Actor::User(admin));
                    let (sp_id, _) = &self.tenant.service_principals[sp];
                    audit["targetResources"][0]["id"] = json!(sp_id);
                    audit["targetResources"][0]["type"] = json!("ServicePrincipal");
                    audit["targetResources"][0]["userPrincipalName"] = Value::Null;
                    audit["targetResources"][0]["displayName"] = json!(format!("automation-{sp}"));
                    self.write_audit(&audit)?;
                }
                Ok(())
            }
            PlannedEvent::SecurityInfo {
                admin,
                user,
                temporary_access_pass,
                ..
            } => {
                let audit =
                    self.security_info(admin, user, midnight + 13 * 3600, temporary_access_pass);
                self.write_audit(&audit)
            }
            PlannedEvent::MfaDisabled { admin, user, .. } => {
                let enabled = r#"[{"RelyingParty":"*","State":1,"RememberDevicesNotIssuedBefore":"2026-01-12T09:30:00Z"}]"#;
                let audit = self.user_change(
                    admin,
                    user,
                    "Disable Strong Authentication",
                    midnight + 13 * 3600 + 600,
                    &[("StrongAuthenticationRequirement", enabled, "[]")],
                );
                self.write_audit(&audit)
            }
            PlannedEvent::GuestPromoted { admin, user, .. } => {
                let audit = self.user_change(
                    admin,
                    user,
                    "Update user",
                    midnight + 13 * 3600 + 1200,
                    &[("UserType", r#"["Guest"]"#, r#"["Member"]"#)],
                );
                self.tenant.users[user].guest = false;
                self.write_audit(&audit)
            }
            PlannedEvent::PasswordReset { admin, user, .. } => {
                let audit = self.user_change(
                    admin,
                    user,
                    "Reset user password",
                    midnight + 13 * 3600 + 1800,
                    &[("PasswordProfile", "[]", "[]")],
                );
                self.write_audit(&audit)
            }
            PlannedEvent::CustomRoleWidened { admin, role, .. } => {
                let corr = self.rng.guid();
                let id = self.directory_id(&corr);
                let (name, actions) = super::tenant::custom_role(role).unwrap_or(("", &[]));
                let before: Vec<&str> = actions
                    .iter()
                    .copied()
                    .filter(|a| !a.contains("credentials"))
                    .collect();
                let permissions = |actions: &[&str]| {
                    // The property holds JSON text, encoded once more as a JSON string.
                    let text =
                        json!([{"AllowedResourceActions": actions, "Condition": null}]).to_string();
                    Value::String(text).to_string()
                };
                let audit = json!({
                    "id": id, "category": "RoleManagement", "correlationId": corr, "result": "success", "resultReason": "",
                    "activityDisplayName": "Update role definition", "activityDateTime": iso(midnight + 13 * 3600 + 2400, 0),
                    "loggedByService": "Core Directory", "operationType": "Update", "initiatedBy": self.user_actor(admin),
                    "targetResources": [{"id": role, "displayName": name, "type": "Other", "userPrincipalName": null, "groupType": null,
                        "modifiedProperties": [
                            {"displayName": "RolePermissions", "oldValue": permissions(&before), "newValue": permissions(actions)},
                            {"displayName": "Included Updated Properties", "oldValue": null, "newValue": "\"RolePermissions\""}]}],
                    "additionalDetails": [],
                });
                self.write_audit(&audit)
            }
            PlannedEvent::Lockout { user, .. } => {
                self.failed_sign_ins(user, midnight + 2 * 3600, 9, true)
            }
            PlannedEvent::GroupMemberAdded {
                admin, user, group, ..
            } => {
                let corr = self.rng.guid();
                let id = self.directory_id(&corr);
                let (group_id, group_name) = {
                    let g = &self.tenant.groups[group];
                    (g.id.clone(), g.name.clone())
                };
                let member = &self.tenant.users[user];
                let audit = json!({
                    "id": id, "category": "GroupManagement", "correlationId": corr, "result": "success", "resultReason": "",
                    "activityDisplayName": "Add member to group", "activityDateTime": iso(midnight + 11 * 3600, 0),
                    "loggedByService": "Core Directory", "operationType": "Assign", "initiatedBy": self.user_actor(admin),
                    "targetResources": [
                        {"id": member.id, "displayName": null, "type": "User", "userPrincipalName": member.upn, "groupType": null,
                         "modifiedProperties": [
                            {"displayName": "Group.ObjectID", "oldValue": null, "newValue": format!("\"{group_id}\"")},
                            {"displayName": "Group.DisplayName", "oldValue": null, "newValue": format!("\"{group_name}\"")}]},
                        {"id": group_id, "displayName": group_name, "type": "Group", "userPrincipalName": null, "groupType": "azureAD", "modifiedProperties": []},
                    ],
                    "additionalDetails": [],
                });
                self.write_audit(&audit)
            }
            PlannedEvent::AppPermissionGranted {
                admin,
                sp,
                permission,
                ..
            } => {
                let at = iso(midnight + 12 * 3600 + 1800, 0);
                let corr = self.rng.guid();
                let id = self.directory_id(&corr);
                let (sp_id, app_id) = self.tenant.service_principals[sp].clone();
                let graph_sp = super::tenant::derived_guid(
                    &self.tenant.id,
                    "Microsoft Graph service principal",
                );
                let role_id = super::tenant::derived_guid(permission, "Microsoft Graph app role");
                let properties: Vec<Value> = [
                    ("AppRole.Id", role_id),
                    ("AppRole.Value", permission.to_string()),
                    ("AppRole.DisplayName", permission.to_string()),
                    ("AppRoleAssignment.CreatedDateTime", at.clone()),
                    ("AppRoleAssignment.LastModifiedDateTime", at.clone()),
                    ("ServicePrincipal.ObjectID", sp_id),
                    ("ServicePrincipal.DisplayName", format!("automation-{sp}")),
                    ("ServicePrincipal.AppId", app_id.clone()),
                    ("ServicePrincipal.Name", app_id),
                ]
                .into_iter()
                .map(|(name, value)| json!({"displayName": name, "oldValue": null, "newValue": format!("\"{value}\"")}))
                .collect();
                let audit = json!({
                    "id": id, "category": "ApplicationManagement", "correlationId": corr, "result": "success", "resultReason": "",
                    "activityDisplayName": "Add app role assignment to service principal", "activityDateTime": at,
                    "loggedByService": "Core Directory", "operationType": "Assign", "initiatedBy": self.user_actor(admin),
                    "targetResources": [{"id": graph_sp, "displayName": "Microsoft Graph", "type": "ServicePrincipal",
                        "userPrincipalName": null, "groupType": null, "modifiedProperties": properties}],
                    "additionalDetails": [],
                });
                self.write_audit(&audit)
            }
            PlannedEvent::AccountCreated { admin, user, .. } => {
                let account = &self.tenant.users[user];
                let (at, upn) = (account.created, format!("[\"{}\"]", account.upn));
                let audit = self.user_change(
                    admin,
                    user,
                    "Add user",
                    at,
                    &[
                        ("AccountEnabled", "[]", "[true]"),
                        ("UserPrincipalName", "[]", &upn),
                        ("UserType", "[]", r#"["Member"]"#),
                    ],
                );
                self.write_audit(&audit)
            }
        }
    }

    /// Everyday user management by a helpdesk admin, and people registering security info
    /// for themselves: on ordinary accounts (no admin, break-glass or role holder, no member
    /// of a role-assignable group), which no rule is about.
    fn noise(&mut self, at: i64) -> io::Result<()> {
        let holders = self.tenant.role_holders();
        let ordinary: Vec<usize> = (0..self.tenant.users.len())
            .filter(|u| {
                let user = &self.tenant.users[*u];
                !user.admin && !user.break_glass && user.created < at && !holders.contains(u)
            })
            .collect();
        if ordinary.is_empty() {
            return Ok(());
        }
        let count = (self.tenant.users.len() / 20).max(1);
        let actor = self.tenant.users.iter().position(|u| u.admin).unwrap_or(0);
        for n in 0..count {
            let target = ordinary[self.rng.below(ordinary.len() as u64) as usize];
            let (activity, property) = *self.rng.pick(&[
                ("Update user", "StsRefreshTokensValidFrom"),
                ("Reset user password", "PasswordProfile"),
                ("Update user", "Department"),
                ("User registered security info", ""),
            ]);
            let when = at + n as i64 * 17;
            let audit = if property.is_empty() {
                self.security_info(target, target, when, false)
            } else {
                self.user_change(actor, target, activity, when, &[(property, "[]", "[]")])
            };
            self.write_audit(&audit)?;
        }
        Ok(())
    }

    /// A Core Directory change to a user's attributes (`UserManagement`), each property with
    /// its old and new value as Microsoft encodes them, and the `Included Updated Properties`
    /// list it adds.
    fn user_change(
        &mut self,
        actor: usize,
        target: usize,
        activity: &str,
        at: i64,
        properties: &[(&str, &str, &str)],
    ) -> Value {
        let corr = self.rng.guid();
        let id = self.directory_id(&corr);
        let user = &self.tenant.users[target];
        let mut modified: Vec<Value> = properties
            .iter()
            .map(|(name, old, new)| json!({"displayName": name, "oldValue": old, "newValue": new}))
            .collect();
        let names: Vec<&str> = properties.iter().map(|(name, _, _)| *name).collect();
        modified.push(json!({"displayName": "Included Updated Properties", "oldValue": null, "newValue": format!("\"{}\"", names.join(", "))}));
        let operation = if activity.starts_with("Add") {
            "Add"
        } else {
            "Update"
        };
        json!({
            "id": id,
            "category": "UserManagement", "correlationId": corr, "result": "success", "resultReason": "",
            "activityDisplayName": activity, "activityDateTime": iso(at, 0),
            "loggedByService": "Core Directory", "operationType": operation, "initiatedBy": self.user_actor(actor),
            "targetResources": [{"id": user.id, "displayName": null, "type": "User", "userPrincipalName": user.upn,
                "modifiedProperties": modified}],
            "additionalDetails": [{"key": "UserType", "value": if user.guest { "Guest" } else { "Member" }}],
        })
    }

    /// Security info registered for `target` by `actor` (the user themselves, or an admin), as
    /// the Authentication Methods service logs it; an admin's Temporary Access Pass says so in
    /// `resultReason`.
    fn security_info(
        &mut self,
        actor: usize,
        target: usize,
        at: i64,
        temporary_access_pass: bool,
    ) -> Value {
        let corr = self.rng.guid();
        let user = &self.tenant.users[target];
        let (activity, reason) = match (actor == target, temporary_access_pass) {
            (_, true) => (
                "Admin registered security info",
                "Admin registered temporary access pass method for user",
            ),
            (true, false) => (
                "User registered security info",
                "User registered Authenticator App with Notification and Code",
            ),
            (false, false) => (
                "Admin registered security info",
                "Admin registered mobile phone for user",
            ),
        };
        json!({
            "id": format!("SSGM_{corr}"),
            "category": "UserManagement", "correlationId": corr, "result": "success", "resultReason": reason,
            "activityDisplayName": activity, "activityDateTime": iso(at, 0),
            "loggedByService": "Authentication Methods", "operationType": "Add", "initiatedBy": self.user_actor(actor),
            "targetResources": [{"id": user.id, "displayName": user.display_name, "type": "User",
                "userPrincipalName": user.upn, "modifiedProperties": []}],
            "additionalDetails": [],
        })
    }
}

/// Sign-ins show a guest's real address, lowercase (`ada_fabrikam.com#EXT#@…` → `ada@fabrikam.com`).
fn sign_in_upn(upn: &str) -> String {
    let lower = upn.to_ascii_lowercase();
    match lower.split_once("#ext#") {
        Some((local, _)) => match local.rsplit_once('_') {
            Some((name, domain)) => format!("{name}@{domain}"),
            None => local.to_string(),
        },
        None => lower,
    }
}

fn letters(rng: &mut Rng) -> String {
    (0..5)
        .map(|_| (b'A' + rng.below(26) as u8) as char)
        .collect()
}
