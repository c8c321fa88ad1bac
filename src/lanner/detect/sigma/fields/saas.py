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


def _forwards_outside_owner_domain() -> str:
    """'true' when a forwarding/redirect address of the record leaves the mailbox owner's domain.

    Sigma cannot compare the domain parts of two fields, and "forwarding to outside" is what
    makes mailbox forwarding an exfiltration path. Internal means the destination's domain is
    the domain, or a sub-domain, of the acting user, the target mailbox (Identity) or Mailbox.
    NULL when the record names no forwarding address (e.g. ForwardingAddress, a recipient object).
    """
    param = _m365_named("Parameters", "Value")

    def p(name: str) -> str:
        return param(name).removeprefix("sql:")

    user = "coalesce(json_extract_string(raw, '$.UserId'), json_extract_string(raw, '$.userid'))"
    dests = (
        "list_distinct(list_transform(regexp_extract_all(lower(concat_ws(';', "
        f"{p('ForwardingSmtpAddress')}, {p('ForwardTo')}, {p('ForwardAsAttachmentTo')}, {p('RedirectTo')})), "
        "'@([a-z0-9.-]+[a-z0-9])'), x -> substr(x, 2)))"
    )
    owners = (
        "list_filter(["
        + ", ".join(f"nullif(lower(regexp_extract({e}, '@([A-Za-z0-9.-]+)$', 1)), '')" for e in (user, p("Identity"), p("Mailbox")))
        + "], o -> o IS NOT NULL)"
    )
    outside = (
        f"len(list_filter({dests}, d -> NOT coalesce(list_bool_or(list_transform({owners}, "
        "o -> d = o OR ends_with(d, '.' || o))), false))) > 0"
    )
    return f"sql:CASE WHEN len({dests}) = 0 THEN NULL ELSE CAST({outside} AS VARCHAR) END"


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
    # Lanner's own (not in Microsoft's schema): does forwarding leave the owner's domain?
    "ForwardsOutsideOwnerDomain": _forwards_outside_owner_domain(),
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
