"""Google Workspace activity records (Admin SDK Reports API `activities.list`, `admin#reports#activity`).

Two shapes are accepted:
- the API's own: `id{time,uniqueQualifier,applicationName,customerId}`, `actor`, `ipAddress` and
  `events[{type,name,parameters[{name,value|boolValue|intValue|multiValue...}]}]`;
- the flattened one-event form some pipelines write (Panther among them): the event's `type`,
  `name` and `parameters` (an object name -> value) at the top level beside `id` and `actor`.

One API record may hold several events; `operation` is the first event's name, and the Sigma
field `eventName` (detect/sigma/fields/gcp.py) tests every event's name.
"""

from __future__ import annotations

from lanner.model.event import CLASS_ACCOUNT_CHANGE, CLASS_API_ACTIVITY, CLASS_AUTHENTICATION
from lanner.normalize.spec import FormatMap, epoch_ms_of, guarded, has_any, lit, non_null_list

_S = "VARCHAR"

LOGIN_APPLICATIONS = ("login", "saml")
ACCOUNT_APPLICATIONS = ("user_accounts",)


def param(name: str) -> str:
    """SQL: the text value of the named parameter in the first event that has it (either shape)."""
    key = lit(name)
    flat = f"json_extract_string(r.parameters, {lit('$.' + _json_key(name))})"
    listed = (
        f"list_filter(flatten(list_transform(coalesce(r.events, []), lambda e: coalesce(e.parameters, []))), "
        f"lambda p: p.name = {key})[1]"
    )
    return f"coalesce({flat}, {listed}.value, {listed}.intValue, {listed}.boolValue)"


def _json_key(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


GWORKSPACE_AUDIT = FormatMap(
    name="gworkspace.audit",
    # `kind` is decisive; trimmed records are recognised by an `id` object naming the application.
    # (`id` itself is not a detection key: Microsoft 365 records have `Id`, and DuckDB struct
    # names are case-insensitive, so the two cannot share a presence struct.)
    detect=guarded(
        has_any("kind", "actor", "events", "ipAddress", "name", "type"),
        "(json_extract_string(raw, '$.kind') = 'admin#reports#activity' "
        "OR (json_extract_string(raw, '$.kind') IS NULL AND json_type(raw, '$.id.applicationName') = 'VARCHAR')) "
        "AND coalesce(json_type(raw, '$.actor'), 'OBJECT') = 'OBJECT'",
    ),
    structure={
        "kind": _S,
        "id": {"time": _S, "uniqueQualifier": _S, "applicationName": _S, "customerId": _S},
        "actor": {"email": _S, "profileId": _S, "callerType": _S, "key": _S},
        "ownerDomain": _S,
        "ipAddress": _S,
        "name": _S,
        "type": _S,
        "parameters": "JSON",
        "events": [
            {
                "type": _S,
                "name": _S,
                "parameters": [{"name": _S, "value": _S, "intValue": _S, "boolValue": _S}],
            }
        ],
    },
    lets=(
        ("event_name", "coalesce(r.events[1].name, r.name)"),
        ("app", "r.id.applicationName"),
    ),
    columns={
        # uniqueQualifier tells apart activities at the same time; a flattened record is one
        # event of an activity, so its name joins the id.
        "uid": (
            "CASE WHEN r.id.uniqueQualifier IS NOT NULL THEN "
            "concat_ws('/', app, r.id.time, r.id.uniqueQualifier, CASE WHEN r.events IS NULL THEN r.name END) END"
        ),
        "time": epoch_ms_of("r.id.time"),
        "source": "'gworkspace.audit'",
        "class_uid": (
            f"CASE WHEN app IN ('login', 'saml') THEN {CLASS_AUTHENTICATION} "
            f"WHEN app = 'user_accounts' OR event_name IN ('CREATE_USER', 'DELETE_USER', 'SUSPEND_USER', "
            f"'UNSUSPEND_USER', 'CHANGE_PASSWORD', 'ASSIGN_ROLE', 'UNASSIGN_ROLE', 'GRANT_ADMIN_PRIVILEGE', "
            f"'REVOKE_ADMIN_PRIVILEGE') THEN {CLASS_ACCOUNT_CHANGE} ELSE {CLASS_API_ACTIVITY} END"
        ),
        "cloud": "'gworkspace'",
        "account": "r.id.customerId",
        # callerType KEY: an OAuth client or API key acting without a user (actor.key names it).
        "actor_id": "coalesce(r.actor.email, r.actor.profileId, r.actor.key)",
        "actor_name": "coalesce(nullif(split_part(r.actor.email, '@', 1), ''), r.actor.key, r.actor.profileId)",
        "actor_type": (
            "CASE WHEN r.actor.callerType IS NOT NULL THEN r.actor.callerType "
            "WHEN r.actor.email IS NOT NULL THEN 'USER' END"
        ),
        "src_ip": "r.ipAddress",
        "service": "app",
        "operation": "event_name",
        # Activity records report what happened; only login failures are failed attempts.
        "outcome": "CASE WHEN event_name = 'login_failure' THEN 'failure' ELSE 'success' END",
        "error": f"CASE WHEN event_name = 'login_failure' THEN coalesce({param('login_failure_type')}, event_name) END",
        "resources": non_null_list(
            param("USER_EMAIL"), param("GROUP_EMAIL"), param("doc_title"), param("affected_email_address"),
            param("APPLICATION_NAME"), param("DOMAIN_NAME"), param("ROLE_NAME"),
        ),
    },
    required={"uid": "id.uniqueQualifier", "time": "id.time"},
)
