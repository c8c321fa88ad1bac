"""One plain-language line per detection, for analysts who are not cloud experts.

A rule may carry its own sentence under the custom key `lanner: {summary: "..."}`: a template
whose `{placeholders}` are event columns of the first triggering event (`actor_name`,
`src_ip`, `resources`, ...), plus `count`, `group` (all group-by values) or `group[key]`,
`raw[dotted.path]` (a field of the original record, e.g. `raw[requestParameters.userName]`,
for what the typed columns do not carry), and `title`. Otherwise the line is composed from the rule title and what the event says: who, did
what, to what, from where, in which cloud and account (or process, container and host for
runtime events). Missing values never print "None"; values from logs are made single-line,
because an attacker controls many of them.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from lanner.detect.model import Match, RuleMeta
from lanner.model.event import EVENT_COLUMNS

# Placeholders a summary template may use, besides the event columns.
TEMPLATE_EXTRAS = ("count", "group", "title")
_PLACEHOLDER = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)(?:\[(?P<key>[^\[\]{}]+)\])?$")
_MAX_VALUE = 160  # one value must not swallow the line (command lines, long ARNs lists)
_MAX_LIST = 3

# How each cloud calls its tenancy boundary (the `account` column).
_ACCOUNT_WORD = {"aws": "account", "gcp": "project", "azure": "subscription", "k8s": "cluster"}
# Words for placeholders whose value is missing: "from unknown source IP", not "from None".
_LABEL = {
    "actor_id": "actor",
    "actor_name": "actor",
    "actor_type": "actor type",
    "actor_session": "session",
    "actor_original": "original identity",
    "src_ip": "source IP",
    "user_agent": "user agent",
    "resources": "resource",
    "dst_ip": "destination IP",
    "dst_port": "destination port",
    "exe": "executable",
    "cmdline": "command line",
    "parent_exe": "parent executable",
    "file_path": "file",
    "container_id": "container",
}


def explain(match: Match) -> str:
    """The one-line explanation used as the finding's `message`."""
    template = _compiled_template(match.rule)
    if template is not None:
        return _fill(template, match)
    return _generic(match)


# A parsed template piece: literal text, then (placeholder name, key, format spec, missing-value
# label), or None after the last literal.
_Piece = tuple[str, tuple[str, str | None, str, str] | None]
# Per-rule cache of the parsed summary template (None: no valid template, use the generic line).
# Findings are written per match, often hundreds of thousands for one rule, so the template is
# parsed and checked once per rule object. Keyed by id() because RuleMeta holds dicts and is not
# hashable; the entry keeps the rule alive so the id cannot be reused while cached.
_TEMPLATES: dict[int, tuple[RuleMeta, tuple[_Piece, ...] | None]] = {}
_TEMPLATE_CACHE_SIZE = 4096


def _compiled_template(rule: RuleMeta) -> tuple[_Piece, ...] | None:
    hit = _TEMPLATES.get(id(rule))
    if hit is not None and hit[0] is rule:
        return hit[1]
    custom = rule.extra.get("lanner")
    summary = custom.get("summary") if isinstance(custom, Mapping) else None
    pieces = None
    if isinstance(summary, str) and summary.strip() and not template_problems(summary):
        pieces = _parse_template(summary)
    if len(_TEMPLATES) >= _TEMPLATE_CACHE_SIZE:
        _TEMPLATES.clear()  # rules are reloaded rarely; a reload simply starts a fresh cache
    _TEMPLATES[id(rule)] = (rule, pieces)
    return pieces


def _parse_template(template: str) -> tuple[_Piece, ...]:
    pieces: list[_Piece] = []
    for literal, field, spec, _ in string.Formatter().parse(template):
        m = _PLACEHOLDER.match(field) if field is not None else None
        if m is None:
            pieces.append((literal, None))
            continue
        name, key = m["name"], m["key"]
        label = (key or name).rsplit(".", 1)[-1]
        pieces.append((literal, (name, key, spec or "", _LABEL.get(label, label.replace("_", " ")))))
    return tuple(pieces)


def summary_template(match: Match) -> str | None:
    """The rule's `lanner.summary` template, if it has one."""
    custom = match.rule.extra.get("lanner")
    summary = custom.get("summary") if isinstance(custom, Mapping) else None
    return summary if isinstance(summary, str) and summary.strip() else None


def template_problems(template: str) -> list[str]:
    """Why a summary template cannot be rendered (empty list when it is fine).

    Rule validation reports these against the rule file; at detection time an invalid template
    falls back to the generic sentence so the finding is never lost.
    """
    allowed = set(EVENT_COLUMNS) | set(TEMPLATE_EXTRAS)
    problems = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"malformed template: {exc}"]
    for _, field, _spec, conversion in parsed:
        if field is None:
            continue
        m = _PLACEHOLDER.match(field)
        if m is None:
            problems.append(f"placeholder {{{field}}} is not a column name (attribute access is not allowed)")
        elif m["name"] not in allowed:
            problems.append(
                f"unknown placeholder {{{m['name']}}}; use an event column, count, group or title"
            )
        elif m["key"] is not None and m["name"] not in ("group", "raw"):
            problems.append(f"only group[...] and raw[...] take a key, not {{{field}}}")
        elif m["name"] == "raw" and m["key"] is None:
            problems.append("{raw} needs a field path, e.g. {raw[requestParameters.userName]}")
        if conversion is not None:
            problems.append(f"conversion !{conversion} in {{{field}}} is not allowed")
    return problems


def render_summary(template: str, match: Match) -> str:
    """Fill a (valid) summary template from the first event of the match."""
    return _fill(_parse_template(template), match)


def _fill(pieces: tuple[_Piece, ...], match: Match) -> str:
    event = match.events[0] if match.events else {}
    out = []
    for literal, placeholder in pieces:
        out.append(literal)
        if placeholder is None:
            continue
        name, key, spec, label = placeholder
        value: Any
        if name == "count":
            value = match.event_count
        elif name == "title":
            value = match.rule.title
        elif name == "group":
            value = (match.group or {}).get(key) if key else match.group
        elif name == "raw":
            value = _raw_path(event.get("raw"), key or "")
        else:
            value = event.get(name)
        out.append(_render(value, spec, label))
    return _one_line("".join(out))


def _raw_path(raw: Any, path: str) -> Any:
    """A dotted path into the original record; None when the record or the path is absent."""
    if isinstance(raw, str | bytes):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
    for part in path.split("."):
        if not isinstance(raw, Mapping):
            return None
        raw = raw.get(part)
    return raw


def _render(value: Any, spec: str, label: str) -> str:
    if _missing(value):
        return f"unknown {label}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items() if not _missing(v)) or f"unknown {label}"
    if spec and not isinstance(value, list | tuple):
        try:
            return _clip(format(value, spec))
        except (ValueError, TypeError):
            pass  # a spec that does not fit the value's type: show the value plainly
    return _text(value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | dict) and len(value) == 0)


def _text(value: Any) -> str:
    """A log value as short, single-line text."""
    if type(value) is str and len(value) <= _MAX_VALUE and value.isprintable():
        return value  # the common case, same result as below
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, list | tuple):
        items = [_text(v) for v in value if not _missing(v)]
        more = len(items) - _MAX_LIST
        return ", ".join(items[:_MAX_LIST]) + (f" and {more} more" if more > 0 else "")
    return _clip(str(value))


def _clip(text: str) -> str:
    text = _one_line(text)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _one_line(text: str) -> str:
    # Control characters (newlines, ANSI escapes) from attacker-controlled fields are shown
    # escaped so a log value can neither break the line nor forge a second alert line.
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _get(event: Mapping[str, Any], column: str) -> str | None:
    value = event.get(column)
    if value is None:
        return None
    if type(value) is str:
        # Most columns are short printable text: skip the generic path (same result).
        if not value:
            return None
        return value if len(value) <= _MAX_VALUE and value.isprintable() else _clip(value)
    return None if _missing(value) else _text(value)


def _actor(event: Mapping[str, Any]) -> str | None:
    who = _get(event, "actor_id") or _get(event, "actor_name")
    if who is None:
        return None
    notes = [n for n in (_get(event, "actor_type"),) if n]
    original = _get(event, "actor_original")
    if original and original != who:
        notes.append(f"on behalf of {original}")
    return f"{who} ({', '.join(notes)})" if notes else who


def _process(event: Mapping[str, Any]) -> str | None:
    exe, cmd = _get(event, "exe"), _get(event, "cmdline")
    if exe is None and cmd is None:
        return None
    text = f"process {exe or cmd}"
    if exe and cmd and cmd != exe:
        text += f" ({cmd})"
    if user := _get(event, "user"):
        text += f" as user {user}"
    if parent := _get(event, "parent_exe"):
        text += f" (parent {parent})"
    return text


def _where_cloud(event: Mapping[str, Any]) -> str | None:
    cloud, region, account = _get(event, "cloud"), _get(event, "region"), _get(event, "account")
    head = " ".join(p for p in (cloud if cloud != "host" else None, region) if p)
    if account:
        word = _ACCOUNT_WORD.get((cloud or "").lower(), "account")
        head = f"{head}, {word} {account}" if head else f"{word} {account}"
    return f"({head})" if head else None


def _where_runtime(event: Mapping[str, Any]) -> str | None:
    parts = []
    if container := _get(event, "container_id"):
        details = [
            f"{label} {v}"
            for label, v in (
                ("pod", _get(event, "pod")),
                ("namespace", _get(event, "namespace")),
                ("image", _get(event, "image")),
            )
            if v
        ]
        parts.append(f"in container {container[:12]}" + (f" ({', '.join(details)})" if details else ""))
    elif pod := _get(event, "pod"):
        parts.append(f"in pod {pod}")
    if host := _get(event, "host"):
        parts.append(f"on host {host}")
    return " ".join(parts) or None


def describe_event(event: Mapping[str, Any]) -> str:
    """What one normalized event says, as a clause: who did what to what, from where."""
    operation = _get(event, "operation")
    process = _process(event)
    actor = _actor(event)
    # Runtime telemetry is about a process; cloud audit logs are about an identity.
    is_runtime = (_get(event, "source") or "").startswith("runtime.") or actor is None
    if process is not None and is_runtime:
        text = process
        if path := _get(event, "file_path"):
            text += f" {operation or 'accessed'} file {path}"
        elif dst := _get(event, "dst_ip"):
            port = _get(event, "dst_port")
            text += f" {operation or 'connected'} to {dst}" + (f" port {port}" if port else "")
        elif operation:
            text += f" ({operation})"
        where = _where_runtime(event)
    else:
        text = actor or "an unknown identity"
        service = _get(event, "service")
        if operation:
            text += f" called {operation}" + (f" ({service})" if service else "")
        elif service:
            text += f" used {service}"
        if targets := _get(event, "resources"):
            text += f" on {targets}"
        if ip := _get(event, "src_ip"):
            text += f" from {ip}"
        where = _where_cloud(event)
    if where:
        text += f" {where}"
    if (_get(event, "outcome") or "").lower() == "failure":
        error = _get(event, "error")
        text += f", which failed ({error})" if error else ", which failed"
    return text


def _generic(match: Match) -> str:
    title = _clip(match.rule.title) if match.rule.title else "Detection"
    event = match.events[0] if match.events else {}
    correlated = match.group is not None or match.event_count > 1 or len(match.events) > 1
    if not correlated:
        return f"{title}: {describe_event(event)}" if event else title
    text = f"{title}: {match.event_count} matching event{'s' if match.event_count != 1 else ''}"
    group = _render(match.group, "", "group") if match.group else None
    if group and not group.startswith("unknown"):
        text += f" for {group}"
    first, last = _iso(match.first_time), _iso(match.last_time)
    text += f" between {first} and {last}" if first != last else f" at {first}"
    return f"{text}; first: {describe_event(event)}" if event else text
