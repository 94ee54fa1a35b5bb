//! Planted risky scenarios with ground truth. Each scenario changes the tenant or plans
//! activity, and returns the `(rule, entity)` pairs a correct rule pack must report; they are
//! written to `truth.ndjson`. Adding a scenario is one function and one line in
//! [`SCENARIOS`].

use super::activity::{OutsidePim, PlannedActivation, Plans};
use super::rng::Rng;
use super::tenant::{Tenant, SECURITY_ADMINISTRATOR, USER_ADMINISTRATOR};
use crate::model::roles::GLOBAL_ADMINISTRATOR;

/// One line of `truth.ndjson`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
}

type Scenario = fn(&mut Context) -> Vec<Truth>;

/// Every scenario, by name: planted in this order, each on accounts no other one uses.
pub const SCENARIOS: &[(&str, Scenario)] = &[
    ("stale-privileged-account", stale_privileged_account),
    ("too-many-global-admins", too_many_global_admins),
    ("activation-without-mfa", activation_without_mfa),
    ("assignment-outside-pim", assignment_outside_pim),
];

/// An admin account no scenario has used yet (not an approver, not break-glass).
fn free_admin(ctx: &mut Context, used: &mut Vec<usize>) -> Option<usize> {
    let candidates: Vec<usize> = (0..ctx.tenant.users.len())
        .filter(|&u| {
            let user = &ctx.tenant.users[u];
            user.admin && !ctx.tenant.approvers.contains(&u) && !used.contains(&u)
        })
        .collect();
    let chosen = *candidates.get(ctx.rng.below(candidates.len() as u64) as usize)?;
    used.push(chosen);
    Some(chosen)
}

/// Plants every scenario. A scenario that finds nothing to plant on is an error, never a
/// silently missing line of ground truth.
pub fn plant(ctx: &mut Context) -> Result<Vec<Truth>, String> {
    let mut truth = Vec::new();
    for (name, scenario) in SCENARIOS {
        let planted = scenario(ctx);
        if planted.is_empty() {
            return Err(format!(
                "scenario {name} found no free admin account to plant on"
            ));
        }
        truth.extend(planted);
    }
    Ok(truth)
}

fn used_accounts(ctx: &Context) -> Vec<usize> {
    let mut used: Vec<usize> = ctx.plans.activations.iter().map(|a| a.user).collect();
    used.extend(
        ctx.plans
            .outside_pim
            .iter()
            .flat_map(|o| [o.actor, o.principal]),
    );
    used.extend((0..ctx.tenant.users.len()).filter(|&u| {
        ctx.tenant.users[u].silent || ctx.tenant.assignments.iter().any(|a| a.principal == u)
    }));
    used
}

/// An admin with a standing User Administrator assignment who never signs in (Microsoft's
/// "potential stale account in a privileged role").
fn stale_privileged_account(ctx: &mut Context) -> Vec<Truth> {
    let mut used = used_accounts(ctx);
    let Some(admin) = free_admin(ctx, &mut used) else {
        return Vec::new();
    };
    let start = ctx.start;
    ctx.tenant.users[admin].silent = true;
    ctx.tenant.users[admin].created = start - 86_400 * 200;
    ctx.tenant.users[admin].last_sign_in = Some(start - 86_400 * 45);
    ctx.tenant.users[admin].last_success = Some(start - 86_400 * 45);
    ctx.tenant.add_assignment(
        ctx.rng,
        admin,
        USER_ADMINISTRATOR,
        start - 86_400 * 120,
        None,
        true,
    );
    vec![Truth {
        rule: "privileged-account-stale",
        entity: ctx.tenant.users[admin].id.clone(),
        scenario: "stale-privileged-account",
    }]
}

/// Three more standing Global Administrators: five with the break-glass accounts.
fn too_many_global_admins(ctx: &mut Context) -> Vec<Truth> {
    let mut used = used_accounts(ctx);
    for _ in 0..3 {
        if let Some(admin) = free_admin(ctx, &mut used) {
            let since = ctx.start - 86_400 * 90;
            ctx.tenant
                .add_assignment(ctx.rng, admin, GLOBAL_ADMINISTRATOR, since, None, true);
        }
    }
    vec![Truth {
        rule: "too-many-global-admins",
        entity: ctx.tenant.id.clone(),
        scenario: "too-many-global-admins",
    }]
}

/// An activation made in a session that signed in with a password only.
fn activation_without_mfa(ctx: &mut Context) -> Vec<Truth> {
    let mut used = used_accounts(ctx);
    let Some(admin) = free_admin(ctx, &mut used) else {
        return Vec::new();
    };
    let role = ctx
        .tenant
        .eligible_roles(admin)
        .first()
        .copied()
        .unwrap_or(USER_ADMINISTRATOR);
    let request_id = ctx.rng.guid();
    let day = (ctx.days / 2).max(0);
    ctx.plans.activations.push(PlannedActivation {
        user: admin,
        day,
        role,
        without_mfa: true,
        request_id: request_id.clone(),
    });
    vec![Truth {
        rule: "activation-without-mfa",
        entity: request_id,
        scenario: "activation-without-mfa",
    }]
}

/// Security Administrator given in the directory by another admin, bypassing PIM: a Core
/// Directory "Add member to role" not initiated by MS-PIM, and a standing assignment with no
/// PIM schedule.
fn assignment_outside_pim(ctx: &mut Context) -> Vec<Truth> {
    let mut used = used_accounts(ctx);
    let (Some(actor), Some(principal)) = (free_admin(ctx, &mut used), free_admin(ctx, &mut used))
    else {
        return Vec::new();
    };
    let day = (ctx.days / 3).max(0);
    ctx.plans.outside_pim.push(OutsidePim {
        actor,
        principal,
        role: SECURITY_ADMINISTRATOR,
        day,
    });
    let since = ctx.start + day * 86_400 + 14 * 3600;
    ctx.tenant.add_assignment(
        ctx.rng,
        principal,
        SECURITY_ADMINISTRATOR,
        since,
        None,
        false,
    );
    vec![Truth {
        rule: "role-assigned-outside-pim",
        entity: ctx.tenant.users[principal].id.clone(),
        scenario: "assignment-outside-pim",
    }]
}
