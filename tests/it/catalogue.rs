//! The activity catalogue covers every PIM activity Microsoft documents, typos included.

use pimwatch::model::activities::{
    activity_meaning, windows_event_meaning, ActivitySource, RoleAction,
};

use crate::support::data;

#[test]
fn every_documented_pim_activity_maps_to_a_role_action() {
    let path = data("reference/pim_audit_activities.csv");
    let mut reader = csv::Reader::from_path(&path).expect("reference CSV");
    let mut rows = 0;
    let mut unmapped = Vec::new();
    for record in reader.records() {
        let record = record.expect("CSV row");
        let activity = record.get(1).expect("activityDisplayName");
        rows += 1;
        if activity_meaning(ActivitySource::EntraAudit, activity).is_none() {
            unmapped.push(activity.to_string());
        }
    }
    assert_eq!(rows, 196);
    assert!(unmapped.is_empty(), "unmapped activities: {unmapped:?}");
}

#[test]
fn lifecycle_steps_have_the_meaning_rules_rely_on() {
    let action = |a: &str| activity_meaning(ActivitySource::EntraAudit, a).map(|m| m.role_action);
    assert_eq!(
        action("Add member to role completed (PIM activation)"),
        Some(RoleAction::ActivationCompleted)
    );
    assert_eq!(
        action("Remove member from role (PIM activation expired)"),
        Some(RoleAction::ActivationExpired)
    );
    assert_eq!(
        action("Add member to role outside of PIM (permanent)"),
        Some(RoleAction::AssignedOutsidePim)
    );
    assert_eq!(
        action("Restore eligible member from role in PIM comleted"),
        Some(RoleAction::EligibleRestored)
    );
    assert_eq!(
        action("Disable PIM alert"),
        Some(RoleAction::PimAlertDisabled)
    );
    assert_eq!(
        action("Add member to role"),
        Some(RoleAction::DirectRoleAdded)
    );
    for id in [4728, 4732, 4756] {
        assert_eq!(
            windows_event_meaning(id).map(|(_, m)| m.role_action),
            Some(RoleAction::DirectRoleAdded)
        );
    }
    for id in [4729, 4733, 4757] {
        assert_eq!(
            windows_event_meaning(id).map(|(_, m)| m.role_action),
            Some(RoleAction::DirectRoleRemoved)
        );
    }
    assert!(windows_event_meaning(4672).is_none());
    assert_eq!(
        activity_meaning(
            ActivitySource::AzureActivity,
            "Microsoft.Authorization/roleAssignments/delete"
        )
        .map(|m| m.role_action),
        Some(RoleAction::DirectRoleRemoved)
    );
}
