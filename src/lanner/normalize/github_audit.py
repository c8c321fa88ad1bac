"""GitHub organization / enterprise audit log entries (REST API, audit log streaming, exports).

Entries are flat: `action` ("repo.create", "org.update_member", ...), `actor` (a login), `org`,
`repo`, `user`, timestamps `@timestamp` / `created_at` as epoch milliseconds (the API) or ISO
text (some exports), and `_document_id` as the entry's id.
"""

from __future__ import annotations

from lanner.model.event import CLASS_ACCOUNT_CHANGE, CLASS_API_ACTIVITY, CLASS_AUTHENTICATION
from lanner.normalize.spec import FormatMap, epoch_ms_of, guarded, has, has_any, in_list, non_null_list

_S = "VARCHAR"

# Membership and credential changes of people: OCSF Account Change.
ACCOUNT_CHANGE_ACTIONS = (
    "org.add_member",
    "org.remove_member",
    "org.update_member",
    "org.invite_member",
    "business.add_member",
    "business.remove_member",
    "team.add_member",
    "team.remove_member",
    "team.promote_maintainer",
    "two_factor_authentication.disabled",
    "two_factor_authentication.enabled",
    "public_key.create",
    "public_key.delete",
    "personal_access_token.request_created",
)


def _epoch_ms(text: str) -> str:
    """Epoch ms from either an all-digit epoch (ms, or seconds when too small to be ms) or ISO text."""
    return (
        f"CASE WHEN regexp_full_match(({text}), '[0-9]{{1,15}}') THEN "
        f"CASE WHEN CAST(({text}) AS BIGINT) < 100000000000 THEN CAST(({text}) AS BIGINT) * 1000 ELSE CAST(({text}) AS BIGINT) END "
        f"ELSE {epoch_ms_of(text)} END"
    )


GITHUB_AUDIT = FormatMap(
    name="github.audit",
    # Audit actions are always "<category>.<event>"; webhook payloads also have an `action`, but a
    # bare verb ("opened") and no top-level `actor` login.
    detect=guarded(
        f"{has('action')} AND {has_any('actor', '_document_id', '@timestamp', 'created_at', 'org', 'business')}",
        "json_type(raw, '$.action') = 'VARCHAR' "
        "AND regexp_full_match(json_extract_string(raw, '$.action'), '[a-z0-9_]+(\\.[a-z0-9_]+)+') "
        "AND coalesce(json_type(raw, '$.actor'), 'VARCHAR') = 'VARCHAR'",
    ),
    structure={
        "_document_id": _S,
        "@timestamp": _S,
        "created_at": _S,
        "action": _S,
        "actor": _S,
        "actor_id": _S,
        "actor_is_bot": _S,
        "actor_ip": _S,
        "user_agent": _S,
        "org": _S,
        "business": _S,
        "repo": _S,
        "repository": _S,
        "user": _S,
        "team": _S,
        "hashed_token": _S,
        "programmatic_access_type": _S,
        "token_id": _S,
    },
    columns={
        "uid": "r._document_id",
        "time": _epoch_ms('coalesce(r."@timestamp", r.created_at)'),
        "source": "'github.audit'",
        "class_uid": (
            f"CASE WHEN r.action IN {in_list(ACCOUNT_CHANGE_ACTIONS)} THEN {CLASS_ACCOUNT_CHANGE} "
            f"WHEN r.action LIKE 'oauth_authorization.%' THEN {CLASS_AUTHENTICATION} ELSE {CLASS_API_ACTIVITY} END"
        ),
        "cloud": "'github'",
        # The organization; enterprise-level entries name only the enterprise (business).
        "account": "coalesce(r.org, r.business)",
        "actor_id": "r.actor",
        "actor_name": "r.actor",
        "actor_type": (
            "CASE WHEN lower(r.actor_is_bot) = 'true' OR r.actor LIKE '%[bot]' THEN 'Bot' "
            "WHEN r.actor IS NOT NULL THEN 'User' END"
        ),
        # How the actor authenticated, when the entry says: a token id / hashed token.
        "actor_session": "coalesce(r.token_id, r.hashed_token)",
        # actor_ip is only present when the enterprise enabled IP disclosure.
        "src_ip": "r.actor_ip",
        "user_agent": "r.user_agent",
        "service": "nullif(split_part(r.action, '.', 1), '')",
        "operation": "r.action",
        # Audit entries record actions GitHub carried out; refused requests are not audited.
        "outcome": "'success'",
        "resources": non_null_list("coalesce(r.repo, r.repository)", "r.team", "r.user"),
    },
    required={"uid": "_document_id", "time": "created_at"},
)
