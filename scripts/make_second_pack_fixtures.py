"""Usage: python3 scripts/make_second_pack_fixtures.py rules/fixtures/risky

Writes the second pack's rule fixtures: Graph directoryAudits and signIns pages, Azure
Activity Log records and Sentinel SecurityEvent rows, shaped as the records in
tests/data/samples (Microsoft Graph docs, Panther, OTRF)."""
import json, sys
OUT = sys.argv[1]
USERS = {
    "bg1": ("a0000000-0000-4000-8000-000000000001", "breakglass1@contoso.onmicrosoft.com", "Break Glass 1"),
    "bg2": ("a0000000-0000-4000-8000-000000000002", "breakglass2@contoso.onmicrosoft.com", "Break Glass 2"),
    "alice": ("a0000000-0000-4000-8000-000000000003", "adm-alice@contoso.onmicrosoft.com", "Alice Admin"),
    "bob": ("a0000000-0000-4000-8000-000000000004", "adm-bob@contoso.onmicrosoft.com", "Bob Admin"),
    "carol": ("a0000000-0000-4000-8000-000000000005", "adm-carol@contoso.onmicrosoft.com", "Carol Admin"),
    "gina": ("a0000000-0000-4000-8000-000000000009", "adm-gina@contoso.onmicrosoft.com", "Gina Admin"),
    "ivan": ("a0000000-0000-4000-8000-000000000011", "adm-ivan@contoso.onmicrosoft.com", "Ivan Admin"),
    "reader3": ("a0000000-0000-4000-8000-000000000103", "reader3@contoso.onmicrosoft.com", "Reader Three"),
}
ROLES = {
    "ga": ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator", "TenantAdmins", "f2ef992c-0000-4000-8000-012177145e10"),
    "pra": ("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator", "PrivilegedRoleAdmins", "a8611ab8-0000-4000-8000-60213ab1f814"),
    "reports": ("4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports Reader", "ReportsReader", "9a5d8f65-0000-4000-8000-e035b65339cf"),
}
seq = [100]
def nid():
    seq[0] += 1
    return f"e1000000-0000-4000-8000-{seq[0]:012d}"

def user_actor(u):
    i, upn, name = USERS[u]
    return {"user": {"id": i, "displayName": name, "userPrincipalName": upn, "ipAddress": "203.0.113.7"}, "app": None}

def core_directory_role(activity, at, actor, target, role, target_type="User", target_upn=None, target_name=None):
    rid, rname, wkn, robj = ROLES[role]
    corr = nid()
    new = activity.startswith("Add")
    def prop(name, value):
        v = json.dumps(value)
        return {"displayName": name, "oldValue": None if new else v, "newValue": v if new else None}
    return {
        "id": f"Directory_{corr}_ABCDE_{seq[0]}", "category": "RoleManagement", "correlationId": corr,
        "result": "success", "resultReason": "", "activityDisplayName": activity, "activityDateTime": at,
        "loggedByService": "Core Directory", "operationType": "Assign" if new else "Unassign",
        "initiatedBy": actor,
        "targetResources": [
            {"id": target, "displayName": target_name, "type": target_type, "userPrincipalName": target_upn,
             "groupType": None, "modifiedProperties": [prop("Role.ObjectID", robj), prop("Role.DisplayName", rname),
                                                       prop("Role.TemplateId", rid), prop("Role.WellKnownObjectName", wkn)]},
            {"id": robj, "displayName": None, "type": "Role", "userPrincipalName": None, "groupType": None, "modifiedProperties": []},
        ],
        "additionalDetails": [],
    }

def pim(activity, at, actor, user, role, request, extra=None, reason="", operation="Update", result="success"):
    rid, rname, _, _ = ROLES[role]
    i, upn, name = USERS[user]
    details = [{"key": "RoleAssignmentRequestId", "value": request}, {"key": "TemplateId", "value": rid}]
    details += extra or []
    return {
        "id": f"PIM_{request}_{nid()[-6:]}", "category": "RoleManagement", "correlationId": request,
        "result": result, "resultReason": reason, "activityDisplayName": activity, "activityDateTime": at,
        "loggedByService": "PIM", "operationType": operation, "initiatedBy": actor,
        "targetResources": [
            {"id": rid, "displayName": rname, "type": "Role", "modifiedProperties": []},
            {"id": request, "displayName": None, "type": "Request", "modifiedProperties": []},
            {"id": i, "displayName": name, "type": "User", "userPrincipalName": upn, "modifiedProperties": []},
        ],
        "additionalDetails": details,
    }

def page(name, records, kind="directoryAudits"):
    ctx = "https://graph.microsoft.com/v1.0/$metadata#auditLogs/" + kind
    with open(f"{OUT}/{name}", "w") as f:
        json.dump({"@odata.context": ctx, "value": records}, f, indent=1)
        f.write("\n")

# elevate-access-root: the directory audit's record, as Microsoft logs it (category
# AzureRBACRoleManagementElevateAccess, logged by Azure RBAC, no target).
g = USERS["gina"]
page("elevate-access.json", [{
    "id": "Elevate_" + nid(), "category": "AzureRBACRoleManagementElevateAccess", "correlationId": nid(),
    "result": "success", "resultReason": "",
    "activityDisplayName": "User has elevated their access to User Access Administrator for their Azure Resources",
    "activityDateTime": "2026-10-28T22:14:00Z", "loggedByService": "Azure RBAC (Elevated Access)",
    "operationType": "Assign", "initiatedBy": user_actor("gina"), "targetResources": [], "additionalDetails": [],
}])

# hit-and-run: Gina gives Ivan Global Administrator directly and takes it away 20 minutes later;
# a Reports Reader grant and removal the same way is not privileged.
page("hit-and-run.json", [
    core_directory_role("Add member to role", "2026-10-28T23:02:00Z", user_actor("gina"), USERS["ivan"][0], "ga", target_upn=USERS["ivan"][1]),
    core_directory_role("Remove member from role", "2026-10-28T23:22:00Z", user_actor("gina"), USERS["ivan"][0], "ga", target_upn=USERS["ivan"][1]),
    core_directory_role("Add member to role", "2026-10-28T23:05:00Z", user_actor("gina"), USERS["reader3"][0], "reports", target_upn=USERS["reader3"][1]),
    core_directory_role("Remove member from role", "2026-10-28T23:07:00Z", user_actor("gina"), USERS["reader3"][0], "reports", target_upn=USERS["reader3"][1]),
])

# role-assigned-to-service-principal: an app's service principal made Privileged Role
# Administrator directly in the directory.
SP = "f1000000-0000-4000-8000-000000000001"
page("sp-privileged-role.json", [
    core_directory_role("Add member to role", "2026-10-29T10:00:00Z", user_actor("carol"), SP, "pra",
                        target_type="ServicePrincipal", target_name="deploy-automation"),
])
with open(f"{OUT}/sp-deploy-automation.json", "w") as f:
    json.dump({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals", "value": [
        {"id": SP, "appId": "f2000000-0000-4000-8000-000000000001", "displayName": "deploy-automation",
         "servicePrincipalType": "Application", "accountEnabled": True, "appOwnerOrganizationId": "5a4a24f2-ec00-4374-aef8-585d4576f820"}]}, f, indent=1)
    f.write("\n")

# self-approved-activation: Bob requests Global Administrator and the approval is logged as his.
req = "b0000000-0000-4000-8000-000000002001"
window = [{"key": "StartTime", "value": "2026-10-29T09:05:00Z"}, {"key": "ExpirationTime", "value": "2026-10-29T11:05:00Z"}]
page("self-approved-activation.json", [
    pim("Add member to role requested (PIM activation)", "2026-10-29T09:00:00Z", user_actor("bob"), "bob", "ga", req, window, "Change CHG2001", "ActivateRole"),
    pim("Add member to role approval requested (PIM activation)", "2026-10-29T09:00:00Z", user_actor("bob"), "bob", "ga", req, window, "Change CHG2001"),
    pim("Add member to role request approved (PIM activation)", "2026-10-29T09:01:00Z", user_actor("bob"), "bob", "ga", req, window, "ok"),
    pim("Add member to role completed (PIM activation)", "2026-10-29T09:05:00Z", {"user": None, "app": {"displayName": "MS-PIM", "appId": None, "servicePrincipalId": "bdefcbb6-d8b2-497d-a944-b683d9a36b0c", "servicePrincipalName": None}}, "bob", "ga", req, window, "Change CHG2001"),
])

# pim-activation-denied: one denial that counts, one PIM gave because the role was already active.
d1, d2 = "b0000000-0000-4000-8000-000000002002", "b0000000-0000-4000-8000-000000002003"
page("activation-denied.json", [
    pim("Add member to role requested (PIM activation)", "2026-10-29T19:40:00Z", user_actor("ivan"), "ivan", "pra", d1, None, "need access", "ActivateRole"),
    pim("Add member to role approval requested (PIM activation)", "2026-10-29T19:40:00Z", user_actor("ivan"), "ivan", "pra", d1, None, "need access"),
    pim("Add member to role request denied (PIM activation)", "2026-10-29T19:55:00Z", user_actor("alice"), "ivan", "pra", d1, None, "No change ticket"),
    pim("Add member to role requested (PIM activation)", "2026-10-30T08:00:00Z", user_actor("carol"), "carol", "ga", d2, None, "Change CHG2002", "ActivateRole"),
    pim("Add member to role request denied (PIM activation)", "2026-10-30T08:00:01Z", {"user": None, "app": {"displayName": "Azure AD PIM", "appId": None, "servicePrincipalId": None, "servicePrincipalName": None}}, "carol", "ga", d2, None, "RoleAssignmentExists"),
])

# pim-alert-disabled: an admin disables PIM's "Roles are being assigned outside of PIM" alert.
page("pim-alert-disabled.json", [{
    "id": "PIM_" + nid(), "category": "RoleManagement", "correlationId": nid(), "result": "success", "resultReason": "",
    "activityDisplayName": "Disable PIM alert", "activityDateTime": "2026-10-30T17:30:00Z", "loggedByService": "PIM",
    "operationType": "Update", "initiatedBy": user_actor("gina"),
    "targetResources": [{"id": "RolesAssignedOutsidePimAlert", "displayName": "Roles are being assigned outside of Privileged Identity Management", "type": "Other", "modifiedProperties": []},
                        {"id": "5a4a24f2-ec00-4374-aef8-585d4576f820", "displayName": "Contoso", "type": "Directory", "modifiedProperties": []}],
    "additionalDetails": [],
}])

# break-glass-sign-in: one successful and one failed sign-in by the two emergency accounts.
def sign_in(user, at, error, reason, interactive=True):
    i, upn, name = USERS[user]
    return {"id": nid(), "createdDateTime": at, "userDisplayName": name, "userPrincipalName": upn, "userId": i,
            "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "appDisplayName": "Azure Portal", "ipAddress": "198.51.100.23",
            "clientAppUsed": "Browser", "correlationId": nid(), "conditionalAccessStatus": "notApplied", "isInteractive": interactive,
            "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none", "riskState": "none",
            "resourceDisplayName": "Windows Azure Service Management API", "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013",
            "userType": "member", "status": {"errorCode": error, "failureReason": reason},
            "location": {"city": "Amsterdam", "countryOrRegion": "NL", "geoCoordinates": {}},
            "deviceDetail": {"deviceId": "", "operatingSystem": "Windows10", "browser": "Edge 130.0", "isCompliant": False, "isManaged": False},
            "authenticationRequirement": "singleFactorAuthentication", "authenticationDetails": []}
page("break-glass-sign-ins.json", [
    sign_in("bg1", "2026-10-30T03:12:00Z", 0, "Other."),
    sign_in("bg2", "2026-10-30T03:15:00Z", 50126, "Error validating credentials due to invalid username or password."),
], kind="signIns")

# on-prem-privileged-group-change: Sentinel SecurityEvent rows (Log Analytics), as in
# tests/data/formats/sentinel_securityevent.jsonl: Domain Admins by domain SID (-512), BUILTIN
# Administrators under a localized name, and an ordinary group someone named "Domain Admins 2".
DOM = "S-1-5-21-3623811015-3361044348-30300820"
def security_event(at, eid, activity, member, group_name, group_sid, domain):
    return {"TimeGenerated": at, "Computer": "DC01.corp.contoso.com", "EventID": eid, "Activity": activity,
            "Channel": "Security", "EventSourceName": "Microsoft-Windows-Security-Auditing",
            "SubjectUserName": "svc-helpdesk", "SubjectDomainName": "CORP", "SubjectUserSid": DOM + "-1201",
            "SubjectLogonId": "0x3e7", "MemberName": f"CN={member},CN=Users,DC=corp,DC=contoso,DC=com",
            "MemberSid": DOM + "-" + {"mallory": "1107", "trudy": "1108", "oscar": "1109"}[member],
            "TargetUserName": group_name, "TargetDomainName": domain, "TargetSid": group_sid,
            "PrivilegeList": "-", "EventRecordID": nid()[-6:], "Keywords": "Audit Success", "Type": "SecurityEvent"}
with open(f"{OUT}/windows-group-changes.jsonl", "w") as f:
    for row in [
        security_event("2026-10-29T02:10:00Z", 4728, "4728 - A member was added to a security-enabled global group.", "mallory", "Domain Admins", DOM + "-512", "CORP"),
        security_event("2026-10-29T02:12:00Z", 4732, "4732 - A member was added to a security-enabled local group.", "trudy", "Administrateurs", "S-1-5-32-544", "Builtin"),
        security_event("2026-10-29T02:14:00Z", 4728, "4728 - A member was added to a security-enabled global group.", "oscar", "Domain Admins 2", DOM + "-3104", "CORP"),
    ]:
        f.write(json.dumps(row) + "\n")

# azure-admin-role-assigned: Log Analytics AzureActivity rows, as in
# tests/data/formats/la_azureactivity.jsonl: Owner given to an app at a subscription, and
# Reader given to a user (not privileged).
SUB = "/subscriptions/0b1c2d3e-0000-4000-8000-000000000001"
def activity_row(at, assignment, principal, principal_type, role):
    body = {"Id": assignment, "Properties": {"PrincipalId": principal, "PrincipalType": principal_type,
            "RoleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/" + role, "Scope": SUB}}
    return {"TenantId": "5a4a24f2-ec00-4374-aef8-585d4576f820", "SourceSystem": "Azure", "CallerIpAddress": "198.51.100.77",
            "CategoryValue": "Administrative", "CorrelationId": nid(),
            "Authorization_d": json.dumps({"action": "Microsoft.Authorization/roleAssignments/write", "scope": SUB + "/providers/Microsoft.Authorization/roleAssignments/" + assignment}),
            "Claims_d": json.dumps({"http://schemas.microsoft.com/identity/claims/objectidentifier": USERS["gina"][0], "http://schemas.microsoft.com/claims/authnmethodsreferences": "pwd,mfa", "name": "Gina Admin"}),
            "Level": "Informational", "OperationNameValue": "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
            "Properties_d": json.dumps({"requestbody": json.dumps(body), "eventCategory": "Administrative"}),
            "Caller": USERS["gina"][1], "EventDataId": nid(), "EventSubmissionTimestamp": at,
            "ActivityStatusValue": "Success", "ActivitySubstatusValue": "Created",
            "ResourceId": (SUB + "/providers/Microsoft.Authorization/roleAssignments/" + assignment).upper(),
            "TimeGenerated": at, "Type": "AzureActivity"}
with open(f"{OUT}/azure-role-assignments.jsonl", "w") as f:
    for row in [
        activity_row("2026-10-29T12:00:00Z", "3c3d4e5f-0000-4000-8000-000000000001", "f1000000-0000-4000-8000-000000000002", "ServicePrincipal", "8E3AF657-A8FF-443C-A75C-2FE8C4BCB635"),
        activity_row("2026-10-29T12:05:00Z", "3c3d4e5f-0000-4000-8000-000000000002", USERS["reader3"][0], "User", "ACDD72A7-3385-48EF-BD42-F606FBA81AE7"),
    ]:
        f.write(json.dumps(row) + "\n")

# privileged-role-assigned: Alice makes reader3 eligible for Privileged Role Administrator
# through PIM; PIM logs request and completion, and MS-PIM's Core Directory twin follows.
grant = "b0000000-0000-4000-8000-000000002010"
span = [{"key": "StartTime", "value": "2026-10-29T15:00:00Z"}, {"key": "ExpirationTime", "value": "2027-04-29T15:00:00Z"}]
ms_pim = {"user": None, "app": {"displayName": "MS-PIM", "appId": None, "servicePrincipalId": "bdefcbb6-d8b2-497d-a944-b683d9a36b0c", "servicePrincipalName": None}}
page("pim-eligible-grant.json", [
    pim("Add eligible member to role in PIM requested (timebound)", "2026-10-29T15:00:00Z", user_actor("alice"), "reader3", "pra", grant, span, "Onboarding CHG2010", "CreateRequestEligibleRole"),
    pim("Add eligible member to role in PIM completed (timebound)", "2026-10-29T15:00:01Z", user_actor("alice"), "reader3", "pra", grant, span, "Onboarding CHG2010", "AssignEligibleRole"),
    core_directory_role("Add eligible member to role", "2026-10-29T15:00:02Z", ms_pim, USERS["reader3"][0], "pra", target_upn=USERS["reader3"][1]),
])

# Activation behaviour and approval integrity: whole PIM activation lifecycles (request,
# approval steps, completion with its MS-PIM Core Directory twin, expiry), shaped as
# self-approved-activation.json above.
USERS.update({
    "judy": ("a0000000-0000-4000-8000-000000000012", "adm-judy@contoso.onmicrosoft.com", "Judy Admin"),
    "ken": ("a0000000-0000-4000-8000-000000000013", "adm-ken@contoso.onmicrosoft.com", "Ken Admin"),
    "lena": ("a0000000-0000-4000-8000-000000000014", "adm-lena@contoso.onmicrosoft.com", "Lena Admin"),
    "mia": ("a0000000-0000-4000-8000-000000000015", "adm-mia@contoso.onmicrosoft.com", "Mia Admin"),
    "nils": ("a0000000-0000-4000-8000-000000000016", "adm-nils@contoso.onmicrosoft.com", "Nils Admin"),
})
ROLES.update({
    "sec": ("194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator", "SecurityAdministrator", "d94ae4cb-0000-4000-8000-6091b380977d"),
    "useradmin": ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator", "UserAccountAdmins", "de930be7-0000-4000-8000-98c3a49a38b1"),
    "helpdesk": ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator", "HelpdeskAdmins", "d29827e3-0000-4000-8000-9608f156bbb8"),
})
AZURE_AD_PIM = {"user": {"id": "9dfd627f-bdc5-4b1c-af9d-c85097fdeff8", "displayName": "Azure AD PIM", "userPrincipalName": None, "ipAddress": None}, "app": None}

def stamp(seconds):
    import datetime
    return (datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

def epoch(text):
    import datetime
    return int((datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ") - datetime.datetime(1970, 1, 1)).total_seconds())

def lifecycle(user, role, requested, request, approver=None, delay=300, hours=2, justification=None, ticket=None):
    """One activation: requested at `requested`, approved `delay` seconds later when an approver
    is named, active `hours` hours, then expired."""
    t = epoch(requested)
    ticket = ticket if ticket is not None else "CHG" + request[-4:]
    justification = justification if justification is not None else f"Change {ticket}"
    done = t + (delay + 60 if approver else 60)
    window = [{"key": "StartTime", "value": stamp(done)}, {"key": "ExpirationTime", "value": stamp(done + hours * 3600)},
              {"key": "Justification", "value": justification}]
    if ticket:
        window += [{"key": "TicketNumber", "value": ticket}, {"key": "TicketSystem", "value": "ServiceNow"}]
    records = [pim("Add member to role requested (PIM activation)", stamp(t), user_actor(user), user, role, request, window, justification, "ActivateRole")]
    if approver:
        records += [
            pim("Add member to role approval requested (PIM activation)", stamp(t + 1), user_actor(user), user, role, request, None, justification),
            pim("Add member to role request approved (PIM activation)", stamp(t + delay), user_actor(approver), user, role, request, None, "Ticket checked"),
        ]
    records += [
        pim("Add member to role completed (PIM activation)", stamp(done), user_actor(user), user, role, request, window, justification),
        core_directory_role("Add member to role", stamp(done + 2), ms_pim, USERS[user][0], role, target_upn=USERS[user][1]),
        pim("Remove member from role (PIM activation expired)", stamp(done + hours * 3600), AZURE_AD_PIM, user, role, request, None, ""),
        core_directory_role("Remove member from role", stamp(done + hours * 3600 - 3), ms_pim, USERS[user][0], role, target_upn=USERS[user][1]),
    ]
    return records

def rq(n):
    return f"b0000000-0000-4000-8000-00000000{n:04d}"

page("activation-behaviour.json",
     # activation-risky-sign-in: Ivan activates after a medium-risk sign-in (see the sign-ins).
     lifecycle("ivan", "pra", "2026-10-29T10:00:00Z", rq(3001), approver="alice", ticket="CHG0999")
     # ticket-reused: CHG0999 was Ivan's ticket two weeks earlier too.
     + lifecycle("ivan", "pra", "2026-10-14T10:00:00Z", rq(3013), approver="alice", ticket="CHG0999")
     # Judy, Ken and Lena give one change ticket for three activations.
     + lifecycle("judy", "sec", "2026-10-29T10:30:00Z", rq(3002), approver="gina", delay=90, ticket="CHG0777")
     # activation-new-country: Ken activates after a sign-in from Brazil; Lena from home.
     + lifecycle("ken", "useradmin", "2026-10-30T09:00:00Z", rq(3003), ticket="CHG0777")
     + lifecycle("lena", "useradmin", "2026-10-30T09:30:00Z", rq(3004), ticket="CHG0777")
     # activation-outside-business-hours: Mia at 02:10 on a Wednesday; Nils too, but he has
     # worked Wednesday nights twice before; Carol on a Sunday morning.
     # weak-justification: Mia writes ".", Nils "n/a".
     + lifecycle("mia", "helpdesk", "2026-10-28T02:10:00Z", rq(3005), justification=".", ticket="")
     + lifecycle("nils", "helpdesk", "2026-10-28T02:20:00Z", rq(3006), justification="n/a", ticket="")
     + lifecycle("nils", "helpdesk", "2026-10-14T02:15:00Z", rq(3007))
     + lifecycle("nils", "helpdesk", "2026-10-21T02:05:00Z", rq(3008))
     + lifecycle("carol", "sec", "2026-10-25T10:00:00Z", rq(3009))
     # rubber-stamp-approval: Gina approves Ken's Privileged Role Administrator in 20 seconds.
     + lifecycle("ken", "pra", "2026-10-27T10:00:00Z", rq(3010), approver="gina", delay=20)
     # reciprocal-approvals and approver-not-in-policy: Lena and Mia, neither a named
     # approver, approve each other's tier-0 activations a day apart.
     + lifecycle("lena", "ga", "2026-10-26T11:00:00Z", rq(3011), approver="mia")
     + lifecycle("mia", "pra", "2026-10-27T11:00:00Z", rq(3012), approver="lena"))

def plain_sign_in(user, at, country="US", city="Seattle", ip="203.0.113.7", risk="none"):
    record = sign_in(user, at, 0, "Other.")
    record.update({"ipAddress": ip, "location": {"city": city, "countryOrRegion": country, "geoCoordinates": {}},
                   "riskLevelDuringSignIn": risk, "riskLevelAggregated": risk,
                   "riskState": "none" if risk == "none" else "atRisk",
                   "riskEventTypes_v2": [] if risk == "none" else ["unfamiliarFeatures"],
                   "authenticationRequirement": "multiFactorAuthentication",
                   "authenticationDetails": [
                       {"authenticationStepDateTime": at, "authenticationMethod": "Password", "authenticationMethodDetail": "Password in the cloud", "succeeded": True, "authenticationStepResultDetail": "Correct password", "authenticationStepRequirement": "Primary authentication"},
                       {"authenticationStepDateTime": at, "authenticationMethod": "Microsoft Authenticator", "authenticationMethodDetail": "Mobile app notification", "succeeded": True, "authenticationStepResultDetail": "MFA successfully completed", "authenticationStepRequirement": "Secondary authentication"}]})
    return record

page("activation-behaviour-sign-ins.json", [
    plain_sign_in("ivan", "2026-10-29T09:50:00Z", "DE", "Frankfurt am Main", "185.220.101.4", risk="medium"),
    plain_sign_in("judy", "2026-10-29T10:20:00Z"),
    plain_sign_in("ken", "2026-10-01T09:00:00Z"), plain_sign_in("ken", "2026-10-08T09:00:00Z"),
    plain_sign_in("ken", "2026-10-15T09:00:00Z"),
    plain_sign_in("ken", "2026-10-30T08:50:00Z", "BR", "Sao Paulo", "200.160.7.45"),
    plain_sign_in("lena", "2026-10-02T09:00:00Z"), plain_sign_in("lena", "2026-10-09T09:00:00Z"),
    plain_sign_in("lena", "2026-10-30T09:20:00Z"),
], kind="signIns")

# standing-access-via-activations: Judy activates Security Administrator for eight hours on
# each of sixteen working days in a row, always with the same justification.
days = ["2026-10-09"] + [f"2026-10-{d:02d}" for w in (12, 19, 26) for d in range(w, w + 5)]
page("standing-access.json", sum(
    (lifecycle("judy", "sec", f"{day}T08:00:00Z", rq(3100 + n), hours=8, justification="Daily security operations", ticket="")
     for n, day in enumerate(days)), []))

# Account changes: authentication methods, per-user MFA, user type, a break-glass password
# reset, and a new account made Global Administrator. Shaped as Microsoft logs them: security
# info by the Authentication Methods service (UserManagement), the rest by Core Directory with
# the changed attributes in the target's modifiedProperties.
USERS.update({
    "harry": ("a0000000-0000-4000-8000-000000000010", "harry_fabrikam.com#EXT#@contoso.onmicrosoft.com", "Harry Guest"),
    "reader1": ("a0000000-0000-4000-8000-000000000101", "reader1@contoso.onmicrosoft.com", "Reader One"),
    "newbie": ("a0000000-0000-4000-8000-000000000201", "adm-newbie@contoso.onmicrosoft.com", "New Admin"),
})

def directory_change(activity, at, actor, user, properties=(), service="Core Directory", reason="", operation="Update"):
    i, upn, name = USERS[user]
    corr = nid()
    props = [{"displayName": n, "oldValue": old, "newValue": new} for n, old, new in properties]
    if properties and service == "Core Directory":
        names = ",".join(n for n, _, _ in properties)
        props.append({"displayName": "Included Updated Properties", "oldValue": None, "newValue": json.dumps(names)})
    return {
        "id": f"Directory_{corr}_QWERT_{seq[0]}" if service == "Core Directory" else f"SSGM_{corr}",
        "category": "UserManagement", "correlationId": corr, "result": "success", "resultReason": reason,
        "activityDisplayName": activity, "activityDateTime": at, "loggedByService": service,
        "operationType": operation, "initiatedBy": actor,
        "targetResources": [{"id": i, "displayName": name, "type": "User", "userPrincipalName": upn,
                             "groupType": None, "modifiedProperties": props}],
        "additionalDetails": [],
    }

STRONG_AUTH = lambda state: json.dumps([{"RelyingParty": "*", "State": state, "RememberDevicesNotIssuedBefore": "2026-03-02T10:00:00Z"}])
page("account-changes.json", [
    # privileged-auth-method-changed: a Temporary Access Pass for Alice (Global Administrator);
    # reader3 (Directory Readers) registering the Authenticator app is nobody's business.
    directory_change("Admin registered security info", "2026-10-29T14:00:00Z", user_actor("gina"), "alice",
                     service="Authentication Methods", reason="Admin registered temporary access pass method for user", operation="Add"),
    directory_change("User registered security info", "2026-10-29T14:05:00Z", user_actor("reader3"), "reader3",
                     service="Authentication Methods", reason="User registered Authenticator App with Notification and Code", operation="Add"),
    # mfa-disabled-for-privileged-user: per-user MFA off for Bob, Carol's requirement dropped in
    # an update; reader3's too (not privileged).
    directory_change("Disable Strong Authentication", "2026-10-29T15:00:00Z", user_actor("gina"), "bob",
                     [("StrongAuthenticationRequirement", STRONG_AUTH(1), "[]")]),
    directory_change("Update user", "2026-10-29T15:10:00Z", user_actor("gina"), "carol",
                     [("StrongAuthenticationRequirement", STRONG_AUTH(2), "[]")]),
    directory_change("Update user", "2026-10-29T15:20:00Z", user_actor("gina"), "reader3",
                     [("StrongAuthenticationRequirement", STRONG_AUTH(1), "[]")]),
    # guest-promoted-to-member: Harry becomes a member; reader1 changes department.
    directory_change("Update user", "2026-10-29T16:00:00Z", user_actor("gina"), "harry",
                     [("UserType", '["Guest"]', '["Member"]')]),
    directory_change("Update user", "2026-10-29T16:05:00Z", user_actor("gina"), "reader1",
                     [("Department", '["Sales"]', '["Finance"]')]),
    # break-glass-modified: breakglass2's password reset at night.
    directory_change("Reset user password", "2026-10-30T02:00:00Z", user_actor("gina"), "bg2",
                     [("PasswordProfile", "[]", "[]")]),
    # account-created-then-privileged: a new account, and Global Administrator for it 90
    # minutes later, directly in the directory.
    directory_change("Add user", "2026-10-30T08:00:00Z", user_actor("gina"), "newbie",
                     [("AccountEnabled", "[]", "[true]"), ("UserPrincipalName", "[]", '["adm-newbie@contoso.onmicrosoft.com"]'),
                      ("UserType", "[]", '["Member"]')], operation="Add"),
    core_directory_role("Add member to role", "2026-10-30T09:30:00Z", user_actor("gina"), USERS["newbie"][0], "ga",
                        target_upn=USERS["newbie"][1]),
])
# break-glass-not-exercised: the two emergency accounts exported without signInActivity.
with open(f"{OUT}/break-glass-no-sign-in-activity.json", "w") as f:
    json.dump({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": [
        {"id": USERS[k][0], "displayName": USERS[k][2], "userPrincipalName": USERS[k][1], "userType": "Member",
         "accountEnabled": True, "onPremisesSyncEnabled": None, "createdDateTime": "2025-01-15T00:00:00Z"}
        for k in ("bg1", "bg2")]}, f, indent=1)
    f.write("\n")

# bulk-privileged-changes: Gina removes four admins' eligibilities through PIM in 20 minutes
# (three of them tier 0).
USERS.update({
    "dave": ("a0000000-0000-4000-8000-000000000006", "adm-dave@contoso.onmicrosoft.com", "Dave Admin"),
    "frank": ("a0000000-0000-4000-8000-000000000008", "adm-frank@contoso.onmicrosoft.com", "Frank Admin"),
})
removals = []
for n, (who, role) in enumerate([("alice", "ga"), ("bob", "pra"), ("carol", "sec"), ("dave", "useradmin")]):
    at = epoch("2026-10-29T16:00:00Z") + n * 400
    request = rq(3200 + n)
    reason = "Access review Q4: no longer needed"
    removals += [
        pim("Remove eligible member from role in PIM requested (permanent)", stamp(at), user_actor("gina"), who, role, request, None, reason, "RemoveRequestEligibleRole"),
        pim("Remove eligible member from role in PIM completed (permanent)", stamp(at + 2), user_actor("gina"), who, role, request, None, reason, "RemoveEligibleRole"),
    ]
page("bulk-removals.json", removals)

# assignment-extended-repeatedly: Frank asks to extend his User Administrator eligibility
# three times in four months, and Alice approves each time.
extensions = []
for n, day in enumerate(["2026-07-01", "2026-08-30", "2026-10-28"]):
    request = rq(3300 + n)
    until = [{"key": "ExpirationTime", "value": f"2027-0{n + 1}-01T00:00:00Z"}]
    extensions += [
        pim("Update eligible member in PIM requested (extend)", f"{day}T10:00:00Z", user_actor("frank"), "frank", "useradmin", request, until, "Still needed for the migration", "UpdateRequestEligibleRole"),
        pim("Update member in PIM approved by admin (extend/renew)", f"{day}T11:00:00Z", user_actor("alice"), "frank", "useradmin", request, until, "ok", "UpdateEligibleRole"),
    ]
page("extensions.json", extensions)

# privileged-group-member-added: Harry added to SG-Tier1-Readers (which holds Global Reader in
# admin-group-assignment.json), reader1 to a group that holds nothing. As in Microsoft's
# directoryAudit example: the member and the group are both targets, each found by type.
def group_add(at, actor, user, group_id, group_name):
    i, upn, name = USERS[user]
    corr = nid()
    return {
        "id": f"Directory_{corr}_GRPAD_{seq[0]}", "category": "GroupManagement", "correlationId": corr,
        "result": "success", "resultReason": "", "activityDisplayName": "Add member to group", "activityDateTime": at,
        "loggedByService": "Core Directory", "operationType": "Assign", "initiatedBy": actor,
        "targetResources": [
            {"id": i, "displayName": None, "type": "User", "userPrincipalName": upn, "groupType": None,
             "modifiedProperties": [{"displayName": "Group.ObjectID", "oldValue": None, "newValue": json.dumps(group_id)},
                                    {"displayName": "Group.DisplayName", "oldValue": None, "newValue": json.dumps(group_name)}]},
            {"id": group_id, "displayName": group_name, "type": "Group", "userPrincipalName": None, "groupType": "azureAD", "modifiedProperties": []},
        ],
        "additionalDetails": [],
    }
page("group-changes.json", [
    group_add("2026-10-29T11:00:00Z", user_actor("gina"), "harry", "a1000000-0000-4000-8000-000000000001", "SG-Tier1-Readers"),
    group_add("2026-10-29T11:05:00Z", user_actor("gina"), "reader1", "a1000000-0000-4000-8000-000000000099", "SG-Sales"),
])

# role-management-permission-granted and sp-promotion-after-permission-grant: Carol grants
# deploy-automation Microsoft Graph's RoleManagement.ReadWrite.Directory (and a harmless
# User.Read.All to another app); 30 minutes later deploy-automation makes Ivan Privileged Role
# Administrator in the directory. The grant's properties as Core Directory logs them.
GRAPH_SP = "b2000000-0000-4000-8000-000000000001"
def app_role_grant(at, actor, sp_id, sp_name, app_id, role_id, role_value):
    corr = nid()
    props = [("AppRole.Id", role_id), ("AppRole.Value", role_value), ("AppRole.DisplayName", role_value),
             ("AppRoleAssignment.CreatedDateTime", at), ("AppRoleAssignment.LastModifiedDateTime", at),
             ("ServicePrincipal.ObjectID", sp_id), ("ServicePrincipal.DisplayName", sp_name),
             ("ServicePrincipal.AppId", app_id), ("ServicePrincipal.Name", app_id)]
    return {
        "id": f"Directory_{corr}_APPRA_{seq[0]}", "category": "ApplicationManagement", "correlationId": corr,
        "result": "success", "resultReason": "", "activityDisplayName": "Add app role assignment to service principal",
        "activityDateTime": at, "loggedByService": "Core Directory", "operationType": "Assign", "initiatedBy": actor,
        "targetResources": [{"id": GRAPH_SP, "displayName": "Microsoft Graph", "type": "ServicePrincipal", "userPrincipalName": None, "groupType": None,
                             "modifiedProperties": [{"displayName": n, "oldValue": None, "newValue": json.dumps(v)} for n, v in props]}],
        "additionalDetails": [{"key": "User-Agent", "value": "Mozilla/5.0"}],
    }
grant_records = [
    app_role_grant("2026-10-29T12:00:00Z", user_actor("carol"), SP, "deploy-automation", "f2000000-0000-4000-8000-000000000001",
                   "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", "RoleManagement.ReadWrite.Directory"),
    app_role_grant("2026-10-29T12:05:00Z", user_actor("carol"), "f1000000-0000-4000-8000-000000000009", "hr-sync", "f2000000-0000-4000-8000-000000000009",
                   "df021288-bdef-4463-88db-98f22de89214", "User.Read.All"),
]
page("app-permission-grants-only.json", grant_records)
sp_actor = {"user": None, "app": {"appId": "f2000000-0000-4000-8000-000000000001", "displayName": "deploy-automation", "servicePrincipalId": SP, "servicePrincipalName": None}}
page("app-permission-grants.json", grant_records + [
    core_directory_role("Add member to role", "2026-10-29T12:30:00Z", sp_actor, USERS["ivan"][0], "pra", target_upn=USERS["ivan"][1]),
])

# privileged-sign-in-failure-spike: eleven bad passwords for Alice in 40 minutes and a smart
# lockout; three for Bob.
def failed_sign_in(user, at, error, reason):
    record = sign_in(user, at, error, reason)
    record.update({"ipAddress": "198.51.100.66", "location": {"city": "Unknown", "countryOrRegion": "RU", "geoCoordinates": {}},
                   "authenticationDetails": [{"authenticationStepDateTime": at, "authenticationMethod": "Password", "authenticationMethodDetail": "Password in the cloud",
                                              "succeeded": False, "authenticationStepResultDetail": "Invalid username or password or Invalid on-premise username or password.",
                                              "authenticationStepRequirement": "Primary authentication"}]})
    return record
BAD = "Error validating credentials due to invalid username or password."
LOCKED = "Account is locked because user tried to sign in too many times with an incorrect user ID or password."
page("failed-sign-ins.json",
     [failed_sign_in("alice", stamp(epoch("2026-10-29T03:00:00Z") + n * 220), 50126, BAD) for n in range(11)]
     + [failed_sign_in("alice", "2026-10-29T03:45:00Z", 50053, LOCKED)]
     + [failed_sign_in("bob", stamp(epoch("2026-10-29T04:00:00Z") + n * 60), 50126, BAD) for n in range(3)],
     kind="signIns")

# custom-role-privileged-change: Gina adds application credentials to the Contoso App
# Credential Manager custom role (custom-role/definitions.json shows it after the change), and
# creates a read-only role. Core Directory logs the role definition with its permissions as
# JSON text in RolePermissions.
def role_definition_change(activity, at, actor, role_id, name, old, new):
    corr = nid()
    props = [{"displayName": "RolePermissions", "oldValue": json.dumps(json.dumps(old)) if old is not None else None,
              "newValue": json.dumps(json.dumps(new))},
             {"displayName": "Included Updated Properties", "oldValue": None, "newValue": "\"RolePermissions\""}]
    return {
        "id": f"Directory_{corr}_ROLDF_{seq[0]}", "category": "RoleManagement", "correlationId": corr,
        "result": "success", "resultReason": "", "activityDisplayName": activity, "activityDateTime": at,
        "loggedByService": "Core Directory", "operationType": "Update" if activity.startswith("Update") else "Add",
        "initiatedBy": actor,
        "targetResources": [{"id": role_id, "displayName": name, "type": "Other", "userPrincipalName": None, "groupType": None,
                             "modifiedProperties": props}],
        "additionalDetails": [],
    }
perms = lambda *actions: [{"AllowedResourceActions": list(actions), "Condition": None}]
page("custom-role-changes.json", [
    role_definition_change("Update role definition", "2026-10-29T13:00:00Z", user_actor("gina"),
                           "8f1b6a2c-4e3d-4a7b-b5c9-1d2e3f4a5b6c", "Contoso App Credential Manager",
                           perms("microsoft.directory/applications/basic/update"),
                           perms("microsoft.directory/applications/credentials/update", "microsoft.directory/applications/basic/update")),
    role_definition_change("Add role definition", "2026-10-29T13:10:00Z", user_actor("gina"),
                           "5d3e8c1a-7b2f-4c9e-9a41-3f6b2d8e1c07", "Contoso Mailbox Viewer", None,
                           perms("microsoft.directory/users/standard/read")),
])

# new-admin-removes-admins: Gina makes Ivan Global Administrator directly; the next day Ivan
# removes Alice's eligible Global Administrator through PIM and breakglass1's active one in
# the directory.
page("takeover.json", [
    core_directory_role("Add member to role", "2026-10-27T09:00:00Z", user_actor("gina"), USERS["ivan"][0], "ga", target_upn=USERS["ivan"][1]),
    pim("Remove eligible member from role in PIM requested (permanent)", "2026-10-28T01:00:00Z", user_actor("ivan"), "alice", "ga", rq(3400), None, "cleanup", "RemoveRequestEligibleRole"),
    pim("Remove eligible member from role in PIM completed (permanent)", "2026-10-28T01:00:02Z", user_actor("ivan"), "alice", "ga", rq(3400), None, "cleanup", "RemoveEligibleRole"),
    core_directory_role("Remove member from role", "2026-10-28T01:05:00Z", user_actor("ivan"), USERS["bg1"][0], "ga", target_upn=USERS["bg1"][1]),
])
