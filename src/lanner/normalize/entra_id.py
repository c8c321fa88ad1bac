"""Microsoft Entra ID (Azure AD) logs exported by diagnostic settings (storage, Event Hub).

Two sources share the Azure Monitor record shape (`time`, `resourceId`, `operationName`,
`category`, `resultType`, `properties`) with the activity log (azure.activity):
- azure.signin: sign-in logs (category SignInLogs, NonInteractiveUserSignInLogs,
  ServicePrincipalSignInLogs, ManagedIdentitySignInLogs, ADFSSignInLogs; operationName
  "Sign-in activity");
- azure.audit: directory audit logs (AuditLogs), provisioning, and Identity Protection risk
  records (RiskyUsers, UserRiskEvents, RiskyServicePrincipals, ServicePrincipalRiskEvents).

What tells them from activity records: the category, or (for exports that moved the audit
category up, e.g. "Policy") the tenant-scoped `resourceId` "/tenants/<id>/providers/
Microsoft.aadiam" together with a plain-text operationName. Activity operationNames are
"<Provider>/<resource>/<action>" values, so a tenant-level activity record about aadiam
diagnostic settings stays azure.activity. These formats are tried before azure.activity.
"""

from __future__ import annotations

from lanner.model.event import CLASS_ACCOUNT_CHANGE, CLASS_API_ACTIVITY, CLASS_AUTHENTICATION
from lanner.normalize.spec import (
    FormatMap,
    epoch_ms_of,
    guarded,
    has,
    has_any,
    in_list,
    md5_uid,
    non_null_list,
)

SIGNIN_CATEGORIES = (
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "ADFSSignInLogs",
)
AUDIT_CATEGORIES = (
    "AuditLogs",
    "ProvisioningLogs",
    "RiskyUsers",
    "UserRiskEvents",
    "RiskyServicePrincipals",
    "ServicePrincipalRiskEvents",
)
# Entra audit categories of user, role and group management: OCSF Account Change.
_ACCOUNT_AUDIT_CATEGORIES = ("UserManagement", "RoleManagement", "GroupManagement")

_S = "VARCHAR"
_CATEGORY = "coalesce(json_extract_string(raw, '$.category'), '')"
_OPERATION = "coalesce(json_extract_string(raw, '$.operationName'), '')"
_TENANT_SCOPED = (
    "regexp_matches(coalesce(json_extract_string(raw, '$.resourceId'), ''), '(?i)^/tenants/[^/]+/providers/microsoft\\.aadiam')"
    f" AND NOT regexp_matches({_OPERATION}, '^[A-Za-z0-9]+\\.[A-Za-z0-9.]+/')"
)
_CHEAP = f"{has('operationName')} AND {has_any('category', 'resourceId')}"

_SIGNIN_TEST = (
    f"{_CATEGORY} IN {in_list(SIGNIN_CATEGORIES)} "
    f"OR ({_CATEGORY} NOT IN {in_list(AUDIT_CATEGORIES)} AND {_OPERATION} = 'Sign-in activity' "
    f"AND ({_CATEGORY} = '' OR {_TENANT_SCOPED}))"
)
# Intune's diagnostic export also uses category AuditLogs, with its own properties (AuditEventId,
# Actor.UPN, ...) and Microsoft.Intune resource ids: not Entra ID, left unrecognised.
_NOT_INTUNE = (
    "json_type(raw, '$.properties.AuditEventId') IS NULL "
    "AND NOT contains(lower(coalesce(json_extract_string(raw, '$.resourceId'), '')), '/microsoft.intune')"
)
_AUDIT_TEST = f"({_CATEGORY} IN {in_list(AUDIT_CATEGORIES)} OR ({_TENANT_SCOPED})) AND {_NOT_INTUNE}"

_ENVELOPE = {
    "time": _S,
    "resourceId": _S,
    "operationName": _S,
    "category": _S,
    "tenantId": _S,
    "resultType": _S,
    "resultSignature": _S,
    "resultDescription": _S,
    "callerIpAddress": _S,
    "correlationId": _S,
}


def _tenant() -> str:
    return (
        "lower(coalesce(r.tenantId, r.properties.tenantId, "
        "nullif(regexp_extract(r.resourceId, '(?i)^/tenants/([^/]+)', 1), '')))"
    )


ENTRA_SIGNIN = FormatMap(
    name="azure.signin",
    detect=guarded(_CHEAP, _SIGNIN_TEST),
    structure={
        **_ENVELOPE,
        "properties": {
            "id": _S,
            "createdDateTime": _S,
            "tenantId": _S,
            "userPrincipalName": _S,
            "userDisplayName": _S,
            "userId": _S,
            "servicePrincipalId": _S,
            "servicePrincipalName": _S,
            "appId": _S,
            "appDisplayName": _S,
            "resourceDisplayName": _S,
            "ipAddress": _S,
            "userAgent": _S,
            "sessionId": _S,
            "status": {"errorCode": _S, "failureReason": _S},
        },
    },
    lets=(
        ("code", "coalesce(r.properties.status.errorCode, r.resultType)"),
        ("ok", "code IN ('0', 'Success', 'success', 'SUCCESS')"),
    ),
    columns={
        # Real exports carry the sign-in id; trimmed copies fall back to a hash of the record
        # (as azure.activity does), so re-ingesting the same text gives the same uid.
        "uid": f"coalesce(r.properties.id, {md5_uid('raw')})",
        "time": epoch_ms_of("coalesce(r.time, r.properties.createdDateTime)"),
        "source": "'azure.signin'",
        "class_uid": str(CLASS_AUTHENTICATION),
        "cloud": "'azure'",
        "account": _tenant(),
        "actor_id": "coalesce(r.properties.userPrincipalName, r.properties.servicePrincipalId, r.properties.appId, r.properties.userId)",
        "actor_name": (
            "coalesce(r.properties.userDisplayName, r.properties.userPrincipalName, "
            "r.properties.servicePrincipalName, r.properties.appDisplayName)"
        ),
        "actor_type": (
            "CASE r.category WHEN 'ServicePrincipalSignInLogs' THEN 'ServicePrincipal' "
            "WHEN 'ManagedIdentitySignInLogs' THEN 'ManagedIdentity' ELSE 'User' END"
        ),
        "actor_session": "nullif(r.properties.sessionId, '')",
        "src_ip": "coalesce(r.properties.ipAddress, r.callerIpAddress)",
        "user_agent": "r.properties.userAgent",
        # The resource the token is for (Microsoft Graph, Azure Resource Manager, ...).
        "service": "coalesce(r.properties.resourceDisplayName, r.properties.appDisplayName)",
        "operation": "r.operationName",
        "outcome": "CASE WHEN ok THEN 'success' WHEN code IS NULL THEN 'unknown' ELSE 'failure' END",
        "error": (
            "CASE WHEN NOT ok THEN nullif(concat_ws(': ', code, "
            "coalesce(r.properties.status.failureReason, r.resultDescription)), '') END"
        ),
        # The client application signed in to.
        "resources": non_null_list("coalesce(r.properties.appDisplayName, r.properties.appId)"),
    },
    required={"uid": "properties.id", "time": "time"},
)

ENTRA_AUDIT = FormatMap(
    name="azure.audit",
    detect=guarded(_CHEAP, _AUDIT_TEST),
    structure={
        **_ENVELOPE,
        "result": _S,
        "properties": {
            "id": _S,
            "activityDateTime": _S,
            "detectedDateTime": _S,
            "tenantId": _S,
            "category": _S,
            "result": _S,
            "resultReason": _S,
            "loggedByService": _S,
            "userAgent": _S,
            "userPrincipalName": _S,
            "ipAddress": _S,
            "initiatedBy": {
                "user": {"id": _S, "displayName": _S, "userPrincipalName": _S, "ipAddress": _S},
                "app": {"appId": _S, "displayName": _S, "servicePrincipalId": _S, "servicePrincipalName": _S},
            },
            "targetResources": [{"id": _S, "displayName": _S, "userPrincipalName": _S, "type": _S}],
            "additionalDetails": [{"key": _S, "value": _S}],
        },
    },
    lets=(
        ("who", "r.properties.initiatedBy"),
        # Some exports move the result up beside the envelope fields.
        ("result", "lower(coalesce(r.properties.result, r.result, r.resultType, r.resultSignature))"),
    ),
    columns={
        "uid": f"coalesce(r.properties.id, {md5_uid('raw')})",
        "time": epoch_ms_of("coalesce(r.time, r.properties.activityDateTime, r.properties.detectedDateTime)"),
        "source": "'azure.audit'",
        "class_uid": (
            f"CASE WHEN r.properties.category IN {in_list(_ACCOUNT_AUDIT_CATEGORIES)} THEN {CLASS_ACCOUNT_CHANGE} "
            f"ELSE {CLASS_API_ACTIVITY} END"
        ),
        "cloud": "'azure'",
        "account": _tenant(),
        # Risk records name the user at risk in properties.userPrincipalName, with no initiator.
        "actor_id": (
            "coalesce(who.user.userPrincipalName, who.app.servicePrincipalId, who.app.appId, who.user.id, "
            "r.properties.userPrincipalName)"
        ),
        "actor_name": (
            "coalesce(who.user.displayName, who.user.userPrincipalName, who.app.displayName, "
            "who.app.servicePrincipalName, r.properties.userPrincipalName)"
        ),
        "actor_type": (
            "CASE WHEN coalesce(who.user.userPrincipalName, who.user.id) IS NOT NULL THEN 'User' "
            "WHEN coalesce(who.app.appId, who.app.servicePrincipalId, who.app.displayName) IS NOT NULL THEN 'ServicePrincipal' END"
        ),
        "src_ip": "coalesce(who.user.ipAddress, r.properties.ipAddress, nullif(r.callerIpAddress, ''))",
        "user_agent": (
            "coalesce(r.properties.userAgent, "
            "list_filter(r.properties.additionalDetails, lambda d: lower(d.key) = 'user-agent')[1].value)"
        ),
        # Core Directory, Conditional Access, PIM, Self-service Password Management, ...
        "service": "r.properties.loggedByService",
        "operation": "r.operationName",
        "outcome": (
            "CASE WHEN result IN ('success', '0') THEN 'success' "
            "WHEN result IN ('failure', 'failed', 'timeout') THEN 'failure' ELSE 'unknown' END"
        ),
        "error": (
            "CASE WHEN result IN ('failure', 'failed', 'timeout') THEN "
            "coalesce(nullif(r.properties.resultReason, ''), r.properties.result) END"
        ),
        "resources": (
            "nullif(list_filter(list_transform(r.properties.targetResources, "
            "lambda t: coalesce(t.userPrincipalName, t.displayName, t.id)), lambda x: x IS NOT NULL AND x <> ''), [])"
        ),
    },
    required={"uid": "properties.id", "time": "time"},
)
