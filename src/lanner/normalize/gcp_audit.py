"""Google Cloud audit logs: LogEntry records whose protoPayload is an AuditLog."""

from __future__ import annotations

from lanner.model.event import CLASS_ACCOUNT_CHANGE, CLASS_API_ACTIVITY
from lanner.normalize.spec import FormatMap, epoch_ms_of, guarded, has, in_list, non_null_list

AUDIT_LOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"

# Service-account and key lifecycle: OCSF Account Change.
ACCOUNT_CHANGE_METHODS = (
    "google.iam.admin.v1.CreateServiceAccount",
    "google.iam.admin.v1.DeleteServiceAccount",
    "google.iam.admin.v1.DisableServiceAccount",
    "google.iam.admin.v1.EnableServiceAccount",
    "google.iam.admin.v1.CreateServiceAccountKey",
    "google.iam.admin.v1.DeleteServiceAccountKey",
    "google.iam.admin.v1.UploadServiceAccountKey",
)

_S = "VARCHAR"

GCP_AUDIT = FormatMap(
    name="gcp.audit",
    # Entries exported without @type (some pipelines drop it) still carry an AuditLog shape.
    detect=guarded(
        has("protoPayload"),
        f"coalesce(json_extract_string(raw, '$.protoPayload.\"@type\"'), '{AUDIT_LOG_TYPE}') = '{AUDIT_LOG_TYPE}'",
    ),
    structure={
        "insertId": _S,
        "timestamp": _S,
        "logName": _S,
        "resource": {"type": _S, "labels": {"project_id": _S, "location": _S, "zone": _S, "region": _S}},
        "protoPayload": {
            "serviceName": _S,
            "methodName": _S,
            "resourceName": _S,
            "status": {"code": _S, "message": _S},
            "authenticationInfo": {
                "principalEmail": _S,
                "principalSubject": _S,
                "serviceAccountKeyName": _S,
                "serviceAccountDelegationInfo": [
                    {"firstPartyPrincipal": {"principalEmail": _S}, "principalSubject": _S}
                ],
            },
            "requestMetadata": {"callerIp": _S, "callerSuppliedUserAgent": _S},
        },
    },
    columns={
        "uid": "r.insertId",
        "time": epoch_ms_of("r.timestamp"),
        "source": "'gcp.audit'",
        "class_uid": (
            f"CASE WHEN r.protoPayload.methodName IN {in_list(ACCOUNT_CHANGE_METHODS)} "
            f"THEN {CLASS_ACCOUNT_CHANGE} ELSE {CLASS_API_ACTIVITY} END"
        ),
        "cloud": "'gcp'",
        # Project id; org/folder-level entries keep their parent ("organizations/123").
        "account": (
            "coalesce(r.resource.labels.project_id, "
            "nullif(regexp_extract(r.logName, '^projects/([^/]+)/', 1), ''), "
            "nullif(regexp_extract(r.logName, '^((?:organizations|folders|billingAccounts)/[^/]+)/', 1), ''))"
        ),
        "region": "coalesce(r.resource.labels.location, r.resource.labels.region, r.resource.labels.zone)",
        "actor_id": "coalesce(r.protoPayload.authenticationInfo.principalEmail, r.protoPayload.authenticationInfo.principalSubject)",
        "actor_name": "split_part(r.protoPayload.authenticationInfo.principalEmail, '@', 1)",
        "actor_type": (
            "CASE WHEN r.protoPayload.authenticationInfo.principalEmail LIKE '%gserviceaccount.com' THEN 'ServiceAccount' "
            "WHEN r.protoPayload.authenticationInfo.principalEmail IS NOT NULL THEN 'User' END"
        ),
        "actor_session": "r.protoPayload.authenticationInfo.serviceAccountKeyName",
        # Impersonation: the first principal in the delegation chain is the real caller.
        "actor_original": (
            "coalesce(r.protoPayload.authenticationInfo.serviceAccountDelegationInfo[1].firstPartyPrincipal.principalEmail, "
            "r.protoPayload.authenticationInfo.serviceAccountDelegationInfo[1].principalSubject)"
        ),
        "src_ip": "r.protoPayload.requestMetadata.callerIp",
        "user_agent": "r.protoPayload.requestMetadata.callerSuppliedUserAgent",
        "service": "r.protoPayload.serviceName",
        "operation": "r.protoPayload.methodName",
        "outcome": "CASE WHEN coalesce(try_cast(r.protoPayload.status.code AS BIGINT), 0) = 0 THEN 'success' ELSE 'failure' END",
        "error": (
            "CASE WHEN coalesce(try_cast(r.protoPayload.status.code AS BIGINT), 0) <> 0 THEN "
            "nullif(concat_ws(': ', r.protoPayload.status.code, r.protoPayload.status.message), '') END"
        ),
        "resources": non_null_list("r.protoPayload.resourceName"),
    },
    required={"uid": "insertId", "time": "timestamp"},
)
