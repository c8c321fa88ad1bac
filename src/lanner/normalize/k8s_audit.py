"""Kubernetes API server audit events (audit.k8s.io/v1 Event), including EKS and AKS shapes."""

from __future__ import annotations

from lanner.model.event import CLASS_API_ACTIVITY
from lanner.normalize.spec import FormatMap, epoch_ms_of, guarded, has, has_any, lit, non_null_list

_S = "VARCHAR"
_REF = "r.objectRef"

K8S_AUDIT = FormatMap(
    name="k8s.audit",
    # The apiVersion is decisive when present; trimmed events (EKS samples, EventList items)
    # are recognised by the verb plus a request field.
    detect=(
        guarded(has("apiVersion"), "json_extract_string(raw, '$.apiVersion') LIKE 'audit.k8s.io/%'")
        + " OR "
        + guarded(
            f"{has('verb')} AND {has_any('auditID', 'objectRef', 'requestURI', 'sourceIPs')}",
            "coalesce(json_extract_string(raw, '$.kind'), 'Event') = 'Event'",
        )
    ),
    structure={
        "auditID": _S,
        "stage": _S,
        "stageTimestamp": _S,
        "requestReceivedTimestamp": _S,
        "requestURI": _S,
        "verb": _S,
        "user": {
            "username": _S,
            "extra": {"authentication.kubernetes.io/credential-id": [_S], "accessKeyId": [_S], "sessionName": [_S]},
        },
        "impersonatedUser": {"username": _S},
        "sourceIPs": [_S],
        "userAgent": _S,
        "objectRef": {"resource": _S, "subresource": _S, "namespace": _S, "name": _S},
        "responseStatus": {"code": _S, "reason": _S, "message": _S},
        "annotations": {"cluster": _S},
    },
    columns={
        "uid": "r.auditID",
        "time": epoch_ms_of("coalesce(r.stageTimestamp, r.requestReceivedTimestamp)"),
        "source": "'k8s.audit'",
        "class_uid": str(CLASS_API_ACTIVITY),
        "cloud": "'k8s'",
        # The cluster name is not part of the audit event; collectors may add it as an annotation.
        "account": "r.annotations.cluster",
        "actor_id": "r.user.username",
        # EKS maps IAM principals to usernames; the STS session name is the human behind it.
        "actor_name": (
            "CASE WHEN r.user.username LIKE 'system:serviceaccount:%' "
            "THEN regexp_extract(r.user.username, '[^:]+$') "
            "ELSE coalesce(r.user.extra.sessionName[1], r.user.username) END"
        ),
        "actor_type": (
            "CASE WHEN r.user.username LIKE 'system:serviceaccount:%' THEN 'ServiceAccount' "
            "WHEN r.user.username LIKE 'system:node:%' THEN 'Node' "
            "WHEN r.user.username = 'system:anonymous' THEN 'Anonymous' "
            "WHEN r.user.username LIKE 'system:%' THEN 'System' "
            "WHEN r.user.username IS NOT NULL THEN 'User' END"
        ),
        "actor_session": (
            "coalesce(r.user.extra.\"authentication.kubernetes.io/credential-id\"[1], r.user.extra.accessKeyId[1])"
        ),
        "actor_original": "r.impersonatedUser.username",
        "src_ip": "r.sourceIPs[1]",
        "user_agent": "r.userAgent",
        "service": f"CASE WHEN {_REF}.subresource IS NOT NULL THEN {_REF}.resource || '/' || {_REF}.subresource ELSE {_REF}.resource END",
        "operation": "r.verb",
        "outcome": (
            "CASE WHEN try_cast(r.responseStatus.code AS INTEGER) < 400 THEN 'success' "
            "WHEN try_cast(r.responseStatus.code AS INTEGER) >= 400 THEN 'failure' ELSE 'unknown' END"
        ),
        "error": (
            "CASE WHEN try_cast(r.responseStatus.code AS INTEGER) >= 400 THEN "
            "nullif(concat_ws(': ', r.responseStatus.code, coalesce(r.responseStatus.reason, r.responseStatus.message)), '') END"
        ),
        "namespace": f"{_REF}.namespace",
        "pod": f"CASE WHEN {_REF}.resource = 'pods' THEN {_REF}.name END",
        "resources": (
            f"CASE WHEN {_REF}.resource IS NOT NULL THEN "
            f"{non_null_list(f'concat_ws(chr(47), {_REF}.namespace, {_REF}.resource, {_REF}.name)')} "
            f"ELSE {non_null_list('r.requestURI')} END"
        ),
    },
    required={"uid": "auditID", "time": "stageTimestamp"},
    # Each request is logged once per stage under the same auditID; keeping only the final
    # stage avoids double counting. RequestReceived always precedes a ResponseComplete (or
    # Panic); ResponseStarted (watch, exec, port-forward) is followed by ResponseComplete.
    skip=(
        ("r.stage IN ('RequestReceived', 'ResponseStarted')",
         "'skipped: audit stage ' || r.stage || "
         + lit(" is not final (the same auditID is logged again at ResponseComplete)")),
    ),
)
