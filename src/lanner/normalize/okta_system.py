"""Okta System Log events (LogEvent objects from /api/v1/logs, event hooks, log streaming).

Some pipelines (and Panther's test fixtures) lower-case the top-level keys of a LogEvent
(`eventtype`, `displaymessage`, `debugcontext`, ...). Both spellings are read: the record is
parsed with the native structure, and a second, lower-case structure is parsed only for records
whose native `eventType` is absent. Lower-case spellings are never used as detection keys,
because DuckDB struct field names are case-insensitive and a presence struct holding both
`eventType` and `eventtype` would be invalid.
"""

from __future__ import annotations

import orjson

from lanner.model.event import CLASS_ACCOUNT_CHANGE, CLASS_API_ACTIVITY, CLASS_AUTHENTICATION
from lanner.normalize.spec import FormatMap, epoch_ms_of, guarded, has, has_any, lit

_S = "VARCHAR"

_CAMEL_KEYS = {
    "eventType": _S,
    "legacyEventType": _S,
    "displayMessage": _S,
    "authenticationContext": {"externalSessionId": _S},
}
_LOWER = {key.lower(): value for key, value in _CAMEL_KEYS.items()}

# Authentication events (OCSF Authentication) and user lifecycle / factor changes (Account Change).
_AUTH_PREFIXES = ("user.session.start", "user.authentication.", "user.session.access_admin_app")
_ACCOUNT_PREFIXES = ("user.account.", "user.lifecycle.", "user.mfa.factor.", "user.credential.")


def _starts_any(expr: str, prefixes: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"starts_with({expr}, {lit(p)})" for p in prefixes) + ")"


OKTA_SYSTEM = FormatMap(
    name="okta.system",
    detect=(
        # Native spelling: eventType plus any LogEvent-only key. CloudTrail records carry an
        # `eventType` too (AwsApiCall, ...) but none of these keys, and CloudTrail is tried first.
        f"({has('eventType')} AND {has_any('uuid', 'published', 'legacyEventType', 'displayMessage', 'severity')} "
        "AND NOT "
        f"{has_any('eventSource', 'eventName', 'userIdentity')})"
        " OR "
        # Lower-cased top-level keys: a LogEvent-shaped record whose `eventtype` is a dotted name.
        + guarded(
            f"{has_any('uuid', 'published', 'severity')} AND {has_any('actor', 'client', 'outcome', 'target', 'version')}",
            "contains(raw, '\"eventtype\"') AND regexp_full_match(json_extract_string(raw, '$.eventtype'), '[a-z0-9_]+(\\.[a-z0-9_]+)+')",
        )
    ),
    structure={
        "uuid": _S,
        "published": _S,
        **_CAMEL_KEYS,
        "severity": _S,
        "actor": {"id": _S, "type": _S, "alternateId": _S, "displayName": _S},
        "client": {"ipAddress": _S, "userAgent": {"rawUserAgent": _S}},
        "outcome": {"result": _S, "reason": _S},
        "target": [{"id": _S, "type": _S, "alternateId": _S, "displayName": _S}],
    },
    lets=(
        ("lc", f"CASE WHEN r IS NOT NULL AND r.eventType IS NULL THEN from_json(raw, {lit(orjson.dumps(_LOWER).decode())}) END"),
        ("event_type", "coalesce(r.eventType, lc.eventtype)"),
        ("result", "upper(r.outcome.result)"),
    ),
    columns={
        "uid": "r.uuid",
        "time": epoch_ms_of("r.published"),
        "source": "'okta.system'",
        "class_uid": (
            f"CASE WHEN {_starts_any('event_type', _AUTH_PREFIXES)} THEN {CLASS_AUTHENTICATION} "
            f"WHEN {_starts_any('event_type', _ACCOUNT_PREFIXES)} THEN {CLASS_ACCOUNT_CHANGE} "
            f"ELSE {CLASS_API_ACTIVITY} END"
        ),
        "cloud": "'okta'",
        # A LogEvent does not name the Okta org it came from; collectors know it, the record does not.
        "account": "NULL",
        # alternateId is the login (an email for users, the client id for apps); id is Okta's opaque id.
        "actor_id": "coalesce(r.actor.alternateId, r.actor.id)",
        "actor_name": "coalesce(nullif(r.actor.displayName, 'unknown'), r.actor.alternateId)",
        "actor_type": "r.actor.type",  # User, SystemPrincipal, PublicClientApp, ...
        "actor_session": (
            "nullif(coalesce(r.authenticationContext.externalSessionId, lc.authenticationcontext.externalSessionId), 'unknown')"
        ),
        "src_ip": "r.client.ipAddress",
        "user_agent": "r.client.userAgent.rawUserAgent",
        # The object family the event is about: user, app, group, policy, system, security, ...
        "service": "nullif(split_part(event_type, '.', 1), '')",
        "operation": "event_type",
        # ALLOW (policy evaluation) is a success; DENY is a failure; CHALLENGE, SKIPPED, UNKNOWN
        # and ABANDONED say nothing final about the action.
        "outcome": (
            "CASE WHEN result IN ('SUCCESS', 'ALLOW') THEN 'success' "
            "WHEN result IN ('FAILURE', 'DENY') THEN 'failure' ELSE 'unknown' END"
        ),
        "error": "CASE WHEN result IN ('FAILURE', 'DENY') THEN coalesce(r.outcome.reason, r.outcome.result) END",
        "resources": (
            "nullif(list_filter(list_transform(r.target, lambda t: coalesce(nullif(t.alternateId, 'unknown'), t.displayName, t.id)), "
            "lambda x: x IS NOT NULL AND x NOT IN ('', 'unknown')), [])"
        ),
    },
    required={"uid": "uuid", "time": "published"},
)
