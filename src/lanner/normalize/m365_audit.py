"""Microsoft 365 unified audit log records (Office 365 Management Activity API content blobs).

Common schema: Id, RecordType, CreationTime (UTC, no offset), Operation, OrganizationId,
UserType, UserId, Workload, ResultStatus, ObjectId, ClientIP, plus per-workload fields
(Exchange `Parameters[{Name,Value}]`, Entra ID `ModifiedProperties`, `ExtendedProperties`,
`LogonError`, `ActorIpAddress`, SharePoint `UserAgent`, mailbox audit `ClientIPAddress`...).

Some pipelines (Panther among them) lower-case the top-level keys (`operation`, `creationtime`,
`parameters`...; list elements keep `Name`/`Value`). Both spellings are read: the lower-case
structure is parsed only for records without the native `Id` and `CreationTime`, and lower-case
spellings are never detection keys (DuckDB struct names are case-insensitive, so `Id` and `id`
cannot share a presence struct).
"""

from __future__ import annotations

import orjson

from lanner.model.event import CLASS_ACCOUNT_CHANGE, CLASS_API_ACTIVITY, CLASS_AUTHENTICATION
from lanner.normalize.spec import FormatMap, epoch_ms_of, guarded, has, has_any, in_list, lit, non_null_list

_S = "VARCHAR"

_FIELDS = {
    "Id": _S,
    "CreationTime": _S,
    "Operation": _S,
    "Workload": _S,
    "RecordType": _S,
    "OrganizationId": _S,
    "UserId": _S,
    "UserType": _S,
    "UserKey": _S,
    "ResultStatus": _S,
    "LogonError": _S,
    "ObjectId": _S,
    "ClientIP": _S,
    "ClientIPAddress": _S,
    "ActorIpAddress": _S,
    "UserAgent": _S,
    "ClientInfoString": _S,
    "SessionId": _S,
    "AppAccessContext": {"AADSessionId": _S},
    "ExtendedProperties": [{"Name": _S, "Value": _S}],
}
_LOWER = {key.lower(): value for key, value in _FIELDS.items()}

# UserType enumeration of the Management Activity API common schema.
_USER_TYPES = {
    "0": "Regular",
    "1": "Reserved",
    "2": "Admin",
    "3": "DcAdmin",
    "4": "System",
    "5": "Application",
    "6": "ServicePrincipal",
    "7": "CustomPolicy",
    "8": "SystemPolicy",
}
LOGIN_OPERATIONS = ("UserLoggedIn", "UserLoginFailed")
ACCOUNT_CHANGE_OPERATIONS = (
    "Add user.",
    "Update user.",
    "Delete user.",
    "Disable account.",
    "Enable account.",
    "Reset user password.",
    "Change user password.",
    "Set force change user password.",
    "Add member to role.",
    "Remove member from role.",
    "Add member to group.",
    "Remove member from group.",
)
_SUCCESS = ("success", "succeeded", "true", "partiallysucceeded")
_FAILURE = ("failed", "failure", "false")


def _field(name: str) -> str:
    """SQL: a common-schema field under either spelling."""
    return f"coalesce(r.{name}, lc.{name.lower()})"


def _ip(text: str) -> str:
    """The address of an `ip`, `ip:port` or `[ipv6]:port` text (ClientIP often carries a port)."""
    return (
        f"CASE WHEN regexp_matches({text}, '^\\[.*\\]:[0-9]+$') THEN regexp_extract({text}, '^\\[(.*)\\]', 1) "
        f"WHEN regexp_matches({text}, '^[0-9.]+:[0-9]+$') THEN split_part({text}, ':', 1) ELSE nullif({text}, '') END"
    )


M365_AUDIT = FormatMap(
    name="m365.audit",
    detect=(
        f"({has('Operation')} AND {has_any('Workload', 'RecordType', 'CreationTime', 'OrganizationId')})"
        " OR "
        + guarded(
            "contains(raw, '\"operation\"') AND (contains(raw, '\"creationtime\"') OR contains(raw, '\"workload\"') "
            "OR contains(raw, '\"recordtype\"'))",
            "json_type(raw, '$.operation') = 'VARCHAR' AND (json_type(raw, '$.creationtime') = 'VARCHAR' "
            "OR json_type(raw, '$.workload') = 'VARCHAR' OR json_type(raw, '$.recordtype') IN ('UBIGINT', 'BIGINT'))",
        )
    ),
    structure=_FIELDS,
    lets=(
        ("lc", f"CASE WHEN r IS NOT NULL AND r.Id IS NULL AND r.CreationTime IS NULL THEN from_json(raw, {lit(orjson.dumps(_LOWER).decode())}) END"),
        ("operation_", _field("Operation")),
        ("user_id", _field("UserId")),
        ("status", f"lower({_field('ResultStatus')})"),
        ("logon_error", f"nullif({_field('LogonError')}, '')"),
        (
            "failed",
            f"(operation_ = 'UserLoginFailed' OR logon_error IS NOT NULL OR status IN {in_list(_FAILURE)})",
        ),
        (
            "ext_user_agent",
            "list_filter(coalesce(r.ExtendedProperties, lc.extendedproperties), lambda p: p.Name = 'UserAgent')[1].Value",
        ),
    ),
    columns={
        "uid": _field("Id"),
        "time": epoch_ms_of(_field("CreationTime")),
        "source": "'m365.audit'",
        "class_uid": (
            f"CASE WHEN operation_ IN {in_list(LOGIN_OPERATIONS)} THEN {CLASS_AUTHENTICATION} "
            f"WHEN operation_ IN {in_list(ACCOUNT_CHANGE_OPERATIONS)} THEN {CLASS_ACCOUNT_CHANGE} "
            f"ELSE {CLASS_API_ACTIVITY} END"
        ),
        "cloud": "'m365'",
        "account": _field("OrganizationId"),  # the tenant id
        "actor_id": "user_id",
        "actor_name": "CASE WHEN user_id LIKE '%@%' THEN split_part(user_id, '@', 1) ELSE user_id END",
        "actor_type": (
            "CASE " + " ".join(f"WHEN {_field('UserType')} = {lit(k)} THEN {lit(v)}" for k, v in _USER_TYPES.items())
            + f" ELSE {_field('UserType')} END"
        ),
        "actor_session": f"coalesce(r.AppAccessContext.AADSessionId, lc.appaccesscontext.AADSessionId, {_field('SessionId')})",
        "src_ip": _ip(f"coalesce({_field('ClientIP')}, {_field('ClientIPAddress')}, {_field('ActorIpAddress')})"),
        "user_agent": f"coalesce({_field('UserAgent')}, ext_user_agent, {_field('ClientInfoString')})",
        "service": _field("Workload"),
        "operation": "operation_",
        # Entra ID sign-in records (UserLoginFailed) may say ResultStatus Success: the log write
        # succeeded; LogonError carries the failure.
        "outcome": (
            f"CASE WHEN failed THEN 'failure' WHEN status IN {in_list(_SUCCESS)} THEN 'success' ELSE 'unknown' END"
        ),
        "error": f"CASE WHEN failed THEN coalesce(logon_error, {_field('ResultStatus')}, operation_) END",
        "resources": non_null_list(_field("ObjectId")),
    },
    required={"uid": "Id", "time": "CreationTime"},
)
