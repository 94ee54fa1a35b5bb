//! Planted risky scenarios with ground truth. Each scenario changes the tenant or plans
//! activity on accounts no other scenario uses, and returns the `(rule, entity)` pairs a
//! correct rule pack must report; they are written to `truth.ndjson`. Adding a scenario is one
//! function and one line in [`SCENARIOS`].
//!
//! Tenant-wide counts (how many Global Administrators, their share, privileged assignments)
//! depend on everything planted, so after the scenarios [`tenant_truths`] reads them off the
//! final state: an independent implementation of those rules' arithmetic.
//!
//! Entities are ids as the rules report them: a principal, a role, a request or the tenant, or
//! `principal/role` for one role assignment.

use std::collections::{BTreeMap, BTreeSet};

use super::activity::{
    ActivationShape, Actor, Mfa, OutsidePim, PlannedActivation, PlannedEvent, Plans,
};
use super::rng::Rng;
use super::tenant::{
    PolicySettings, RoleGroup, Tenant, CUSTOM_PRIVILEGED_ROLE, EXCHANGE_ADMINISTRATOR,
    GLOBAL_READER, HELPDESK_ADMINISTRATOR, SECURITY_ADMINISTRATOR, USER_ADMINISTRATOR,
};
use crate::model::roles::{self, GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR};

const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const CONDITIONAL_ACCESS_ADMINISTRATOR: &str = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9";
const INTUNE_ADMINISTRATOR: &str = "3a2c62db-5318-420d-8d74-23affee5d9d5";
const SHAREPOINT_ADMINISTRATOR: &str = "f28a1f50-f6e7-4571-818b-6a12f2af6b6c";
const DAY: i64 = 86_400;

/// One line of `truth.ndjson`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Truth {
    pub rule: &'static str,
    pub entity: String,
    pub scenario: &'static str,
}

/// What a scenario gets to work with.
pub struct Context<'a> {
    pub tenant: &'a mut Tenant,
    pub rng: &'a mut Rng,
    pub plans: &'a mut Plans,
    pub start: i64,
    pub days: i64,
    /// Accounts a scenario has claimed (plus approvers and break-glass accounts).
    pub used: Vec<usize>,
}

impl Context<'_> {
    /// The end of the period: the state snapshot and the time rules run at.
    fn end(&self) -> i64 {
        self.start + self.days * DAY
    }

    fn truth(
        &self,
        rule: &'static str,
        entity: impl Into<String>,
        scenario: &'static str,
    ) -> Truth {
        Truth {
            rule,
            entity: entity.into(),
            scenario,
        }
    }

    fn assignment(&self, user: usize, role: &str) -> String {
        format!("{}/{role}", self.tenant.users[user].id)
    }

    /// Plans `user`'s activation of `role` on `day` (moved to the nearest working day, as
    /// people work), `offset` seconds into their working day, shaped as `shape` says; returns
    /// the request id.
    fn plan_activation(
        &mut self,
        user: usize,
        role: &'static str,
        day: i64,
        offset: i64,
        shape: ActivationShape,
    ) -> String {
        let request_id = self.rng.guid();
        let day = self.working_day(day);
        self.plans.activations.push(PlannedActivation {
            user,
            day,
            role,
            request_id: request_id.clone(),
            offset,
            shape,
        });
        request_id
    }

    /// `day`, or the working day before it (after it at the start of the period).
    fn working_day(&self, day: i64) -> i64 {
        let weekday = |d: i64| super::activity::weekday(self.start + d * DAY);
        let mut d = day;
        while weekday(d) > 5 && d > 0 {
            d -= 1;
        }
        while weekday(d) > 5 {
            d += 1;
        }
        d
    }

    /// An activation shaped as everyday ones, but for the sign-in's MFA.
    fn plan_simple_activation(
        &mut self,
        user: usize,
        role: &'static str,
        day: i64,
        mfa: Mfa,
        offset: i64,
    ) -> String {
        let shape = ActivationShape {
            mfa,
            ..ActivationShape::default()
        };
        self.plan_activation(user, role, day, offset, shape)
    }

    /// `rule` fires for the account `user` (its object id).
    fn user_truth(&self, rule: &'static str, user: usize, scenario: &'static str) -> Truth {
        self.truth(rule, self.tenant.users[user].id.clone(), scenario)
    }

    /// Plans `event` and returns the truth it implies: `rule` fires for `user`.
    fn event_about(
        &mut self,
        event: PlannedEvent,
        rule: &'static str,
        user: usize,
        scenario: &'static str,
    ) -> Vec<Truth> {
        self.plans.events.push(event);
        vec![self.user_truth(rule, user, scenario)]
    }

    /// A dedicated admin account no scenario has used yet.
    fn free_admin(&mut self) -> Result<usize, String> {
        self.claim(|u| u.admin, "admin account")
    }

    /// A regular (non-admin) account matching `wanted` that no scenario has used yet.
    fn free_user(
        &mut self,
        wanted: impl Fn(&super::tenant::User) -> bool,
        what: &str,
    ) -> Result<usize, String> {
        self.claim(|u| !u.admin && !u.break_glass && wanted(u), what)
    }

    fn claim(
        &mut self,
        wanted: impl Fn(&super::tenant::User) -> bool,
        what: &str,
    ) -> Result<usize, String> {
        let candidates: Vec<usize> = (0..self.tenant.users.len())
            .filter(|u| !self.used.contains(u) && wanted(&self.tenant.users[*u]))
            .collect();
        if candidates.is_empty() {
            return Err(format!("no free {what} left to plant on; use more --users"));
        }
        let chosen = candidates[self.rng.below(candidates.len() as u64) as usize];
        self.used.push(chosen);
        Ok(chosen)
    }
}

type Scenario = fn(&mut Context) -> Result<Vec<Truth>, String>;

/// A scenario: its name, what it plants, and whether a plain `generate` plants it.
pub struct ScenarioDef {
    pub name: &'static str,
    pub plant: Scenario,
    /// Scenarios that contradict a default one (fewer Global Administrators than
    /// `too-many-global-admins` plants) are only planted when asked for by name.
    pub default: bool,
}

const fn default(name: &'static str, plant: Scenario) -> ScenarioDef {
    ScenarioDef {
        name,
        plant,
        default: true,
    }
}

/// Every scenario, planted in this order. Those that count Global Administrators come last so
/// that they see every other change.
pub const SCENARIOS: &[ScenarioDef] = &[
    default("stale-privileged-account", stale_privileged_account),
    default("activation-without-mfa", activation_without_mfa),
    default(
        "activation-mfa-by-token-claim",
        activation_mfa_by_token_claim,
    ),
    default("assignment-outside-pim", assignment_outside_pim),
    default("lookalike-pim-app-grant", lookalike_pim_app_grant),
    default("activations-too-frequent", activations_too_frequent),
    default("reactivation-chain", reactivation_chain),
    default("permanent-active-assignment", permanent_active_assignment),
    default("long-active-assignment", long_active_assignment),
    default("unused-eligibility", unused_eligibility),
    default("eligibility-never-activated", eligibility_never_activated),
    default("activation-then-ca-change", activation_then_ca_change),
    default("privileged-guest", privileged_guest),
    default("pim-for-groups-guest", pim_for_groups_guest),
    default(
        "custom-privileged-role-holder",
        custom_privileged_role_holder,
    ),
    default("scoped-admin", scoped_admin),
    default("synced-admin", synced_admin),
    default("disabled-admin", disabled_admin),
    default("break-glass-eligible-only", break_glass_eligible_only),
    default(
        "policy-activation-without-mfa",
        policy_activation_without_mfa,
    ),
    default("policy-no-named-approvers", policy_no_named_approvers),
    default("policy-permanent-eligible", policy_permanent_eligible),
    default("policy-no-justification", policy_no_justification),
    default("policy-long-activation", policy_long_activation),
    default("policy-no-notifications", policy_no_notifications),
    default("elevate-access", elevate_access),
    default("pim-alert-disabled", pim_alert_disabled),
    default("break-glass-sign-ins", break_glass_sign_ins),
    default("service-principal-role", service_principal_role),
    default("self-approved-activation", self_approved_activation),
    default("risky-sign-in-activation", risky_sign_in_activation),
    default("activation-from-new-country", activation_from_new_country),
    default("night-activation", night_activation),
    default("standing-access", standing_access),
    default("rubber-stamp-approval", rubber_stamp_approval),
    default("reciprocal-approvals", reciprocal_approvals),
    default("approver-not-in-policy", approver_not_in_policy),
    default("weak-justification", weak_justification),
    default("ticket-reused", ticket_reused),
    default("temporary-access-pass", temporary_access_pass),
    default("mfa-disabled-admin", mfa_disabled_admin),
    default("guest-promoted", guest_promoted),
    default("break-glass-password-reset", break_glass_password_reset),
    default("new-account-made-admin", new_account_made_admin),
    default("bulk-removals", bulk_removals),
    default("repeated-extensions", repeated_extensions),
    default("helpdesk-group-member-added", helpdesk_group_member_added),
    default(
        "app-permission-then-promotion",
        app_permission_then_promotion,
    ),
    default("admin-locked-out", admin_locked_out),
    default("custom-role-widened", custom_role_widened),
    default("new-admin-removes-admins", new_admin_removes_admins),
    default("too-many-global-admins", too_many_global_admins),
    default("global-admin-ratio", global_admin_ratio),
    ScenarioDef {
        name: "too-few-global-admins",
        plant: too_few_global_admins,
        default: false,
    },
];

/// The scenarios that count holders: planted last, after every other change.
const COUNTING_SCENARIOS: &[&str] = &[
    "too-many-global-admins",
    "global-admin-ratio",
    "too-few-global-admins",
];

/// The scenarios' truth plus what the everyday activity calls for (`scenario` "activity"),
/// each (rule, entity) once: a pair a scenario planted keeps its scenario's name.
pub fn with_activity_truths(
    mut truth: Vec<Truth>,
    expected: Vec<(&'static str, String)>,
) -> Vec<Truth> {
    let mut seen: std::collections::BTreeSet<(&'static str, String)> =
        truth.iter().map(|t| (t.rule, t.entity.clone())).collect();
    for (rule, entity) in expected {
        if seen.insert((rule, entity.clone())) {
            truth.push(Truth {
                rule,
                entity,
                scenario: "activity",
            });
        }
    }
    truth
}

/// Plants the default scenarios, or exactly `only`; then adds the tenant-wide truths.
/// A scenario that cannot be planted is an error, never a silently missing line of truth.
pub fn plant(ctx: &mut Context, only: Option<&[String]>) -> Result<Vec<Truth>, String> {
    if let Some(names) = only {
        for name in names {
            if !SCENARIOS.iter().any(|s| s.name == name) {
                let known: Vec<_> = SCENARIOS.iter().map(|s| s.name).collect();
                return Err(format!(
                    "no scenario is called `{name}`; the scenarios are {}",
                    known.join(", ")
                ));
            }
        }
    }
    ctx.used.extend(ctx.tenant.approvers.iter().copied());
    let group_members: Vec<usize> = ctx
        .tenant
        .groups
        .iter()
        .flat_map(|g| g.members.iter().copied())
        .collect();
    ctx.used.extend(group_members);
    let mut truth = Vec::new();
    let mut routine_planned = false;
    for scenario in SCENARIOS {
        // Routine changes claim their admins before the head-count scenarios hand the rest
        // Global Administrator (which would leave none to review or extend).
        if !routine_planned && COUNTING_SCENARIOS.contains(&scenario.name) {
            plan_routine_changes(ctx);
            routine_planned = true;
        }
        let wanted = match only {
            Some(names) => names.iter().any(|n| n == scenario.name),
            None => scenario.default,
        };
        if wanted {
            let planted =
                (scenario.plant)(ctx).map_err(|e| format!("scenario {}: {e}", scenario.name))?;
            truth.extend(planted);
        }
    }
    if !routine_planned {
        plan_routine_changes(ctx);
    }
    truth.extend(tenant_truths(ctx));
    truth.extend(policy_truths(ctx));
    truth.extend(break_glass_drill_truths(ctx));
    let mut seen = BTreeSet::new();
    truth.retain(|t| seen.insert((t.rule, t.entity.clone())));
    Ok(truth)
}

/// An admin with privileged eligibilities who has not signed in successfully for 45 days:
/// stale, and so none of their eligibilities is activated either. A password spray against
/// the account during the period moves its last sign-in *attempt*, not its last success.
fn stale_privileged_account(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    const NAME: &str = "stale-privileged-account";
    let admin = ctx.free_admin()?;
    let start = ctx.start;
    let user = &mut ctx.tenant.users[admin];
    user.silent = true;
    user.created = start - DAY * 200;
    user.last_sign_in = Some(start - DAY * 45);
    user.last_success = Some(start - DAY * 45);
    ctx.plans.sprays.push((admin, ctx.days - 1));
    let mut truth = vec![ctx.user_truth("privileged-account-stale", admin, NAME)];
    let end = ctx.end();
    for eligibility in ctx.tenant.eligibilities.iter().filter(|e| {
        e.principal == admin && e.start <= end - 30 * DAY && e.end.is_none_or(|t| t > end)
    }) {
        truth.push(ctx.truth(
            "eligible-role-not-activated",
            ctx.assignment(admin, eligibility.role),
            NAME,
        ));
    }
    Ok(truth)
}

/// An activation made in a session that signed in with a password only.
fn activation_without_mfa(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = ctx.free_admin()?;
    let role = first_eligible_role(ctx, admin)?;
    let request_id = ctx.plan_simple_activation(admin, role, ctx.days / 2, Mfa::None, 0);
    Ok(vec![ctx.truth(
        "activation-without-mfa",
        request_id,
        "activation-without-mfa",
    )])
}

/// An activation after an interactive sign-in whose MFA requirement was "satisfied by claim in
/// the token": the requirement is met, but nobody performed a second factor — what a replayed
/// session token looks like.
fn activation_mfa_by_token_claim(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = ctx.free_admin()?;
    let role = first_eligible_role(ctx, admin)?;
    let request_id = ctx.plan_simple_activation(admin, role, ctx.days / 2 + 1, Mfa::ByClaim, 0);
    Ok(vec![ctx.truth(
        "activation-without-mfa",
        request_id,
        "activation-mfa-by-token-claim",
    )])
}

fn first_eligible_role(ctx: &Context, admin: usize) -> Result<&'static str, String> {
    ctx.tenant
        .eligible_roles(admin)
        .first()
        .copied()
        .ok_or_else(|| "the chosen admin has no eligible role".to_string())
}

/// Security Administrator given in the directory by another admin, bypassing PIM: a Core
/// Directory "Add member to role" not initiated by MS-PIM, and a standing, permanent
/// assignment with no PIM schedule.
fn assignment_outside_pim(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    const NAME: &str = "assignment-outside-pim";
    let actor = ctx.free_admin()?;
    let principal = ctx.free_admin()?;
    let day = ctx.days / 3;
    ctx.plans.outside_pim.push(OutsidePim {
        actor: Actor::User(actor),
        principal,
        role: SECURITY_ADMINISTRATOR,
        day,
        removed_after: None,
    });
    let since = ctx.start + day * DAY + 14 * 3600;
    ctx.tenant.add_assignment(
        ctx.rng,
        principal,
        SECURITY_ADMINISTRATOR,
        since,
        None,
        false,
    );
    let entity = ctx.assignment(principal, SECURITY_ADMINISTRATOR);
    Ok(vec![
        ctx.truth("role-assigned-outside-pim", entity.clone(), NAME),
        ctx.truth("privileged-role-assigned", entity.clone(), NAME),
        ctx.truth("permanent-active-assignment", entity, NAME),
    ])
}

/// An app registration that calls itself "MS-PIM" gives an admin Privileged Role Administrator
/// in Core Directory and takes it away half an hour later: the name is PIM's, the application
/// is not, and no state snapshot ever shows the grant.
fn lookalike_pim_app_grant(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let principal = ctx.free_admin()?;
    let (sp, app) = (ctx.rng.guid(), ctx.rng.guid());
    ctx.tenant.lookalike_pim_app = Some((sp, app));
    ctx.plans.outside_pim.push(OutsidePim {
        actor: Actor::LookalikeApp,
        principal,
        role: PRIVILEGED_ROLE_ADMINISTRATOR,
        day: ctx.days / 2,
        removed_after: Some(1800),
    });
    const NAME: &str = "lookalike-pim-app-grant";
    let entity = ctx.assignment(principal, PRIVILEGED_ROLE_ADMINISTRATOR);
    Ok(vec![
        ctx.truth("role-assigned-outside-pim", entity.clone(), NAME),
        ctx.truth("privileged-role-assigned", entity.clone(), NAME),
        ctx.truth("hit-and-run-assignment", entity, NAME),
    ])
}

/// The tenant's `n`th approver (a Privileged Role Administrator, busy every day anyway), or
/// the first: the actor of a one-off change that needs no account of its own.
fn approver(ctx: &Context, n: usize) -> Result<usize, String> {
    ctx.tenant
        .approvers
        .get(n)
        .or(ctx.tenant.approvers.first())
        .copied()
        .ok_or_else(|| "the tenant has no approver".to_string())
}

/// An admin turns on "Access management for Azure resources" late in the evening: User
/// Access Administrator at the root of every subscription.
fn elevate_access(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = approver(ctx, 0)?;
    ctx.plans.events.push(PlannedEvent::ElevateAccess {
        user: admin,
        day: ctx.days / 2,
    });
    let upn = ctx.tenant.users[admin].upn.to_lowercase();
    Ok(vec![ctx.truth(
        "elevate-access-root",
        upn,
        "elevate-access",
    )])
}

/// An admin disables PIM's "Roles are being assigned outside of PIM" alert.
fn pim_alert_disabled(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = approver(ctx, 1)?;
    ctx.plans.events.push(PlannedEvent::PimAlertDisabled {
        admin,
        day: ctx.days / 3,
    });
    Ok(vec![ctx.truth(
        "pim-alert-disabled",
        "Roles are being assigned outside of Privileged Identity Management",
        "pim-alert-disabled",
    )])
}

/// One break-glass account signs in at night; another is sprayed with bad passwords.
fn break_glass_sign_ins(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    const NAME: &str = "break-glass-sign-ins";
    let accounts: Vec<usize> = (0..ctx.tenant.users.len())
        .filter(|&u| ctx.tenant.users[u].break_glass)
        .take(2)
        .collect();
    if accounts.is_empty() {
        return Err("the tenant has no break-glass account".into());
    }
    let mut truth = Vec::new();
    for (n, &user) in accounts.iter().enumerate() {
        ctx.plans.events.push(PlannedEvent::BreakGlassSignIn {
            user,
            day: ctx.days / 2,
            succeeded: n == 0,
        });
        truth.push(ctx.user_truth("break-glass-sign-in", user, NAME));
    }
    Ok(truth)
}

/// An admin gives an automation app's service principal Privileged Role Administrator in the
/// directory, outside PIM, and takes it back two hours later.
fn service_principal_role(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    const NAME: &str = "service-principal-role";
    if ctx.tenant.service_principals.is_empty() {
        return Err("the tenant has no service principal".into());
    }
    let admin = approver(ctx, 0)?;
    ctx.plans.events.push(PlannedEvent::ServicePrincipalRole {
        admin,
        sp: 0,
        role: PRIVILEGED_ROLE_ADMINISTRATOR,
        day: ctx.days / 4,
        removed_after: 2 * 3600,
    });
    let entity = format!(
        "{}/{PRIVILEGED_ROLE_ADMINISTRATOR}",
        ctx.tenant.service_principals[0].0
    );
    Ok(vec![
        ctx.truth("role-assigned-to-service-principal", entity.clone(), NAME),
        ctx.truth("privileged-role-assigned", entity.clone(), NAME),
        ctx.truth("role-assigned-outside-pim", entity, NAME),
    ])
}

/// An activation whose approval is logged as the requester's own (of a role that needs
/// approval when the tenant has one; the approval steps are logged either way).
fn self_approved_activation(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let eligible: Vec<(usize, Vec<&'static str>)> = (0..ctx.tenant.users.len())
        .filter(|u| !ctx.used.contains(u) && ctx.tenant.users[*u].admin)
        .map(|u| (u, ctx.tenant.eligible_roles(u)))
        .filter(|(_, roles)| !roles.is_empty())
        .collect();
    let needing_approval: Vec<(usize, &'static str)> = eligible
        .iter()
        .filter_map(|(u, roles)| {
            let role = roles.iter().find(|r| ctx.tenant.requires_approval(r))?;
            Some((*u, *role))
        })
        .collect();
    let candidates = if needing_approval.is_empty() {
        eligible.iter().map(|(u, roles)| (*u, roles[0])).collect()
    } else {
        needing_approval
    };
    if candidates.is_empty() {
        return Err(
            "no free admin with an eligible role left to plant on; use more --users".into(),
        );
    }
    let (admin, role) = candidates[ctx.rng.below(candidates.len() as u64) as usize];
    ctx.used.push(admin);
    let shape = ActivationShape {
        self_approved: true,
        ..ActivationShape::default()
    };
    let request_id = ctx.plan_activation(admin, role, ctx.days / 2, 3600, shape);
    Ok(vec![ctx.truth(
        "self-approved-activation",
        request_id,
        "self-approved-activation",
    )])
}

/// A free admin and a tier-0 role of theirs that needs no approval (Security Administrator,
/// made eligible before the period when they have none): approvals a scenario plants are then
/// the only approvals of that role, and the approver lists of the top roles are not involved.
fn tier0_admin(ctx: &mut Context) -> Result<(usize, &'static str), String> {
    let admin = ctx.free_admin()?;
    let existing = ctx.tenant.eligible_roles(admin).into_iter().find(|r| {
        roles::lookup(r).is_some_and(|k| k.tier == 0) && !ctx.tenant.requires_approval(r)
    });
    let role = match existing {
        Some(role) => role,
        None => {
            ctx.tenant
                .add_eligibility(ctx.rng, admin, SECURITY_ADMINISTRATOR, ctx.start);
            SECURITY_ADMINISTRATOR
        }
    };
    Ok((admin, role))
}

/// An admin activates a tier-0 role right after a sign-in Identity Protection rated high risk.
fn risky_sign_in_activation(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let (admin, role) = tier0_admin(ctx)?;
    let shape = ActivationShape {
        risk: "high",
        ..ActivationShape::default()
    };
    let request = ctx.plan_activation(admin, role, ctx.days / 2, 1800, shape);
    Ok(vec![ctx.truth(
        "activation-risky-sign-in",
        request,
        "risky-sign-in-activation",
    )])
}

/// Days of sign-in history `activation-new-country` needs before it judges novelty.
const NEW_COUNTRY_MIN_HISTORY_DAYS: i64 = 14;

/// An admin activates a role from a country they have never signed in from. The rule judges
/// novelty only with two weeks of sign-ins behind the activation, so in a shorter period the
/// activation is planted and nothing is expected of it.
fn activation_from_new_country(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = ctx.free_admin()?;
    let role = first_eligible_role(ctx, admin)?;
    let shape = ActivationShape {
        from: Some(("BR", "Sao Paulo", "200.160.7.45")),
        ..ActivationShape::default()
    };
    // Four hours into the working day: after everybody's first sign-in of the period.
    let request = ctx.plan_activation(admin, role, (ctx.days - 2).max(0), 4 * 3600, shape);
    // The day it was planned on (moved to a working day).
    let day = ctx.plans.activations.last().map_or(0, |a| a.day);
    let first_sign_ins = ctx.working_day(0);
    Ok(if day - first_sign_ins >= NEW_COUNTRY_MIN_HISTORY_DAYS {
        vec![ctx.truth(
            "activation-new-country",
            request,
            "activation-from-new-country",
        )]
    } else {
        Vec::new()
    })
}

/// An admin activates a tier-0 role for three hours and, an hour and a half into their day,
/// stops a Conditional Access policy requiring MFA.
fn activation_then_ca_change(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let (admin, role) = tier0_admin(ctx)?;
    let shape = ActivationShape {
        hours: Some(3),
        ..ActivationShape::default()
    };
    ctx.plan_activation(admin, role, ctx.days / 2, 0, shape);
    let day = ctx.working_day(ctx.days / 2);
    Ok(ctx.event_about(
        PlannedEvent::ConditionalAccessChanged { admin, day },
        "activation-then-sensitive-change",
        admin,
        "activation-then-ca-change",
    ))
}

/// An admin activates a tier-0 role at two in the morning (UTC), an hour they never work.
fn night_activation(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let (admin, role) = tier0_admin(ctx)?;
    let work_hour = ctx.tenant.users[admin].work_hour;
    let shape = ActivationShape::default();
    let request = ctx.plan_activation(admin, role, ctx.days / 3, (2 - work_hour) * 3600, shape);
    Ok(vec![ctx.truth(
        "activation-outside-business-hours",
        request,
        "night-activation",
    )])
}

/// An admin activates a tier-0 role for eight hours every working day of the last 30 days:
/// just-in-time access used as standing access. A period shorter than 24 days cannot show 120
/// active hours of working days, so there the scenario plants nothing.
fn standing_access(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    if ctx.days < 24 {
        return Ok(Vec::new());
    }
    let (admin, role) = tier0_admin(ctx)?;
    // Their other roles are used now and then too (planned days have no routine activations).
    let first = (ctx.days - 30).max(0);
    for other in ctx.tenant.eligible_roles(admin) {
        if other != role {
            ctx.plan_activation(
                admin,
                other,
                first + 7,
                4 * 3600,
                ActivationShape::default(),
            );
        }
    }
    for day in first..ctx.days {
        if super::activity::weekday(ctx.start + day * DAY) <= 5 {
            let shape = ActivationShape {
                hours: Some(8),
                ..ActivationShape::default()
            };
            ctx.plan_activation(admin, role, day, 0, shape);
        }
    }
    Ok(vec![ctx.truth(
        "standing-access-via-activations",
        ctx.assignment(admin, role),
        "standing-access",
    )])
}

/// The first approver approves a tier-0 activation 25 seconds after it was asked for.
fn rubber_stamp_approval(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let (admin, role) = tier0_admin(ctx)?;
    let approver = approver(ctx, 0)?;
    let shape = ActivationShape {
        approver: Some(approver),
        approval_delay: Some(25),
        ..ActivationShape::default()
    };
    ctx.plan_activation(admin, role, ctx.days / 2, 3600, shape);
    Ok(vec![ctx.user_truth(
        "rubber-stamp-approval",
        approver,
        "rubber-stamp-approval",
    )])
}

/// Two admins approve each other's tier-0 activations on consecutive days.
fn reciprocal_approvals(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let (a, role_a) = tier0_admin(ctx)?;
    let (b, role_b) = tier0_admin(ctx)?;
    let day = ctx.days / 3;
    for (requester, role, approver, offset) in [(a, role_a, b, 3600), (b, role_b, a, 5400)] {
        let shape = ActivationShape {
            approver: Some(approver),
            ..ActivationShape::default()
        };
        ctx.plan_activation(requester, role, day, offset, shape);
    }
    let (x, y) = (&ctx.tenant.users[a].id, &ctx.tenant.users[b].id);
    let pair = if x.to_lowercase() <= y.to_lowercase() {
        format!("{x}/{y}")
    } else {
        format!("{y}/{x}")
    };
    Ok(vec![ctx.truth(
        "reciprocal-approvals",
        pair,
        "reciprocal-approvals",
    )])
}

/// An admin who is not among Global Administrator's named approvers approves an activation of
/// it. With Microsoft's default settings the role names no approvers, and nothing is expected.
fn approver_not_in_policy(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let requester = ctx.free_admin()?;
    if !ctx
        .tenant
        .eligible_roles(requester)
        .contains(&GLOBAL_ADMINISTRATOR)
    {
        ctx.tenant
            .add_eligibility(ctx.rng, requester, GLOBAL_ADMINISTRATOR, ctx.start);
    }
    let outsider = ctx.free_admin()?;
    let shape = ActivationShape {
        approver: Some(outsider),
        ..ActivationShape::default()
    };
    let request = ctx.plan_activation(requester, GLOBAL_ADMINISTRATOR, ctx.days / 2, 3600, shape);
    let named = ctx
        .tenant
        .policies
        .iter()
        .any(|(r, p)| *r == GLOBAL_ADMINISTRATOR && p.named_approvers);
    Ok(if named && !ctx.tenant.approvers.is_empty() {
        vec![ctx.truth("approver-not-in-policy", request, "approver-not-in-policy")]
    } else {
        Vec::new()
    })
}

/// An admin justifies an activation with one word.
fn weak_justification(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = ctx.free_admin()?;
    let role = first_eligible_role(ctx, admin)?;
    let shape = ActivationShape {
        justification: Some("admin".into()),
        ..ActivationShape::default()
    };
    ctx.plan_activation(admin, role, ctx.days / 2, 1800, shape);
    Ok(vec![ctx.user_truth(
        "weak-justification",
        admin,
        "weak-justification",
    )])
}

/// Three admins give the same change ticket for their activations.
fn ticket_reused(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    const TICKET: &str = "CHG0424242";
    for n in 0..3 {
        let admin = ctx.free_admin()?;
        let role = first_eligible_role(ctx, admin)?;
        let shape = ActivationShape {
            ticket: Some(TICKET.into()),
            ..ActivationShape::default()
        };
        ctx.plan_activation(admin, role, ctx.days / 2, 1800 + n * 600, shape);
    }
    Ok(vec![ctx.truth("ticket-reused", TICKET, "ticket-reused")])
}

/// A Temporary Access Pass issued for an admin by another admin.
fn temporary_access_pass(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = ctx.free_admin()?;
    let issuer = approver(ctx, 1)?;
    let event = PlannedEvent::SecurityInfo {
        admin: issuer,
        user: admin,
        day: ctx.days / 2,
        temporary_access_pass: true,
    };
    Ok(ctx.event_about(
        event,
        "privileged-auth-method-changed",
        admin,
        "temporary-access-pass",
    ))
}

/// Per-user MFA turned off for an admin.
fn mfa_disabled_admin(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = ctx.free_admin()?;
    let actor = approver(ctx, 1)?;
    let event = PlannedEvent::MfaDisabled {
        admin: actor,
        user: admin,
        day: ctx.days / 3,
    };
    Ok(ctx.event_about(
        event,
        "mfa-disabled-for-privileged-user",
        admin,
        "mfa-disabled-admin",
    ))
}

/// A guest who holds no role is converted to a member.
fn guest_promoted(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let holders: BTreeSet<String> = ctx
        .tenant
        .role_holders()
        .into_iter()
        .map(|u| ctx.tenant.users[u].id.clone())
        .collect();
    let guest = match ctx.free_user(
        |u| u.guest && u.enabled && !holders.contains(&u.id),
        "guest without a role",
    ) {
        Ok(guest) => guest,
        // A small tenant may have no guest to spare: an employee's account is then a guest
        // from the start (invited from a partner before they joined).
        Err(_) => {
            let member = ctx.free_user(
                |u| !u.guest && u.enabled && !u.synced && !holders.contains(&u.id),
                "account without a role",
            )?;
            let domain = ctx.tenant.domain.clone();
            let user = &mut ctx.tenant.users[member];
            let local = user.upn.split('@').next().unwrap_or("guest").to_string();
            user.upn = format!("{local}_fabrikam.com#EXT#@{domain}");
            user.guest = true;
            member
        }
    };
    let actor = approver(ctx, 0)?;
    let event = PlannedEvent::GuestPromoted {
        admin: actor,
        user: guest,
        day: ctx.days / 2,
    };
    Ok(ctx.event_about(event, "guest-promoted-to-member", guest, "guest-promoted"))
}

/// An admin resets the first break-glass account's password.
fn break_glass_password_reset(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let account = (0..ctx.tenant.users.len())
        .find(|&u| ctx.tenant.users[u].break_glass)
        .ok_or_else(|| "the tenant has no break-glass account".to_string())?;
    let actor = approver(ctx, 0)?;
    let event = PlannedEvent::PasswordReset {
        admin: actor,
        user: account,
        day: ctx.days / 2 + 1,
    };
    Ok(ctx.event_about(
        event,
        "break-glass-modified",
        account,
        "break-glass-password-reset",
    ))
}

/// A new admin account is created a third of the way in and made eligible for User
/// Administrator through PIM ninety minutes later (the grant `privileged-role-assigned`
/// reports too).
fn new_account_made_admin(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let owner = ctx.tenant.users[0].clone();
    let account = ctx
        .tenant
        .add_account(ctx.rng, "adm-new-starter", &owner, ctx.start);
    ctx.used.push(account);
    let created = ctx.start + (ctx.days / 3) * DAY + 9 * 3600;
    let user = &mut ctx.tenant.users[account];
    user.created = created;
    user.last_sign_in = None;
    user.last_success = None;
    let since = created + 5400;
    ctx.tenant.add_eligibility_at(
        ctx.rng,
        account,
        USER_ADMINISTRATOR,
        since,
        Some(since + 180 * DAY),
    );
    let actor = approver(ctx, 0)?;
    let event = PlannedEvent::AccountCreated {
        admin: actor,
        user: account,
        day: ctx.days / 3,
    };
    Ok(ctx.event_about(
        event,
        "account-created-then-privileged",
        account,
        "new-account-made-admin",
    ))
}

/// The first approver removes four admins' eligibilities in one sitting halfway through (an
/// access review applied in one go; with the routine removal that day, five).
fn bulk_removals(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    for _ in 0..4 {
        let admin = ctx.free_admin()?;
        let role = first_eligible_role(ctx, admin)?;
        ctx.plans.removals.push(super::activity::Removal {
            principal: admin,
            role,
            day: ctx.days / 2,
            by: None,
        });
    }
    let actor = approver(ctx, 0)?;
    Ok(vec![ctx.truth(
        "bulk-privileged-changes",
        ctx.tenant.users[actor].id.to_lowercase(),
        "bulk-removals",
    )])
}

/// An admin's time-bound eligibility is extended three times during the period.
fn repeated_extensions(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let end = ctx.end();
    let eligibility = ctx
        .tenant
        .eligibilities
        .iter()
        .find(|e| {
            ctx.tenant.users[e.principal].admin
                && !ctx.used.contains(&e.principal)
                && e.end.is_some_and(|t| t > end)
                && is_privileged(e.role)
        })
        .ok_or_else(|| {
            "no free admin with a time-bound eligibility; use more --users".to_string()
        })?;
    let (principal, role) = (eligibility.principal, eligibility.role);
    ctx.used.push(principal);
    for day in [ctx.days / 4, ctx.days / 2, ctx.days * 3 / 4] {
        ctx.plans.extensions.push(super::activity::Removal {
            principal,
            role,
            day,
            by: None,
        });
    }
    Ok(vec![ctx.truth(
        "assignment-extended-repeatedly",
        ctx.assignment(principal, role),
        "repeated-extensions",
    )])
}

/// An employee without a role is added to the helpdesk's role-assignable group (which holds
/// Helpdesk Administrator) halfway through.
fn helpdesk_group_member_added(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let group = 0;
    let Some(first) = ctx.tenant.groups.first() else {
        return Err("the tenant has no role-assignable group".into());
    };
    let group_id = first.id.clone();
    let holders: BTreeSet<String> = ctx
        .tenant
        .role_holders()
        .into_iter()
        .map(|u| ctx.tenant.users[u].id.clone())
        .collect();
    let user = ctx.free_user(
        |u| !u.guest && !u.synced && u.enabled && !u.silent && !holders.contains(&u.id),
        "employee without a role",
    )?;
    ctx.tenant.groups[group].members.push(user);
    let actor = approver(ctx, 0)?;
    ctx.plans.events.push(PlannedEvent::GroupMemberAdded {
        admin: actor,
        user,
        group,
        day: ctx.days / 2,
    });
    Ok(vec![ctx.truth(
        "privileged-group-member-added",
        format!("{group_id}/{}", ctx.tenant.users[user].id),
        "helpdesk-group-member-added",
    )])
}

/// An admin grants an automation app Microsoft Graph's RoleManagement.ReadWrite.Directory
/// at half past noon; at two the app makes an admin Privileged Role Administrator in the
/// directory (a standing assignment outside PIM).
fn app_permission_then_promotion(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    const NAME: &str = "app-permission-then-promotion";
    const SP: usize = 1;
    let Some((sp_id, _)) = ctx.tenant.service_principals.get(SP).cloned() else {
        return Err("the tenant has fewer than two service principals".into());
    };
    let granter = approver(ctx, 0)?;
    let principal = ctx.free_admin()?;
    let day = ctx.days / 3 + 1;
    ctx.plans.events.push(PlannedEvent::AppPermissionGranted {
        admin: granter,
        sp: SP,
        permission: "RoleManagement.ReadWrite.Directory",
        day,
    });
    ctx.plans.outside_pim.push(OutsidePim {
        actor: Actor::App(SP),
        principal,
        role: PRIVILEGED_ROLE_ADMINISTRATOR,
        day,
        removed_after: None,
    });
    let since = ctx.start + day * DAY + 14 * 3600;
    ctx.tenant.add_assignment(
        ctx.rng,
        principal,
        PRIVILEGED_ROLE_ADMINISTRATOR,
        since,
        None,
        false,
    );
    let entity = ctx.assignment(principal, PRIVILEGED_ROLE_ADMINISTRATOR);
    Ok(vec![
        ctx.truth("role-management-permission-granted", sp_id.clone(), NAME),
        ctx.truth("sp-promotion-after-permission-grant", sp_id, NAME),
        ctx.truth("role-assigned-outside-pim", entity.clone(), NAME),
        ctx.truth("privileged-role-assigned", entity.clone(), NAME),
        ctx.truth("permanent-active-assignment", entity, NAME),
    ])
}

/// Someone guesses an admin's password at night until smart lockout locks the account.
fn admin_locked_out(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = ctx.free_admin()?;
    let event = PlannedEvent::Lockout {
        user: admin,
        day: ctx.days / 2,
    };
    Ok(ctx.event_about(
        event,
        "privileged-sign-in-failure-spike",
        admin,
        "admin-locked-out",
    ))
}

/// An admin adds application credentials to the Contoso App Credential Manager custom role.
fn custom_role_widened(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let actor = approver(ctx, 1)?;
    ctx.plans.events.push(PlannedEvent::CustomRoleWidened {
        admin: actor,
        role: CUSTOM_PRIVILEGED_ROLE,
        day: ctx.days / 4,
    });
    Ok(vec![ctx.truth(
        "custom-role-privileged-change",
        CUSTOM_PRIVILEGED_ROLE,
        "custom-role-widened",
    )])
}

/// An admin is made eligible for Global Administrator a third of the way in and, the next
/// day, removes Global Administrator from two others within minutes (both also bulk changes).
fn new_admin_removes_admins(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    const NAME: &str = "new-admin-removes-admins";
    let newcomer = ctx.free_admin()?;
    let day = ctx.days / 3;
    let since = ctx.start + day * DAY + 10 * 3600;
    ctx.tenant.add_eligibility_at(
        ctx.rng,
        newcomer,
        GLOBAL_ADMINISTRATOR,
        since,
        Some(since + 180 * DAY),
    );
    for _ in 0..2 {
        let victim = ctx.free_admin()?;
        let before = ctx.start - 90 * DAY;
        ctx.tenant
            .add_eligibility_at(ctx.rng, victim, GLOBAL_ADMINISTRATOR, before, None);
        ctx.plans.removals.push(super::activity::Removal {
            principal: victim,
            role: GLOBAL_ADMINISTRATOR,
            day: day + 1,
            by: Some(newcomer),
        });
    }
    let id = ctx.tenant.users[newcomer].id.clone();
    Ok(vec![
        ctx.truth("new-admin-removes-admins", id.clone(), NAME),
        ctx.truth("bulk-privileged-changes", id.to_lowercase(), NAME),
    ])
}

/// The same role activated three times within four hours.
fn activations_too_frequent(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = ctx.free_admin()?;
    let role = first_eligible_role(ctx, admin)?;
    let day = ctx.days * 2 / 3;
    for offset in [0, 2 * 3600, 4 * 3600] {
        ctx.plan_simple_activation(admin, role, day, Mfa::Performed, offset);
    }
    Ok(vec![ctx.truth(
        "activations-too-frequent",
        ctx.assignment(admin, role),
        "activations-too-frequent",
    )])
}

/// JIT chained into standing access: a tier-0 role activated for two hours four times in a
/// day, each request five minutes after the previous activation expired (three re-activations
/// at expiry). Four activations in a day are also too frequent.
fn reactivation_chain(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    const NAME: &str = "reactivation-chain";
    let (admin, role) = tier0_admin(ctx)?;
    let day = ctx.days / 3;
    let hours = 2;
    for k in 0..4 {
        let shape = ActivationShape {
            hours: Some(hours),
            requested_after: Some(300),
            approval_delay: Some(600),
            ..ActivationShape::default()
        };
        ctx.plan_activation(admin, role, day, k * (hours * 3600 + 300), shape);
    }
    let assignment = ctx.assignment(admin, role);
    Ok(vec![
        ctx.truth("assignment-extended-repeatedly", assignment.clone(), NAME),
        ctx.truth("activations-too-frequent", assignment, NAME),
    ])
}

/// A standing, never-expiring Exchange Administrator assignment made through PIM.
fn permanent_active_assignment(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = ctx.free_admin()?;
    let since = ctx.start - 60 * DAY;
    ctx.tenant
        .add_assignment(ctx.rng, admin, EXCHANGE_ADMINISTRATOR, since, None, true);
    Ok(vec![ctx.truth(
        "permanent-active-assignment",
        ctx.assignment(admin, EXCHANGE_ADMINISTRATOR),
        "permanent-active-assignment",
    )])
}

/// SharePoint Administrator given through PIM as an active assignment "until" three years from
/// now: far beyond what the role's policy allows for active assignments, so standing access.
fn long_active_assignment(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let admin = ctx.free_admin()?;
    let since = ctx.start - 20 * DAY;
    let until = ctx.end() + 3 * 365 * DAY;
    ctx.tenant.add_assignment(
        ctx.rng,
        admin,
        SHAREPOINT_ADMINISTRATOR,
        since,
        Some(until),
        true,
    );
    Ok(vec![ctx.truth(
        "permanent-active-assignment",
        ctx.assignment(admin, SHAREPOINT_ADMINISTRATOR),
        "long-active-assignment",
    )])
}

/// A regular employee made eligible for Helpdesk Administrator two months ago who never
/// activates it.
fn unused_eligibility(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let user = ctx.free_user(
        |u| u.enabled && !u.guest && !u.synced,
        "enabled cloud-only member",
    )?;
    let since = ctx.start - 60 * DAY;
    ctx.tenant
        .add_eligibility_at(ctx.rng, user, HELPDESK_ADMINISTRATOR, since, None);
    Ok(vec![ctx.truth(
        "eligible-role-not-activated",
        ctx.assignment(user, HELPDESK_ADMINISTRATOR),
        "unused-eligibility",
    )])
}

/// A regular employee made eligible for Helpdesk Administrator on the second day (the grant is
/// logged) who never activates it. The rule needs 60 days since the grant: a shorter period
/// plants nothing.
fn eligibility_never_activated(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    if ctx.days < 62 {
        return Ok(Vec::new());
    }
    let user = ctx.free_user(
        |u| u.enabled && !u.guest && !u.synced,
        "enabled cloud-only member",
    )?;
    let since = ctx.start + DAY + 10 * 3600;
    ctx.tenant
        .add_eligibility_at(ctx.rng, user, HELPDESK_ADMINISTRATOR, since, None);
    let entity = ctx.assignment(user, HELPDESK_ADMINISTRATOR);
    Ok(vec![
        ctx.truth(
            "eligible-never-activated",
            entity.clone(),
            "eligibility-never-activated",
        ),
        ctx.truth(
            "eligible-role-not-activated",
            entity,
            "eligibility-never-activated",
        ),
    ])
}

/// A guest made eligible for Global Reader ten days before the end.
fn privileged_guest(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let guest = ctx.free_user(|u| u.enabled && u.guest, "enabled guest")?;
    let since = ctx.end() - 10 * DAY;
    ctx.tenant
        .add_eligibility_at(ctx.rng, guest, GLOBAL_READER, since, None);
    Ok(vec![ctx.user_truth(
        "privileged-guest",
        guest,
        "privileged-guest",
    )])
}

/// An account that came from on-premises (sync since turned off: `onPremisesSyncEnabled` is
/// false, only `onPremisesImmutableId` says so) made eligible for User Administrator.
fn synced_admin(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let user = ctx.free_user(|u| u.enabled && u.synced, "enabled synced member")?;
    ctx.tenant.users[user].sync_stopped = true;
    let since = ctx.end() - 10 * DAY;
    ctx.tenant
        .add_eligibility_at(ctx.rng, user, USER_ADMINISTRATOR, since, None);
    Ok(vec![ctx.user_truth(
        "privileged-user-not-cloud-only",
        user,
        "synced-admin",
    )])
}

/// A role-assignable group holds Security Administrator; through PIM for Groups a guest may
/// activate membership of it: the guest holds the role, eligibly.
fn pim_for_groups_guest(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let guest = ctx.free_user(|u| u.enabled && u.guest, "enabled guest")?;
    let start = ctx.end() - 60 * DAY;
    let group = RoleGroup {
        id: ctx.rng.guid(),
        name: "SG-SecOps-JIT".into(),
        members: Vec::new(),
        eligible_members: vec![guest],
        role: SECURITY_ADMINISTRATOR,
        assignment_id: format!("{}-1-e", ctx.rng.guid()),
        schedule_id: ctx.rng.guid(),
        start,
        end: start + 120 * DAY,
    };
    ctx.tenant.groups.push(group);
    Ok(vec![ctx.user_truth(
        "privileged-guest",
        guest,
        "pim-for-groups-guest",
    )])
}

/// An account disabled at offboarding that still holds a custom role letting it update
/// application credentials: privileged by what the role allows, though nothing calls it so.
fn custom_privileged_role_holder(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let user = ctx.free_user(|u| !u.guest && !u.synced, "cloud-only member")?;
    ctx.tenant.users[user].enabled = false;
    let since = ctx.end() - 15 * DAY;
    ctx.tenant
        .add_eligibility_at(ctx.rng, user, CUSTOM_PRIVILEGED_ROLE, since, None);
    Ok(vec![ctx.user_truth(
        "privileged-principal-disabled",
        user,
        "custom-privileged-role-holder",
    )])
}

/// A synced employee made eligible for User Administrator over one administrative unit only:
/// not tenant-wide, so not highly privileged (no cloud-only finding), and not in head counts.
fn scoped_admin(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let user = ctx.free_user(
        |u| u.enabled && u.synced && !u.guest,
        "enabled synced member",
    )?;
    let since = ctx.end() - 10 * DAY;
    let unit = ctx.rng.guid();
    ctx.tenant
        .add_eligibility_at(ctx.rng, user, USER_ADMINISTRATOR, since, None);
    if let Some(last) = ctx.tenant.eligibilities.last_mut() {
        last.scope = format!("/administrativeUnits/{unit}");
    }
    Ok(Vec::new())
}

/// An account disabled at offboarding whose Helpdesk Administrator eligibility stayed.
fn disabled_admin(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let user = ctx.free_user(|u| !u.guest && !u.synced, "cloud-only member")?;
    ctx.tenant.users[user].enabled = false;
    let since = ctx.end() - 20 * DAY;
    ctx.tenant
        .add_eligibility_at(ctx.rng, user, HELPDESK_ADMINISTRATOR, since, None);
    Ok(vec![ctx.user_truth(
        "privileged-principal-disabled",
        user,
        "disabled-admin",
    )])
}

/// A third emergency-access account set up wrongly: only eligible for Global Administrator.
fn break_glass_eligible_only(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let start = ctx.start;
    let account = ctx.tenant.add_break_glass(ctx.rng, 3, start);
    ctx.used.push(account);
    let since = ctx.end() - 10 * DAY;
    ctx.tenant
        .add_eligibility_at(ctx.rng, account, GLOBAL_ADMINISTRATOR, since, None);
    let id = ctx.tenant.users[account].id.clone();
    let mut truth = vec![ctx.truth(
        "break-glass-misconfigured",
        id.clone(),
        "break-glass-eligible-only",
    )];
    // Granted during the period, the eligibility is a change to a break-glass account.
    if since >= ctx.start {
        truth.push(ctx.truth("break-glass-modified", id, "break-glass-eligible-only"));
    }
    Ok(truth)
}

/// A scenario that weakens one role's PIM policy (the change is logged during the period).
fn weaken_policy(
    ctx: &mut Context,
    role: &'static str,
    change: fn(&mut PolicySettings),
    rule: &'static str,
    scenario: &'static str,
) -> Result<Vec<Truth>, String> {
    let settings = ctx.tenant.policy_mut(role);
    let before = settings.clone();
    change(settings);
    let weakened = !settings.weakened_from(&before).is_empty();
    let mut truth = vec![ctx.truth(rule, role, scenario)];
    // The tenant's policies are exported before the period too: the change is seen by
    // comparing the two snapshots.
    if weakened
        && roles::lookup(role)
            .is_some_and(|r| r.is_privileged || r.tier == 0 || r.highly_privileged)
    {
        truth.push(ctx.truth("pim-settings-weakened", role, scenario));
    }
    Ok(truth)
}

fn policy_activation_without_mfa(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    weaken_policy(
        ctx,
        APPLICATION_ADMINISTRATOR,
        |p| p.mfa = false,
        "activation-mfa-not-required",
        "policy-activation-without-mfa",
    )
}

fn policy_no_named_approvers(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    weaken_policy(
        ctx,
        PRIVILEGED_ROLE_ADMINISTRATOR,
        |p| p.named_approvers = false,
        "global-admin-activation-without-approval",
        "policy-no-named-approvers",
    )
}

fn policy_permanent_eligible(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    weaken_policy(
        ctx,
        CONDITIONAL_ACCESS_ADMINISTRATOR,
        |p| p.eligible_expiry_required = false,
        "role-policy-allows-permanent-assignment",
        "policy-permanent-eligible",
    )
}

fn policy_no_justification(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    weaken_policy(
        ctx,
        EXCHANGE_ADMINISTRATOR,
        |p| p.justification = false,
        "activation-justification-not-required",
        "policy-no-justification",
    )
}

fn policy_long_activation(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    weaken_policy(
        ctx,
        INTUNE_ADMINISTRATOR,
        |p| p.max_activation = "PT12H",
        "activation-duration-excessive",
        "policy-long-activation",
    )
}

fn policy_no_notifications(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    weaken_policy(
        ctx,
        SHAREPOINT_ADMINISTRATOR,
        |p| p.extra_recipients = false,
        "assignment-notifications-missing",
        "policy-no-notifications",
    )
}

/// Makes admins eligible for Global Administrator until Microsoft's alert holds: at least 3
/// and at least 10 % of all role assignments. `tenant_truths` reports it.
fn too_many_global_admins(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    loop {
        let counts = Counts::of(ctx);
        if counts.global_admins >= 3 && counts.global_admins * 10 >= counts.holdings {
            return Ok(Vec::new());
        }
        make_global_admin(ctx)?;
    }
}

/// Makes admins eligible for Global Administrator until they outnumber the other privileged
/// users (CISA MS.AAD.7.2). `tenant_truths` reports it.
fn global_admin_ratio(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    loop {
        let counts = Counts::of(ctx);
        if counts.global_admins > counts.other_privileged {
            return Ok(Vec::new());
        }
        make_global_admin(ctx)?;
    }
}

/// Any admin not yet a Global Administrator and not claimed by another scenario; the
/// approvers qualify (more roles do not change how they approve).
fn make_global_admin(ctx: &mut Context) -> Result<(), String> {
    let global_admins: BTreeSet<usize> = ctx
        .tenant
        .eligibilities
        .iter()
        .chain(&ctx.tenant.assignments)
        .filter(|s| s.role == GLOBAL_ADMINISTRATOR)
        .map(|s| s.principal)
        .collect();
    let candidates: Vec<usize> = (0..ctx.tenant.users.len())
        .filter(|u| {
            ctx.tenant.users[*u].admin
                && !global_admins.contains(u)
                && (!ctx.used.contains(u) || ctx.tenant.approvers.contains(u))
        })
        .collect();
    if candidates.is_empty() {
        return Err("no admin account left to make Global Administrator; use more --users".into());
    }
    let admin = candidates[ctx.rng.below(candidates.len() as u64) as usize];
    ctx.used.push(admin);
    let since = ctx.start - 90 * DAY;
    ctx.tenant
        .add_eligibility_at(ctx.rng, admin, GLOBAL_ADMINISTRATOR, since, None);
    Ok(())
}

/// Only the break-glass accounts keep Global Administrator. Contradicts the default
/// `too-many-global-admins`, so it is planted only when named.
fn too_few_global_admins(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let tenant = &mut *ctx.tenant;
    let break_glass: Vec<bool> = tenant.users.iter().map(|u| u.break_glass).collect();
    tenant
        .eligibilities
        .retain(|e| e.role != GLOBAL_ADMINISTRATOR || break_glass[e.principal]);
    tenant
        .assignments
        .retain(|a| a.role != GLOBAL_ADMINISTRATOR || break_glass[a.principal]);
    Ok(Vec::new())
}

/// Everyday PIM administration that is not a risk: halfway through the period an access
/// review removes an admin's second eligibility; three quarters in, another admin extends a
/// time-bound eligibility by a year; changed policies are saved a quarter of the way in. None
/// of it changes what the rules report.
fn plan_routine_changes(ctx: &mut Context) {
    ctx.plans.policy_change_day = ctx.days / 4;
    let candidates: Vec<usize> = (0..ctx.tenant.users.len())
        .filter(|u| {
            ctx.tenant.users[*u].admin
                && !ctx.used.contains(u)
                && ctx.tenant.eligible_roles(*u).len() >= 2
        })
        .collect();
    if let Some(&admin) = candidates.first() {
        let roles = ctx.tenant.eligible_roles(admin);
        let removable = roles
            .iter()
            .rev()
            .find(|r| **r != GLOBAL_ADMINISTRATOR && **r != PRIVILEGED_ROLE_ADMINISTRATOR);
        if let Some(&role) = removable {
            ctx.used.push(admin);
            ctx.plans.removals.push(super::activity::Removal {
                principal: admin,
                role,
                day: ctx.days / 2,
                by: None,
            });
        }
    }
    let end = ctx.end();
    let extendable = ctx.tenant.eligibilities.iter().find(|e| {
        ctx.tenant.users[e.principal].admin
            && !ctx.used.contains(&e.principal)
            && e.end.is_some_and(|t| t > end)
    });
    if let Some(eligibility) = extendable {
        let (principal, role) = (eligibility.principal, eligibility.role);
        ctx.used.push(principal);
        ctx.plans.extensions.push(super::activity::Removal {
            principal,
            role,
            day: ctx.days * 3 / 4,
            by: None,
        });
    }
}

/// What the tenant-wide rules count, as of the end of the period.
struct Counts {
    /// Distinct (principal, role) pairs, eligible or active.
    holdings: usize,
    /// Distinct principals holding Global Administrator.
    global_admins: usize,
    global_admins_outside_break_glass: usize,
    /// Principals holding a privileged role but not Global Administrator.
    other_privileged: usize,
    /// Distinct (principal, role) pairs of privileged roles.
    privileged_holdings: usize,
}

/// Whether rules count `role` as privileged (the `privileged_roles` view).
pub(super) fn is_privileged(role: &str) -> bool {
    role == CUSTOM_PRIVILEGED_ROLE
        || roles::lookup(role)
            .is_some_and(|r| r.is_privileged || r.tier == 0 || r.highly_privileged)
}

impl Counts {
    /// Holders as the head-count rules see them (`effective_holders.counts_as_holder`):
    /// enabled accounts holding a role tenant-wide, directly or as a member (or PIM for Groups
    /// eligible member) of a role-assignable group; never the group itself.
    fn of(ctx: &Context) -> Self {
        let end = ctx.end();
        let tenant = &ctx.tenant;
        let removed = |s: &&super::tenant::Schedule| {
            ctx.plans
                .removals
                .iter()
                .any(|r| r.principal == s.principal && r.role == s.role)
        };
        let mut held: Vec<(usize, &str)> = tenant
            .eligibilities
            .iter()
            .filter(|s| !removed(s))
            .chain(&tenant.assignments)
            .filter(|s| s.start <= end && s.end.is_none_or(|t| t > end) && s.scope == "/")
            .map(|s| (s.principal, s.role))
            .collect();
        for group in tenant
            .groups
            .iter()
            .filter(|g| g.start <= end && g.end > end)
        {
            for &member in group.members.iter().chain(&group.eligible_members) {
                held.push((member, group.role));
            }
        }
        let holdings: BTreeSet<(&str, &str)> = held
            .into_iter()
            .filter(|(u, _)| tenant.users[*u].enabled)
            .map(|(u, role)| (tenant.users[u].id.as_str(), role))
            .collect();
        let break_glass: BTreeSet<&str> = tenant
            .users
            .iter()
            .filter(|u| u.break_glass)
            .map(|u| u.id.as_str())
            .collect();
        let mut by_principal: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
        for (principal, role) in &holdings {
            let entry = by_principal.entry(principal).or_default();
            entry.0 |= *role == GLOBAL_ADMINISTRATOR;
            entry.1 |= is_privileged(role);
        }
        let global_admins: Vec<&str> = by_principal
            .iter()
            .filter(|(_, (ga, _))| *ga)
            .map(|(p, _)| *p)
            .collect();
        Self {
            holdings: holdings.len(),
            global_admins: global_admins.len(),
            global_admins_outside_break_glass: global_admins
                .iter()
                .filter(|p| !break_glass.contains(*p))
                .count(),
            other_privileged: by_principal
                .values()
                .filter(|(ga, privileged)| !ga && *privileged)
                .count(),
            privileged_holdings: holdings.iter().filter(|(_, r)| is_privileged(r)).count(),
        }
    }
}

/// The findings the final PIM policies imply, role by role, under the rules' default
/// parameters: with Microsoft's default settings most of them are there before any
/// scenario weakens anything.
fn policy_truths(ctx: &Context) -> Vec<Truth> {
    const NAME: &str = "policy-settings";
    let mut truth = Vec::new();
    for (role, settings) in &ctx.tenant.policies {
        let Some(known) = roles::lookup(role) else {
            continue;
        };
        let privileged = known.is_privileged || known.tier == 0 || known.highly_privileged;
        let tier0 = known.tier == 0;
        let hours: i64 = settings
            .max_activation
            .trim_start_matches("PT")
            .trim_end_matches('H')
            .parse()
            .unwrap_or(0);
        let mut add = |rule: &'static str| truth.push(ctx.truth(rule, *role, NAME));
        if privileged && !settings.mfa {
            add("activation-mfa-not-required");
        }
        if privileged && !settings.justification {
            add("activation-justification-not-required");
        }
        if privileged && hours > 8 {
            add("activation-duration-excessive");
        }
        let top = *role == GLOBAL_ADMINISTRATOR || *role == PRIVILEGED_ROLE_ADMINISTRATOR;
        let approvers = settings.named_approvers && !ctx.tenant.approvers.is_empty();
        if top && (!settings.approval || !approvers) {
            add("global-admin-activation-without-approval");
        }
        let permanent_active = !settings.active_expiry_required && *role != GLOBAL_ADMINISTRATOR;
        if tier0 && (!settings.eligible_expiry_required || permanent_active) {
            add("role-policy-allows-permanent-assignment");
        }
        if (known.highly_privileged || tier0) && !settings.extra_recipients {
            add("assignment-notifications-missing");
        }
    }
    truth
}

/// Days within which a break-glass account must have signed in (`break-glass-not-exercised`).
const BREAK_GLASS_DRILL_DAYS: i64 = 90;

/// Enabled break-glass accounts old enough to be drilled that have no successful sign-in in
/// the last 90 days of the period: none before it, and none a scenario plans.
fn break_glass_drill_truths(ctx: &Context) -> Vec<Truth> {
    let end = ctx.end();
    let cutoff = end - BREAK_GLASS_DRILL_DAYS * DAY;
    let drilled: BTreeSet<usize> = ctx
        .plans
        .events
        .iter()
        .filter_map(|e| match *e {
            PlannedEvent::BreakGlassSignIn {
                user,
                succeeded: true,
                ..
            } => Some(user),
            _ => None,
        })
        .collect();
    (0..ctx.tenant.users.len())
        .filter(|&u| {
            let user = &ctx.tenant.users[u];
            user.break_glass
                && user.enabled
                && user.created <= cutoff
                && !drilled.contains(&u)
                && user.last_success.is_none_or(|t| t <= cutoff)
        })
        .map(|u| ctx.user_truth("break-glass-not-exercised", u, "break-glass-drill"))
        .collect()
}

/// The tenant-wide findings the final state implies.
fn tenant_truths(ctx: &Context) -> Vec<Truth> {
    const NAME: &str = "tenant-state";
    let counts = Counts::of(ctx);
    let tenant = ctx.tenant.id.clone();
    let mut truth = Vec::new();
    if counts.global_admins >= 3 && counts.global_admins * 10 >= counts.holdings {
        truth.push(ctx.truth("too-many-global-admins", tenant.clone(), NAME));
    }
    if counts.global_admins < 2 || counts.global_admins_outside_break_glass == 0 {
        truth.push(ctx.truth("too-few-global-admins", tenant.clone(), NAME));
    }
    if counts.global_admins > counts.other_privileged {
        truth.push(ctx.truth("global-admin-ratio", tenant.clone(), NAME));
    }
    if counts.privileged_holdings > 10 {
        truth.push(ctx.truth("privileged-assignment-count-excessive", tenant, NAME));
    }
    truth
}
