#!/usr/bin/env python3
"""Writes the rule-test fixtures under rules/fixtures/ as Microsoft Graph pages.

`healthy/` is a small, well-run tenant on which no rule fires; each file of `risky/` adds (or,
listed instead of a healthy file, replaces) one risky condition. Rule tests list the files
they ingest. The output is committed; run this again only to change the fixtures:

    python3 scripts/make_rule_fixtures.py

Every id is readable: users are a0000000-0000-4000-8000-0000000000NN, requests
r0000000-…; times are in October 2026 and the tests run as of 2026-11-01T00:00:00Z.
"""

import json
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "rules", "fixtures")
GRAPH = "https://graph.microsoft.com/v1.0/$metadata#"
TENANT = "c0ffee00-0000-4000-8000-000000000001"
DOMAIN = "contoso.onmicrosoft.com"
MS_PIM_SP = "bdefcbb6-d8b2-497d-a944-b683d9a36b0c"
MS_PIM_APP = "01fc33a7-78ba-4d2f-a4b7-768e336e890e"
LOOKALIKE_SP = "e1000000-0000-4000-8000-000000000001"
LOOKALIKE_APP = "e2000000-0000-4000-8000-000000000001"
PIM_USER = "9dfd627f-bdc5-4b1c-af9d-c85097fdeff8"
CUSTOM_APP_CREDENTIALS = "8f1b6a2c-4e3d-4a7b-b5c9-1d2e3f4a5b6c"

GA = "62e90394-69f5-4237-9190-012177145e10"
PRA = "e8611ab8-c189-46e8-94e1-60213ab1f814"
SEC = "194ae4cb-b126-40b2-bd5b-6091b380977d"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
EXCHANGE = "29232cdf-9323-42fd-ade2-1d097af3e4de"
APP_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
CA_ADMIN = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"
INTUNE = "3a2c62db-5318-420d-8d74-23affee5d9d5"
SHAREPOINT = "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"
READERS = [
    "4a5d8f65-41da-4de4-8968-e035b65339cf",  # Reports Reader
    "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b",  # Message Center Reader
    "75934031-6c7e-415a-99d7-48dbd49e875e",  # Usage Summary Reports Reader
    "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",  # Directory Readers
]
ROLE_NAMES = {
    GA: "Global Administrator", PRA: "Privileged Role Administrator", SEC: "Security Administrator",
    USER_ADMIN: "User Administrator", HELPDESK: "Helpdesk Administrator",
    GLOBAL_READER: "Global Reader", EXCHANGE: "Exchange Administrator",
}
# Role.WellKnownObjectName of Core Directory records, where public queries over real logs name it.
WELL_KNOWN = {GA: "TenantAdmins", PRA: "PrivilegedRoleAdmins", USER_ADMIN: "UserAccountAdmins"}


def role_object_id(role):
    """The tenant's directoryRole object id of a role: never the template id, as in real tenants."""
    return "d" + role[1:8] + "-0000-4000-8000-" + role[-12:]


def uid(n):
    return f"a0000000-0000-4000-8000-{n:012d}"


def rid(n):
    return f"b0000000-0000-4000-8000-{n:012d}"


NEVER = "0001-01-01T00:00:00Z"
USERS = {}  # key -> user object


def user(key, n, upn, name, last=None, created="2025-01-15T00:00:00Z", last_success=None,
         activity=True, **extra):
    body = {
        "id": uid(n), "displayName": name, "userPrincipalName": upn, "userType": "Member",
        "accountEnabled": True, "onPremisesSyncEnabled": None, "createdDateTime": created,
    }
    if activity:
        body["signInActivity"] = {
            "lastSignInDateTime": last or NEVER,
            "lastNonInteractiveSignInDateTime": NEVER,
            "lastSuccessfulSignInDateTime": last_success or last or "",
        }
    body.update(extra)
    USERS[key] = body


# The emergency accounts were last exercised in the September drill.
user("bg1", 1, f"breakglass1@{DOMAIN}", "Emergency Access 1", "2026-09-15T07:00:00Z")
user("bg2", 2, f"breakglass2@{DOMAIN}", "Emergency Access 2", "2026-09-15T07:05:00Z")
user("alice", 3, f"adm-alice@{DOMAIN}", "Alice Admin", "2026-10-20T08:50:00Z")
user("bob", 4, f"adm-bob@{DOMAIN}", "Bob Admin", "2026-10-21T08:50:00Z")
user("carol", 5, f"adm-carol@{DOMAIN}", "Carol Admin", "2026-10-22T08:50:00Z")
user("dave", 6, f"adm-dave@{DOMAIN}", "Dave Admin", "2026-10-23T08:50:00Z")
user("erin", 7, f"adm-erin@{DOMAIN}", "Erin Admin", "2026-10-24T08:50:00Z")
# Accounts that hold nothing in the healthy tenant; risky files give them roles.
user("newbie", 201, f"adm-newbie@{DOMAIN}", "New Admin", created="2026-10-30T08:00:00Z")
user("frank", 8, f"adm-frank@{DOMAIN}", "Frank Admin", "2026-10-29T09:00:00Z")
user("gina", 9, f"adm-gina@{DOMAIN}", "Gina Admin", "2026-10-29T09:00:00Z")
user("harry", 10, f"harry_fabrikam.com#EXT#@{DOMAIN}", "Harry (Fabrikam)", "2026-10-28T09:00:00Z",
     userType="Guest")
user("ivan", 11, f"adm-ivan@{DOMAIN}", "Ivan Admin", "2026-10-28T09:00:00Z",
     onPremisesSyncEnabled=True)
user("judy", 12, f"adm-judy@{DOMAIN}", "Judy Admin", "2026-09-01T09:00:00Z", accountEnabled=False)
user("ken", 13, f"adm-ken@{DOMAIN}", "Ken Admin", "2026-09-10T09:00:00Z",
     created="2025-03-01T00:00:00Z")
# A password spray keeps Lena's last *attempt* fresh; her last success is two months old.
user("lena", 14, f"adm-lena@{DOMAIN}", "Lena Admin", "2026-10-30T03:00:00Z",
     last_success="2026-08-28T09:00:00Z", created="2025-03-01T00:00:00Z")
# Exported without signInActivity: her last sign-in is unknown, not never.
user("mia", 15, f"adm-mia@{DOMAIN}", "Mia Admin", activity=False, created="2025-03-01T00:00:00Z")
# Came from on-premises; sync was turned off later, so only the immutable id says so.
user("nils", 16, f"adm-nils@{DOMAIN}", "Nils Admin", "2026-10-29T09:00:00Z",
     onPremisesSyncEnabled=False, onPremisesImmutableId="ZUM2c0Nn2k+QWmU5BnYxuA==")
for i in range(30):
    user(f"reader{i}", 100 + i, f"reader{i}@{DOMAIN}", f"Reader {i}", "2026-10-30T09:00:00Z")


def page(resource, items):
    return {"@odata.context": f"{GRAPH}{resource}", "value": items}


def write(path, doc):
    full = os.path.join(ROOT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def schedule(n, who, role, start, end=None, assignment=True, via_pim=True, scope="/"):
    body = {
        "id": f"{rid(n)}-1-e", "principalId": USERS[who]["id"], "roleDefinitionId": role,
        "directoryScopeId": scope, "appScopeId": None, "startDateTime": start, "endDateTime": end,
        "memberType": "Direct",
    }
    if assignment:
        body["assignmentType"] = "Assigned"
        body["roleAssignmentOriginId"] = f"{rid(n)}-1"
        if via_pim:
            body["roleAssignmentScheduleId"] = rid(n)
    else:
        body["roleEligibilityScheduleId"] = rid(n)
    return body


def assignments(items):
    return page("roleManagement/directory/roleAssignmentScheduleInstances", items)


def eligibilities(items):
    return page("roleManagement/directory/roleEligibilityScheduleInstances", items)


def policy(n, role, mfa=True, justification=True, max_duration="PT8H", approval=False,
           approvers=("alice", "bob", "gina"), eligible_expiry=True, active_expiry=True, recipients=True):
    target = lambda caller, level: {"caller": caller, "operations": ["all"], "level": level,
                                    "inheritableSettings": [], "enforcedSettings": []}
    enabled = (["MultiFactorAuthentication"] if mfa else []) + (["Justification"] if justification else [])
    people = [{"@odata.type": "#microsoft.graph.singleUser", "userId": USERS[a]["id"],
               "description": USERS[a]["displayName"]} for a in approvers] if approval else []
    to = [f"secops@{DOMAIN}"] if recipients else []

    def notify(rule_id, caller, level):
        return {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyNotificationRule",
                "id": rule_id, "notificationType": "Email", "recipientType": "Admin",
                "notificationLevel": "All", "isDefaultRecipientsEnabled": True,
                "notificationRecipients": to, "target": target(caller, level)}

    policy_id = f"DirectoryRole_{TENANT}_{rid(n)}"
    rules = [
        {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
         "id": "Enablement_EndUser_Assignment", "enabledRules": enabled,
         "target": target("EndUser", "Assignment")},
        {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
         "id": "Expiration_EndUser_Assignment", "isExpirationRequired": True,
         "maximumDuration": max_duration, "target": target("EndUser", "Assignment")},
        {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
         "id": "Approval_EndUser_Assignment",
         "setting": {"isApprovalRequired": approval, "approvalMode": "SingleStage",
                     "approvalStages": [{"approvalStageTimeOutInDays": 1, "primaryApprovers": people}]},
         "target": target("EndUser", "Assignment")},
        {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
         "id": "Expiration_Admin_Eligibility", "isExpirationRequired": eligible_expiry,
         "maximumDuration": "P365D", "target": target("Admin", "Eligibility")},
        {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
         "id": "Expiration_Admin_Assignment", "isExpirationRequired": active_expiry,
         "maximumDuration": "P180D", "target": target("Admin", "Assignment")},
        notify("Notification_Admin_Admin_Eligibility", "Admin", "Eligibility"),
        notify("Notification_Admin_Admin_Assignment", "Admin", "Assignment"),
        notify("Notification_Admin_EndUser_Assignment", "EndUser", "Assignment"),
    ]
    return {"id": f"{policy_id}_{role}", "policyId": policy_id, "scopeId": "/",
            "scopeType": "DirectoryRole", "roleDefinitionId": role,
            "policy": {"id": policy_id, "scopeId": "/", "scopeType": "DirectoryRole", "rules": rules}}


def policies(items):
    return page("policies/roleManagementPolicyAssignments(policy(rules()))", items)


def split_policies(items):
    """The same policies as two lists, as tenants also export them: policies with their rules,
    and bare policy assignments naming policy and role."""
    return (page("policies/roleManagementPolicies(rules())", [i["policy"] for i in items]),
            page("policies/roleManagementPolicyAssignments",
                 [{k: v for k, v in i.items() if k != "policy"} for i in items]))


HEALTHY_POLICIES = [
    # Global Administrator allows permanent active assignment: the break-glass accounts need it.
    lambda **kw: policy(1, GA, max_duration="PT4H", approval=True, active_expiry=False, **kw),
    lambda **kw: policy(2, PRA, max_duration="PT4H", approval=True, **kw),
    lambda **kw: policy(3, SEC, **kw),
    lambda **kw: policy(4, USER_ADMIN, **kw),
    lambda **kw: policy(5, HELPDESK, **kw),
]

# Audit events and sign-ins
EVENT_SEQ = [0]


def actor(who):
    u = USERS[who]
    return {"user": {"id": u["id"], "displayName": u["displayName"],
                     "userPrincipalName": u["userPrincipalName"], "ipAddress": "203.0.113.7"},
            "app": None}


def pim_event(activity, at, who, by, role, request, details=(), reason=""):
    EVENT_SEQ[0] += 1
    u = USERS[who]
    return {
        "id": f"PIM_{request}_{EVENT_SEQ[0]:06d}", "category": "RoleManagement",
        "correlationId": request, "result": "success", "resultReason": reason,
        "activityDisplayName": activity, "activityDateTime": at, "loggedByService": "PIM",
        "operationType": "Update", "initiatedBy": by,
        "targetResources": [
            {"id": role, "displayName": ROLE_NAMES.get(role), "type": "Role", "modifiedProperties": []},
            {"id": request, "displayName": None, "type": "Request", "modifiedProperties": []},
            {"id": u["id"], "displayName": u["displayName"], "type": "User",
             "userPrincipalName": u["userPrincipalName"], "modifiedProperties": []},
        ],
        "additionalDetails": [{"key": "RoleAssignmentRequestId", "value": request},
                              {"key": "TemplateId", "value": role}] + list(details),
    }


def core_directory(activity, at, who, role, corr, initiator=None, app_sp=None):
    """A Core Directory role change shaped as Microsoft writes it: the principal's target carries
    Role.ObjectID (the tenant's directoryRole object id), Role.DisplayName, Role.TemplateId and
    Role.WellKnownObjectName; a second `Role` target has the object id, not the template id."""
    EVENT_SEQ[0] += 1
    u = USERS[who]
    by = actor(initiator) if initiator else {
        "user": None, "app": {"appId": None, "displayName": "MS-PIM",
                              "servicePrincipalId": app_sp or MS_PIM_SP, "servicePrincipalName": None}}
    adding = activity.startswith("Add")
    value = lambda v: {"oldValue": None, "newValue": v} if adding else {"oldValue": v, "newValue": None}
    props = [{"displayName": "Role.ObjectID", **value(json.dumps(role_object_id(role)))},
             {"displayName": "Role.DisplayName", **value(json.dumps(ROLE_NAMES.get(role, "Role")))},
             {"displayName": "Role.TemplateId", **value(json.dumps(role))}]
    if role in WELL_KNOWN:
        props.append({"displayName": "Role.WellKnownObjectName", **value(json.dumps(WELL_KNOWN[role]))})
    return {
        "id": f"Directory_{corr}_{EVENT_SEQ[0]:06d}", "category": "RoleManagement",
        "correlationId": corr, "result": "success", "resultReason": "",
        "activityDisplayName": activity, "activityDateTime": at,
        "loggedByService": "Core Directory", "operationType": "Assign" if adding else "Unassign",
        "initiatedBy": by,
        "targetResources": [
            {"id": u["id"], "displayName": None, "type": "User", "userPrincipalName": u["userPrincipalName"],
             "groupType": None, "modifiedProperties": props},
            {"id": role_object_id(role), "displayName": None, "type": "Role", "userPrincipalName": None,
             "groupType": None, "modifiedProperties": []}],
        "additionalDetails": [],
    }


def activation(who, role, day, hour, request, approver=None):
    """The PIM lifecycle of one activation plus its Core Directory twins."""
    at = lambda minute: f"2026-10-{day:02d}T{hour:02d}:{minute:02d}:00Z"
    end = f"2026-10-{day:02d}T{hour + 2:02d}:{5:02d}:00Z"
    ticket = "CHG" + request[-4:]  # every activation has its own change ticket
    reason = f"Change {ticket}"
    window = [{"key": "StartTime", "value": at(5)}, {"key": "ExpirationTime", "value": end},
              {"key": "Justification", "value": reason},
              {"key": "TicketNumber", "value": ticket}, {"key": "TicketSystem", "value": "ServiceNow"}]
    events = [pim_event("Add member to role requested (PIM activation)", at(0), who, actor(who), role,
                        request, window, reason)]
    if approver:
        events.append(pim_event("Add member to role approval requested (PIM activation)", at(0), who,
                                actor(who), role, request))
        events.append(pim_event("Add member to role request approved (PIM activation)", at(4), who,
                                actor(approver), role, request, reason="Ticket checked"))
    events.append(pim_event("Add member to role completed (PIM activation)", at(5), who, actor(who),
                            role, request, window, reason))
    events.append(core_directory("Add member to role", at(5), who, role, request))
    pim_user = {"user": {"id": PIM_USER, "displayName": "Azure AD PIM", "userPrincipalName": None,
                         "ipAddress": None}, "app": None}
    events.append(pim_event("Remove member from role (PIM activation expired)", end, who, pim_user,
                            role, request))
    events.append(core_directory("Remove member from role", end, who, role, request))
    return events


def sign_in(n, who, at, mfa=True, by_claim=False):
    """An interactive portal sign-in; `by_claim`: MFA "satisfied by claim in the token", nothing
    performed (what a replayed session token looks like)."""
    u = USERS[who]
    steps = [{"authenticationStepDateTime": at, "authenticationMethod": "Password",
              "authenticationMethodDetail": "Password in the cloud", "succeeded": True,
              "authenticationStepResultDetail": "Correct password",
              "authenticationStepRequirement": "Primary authentication"}]
    if by_claim:
        steps = [{"authenticationStepDateTime": at, "authenticationMethod": "Previously satisfied",
                  "authenticationMethodDetail": "", "succeeded": True,
                  "authenticationStepResultDetail": "First factor requirement satisfied by claim in the token",
                  "authenticationStepRequirement": "Primary authentication"},
                 {"authenticationStepDateTime": at, "authenticationMethod": "Previously satisfied",
                  "authenticationMethodDetail": "", "succeeded": True,
                  "authenticationStepResultDetail": "MFA requirement satisfied by claim in the token",
                  "authenticationStepRequirement": "Secondary authentication"}]
    elif mfa:
        steps.append({"authenticationStepDateTime": at, "authenticationMethod": "Microsoft Authenticator",
                      "authenticationMethodDetail": "Mobile app notification", "succeeded": True,
                      "authenticationStepResultDetail": "MFA successfully completed",
                      "authenticationStepRequirement": "Secondary authentication"})
    return {
        "id": f"c0000000-0000-4000-8000-{n:012d}", "createdDateTime": at,
        "userDisplayName": u["displayName"], "userPrincipalName": u["userPrincipalName"],
        "userId": u["id"], "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "appDisplayName": "Azure Portal", "ipAddress": "203.0.113.7", "clientAppUsed": "Browser",
        "correlationId": f"d0000000-0000-4000-8000-{n:012d}", "conditionalAccessStatus": "success",
        "isInteractive": True, "riskDetail": "none", "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none", "riskState": "none",
        "resourceDisplayName": "Windows Azure Service Management API",
        "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013", "userType": "member",
        "status": {"errorCode": 0, "failureReason": "Other."},
        "location": {"city": "Seattle", "countryOrRegion": "US", "geoCoordinates": {}},
        "deviceDetail": {"deviceId": "", "operatingSystem": "Windows10", "browser": "Edge 130.0",
                         "isCompliant": True, "isManaged": True},
        "authenticationRequirement": "multiFactorAuthentication" if mfa or by_claim else "singleFactorAuthentication",
        "authenticationDetails": steps,
    }


def audits(items):
    return page("auditLogs/directoryAudits", items)


def sign_ins(items):
    return page("auditLogs/signIns", items)


def main():
    write("healthy/users.json", page("users", list(USERS.values())))
    # PIM's own service principal (its object id is the tenant's; its application id is PIM's):
    # Core Directory records name it by object id only.
    write("healthy/service-principals.json", page("servicePrincipals", [
        {"id": MS_PIM_SP, "appId": MS_PIM_APP, "displayName": "MS-PIM", "servicePrincipalType": "Application",
         "accountEnabled": True, "servicePrincipalNames": [MS_PIM_APP], "passwordCredentials": [],
         "keyCredentials": []}]))
    # The tenant's directoryRole objects: their object ids are what Core Directory records name.
    write("healthy/directory-roles.json", page("directoryRoles", [
        {"id": role_object_id(r), "deletedDateTime": None, "description": ROLE_NAMES[r],
         "displayName": ROLE_NAMES[r], "roleTemplateId": r} for r in sorted(ROLE_NAMES)]))
    write("healthy/breakglass-assignments.json", assignments([
        schedule(1, "bg1", GA, "2025-06-01T00:00:00Z"),
        schedule(2, "bg2", GA, "2025-06-01T00:00:00Z"),
    ]))
    write("healthy/ga-eligibility.json", eligibilities([
        schedule(3, "alice", GA, "2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z", assignment=False)]))
    write("healthy/admin-eligibilities.json", eligibilities([
        schedule(4, "bob", PRA, "2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z", assignment=False),
        schedule(5, "carol", SEC, "2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z", assignment=False),
        schedule(6, "dave", USER_ADMIN, "2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z", assignment=False),
        schedule(7, "erin", HELPDESK, "2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z", assignment=False),
    ]))
    write("healthy/reader-assignments.json", assignments([
        schedule(100 + i, f"reader{i}", READERS[i % 4], "2026-03-01T00:00:00Z", "2027-03-01T00:00:00Z")
        for i in range(30)]))
    write("healthy/policies.json", policies([p() for p in HEALTHY_POLICIES]))
    events = []
    events += activation("alice", GA, 20, 9, rid(1001), approver="bob")
    events += activation("bob", PRA, 21, 9, rid(1002), approver="gina")
    events += activation("carol", SEC, 22, 9, rid(1003))
    events += activation("dave", USER_ADMIN, 23, 9, rid(1004))
    events += activation("erin", HELPDESK, 23, 13, rid(1005))  # a Friday: no one works weekends
    write("healthy/activity.json", audits(events))
    write("healthy/sign-ins.json", sign_ins([
        sign_in(1, "alice", "2026-10-20T08:50:00Z"), sign_in(2, "bob", "2026-10-21T08:50:00Z"),
        sign_in(3, "carol", "2026-10-22T08:50:00Z"), sign_in(4, "dave", "2026-10-23T08:50:00Z"),
        sign_in(5, "erin", "2026-10-23T12:50:00Z"),
    ]))

    # Risky conditions, one per file.
    write("risky/more-global-admins.json", eligibilities([
        schedule(20, "frank", GA, "2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z", assignment=False),
        schedule(21, "gina", GA, "2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z", assignment=False)]))
    write("risky/breakglass-one-eligible.json", assignments([
        schedule(1, "bg1", GA, "2025-06-01T00:00:00Z")]))
    write("risky/breakglass-two-eligible.json", eligibilities([
        schedule(2, "bg2", GA, "2025-06-01T00:00:00Z", assignment=False)]))
    write("risky/stale-admin.json", eligibilities([
        schedule(22, "ken", USER_ADMIN, "2026-04-01T00:00:00Z", "2027-04-01T00:00:00Z", assignment=False)]))
    write("risky/unused-eligibility.json", eligibilities([
        schedule(23, "frank", HELPDESK, "2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z", assignment=False)]))
    write("risky/recent-eligibility.json", eligibilities([
        schedule(24, "gina", HELPDESK, "2026-10-20T00:00:00Z", "2027-10-20T00:00:00Z", assignment=False)]))
    write("risky/policy-application-admin-no-mfa.json", policies([policy(10, APP_ADMIN, mfa=False)]))
    # pim-settings-weakened compares these exports of 2026-10-20 with the current policies.
    before = "risky/policy-settings-{}/snapshot=20261020T000000Z/policies.json"
    write(before.format("before"), policies([
        HEALTHY_POLICIES[0](),
        # PRA had a fourth approver; Security Administrator activations were capped at 2 hours;
        # Helpdesk Administrator needed approval; Application Administrator needed MFA.
        policy(2, PRA, max_duration="PT4H", approval=True, approvers=("alice", "bob", "gina", "dave")),
        policy(3, SEC, max_duration="PT2H"),
        HEALTHY_POLICIES[3](),
        policy(5, HELPDESK, approval=True),
        policy(10, APP_ADMIN)]))
    write(before.format("unchanged"), policies([p() for p in HEALTHY_POLICIES]))
    # Weaker then than now: the current policies strengthened them.
    write(before.format("weaker-before"), policies([
        policy(1, GA, max_duration="PT8H", approval=False, active_expiry=False, recipients=False),
        HEALTHY_POLICIES[1](),
        policy(3, SEC, mfa=False, justification=False, max_duration="PT12H", eligible_expiry=False),
        HEALTHY_POLICIES[3](),
        HEALTHY_POLICIES[4]()]))
    write("risky/activation-single-factor.json", audits(
        activation("dave", USER_ADMIN, 28, 14, rid(1010)) + activation("erin", HELPDESK, 28, 15, rid(1011))))
    write("risky/sign-ins-single-factor.json", sign_ins([
        sign_in(10, "dave", "2026-10-28T13:55:00Z", mfa=False),
        sign_in(11, "erin", "2026-10-28T11:00:00Z", mfa=True),
    ]))
    write("risky/assignment-without-schedule.json", assignments([
        schedule(25, "frank", SEC, "2026-10-15T14:00:00Z", via_pim=False)]))
    write("risky/direct-role-add.json", audits([
        core_directory("Add member to role", "2026-10-27T14:00:00Z", "gina", USER_ADMIN,
                       "e0000000-0000-4000-8000-000000000001", initiator="carol")]))
    write("risky/frequent-activations.json", audits(
        activation("carol", SEC, 29, 9, rid(1020)) + activation("carol", SEC, 29, 12, rid(1021))
        + activation("carol", SEC, 29, 15, rid(1022))))
    write("risky/spread-activations.json", audits(
        activation("carol", SEC, 25, 9, rid(1030)) + activation("carol", SEC, 27, 9, rid(1031))))
    write("risky/permanent-exchange-admin.json", assignments([
        schedule(26, "frank", EXCHANGE, "2026-05-01T00:00:00Z")]))
    write("risky/policies-ga-no-approval.json", policies([
        policy(1, GA, max_duration="PT4H", approval=False, active_expiry=False),
        policy(2, PRA, max_duration="PT4H", approval=True, approvers=()),
        policy(3, SEC), policy(4, USER_ADMIN), policy(5, HELPDESK)]))
    write("risky/synced-admin.json", eligibilities([
        schedule(27, "ivan", USER_ADMIN, "2026-10-01T00:00:00Z", "2027-10-01T00:00:00Z", assignment=False)]))
    write("risky/policy-ca-admin-permanent.json", policies([
        policy(11, CA_ADMIN, eligible_expiry=False, active_expiry=False)]))
    write("risky/policy-exchange-no-justification.json", policies([
        policy(12, EXCHANGE, justification=False)]))
    write("risky/policy-intune-long-activation.json", policies([
        policy(13, INTUNE, max_duration="PT12H")]))
    write("risky/policy-sharepoint-no-notifications.json", policies([
        policy(14, SHAREPOINT, recipients=False)]))
    write("risky/guest-admin.json", eligibilities([
        schedule(28, "harry", GLOBAL_READER, "2026-10-01T00:00:00Z", "2027-10-01T00:00:00Z", assignment=False)]))
    write("risky/many-privileged.json", eligibilities([
        schedule(29, "frank", GLOBAL_READER, "2026-10-01T00:00:00Z", "2027-10-01T00:00:00Z", assignment=False),
        schedule(30, "gina", GLOBAL_READER, "2026-10-01T00:00:00Z", "2027-10-01T00:00:00Z", assignment=False),
        schedule(31, "frank", HELPDESK, "2026-10-01T00:00:00Z", "2027-10-01T00:00:00Z", assignment=False),
        schedule(32, "gina", HELPDESK, "2026-10-01T00:00:00Z", "2027-10-01T00:00:00Z", assignment=False)]))
    # A role-assignable group holding Global Reader, with a guest among its members.
    group_id = "a1000000-0000-4000-8000-000000000001"
    member = lambda key: {"@odata.type": "#microsoft.graph.user", "id": USERS[key]["id"],
                          "displayName": USERS[key]["displayName"],
                          "userPrincipalName": USERS[key]["userPrincipalName"]}
    write("risky/admin-group.json", page("groups(id,displayName,isAssignableToRole,securityEnabled,groupTypes,members())", [{
        "id": group_id, "displayName": "SG-Tier1-Readers", "isAssignableToRole": True,
        "securityEnabled": True, "groupTypes": [], "mailEnabled": False,
        "members": [member("harry"), member("gina")]}]))
    write("risky/admin-group-assignment.json", assignments([{
        "id": f"{rid(40)}-1-e", "principalId": group_id, "roleDefinitionId": GLOBAL_READER,
        "directoryScopeId": "/", "appScopeId": None, "startDateTime": "2026-10-01T00:00:00Z",
        "endDateTime": "2027-04-01T00:00:00Z", "memberType": "Direct", "assignmentType": "Assigned",
        "roleAssignmentOriginId": f"{rid(40)}-1", "roleAssignmentScheduleId": rid(40)}]))
    write("risky/disabled-admin.json", eligibilities([
        schedule(33, "judy", HELPDESK, "2026-10-01T00:00:00Z", "2027-10-01T00:00:00Z", assignment=False)]))

    # Real shapes the first fixtures missed (issue 8), one condition per file or folder.
    # An app registration that calls itself "MS-PIM" grants Privileged Role Administrator and
    # takes it away half an hour later: the name is PIM's, the service principal is not.
    write("risky/lookalike-pim-app.json", page("servicePrincipals", [
        {"id": LOOKALIKE_SP, "appId": LOOKALIKE_APP, "displayName": "MS-PIM",
         "servicePrincipalType": "Application", "accountEnabled": True,
         "servicePrincipalNames": [LOOKALIKE_APP], "passwordCredentials": [], "keyCredentials": []}]))
    write("risky/lookalike-pim-grant.json", audits([
        core_directory("Add member to role", "2026-10-27T03:00:00Z", "gina", PRA,
                       "e0000000-0000-4000-8000-000000000002", app_sp=LOOKALIKE_SP),
        core_directory("Remove member from role", "2026-10-27T03:30:00Z", "gina", PRA,
                       "e0000000-0000-4000-8000-000000000003", app_sp=LOOKALIKE_SP)]))
    # Dave activates after a sign-in whose MFA was "satisfied by claim in the token".
    write("risky/activation-after-token-claim.json", audits(activation("dave", USER_ADMIN, 28, 16, rid(1012))))
    write("risky/sign-ins-token-claim.json", sign_ins([
        sign_in(12, "dave", "2026-10-28T15:55:00Z", by_claim=True)]))
    # Lena: sprayed (recent failed attempts) but no successful sign-in since August.
    write("risky/stale-admin-sprayed.json", eligibilities([
        schedule(34, "lena", USER_ADMIN, "2026-04-01T00:00:00Z", "2027-04-01T00:00:00Z", assignment=False)]))
    # Mia: exported without signInActivity.
    write("risky/admin-without-sign-in-activity.json", eligibilities([
        schedule(35, "mia", USER_ADMIN, "2026-04-01T00:00:00Z", "2027-04-01T00:00:00Z", assignment=False)]))
    # Nils: came from on-premises (immutable id), sync since turned off.
    write("risky/formerly-synced-admin.json", eligibilities([
        schedule(36, "nils", USER_ADMIN, "2026-10-01T00:00:00Z", "2027-10-01T00:00:00Z", assignment=False)]))
    # Ivan (synced) administers one administrative unit only.
    write("risky/scoped-synced-admin.json", eligibilities([
        schedule(37, "ivan", USER_ADMIN, "2026-10-01T00:00:00Z", "2027-10-01T00:00:00Z", assignment=False,
                 scope="/administrativeUnits/a2000000-0000-4000-8000-000000000001")]))
    # Frank holds Exchange Administrator "until 2030": standing access in all but name.
    write("risky/long-active-exchange-admin.json", assignments([
        schedule(38, "frank", EXCHANGE, "2026-09-01T00:00:00Z", "2030-09-01T00:00:00Z")]))
    # A role-assignable group holds Security Administrator; through PIM for Groups the guest
    # Harry may activate its membership.
    jit_group = "a1000000-0000-4000-8000-000000000002"
    write("risky/jit-group/group.json", page("groups", [{
        "id": jit_group, "displayName": "SG-Tier0-JIT", "isAssignableToRole": True,
        "securityEnabled": True, "groupTypes": [], "mailEnabled": False}]))
    write("risky/jit-group/assignment.json", assignments([{
        "id": f"{rid(41)}-1-e", "principalId": jit_group, "roleDefinitionId": SEC,
        "directoryScopeId": "/", "appScopeId": None, "startDateTime": "2026-10-01T00:00:00Z",
        "endDateTime": "2027-01-01T00:00:00Z", "memberType": "Direct", "assignmentType": "Assigned",
        "roleAssignmentOriginId": f"{rid(41)}-1", "roleAssignmentScheduleId": rid(41)}]))
    write("risky/jit-group/eligibility.json", page(
        "identityGovernance/privilegedAccess/group/eligibilityScheduleInstances", [{
            "id": f"{jit_group}_member_{rid(42)}", "startDateTime": "2026-10-01T00:00:00Z",
            "endDateTime": None, "accessId": "member", "principalId": USERS["harry"]["id"],
            "groupId": jit_group, "memberType": "Direct"}]))
    # A custom role that may update application credentials; nothing calls it privileged.
    write("risky/custom-role/definitions.json", page("roleManagement/directory/roleDefinitions", [{
        "id": CUSTOM_APP_CREDENTIALS, "templateId": CUSTOM_APP_CREDENTIALS,
        "displayName": "Contoso App Credential Manager", "description": "Rotates app secrets",
        "isBuiltIn": False, "isEnabled": True,
        "rolePermissions": [{"allowedResourceActions": [
            "microsoft.directory/applications/credentials/update",
            "microsoft.directory/applications/basic/update"], "condition": None}]}]))
    write("risky/custom-role/eligibility.json", eligibilities([
        schedule(43, "harry", CUSTOM_APP_CREDENTIALS, "2026-10-01T00:00:00Z", "2027-10-01T00:00:00Z",
                 assignment=False)]))
    # The policies of the healthy tenant plus Application Administrator without MFA, exported
    # as two lists joined by policy id.
    split_policies_, split_links = split_policies([p() for p in HEALTHY_POLICIES] + [policy(10, APP_ADMIN, mfa=False)])
    write("risky/policies-split/policies.json", split_policies_)
    write("risky/policies-split/assignments.json", split_links)
    # Application Administrator's policy assignment without its policy: unknown, not weak.
    _, orphan_links = split_policies([policy(10, APP_ADMIN, mfa=False)])
    write("risky/policy-assignment-without-rules.json", orphan_links)
    # (Written last: events written before them keep their ids.)
    # eligible-never-activated: three eligibilities granted through PIM (the grants are logged, so
    # the logs reach back to them): Frank's in August and never used, Gina's Security
    # Administrator in August and used in October, her Helpdesk Administrator a month ago.
    write("risky/never-activated-eligibilities.json", eligibilities([
        schedule(40, "frank", HELPDESK, "2026-08-15T10:00:00Z", "2027-08-15T10:00:00Z", assignment=False),
        schedule(41, "gina", SEC, "2026-08-15T10:05:00Z", "2027-08-15T10:05:00Z", assignment=False),
        schedule(42, "gina", HELPDESK, "2026-10-01T10:00:00Z", "2027-10-01T10:00:00Z", assignment=False)]))
    grants = []
    for n, who, role, at, end in [(40, "frank", HELPDESK, "2026-08-15T10:00:00Z", "2027-08-15T10:00:00Z"),
                                  (41, "gina", SEC, "2026-08-15T10:05:00Z", "2027-08-15T10:05:00Z"),
                                  (42, "gina", HELPDESK, "2026-10-01T10:00:00Z", "2027-10-01T10:00:00Z")]:
        span = [{"key": "StartTime", "value": at}, {"key": "ExpirationTime", "value": end}]
        grants.append(pim_event("Add eligible member to role in PIM requested (timebound)", at, who,
                                actor("alice"), role, rid(2000 + n), span, "Onboarding"))
        grants.append(pim_event("Add eligible member to role in PIM completed (timebound)", at, who,
                                actor("alice"), role, rid(2000 + n), span, "Onboarding"))
    # Alice saves Application Administrator's PIM settings (what pim-settings-weakened names).
    EVENT_SEQ[0] += 1
    write("risky/policy-settings-before/settings-updated.json", audits([{
        "id": f"PIM_{rid(2050)}_{EVENT_SEQ[0]:06d}", "category": "RoleManagement", "correlationId": rid(2050),
        "result": "success", "resultReason": "", "activityDisplayName": "Update role setting in PIM",
        "activityDateTime": "2026-10-28T16:20:00Z", "loggedByService": "PIM", "operationType": "Update",
        "initiatedBy": actor("alice"),
        "targetResources": [
            {"id": APP_ADMIN, "displayName": ROLE_NAMES.get(APP_ADMIN), "type": "Role", "modifiedProperties": []},
            {"id": f"DirectoryRole_{TENANT}_{rid(10)}", "displayName": None, "type": "Other", "modifiedProperties": []},
            {"id": TENANT, "displayName": "Contoso", "type": "Directory", "modifiedProperties": []}],
        "additionalDetails": [{"key": "RoleDefinitionOriginId", "value": APP_ADMIN},
                              {"key": "TemplateId", "value": APP_ADMIN}]}]))
    write("risky/never-activated-grants.json",
          audits(grants + activation("gina", SEC, 12, 10, rid(1040))))

    # activation-then-sensitive-change (2026-10-27/28). Chains: Alice changes a Conditional
    # Access policy during her Global Administrator activation; Bob makes Carol eligible for
    # Security Administrator during his Privileged Role Administrator activation. Not chains:
    # Carol's change with no role active; Dave's non-privileged grant during his activation and
    # his app credential after it expired; Erin's app credential after she deactivated.
    def ca_change(who, at):
        EVENT_SEQ[0] += 1
        policy = lambda controls: json.dumps({"id": rid(2101), "displayName": "Require MFA for admins", "state": "enabled",
                                              "grantControls": {"operator": "OR", "builtInControls": controls}})
        return {"id": f"IPCGraph_{rid(2100)}_{EVENT_SEQ[0]:06d}", "category": "Policy", "correlationId": rid(2100),
                "result": "success", "resultReason": None, "activityDisplayName": "Update conditional access policy",
                "activityDateTime": at, "loggedByService": "Conditional Access", "operationType": "Update",
                "initiatedBy": actor(who), "targetResources": [
                    {"id": rid(2101), "displayName": "Require MFA for admins", "type": "Policy", "modifiedProperties": [
                        {"displayName": "ConditionalAccessPolicy", "oldValue": policy(["mfa"]), "newValue": policy([])}]}],
                "additionalDetails": []}

    def app_credential(who, at):
        EVENT_SEQ[0] += 1
        # As OTRF's capture spells it: an en dash, and a trailing space.
        return {"id": f"Directory_{rid(2102)}_{EVENT_SEQ[0]:06d}", "category": "ApplicationManagement",
                "correlationId": rid(2102), "result": "success", "resultReason": "",
                "activityDisplayName": "Update application \u2013 Certificates and secrets management ",
                "activityDateTime": at, "loggedByService": "Core Directory", "operationType": "Update",
                "initiatedBy": actor(who), "targetResources": [
                    {"id": rid(2103), "displayName": "payroll-sync", "type": "Application", "modifiedProperties": [
                        {"displayName": "KeyDescription", "oldValue": "[]",
                         "newValue": "[\"[KeyIdentifier=6f1c, KeyType=Password, KeyUsage=Verify, DisplayName=ci]\"]"}]}],
                "additionalDetails": []}

    span = [{"key": "StartTime", "value": "2026-10-27T10:30:00Z"}, {"key": "ExpirationTime", "value": "2027-04-27T10:30:00Z"}]
    chains = activation("alice", GA, 27, 9, rid(1060)) + [ca_change("alice", "2026-10-27T09:30:00Z")]
    chains += activation("bob", PRA, 27, 10, rid(1061)) + [
        pim_event("Add eligible member to role in PIM completed (timebound)", "2026-10-27T10:30:00Z", "carol",
                  actor("bob"), SEC, rid(2110), span, "Onboarding")]
    chains += [ca_change("carol", "2026-10-27T15:00:00Z")]
    chains += activation("dave", USER_ADMIN, 27, 14, rid(1062)) + [
        pim_event("Add eligible member to role in PIM completed (timebound)", "2026-10-27T14:30:00Z", "erin",
                  actor("dave"), DIRECTORY_READERS, rid(2111), span, "Onboarding"),
        app_credential("dave", "2026-10-27T17:00:00Z")]
    chains += activation("erin", HELPDESK, 28, 9, rid(1063)) + [
        pim_event("Remove member from role requested (PIM deactivate)", "2026-10-28T09:20:00Z", "erin",
                  actor("erin"), HELPDESK, rid(1063)),
        pim_event("Remove member from role completed (PIM deactivate)", "2026-10-28T09:20:02Z", "erin",
                  actor("erin"), HELPDESK, rid(1063)),
        app_credential("erin", "2026-10-28T09:40:00Z")]
    write("risky/activation-then-changes.json", audits(chains))

    # assignment-extended-repeatedly, chained re-activations (2026-10-27/28). Gina activates
    # Security Administrator again the minute each two-hour activation expires (08:05-10:05,
    # 10:05-12:05, 12:05-14:05 on the 27th; 08:05-10:05, 10:05-12:05 on the 28th): three
    # re-activations at expiry. Carol's User Administrator activations on the 29th start an
    # hour after the previous one expired: separate uses, not a chain.
    chained = []
    for n, (day, hour) in enumerate([(27, 8), (27, 10), (27, 12), (28, 8), (28, 10)]):
        chained += activation("gina", SEC, day, hour, rid(1070 + n))
    for n, hour in enumerate([8, 11, 14]):
        chained += activation("carol", USER_ADMIN, 29, hour, rid(1080 + n))
    write("risky/reactivations.json", audits(chained))

if __name__ == "__main__":
    main()
