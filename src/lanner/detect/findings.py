"""Turn a `Match` into an OCSF 1.7.0 Detection Finding (class 2004): Lanner's alert format.

Pure and deterministic: the same match gives the same bytes on every run and engine (no
wall-clock time, no random ids), so findings deduplicate by `finding_info.uid`.
docs/findings.md describes every field.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import orjson

from lanner import __version__
from lanner.detect.attack import Attack, load_attack
from lanner.detect.explain import explain
from lanner.detect.model import Match, RuleMeta
from lanner.errors import Location, RuleError

OCSF_VERSION = "1.7.0"
CLASS_DETECTION_FINDING = 2004
CATEGORY_FINDINGS = 2
ACTIVITY_CREATE = 1

# Sigma level -> OCSF severity_id (6 Fatal has no Sigma level).
SEVERITY = {
    "informational": (1, "Informational"),
    "low": (2, "Low"),
    "medium": (3, "Medium"),
    "high": (4, "High"),
    "critical": (5, "Critical"),
}
# Sigma status says how well a rule is proven, which is what OCSF confidence is about.
CONFIDENCE = {
    "stable": (3, "High"),
    "test": (2, "Medium"),
    "experimental": (1, "Low"),
}
# OCSF user.type_id for the identity kinds the normalizers emit (anything else is 99 Other).
_USER_TYPE = {
    "iamuser": (1, "User"),
    "user": (1, "User"),
    "samluser": (1, "User"),
    "webidentityuser": (1, "User"),
    "identitycenteruser": (1, "User"),
    "root": (2, "Admin"),
    "awsservice": (4, "Service"),
    "serviceaccount": (4, "Service"),
}
_CLOUD_PROVIDERS = {"aws": "AWS", "gcp": "GCP", "azure": "Azure"}
# Fixed namespace: finding uids are UUIDv5 of the match identity, the same everywhere.
_UID_NAMESPACE = uuid.UUID("3c9b0d2e-5a41-4f7e-8d3b-2a6c1e9f4b70")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_UID_OPTIONS = orjson.OPT_SORT_KEYS
# Values that count as missing (see _present); `v not in _ABSENT` is its inlined form.
_ABSENT: tuple[Any, ...] = (None, "", [], ())


def finding_uid(match: Match) -> str:
    """Stable id: rule id + sorted triggering event uids + group-by values."""
    uids = sorted(_event_uid(e) for e in match.events)
    return _uuid5(orjson.dumps([match.rule.id, uids, match.group or {}], option=_UID_OPTIONS, default=str))


def to_finding(match: Match, *, attack: Attack | None = None) -> dict[str, Any]:
    """The OCSF Detection Finding for one match (`attack` defaults to the bundled ATT&CK data)."""
    return _build(match, attack if attack is not None else load_attack(), for_json=False)


def finding_json(match: Match, *, attack: Attack | None = None, newline: bool = False) -> bytes:
    """The finding for one match as compact JSON: the fast path for streaming output.

    Same JSON as `finding_to_json(to_finding(match))`, except that each `evidences[].data` is the
    source record's own text, embedded as it was read (after checking it is a JSON object on one
    line) instead of parsed and re-serialized: values are identical, only insignificant
    whitespace and escapes may be spelled as the source spelled them. A record that is not JSON,
    or spans lines, goes the parsed way so the output stays valid JSON lines.
    """
    finding = _build(match, attack if attack is not None else load_attack(), for_json=True)
    return finding_to_json(finding, newline=newline)


def finding_to_json(finding: Mapping[str, Any], *, sort_keys: bool = False, newline: bool = False) -> bytes:
    """One finding as compact UTF-8 JSON (`newline=True` for a JSON-lines stream)."""
    option = (orjson.OPT_SORT_KEYS if sort_keys else 0) | (orjson.OPT_APPEND_NEWLINE if newline else 0)
    try:
        return orjson.dumps(finding, option=option, default=str)
    except orjson.JSONEncodeError:
        # Keys are always text in what to_finding builds; a caller's dict may have others,
        # which the (slower) non-string-key mode writes as text.
        return orjson.dumps(finding, option=option | orjson.OPT_NON_STR_KEYS, default=str)


# --- the builder ---------------------------------------------------------------------------

_PRODUCT = orjson.Fragment(orjson.dumps({"name": "Lanner", "vendor_name": "Lanner", "version": __version__}))


@dataclass(frozen=True, slots=True)
class _RuleParts:
    """Everything in a finding that depends only on the rule (and the ATT&CK data)."""

    rule: RuleMeta
    attack: Attack
    severity: tuple[int, str] | RuleError  # the error is raised per finding, as before caching
    confidence: tuple[int, str] | None
    analytic: dict[str, Any]
    attacks_json: bytes  # resolved attacks[], serialized: copied per finding with orjson.loads
    attacks_fragment: orjson.Fragment  # the same bytes, embedded as they are by finding_json
    unresolved: list[str]


# Per-rule parts, keyed by id() because RuleMeta holds dicts and is not hashable; each entry
# keeps its rule (and ATT&CK data) alive so an id cannot be reused while it is cached.
_RULE_PARTS: dict[tuple[int, int], _RuleParts] = {}
_RULE_CACHE_SIZE = 4096


def _rule_parts(rule: RuleMeta, attack: Attack) -> _RuleParts:
    parts = _RULE_PARTS.get((id(rule), id(attack)))
    if parts is not None and parts.rule is rule and parts.attack is attack:
        return parts
    severity: tuple[int, str] | RuleError
    level = (rule.level or "").lower()
    if level in SEVERITY:
        severity = SEVERITY[level]
    else:
        severity = RuleError(
            f"rule {rule.id} has level {rule.level!r}; expected one of {', '.join(SEVERITY)}",
            Location(rule.path),
        )
    attacks = attack.resolve_tags(rule.tags)
    parts = _RuleParts(
        rule=rule,
        attack=attack,
        severity=severity,
        confidence=CONFIDENCE.get(rule.status),
        analytic={"uid": rule.id, "name": rule.name or rule.title, "type_id": 1, "type": "Rule"},
        attacks_json=orjson.dumps(attacks),
        attacks_fragment=orjson.Fragment(orjson.dumps(attacks)),
        unresolved=attack.invalid_tags(rule.tags),
    )
    if len(_RULE_PARTS) >= _RULE_CACHE_SIZE:
        _RULE_PARTS.clear()  # rule sets are reloaded rarely; a reload starts a fresh cache
    _RULE_PARTS[(id(rule), id(attack))] = parts
    return parts


def _build(match: Match, attack: Attack, *, for_json: bool) -> dict[str, Any]:
    """The finding dict. `for_json`: it is serialized at once and dropped, so it may share the
    cached per-rule objects and embed verbatim records; otherwise every object is the caller's own.
    """
    rule, events = match.rule, match.events
    parts = _rule_parts(rule, attack)
    if isinstance(parts.severity, RuleError):
        raise parts.severity
    severity_id, severity = parts.severity
    first, last = match.first_time, match.last_time
    first_ms = _ms(first)
    last_ms = first_ms if last is first else _ms(last)
    common: Mapping[str, Any]
    if len(events) == 1:  # most findings: the same values, computed once
        event = events[0]
        event_uid = _event_uid(event)
        source = event.get("source")
        sources = [source] if source not in _ABSENT else []
        uid = _uuid5(
            orjson.dumps([rule.id, [event_uid], match.group or {}], option=_UID_OPTIONS, default=str)
        )
        event_time = event.get("time")
        related: dict[str, Any] = {"uid": event_uid}
        if source not in _ABSENT:
            related["type"] = source
        created = first_ms if event_time is first else last_ms if event_time is last else _ms(event_time)
        if created is not None:
            related["created_time"] = created
        related_events = [related]
        evidences = [_evidence(event, event_uid, for_json)]
        # One event: the values shared by "all" events are its own. Every reader of `common`
        # treats absent values ("", [], ()) like None, so the event itself serves.
        common = event
    else:
        sources = _unique(e.get("source") for e in events)
        event_uids = [_event_uid(e) for e in events]
        key = [rule.id, sorted(event_uids), match.group or {}]  # as finding_uid
        uid = _uuid5(orjson.dumps(key, option=_UID_OPTIONS, default=str))
        related_events = [_related_event(e, u) for e, u in zip(events, event_uids, strict=True)]
        evidences = [_evidence(e, u, for_json) for e, u in zip(events, event_uids, strict=True)]
        common = {c: _common(events, c) for c in _CONTEXT_COLUMNS}

    finding_info: dict[str, Any] = {
        "uid": uid,
        "title": rule.title,
        "desc": rule.description,
        "analytic": parts.analytic if for_json else dict(parts.analytic),
        "attacks": parts.attacks_fragment if for_json else orjson.loads(parts.attacks_json),
        "related_events": related_events,
        "related_events_count": match.event_count,
        "first_seen_time": first_ms,
        "last_seen_time": last_ms,
        "types": sources,
        "data_sources": sources,
    }
    finding: dict[str, Any] = {
        "class_uid": CLASS_DETECTION_FINDING,
        "class_name": "Detection Finding",
        "category_uid": CATEGORY_FINDINGS,
        "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": CLASS_DETECTION_FINDING * 100 + ACTIVITY_CREATE,
        "type_name": "Detection Finding: Create",
        "time": last_ms,
        "start_time": first_ms,
        "end_time": last_ms,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1,
        "status": "New",
        "is_alert": True,
        "count": match.event_count,
        "message": explain(match),
        "finding_info": finding_info,
        "evidences": evidences,
    }
    if parts.confidence is not None:
        finding["confidence_id"], finding["confidence"] = parts.confidence

    # Context shared by all triggering events goes on the finding itself; where the events
    # disagree (e.g. many actors in a brute-force window) each evidence keeps its own.
    profiles = []
    if cloud := _cloud(common):
        finding["cloud"] = cloud
        profiles.append("cloud")
    if len(events) == 1 and for_json:  # the evidence's objects serve: serialized at once
        actor, device = evidences[0].get("actor"), evidences[0].get("device")
    else:
        actor, device = _actor(common), _device(common)
    if actor:
        finding["actor"] = actor
    if device:
        finding["device"] = device
    if actor or device:
        profiles.append("host")  # OCSF defines top-level actor and device in the host profile
    if any(e.get("container_id") for e in events):
        profiles.append("container")
    # OCSF 1.7 Detection Finding has no top-level src_endpoint: per-event endpoints live in the
    # evidences, and observables[] is the standard place for the values analysts pivot on.
    if observables := _observables(events):
        finding["observables"] = observables
    # One event, serialized at once: its evidence's list serves (nobody else will see it).
    resources = evidences[0].get("resources") if len(events) == 1 and for_json else _resources(events)
    if resources:
        finding["resources"] = resources
    finding["metadata"] = {
        "uid": uid,
        "version": OCSF_VERSION,
        "product": _PRODUCT
        if for_json
        else {"name": "Lanner", "vendor_name": "Lanner", "version": __version__},
        "profiles": profiles,
    }

    unmapped: dict[str, Any] = {}
    if match.group:
        unmapped["group_by"] = dict(match.group)
    if parts.unresolved:
        unmapped["unresolved_attack_tags"] = list(parts.unresolved)  # reported, not silently dropped
    if (
        (cloud_name := (common["cloud"] or "").lower())
        and cloud_name not in _CLOUD_PROVIDERS
        and common["account"]
    ):
        unmapped[f"{cloud_name}_account"] = common["account"]  # e.g. the k8s cluster: no OCSF slot
    if unmapped:
        finding["unmapped"] = unmapped
    return finding


# --- pieces -------------------------------------------------------------------------------

_CONTEXT_COLUMNS = (
    "cloud",
    "account",
    "region",
    "actor_id",
    "actor_name",
    "actor_type",
    "actor_session",
    "actor_original",
    "host",
)


def _ms(value: Any) -> int | None:
    """Epoch milliseconds from a datetime (naive = UTC), epoch-ms number, or ISO-8601 text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        # Exact integer maths, no float rounding: the floor of the elapsed microseconds / 1000
        # (a timedelta keeps seconds and microseconds non-negative, so this is floor division).
        delta = value - (_EPOCH if value.tzinfo is not None else _EPOCH_NAIVE)
        return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return _ms(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _present(value: Any) -> bool:
    return value not in _ABSENT  # None, "", [], ()


def _uuid5(key: bytes) -> str:
    """`str(uuid.uuid5(_UID_NAMESPACE, key.decode()))` without the UUID object round trips."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + key).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_NAMESPACE_BYTES = _UID_NAMESPACE.bytes


def _unique(values: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if _present(v) and v not in seen:
            seen.append(v)
    return seen


def _common(events: Iterable[Mapping[str, Any]], column: str) -> Any:
    """The column's value if every event that has one agrees, else None."""
    found = False
    common = None
    for event in events:
        value = event.get(column)
        if value in _ABSENT:
            continue
        if not found:
            found, common = True, value
        elif value is not common and value != common:  # the identity-then-equality of `in`
            return None
    return common


def _event_uid(event: Mapping[str, Any]) -> str:
    uid = event.get("uid")
    if _present(uid):
        return str(uid)
    # Normalizers always set uid; if one did not, the verbatim record still identifies the event.
    raw = event.get("raw") or ""
    return "sha256:" + hashlib.sha256(str(raw).encode()).hexdigest()


def _related_event(event: Mapping[str, Any], uid: str) -> dict[str, Any]:
    related: dict[str, Any] = {"uid": uid}
    if _present(event.get("source")):
        related["type"] = event["source"]
    # OCSF 1.7 related_event has no plain `time`; created_time is when the event happened.
    if (t := _ms(event.get("time"))) is not None:
        related["created_time"] = t
    return related


def _raw_data(event: Mapping[str, Any], verbatim: bool = False) -> dict[str, Any] | orjson.Fragment | None:
    """The verbatim source record as a JSON object (what the analyst reads first).

    `verbatim`: return the record's own text as an orjson Fragment when it is a JSON object on
    one line (parsing it is still what proves that), saving the re-serialization.
    """
    raw = event.get("raw")
    if raw is None or not _present(raw):
        return None
    text = raw if isinstance(raw, bytes | str) else str(raw)
    try:
        parsed = orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError) as exc:
        # Keep the text: evidence must never be dropped because it is not JSON.
        return {"raw": str(raw), "parse_error": str(exc)}
    if not isinstance(parsed, dict):
        return {"value": parsed}
    if verbatim:
        # A line break (only possible between tokens in valid JSON) would split the JSON line.
        if isinstance(text, str) and "\n" not in text and "\r" not in text:
            return orjson.Fragment(text)
        if isinstance(text, bytes) and b"\n" not in text and b"\r" not in text:
            return orjson.Fragment(text)
    return parsed


def _actor(ctx: Mapping[str, Any]) -> dict[str, Any] | None:
    get = ctx.get
    user: dict[str, Any] = {}
    if (uid := get("actor_id")) not in _ABSENT:
        user["uid"] = uid
    if (name := get("actor_name")) not in _ABSENT:
        user["name"] = name
    if (session := get("actor_session")) not in _ABSENT:
        user["credential_uid"] = session
    if not user:
        return None
    if (actor_type := get("actor_type")) not in _ABSENT:
        user["type_id"], user["type"] = _USER_TYPE.get(str(actor_type).lower(), (99, str(actor_type)))
    actor: dict[str, Any] = {"user": user}
    if (original := get("actor_original")) not in _ABSENT:
        # The identity that assumed the role / was impersonated (CloudTrail sessionIssuer etc.).
        actor["session"] = {"issuer": original}
    return actor


def _cloud(ctx: Mapping[str, Any]) -> dict[str, Any] | None:
    provider = _CLOUD_PROVIDERS.get(str(ctx.get("cloud") or "").lower())
    if provider is None:
        return None
    cloud: dict[str, Any] = {"provider": provider}
    if (region := ctx.get("region")) not in _ABSENT:
        cloud["region"] = region
    if (account := ctx.get("account")) not in _ABSENT:
        cloud["account"] = {"uid": str(account)}
    return cloud


def _device(ctx: Mapping[str, Any]) -> dict[str, Any] | None:
    host = ctx.get("host")
    # type_id 0 Unknown: a hostname does not say whether it is a server, VM or node.
    return {"hostname": host, "name": host, "type_id": 0, "type": "Unknown"} if host not in _ABSENT else None


def _arn_resource(uid: str) -> dict[str, Any]:
    """An ARN's service/type, region and short name (arn:aws:s3:::bucket, ...:trail/org-trail)."""
    return dict(_parse_arn(uid))  # a copy: the finding owns its objects


@functools.lru_cache(maxsize=8192)  # the same targets recur across many findings
def _parse_arn(uid: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"uid": uid}
    parts = uid.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        _, _, service, region, _account, rest = parts
        kind, _, name = rest.partition("/") if "/" in rest else rest.partition(":")
        entry["type"] = f"{service}:{kind}" if name else service
        entry["name"] = (name or kind).rsplit("/", 1)[-1]
        if region:
            entry["region"] = region
    return entry


def _resources(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for event in events:
        for r in event.get("resources") or ():
            if r not in _ABSENT and (entry := _arn_resource(str(r))) not in out:
                out.append(entry)
        if (pod_name := event.get("pod")) not in _ABSENT:
            pod: dict[str, Any] = {"type": "pod", "name": pod_name, "uid": pod_name}
            if (namespace := event.get("namespace")) not in _ABSENT:
                pod["namespace"] = namespace
                pod["uid"] = f"{namespace}/{pod_name}"
            if pod not in out:
                out.append(pod)
    return out


def _file(path: str) -> dict[str, Any]:
    # type_id 0 Unknown: telemetry gives a path, not whether it is a regular file or a link.
    return {"path": path, "name": PurePosixPath(path).name or path, "type_id": 0}


def _process(event: Mapping[str, Any]) -> dict[str, Any] | None:
    exe, cmd = event.get("exe"), event.get("cmdline")
    if not (_present(exe) or _present(cmd) or _present(event.get("pid"))):
        return None
    proc: dict[str, Any] = {}
    if _present(event.get("pid")):
        proc["pid"] = int(event["pid"])
    if exe is not None and _present(exe):
        proc["name"] = PurePosixPath(str(exe)).name
        proc["file"] = _file(str(exe))
    if _present(cmd):
        proc["cmd_line"] = cmd
    if _present(event.get("user")):
        proc["user"] = {"name": str(event["user"])}
    parent: dict[str, Any] = {}
    if _present(event.get("parent_pid")):
        parent["pid"] = int(event["parent_pid"])
    if _present(parent_exe := event.get("parent_exe")):
        parent["name"] = PurePosixPath(str(parent_exe)).name
        parent["file"] = _file(str(parent_exe))
    if _present(event.get("parent_cmdline")):
        parent["cmd_line"] = event["parent_cmdline"]
    if parent:
        proc["parent_process"] = parent
    if container := _container(event):
        proc["container"] = container  # the OCSF container profile hangs off process
    return proc


def _container(event: Mapping[str, Any]) -> dict[str, Any] | None:
    if not _present(event.get("container_id")):
        return None
    container: dict[str, Any] = {"uid": event["container_id"]}
    if _present(event.get("image")):
        # The image reference is the only image identifier runtime telemetry carries.
        container["image"] = {"name": event["image"], "uid": event["image"]}
    if _present(event.get("pod")) or _present(event.get("namespace")):
        container["orchestrator"] = "Kubernetes"
    return container


# (event column, OCSF attribute path the value sits at, observable type_id, caption)
_OBSERVABLES = (
    ("src_ip", "src_endpoint.ip", 2, "IP Address"),
    ("actor_id", "actor.user.uid", 31, "User UID"),
    ("actor_name", "actor.user.name", 4, "User Name"),
    ("actor_session", "actor.user.credential_uid", 19, "User Credential ID"),
    ("host", "device.hostname", 1, "Hostname"),
    ("dst_ip", "dst_endpoint.ip", 2, "IP Address"),
    ("file_path", "file.path", 45, "File Path"),
)


def _observables(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()  # (name, value): name fixes type_id and type
    for event in events:
        get = event.get
        for column, name, type_id, caption in _OBSERVABLES:
            if (value := get(column)) not in _ABSENT and (name, text := str(value)) not in seen:
                seen.add((name, text))
                out.append({"name": name, "type_id": type_id, "type": caption, "value": text})
        for value in get("resources") or ():
            if value not in _ABSENT and ("resources.uid", text := str(value)) not in seen:
                seen.add(("resources.uid", text))
                out.append({"name": "resources.uid", "type_id": 10, "type": "Resource UID", "value": text})
    return out


def _evidence(event: Mapping[str, Any], uid: str, verbatim: bool) -> dict[str, Any]:
    """One triggering event: its verbatim record plus the OCSF objects an analyst pivots on."""
    get: Callable[[str], Any] = event.get
    ev: dict[str, Any] = {"uid": uid}
    if (source := get("source")) not in _ABSENT:
        ev["name"] = source
    if (data := _raw_data(event, verbatim)) is not None:
        ev["data"] = data
    if actor := _actor(event):
        ev["actor"] = actor
    if (operation := get("operation")) not in _ABSENT:
        api: dict[str, Any] = {"operation": operation}
        if (service := get("service")) not in _ABSENT:
            api["service"] = {"name": service}
        if (error := get("error")) not in _ABSENT:
            api["response"] = {"error": str(error)}
        ev["api"] = api
    if (src_ip := get("src_ip")) not in _ABSENT:
        ev["src_endpoint"] = {"ip": src_ip}
    if (user_agent := get("user_agent")) not in _ABSENT:
        ev["http_request"] = {"user_agent": user_agent}
    dst_ip, dst_port = get("dst_ip"), get("dst_port")
    if dst_ip not in _ABSENT or dst_port not in _ABSENT:
        dst: dict[str, Any] = {}
        if dst_ip not in _ABSENT:
            dst["ip"] = dst_ip
        if dst_port not in _ABSENT:
            dst["port"] = int(dst_port)
        ev["dst_endpoint"] = dst
    # Cloud audit events carry none of the runtime columns: one check skips them all.
    if (
        get("exe") is not None
        or get("cmdline") is not None
        or get("pid") is not None
        or get("container_id") is not None
        or get("host") is not None
    ):
        if process := _process(event):
            ev["process"] = process
        if container := _container(event):
            ev["container"] = container
        if device := _device(event):
            ev["device"] = device
    if (file_path := get("file_path")) not in _ABSENT:
        ev["file"] = _file(file_path)
    if resources := _resources((event,)):
        ev["resources"] = resources
    return ev
