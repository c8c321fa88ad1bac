"""SaaS audit logs: Microsoft 365, Okta, GitHub. SigmaHQ uses the providers' native names.

Typed-column mappings are exact: the normalizer copies that very field into the column
(normalize/okta_system.py, github_audit.py, m365_audit.py). Everything else reads `raw`.
"""

from collections.abc import Callable

from lanner.detect.sigma.fields.spec import ANY, LogsourceBinding, SourceFields, json_path, sql_text

BINDINGS = (
    LogsourceBinding("m365", ANY, ANY, ("m365.audit",)),
    LogsourceBinding("okta", "okta", ANY, ("okta.system",)),
    LogsourceBinding("github", "audit", ANY, ("github.audit",)),
)


def _m365_named(array: str, value: str) -> Callable[[str], str]:
    """`<array>.<Name>` -> the `value` of the element of the M365 list `array` with that Name.

    The list is read under its native spelling or all lower case (Panther lower-cases
    top-level keys); the Name compares case-insensitively (cmdlet parameter names are).
    """

    def target(name: str) -> str:
        lists = [
            f"CAST(json_extract(raw, {sql_text(json_path(spelling) + '[*]')}) AS JSON[])"
            for spelling in (array, array.lower())
        ]
        wanted = sql_text(name.lower())
        return (
            f"sql:json_extract_string(list_filter(list_concat({lists[0]}, {lists[1]}), "
            f"p -> lower(json_extract_string(p, '$.Name')) = {wanted})[1], {sql_text('$.' + value)})"
        )

    return target


_M365 = {
    # Exact: operation = coalesce(Operation, operation), service = coalesce(Workload, workload),
    # uid = coalesce(Id, id) (normalize/m365_audit.py).
    "Operation": "column:operation",
    "Workload": "column:service",
    "Id": "column:uid",
    # SigmaHQ's m365 rules (Defender for Cloud Apps alerts, Exchange) use ECS-style names.
    "eventSource": "column:service",
    "eventName": "column:operation",
    "status": "sql:coalesce(json_extract_string(raw, '$.ResultStatus'), json_extract_string(raw, '$.resultstatus'))",
}

_OKTA = {
    # Exact: operation = coalesce(eventType, eventtype), the rest verbatim (normalize/okta_system.py).
    "eventType": "column:operation",
    "uuid": "column:uid",
    "actor.type": "column:actor_type",
    "client.ipAddress": "column:src_ip",
    "client.userAgent.rawUserAgent": "column:user_agent",
    # `target` is a list of objects.
    "target.displayName": "target.[*].displayName",
    "target.alternateId": "target.[*].alternateId",
    "target.type": "target.[*].type",
    "target.id": "target.[*].id",
}

_GITHUB = {
    # Exact: verbatim copies (normalize/github_audit.py).
    "action": "column:operation",
    "actor": "column:actor_id",
    "_document_id": "column:uid",
    "actor_ip": "column:src_ip",
    "user_agent": "column:user_agent",
}

FIELDS = (
    SourceFields(
        "m365.audit",
        _M365,
        computed=(
            ("Parameters.", _m365_named("Parameters", "Value")),
            ("ExtendedProperties.", _m365_named("ExtendedProperties", "Value")),
            ("ModifiedProperties.", _m365_named("ModifiedProperties", "NewValue")),
        ),
        fold_top_level=True,
    ),
    SourceFields("okta.system", _OKTA, fold_top_level=True),
    SourceFields("github.audit", _GITHUB),
)
