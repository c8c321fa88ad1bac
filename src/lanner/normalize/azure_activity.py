"""Azure Monitor activity log records, as exported by diagnostic settings (storage, Event Hub)."""

from __future__ import annotations

from lanner.model.event import CLASS_API_ACTIVITY
from lanner.normalize.entra_id import AUDIT_CATEGORIES, SIGNIN_CATEGORIES
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

# Entra ID (sign-in and directory audit) exports share the record shape but are other sources
# (azure.signin, azure.audit); they stay unrecognised here rather than being mislabelled.
ENTRA_CATEGORIES = SIGNIN_CATEGORIES + AUDIT_CATEGORIES

_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
_NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
_OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
_S = "VARCHAR"
_CLAIMS = "r.identity.claims"
_CLAIM = "r.identity.claim"

AZURE_ACTIVITY = FormatMap(
    name="azure.activity",
    detect=guarded(
        f"{has('operationName')} AND {has_any('resourceId', 'category')}",
        f"coalesce(json_extract_string(raw, '$.category'), '') NOT IN {in_list(ENTRA_CATEGORIES)}",
    ),
    structure={
        "time": _S,
        "resourceId": _S,
        "operationName": _S,
        "category": _S,
        "resultType": _S,
        "resultSignature": _S,
        "callerIpAddress": _S,
        "correlationId": _S,
        "eventDataId": _S,
        "caller": _S,
        "location": _S,
        # Activity records name the caller in `claims`; Key Vault AuditEvent resource logs in
        # `claim` (singular) and Storage resource logs in `requester`.
        "identity": {
            "claims": {_UPN: _S, _NAME: _S, _OID: _S, "appid": _S, "idtyp": _S},
            "claim": {_UPN: _S, _OID: _S, "appid": _S},
            "requester": {"upn": _S, "objectId": _S, "appId": _S},
        },
        "properties": {"eventDataId": _S, "statusCode": _S, "caller": _S},
    },
    columns={
        # Activity-log exports usually lack eventDataId; correlationId alone is shared by the
        # Start/Accept/Success records of one operation, so fall back to a hash of the record.
        "uid": (
            "CASE WHEN coalesce(r.eventDataId, r.properties.eventDataId) IS NOT NULL THEN "
            "concat_ws(':', r.correlationId, coalesce(r.eventDataId, r.properties.eventDataId)) "
            f"ELSE {md5_uid('raw')} END"
        ),
        "time": epoch_ms_of("r.time"),
        "source": "'azure.activity'",
        "class_uid": str(CLASS_API_ACTIVITY),
        "cloud": "'azure'",
        # Azure ids are case-insensitive and exports mix cases; lower-case the subscription id.
        "account": "nullif(lower(regexp_extract(r.resourceId, '(?i)/subscriptions/([^/]+)', 1)), '')",
        "region": "r.location",
        "actor_id": (
            f'coalesce({_CLAIMS}."{_UPN}", r.caller, r.properties.caller, {_CLAIMS}.appid, {_CLAIMS}."{_OID}", '
            f'{_CLAIM}."{_UPN}", r.identity.requester.upn, {_CLAIM}.appid, r.identity.requester.appId, '
            f'{_CLAIM}."{_OID}", r.identity.requester.objectId)'
        ),
        "actor_name": (
            f'coalesce({_CLAIMS}."{_NAME}", {_CLAIMS}."{_UPN}", r.caller, r.properties.caller, {_CLAIMS}.appid, '
            f'{_CLAIM}."{_UPN}", r.identity.requester.upn, {_CLAIM}.appid, r.identity.requester.appId)'
        ),
        "actor_type": (
            f"CASE WHEN {_CLAIMS}.idtyp = 'app' OR ({_CLAIMS}.\"{_UPN}\" IS NULL AND {_CLAIMS}.appid IS NOT NULL) "
            f"THEN 'ServicePrincipal' WHEN coalesce({_CLAIMS}.\"{_UPN}\", r.caller, r.properties.caller) IS NOT NULL "
            "THEN 'User' END"
        ),
        # Storage resource logs write "ip:port"; keep the address only (IPv6 has no such suffix).
        "src_ip": r"regexp_replace(r.callerIpAddress, '^(\d+\.\d+\.\d+\.\d+):\d+$', '\1')",
        # The resource provider, e.g. "Microsoft.Compute" from "Microsoft.Compute/virtualMachines/write".
        "service": "nullif(split_part(r.operationName, '/', 1), '')",
        "operation": "r.operationName",
        "outcome": (
            "CASE WHEN lower(r.resultType) IN ('failure', 'failed') THEN 'failure' "
            "WHEN lower(r.resultType) IN ('success', 'succeeded') THEN 'success' ELSE 'unknown' END"
        ),
        "error": (
            "CASE WHEN lower(r.resultType) IN ('failure', 'failed') THEN "
            "coalesce(r.properties.statusCode, r.resultSignature, r.resultType) END"
        ),
        "resources": non_null_list("r.resourceId"),
    },
    required={"uid": "eventDataId", "time": "time"},
)
