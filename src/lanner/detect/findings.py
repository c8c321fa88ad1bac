"""Turn a `Match` into an OCSF 1.7.0 Detection Finding (class 2004): Lanner's alert format.

Pure and deterministic: the same match gives the same bytes on every run and engine (no
wall-clock time, no random ids), so findings deduplicate by `finding_info.uid`.
docs/findings.md describes every field.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

import orjson

from lanner import __version__
from lanner.detect.attack import Attack, load_attack
from lanner.detect.explain import explain
from lanner.detect.model import Match
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


def finding_uid(match: Match) -> str:
    """Stable id: rule id + sorted triggering event uids + group-by values."""
    uids = sorted(_event_uid(e) for e in match.events)
    key = orjson.dumps([match.rule.id, uids, match.group or {}], option=orjson.OPT_SORT_KEYS, default=str)
    return str(uuid.uuid5(_UID_NAMESPACE, key.decode()))


def to_finding(match: Match, *, attack: Attack | None = None) -> dict[str, Any]:
    """The OCSF Detection Finding for one match (`attack` defaults to the bundled ATT&CK data)."""
    attack = attack if attack is not None else load_attack()
    rule, events = match.rule, match.events
    severity_id, severity = _severity(match)
    first_ms, last_ms = _ms(match.first_time), _ms(match.last_time)
    sources = _unique(e.get("source") for e in events)

    finding_info: dict[str, Any] = {
        "uid": finding_uid(match),
        "title": rule.title,
        "desc": rule.description,
        "analytic": {"uid": rule.id, "name": rule.name or rule.title, "type_id": 1, "type": "Rule"},
        "attacks": attack.resolve_tags(rule.tags),
        "related_events": [_related_event(e) for e in events],
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
        "evidences": [_evidence(e) for e in events],
    }
    if rule.status in CONFIDENCE:
        finding["confidence_id"], finding["confidence"] = CONFIDENCE[rule.status]

    # Context shared by all triggering events goes on the finding itself; where the events
    # disagree (e.g. many actors in a brute-force window) each evidence keeps its own.
    common = {c: _common(events, c) for c in _CONTEXT_COLUMNS}
    profiles = []
    if cloud := _cloud(common):
        finding["cloud"] = cloud
        profiles.append("cloud")
    actor = _actor(common)
    device = _device(common)
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
    resources = _resources(events)
    if resources:
        finding["resources"] = resources
    finding["metadata"] = {
        "uid": finding_info["uid"],
        "version": OCSF_VERSION,
        "product": {"name": "Lanner", "vendor_name": "Lanner", "version": __version__},
        "profiles": profiles,
    }

    unmapped: dict[str, Any] = {}
    if match.group:
        unmapped["group_by"] = dict(match.group)
    if unresolved := attack.invalid_tags(rule.tags):
        unmapped["unresolved_attack_tags"] = unresolved  # reported, not silently dropped
    if (
        (cloud_name := (common["cloud"] or "").lower())
        and cloud_name not in _CLOUD_PROVIDERS
        and common["account"]
    ):
        unmapped[f"{cloud_name}_account"] = common["account"]  # e.g. the k8s cluster: no OCSF slot
    if unmapped:
        finding["unmapped"] = unmapped
    return finding


def finding_to_json(finding: Mapping[str, Any], *, sort_keys: bool = False, newline: bool = False) -> bytes:
    """One finding as compact UTF-8 JSON (`newline=True` for a JSON-lines stream)."""
    option = (orjson.OPT_SORT_KEYS if sort_keys else 0) | (orjson.OPT_APPEND_NEWLINE if newline else 0)
    return orjson.dumps(finding, option=option | orjson.OPT_NON_STR_KEYS, default=str)


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


def _severity(match: Match) -> tuple[int, str]:
    level = (match.rule.level or "").lower()
    if level not in SEVERITY:
        raise RuleError(
            f"rule {match.rule.id} has level {match.rule.level!r}; expected one of {', '.join(SEVERITY)}",
            Location(match.rule.path),
        )
    return SEVERITY[level]


def _ms(value: Any) -> int | None:
    """Epoch milliseconds from a datetime (naive = UTC), epoch-ms number, or ISO-8601 text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return (value - _EPOCH) // timedelta(milliseconds=1)  # exact integer maths, no float rounding
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return _ms(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != ()


def _unique(values: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if _present(v) and v not in seen:
            seen.append(v)
    return seen


def _common(events: Iterable[Mapping[str, Any]], column: str) -> Any:
    """The column's value if every event that has one agrees, else None."""
    values = _unique(e.get(column) for e in events)
    return values[0] if len(values) == 1 else None


def _event_uid(event: Mapping[str, Any]) -> str:
    uid = event.get("uid")
    if _present(uid):
        return str(uid)
    # Normalizers always set uid; if one did not, the verbatim record still identifies the event.
    raw = event.get("raw") or ""
    return "sha256:" + hashlib.sha256(str(raw).encode()).hexdigest()


def _related_event(event: Mapping[str, Any]) -> dict[str, Any]:
    related: dict[str, Any] = {"uid": _event_uid(event)}
    if _present(event.get("source")):
        related["type"] = event["source"]
    # OCSF 1.7 related_event has no plain `time`; created_time is when the event happened.
    if (t := _ms(event.get("time"))) is not None:
        related["created_time"] = t
    return related


def _raw_data(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The verbatim source record as a JSON object (what the analyst reads first)."""
    raw = event.get("raw")
    if raw is None or not _present(raw):
        return None
    try:
        parsed = orjson.loads(raw if isinstance(raw, bytes | str) else str(raw))
    except (orjson.JSONDecodeError, TypeError) as exc:
        # Keep the text: evidence must never be dropped because it is not JSON.
        return {"raw": str(raw), "parse_error": str(exc)}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def _user_type(actor_type: Any) -> dict[str, Any]:
    if not _present(actor_type):
        return {}
    type_id, caption = _USER_TYPE.get(str(actor_type).lower(), (99, str(actor_type)))
    return {"type_id": type_id, "type": caption}


def _actor(ctx: Mapping[str, Any]) -> dict[str, Any] | None:
    user = {
        k: v
        for k, v in (
            ("uid", ctx.get("actor_id")),
            ("name", ctx.get("actor_name")),
            ("credential_uid", ctx.get("actor_session")),
        )
        if _present(v)
    }
    if not user:
        return None
    user |= _user_type(ctx.get("actor_type"))
    actor: dict[str, Any] = {"user": user}
    if _present(ctx.get("actor_original")):
        # The identity that assumed the role / was impersonated (CloudTrail sessionIssuer etc.).
        actor["session"] = {"issuer": ctx["actor_original"]}
    return actor


def _cloud(ctx: Mapping[str, Any]) -> dict[str, Any] | None:
    provider = _CLOUD_PROVIDERS.get(str(ctx.get("cloud") or "").lower())
    if provider is None:
        return None
    cloud: dict[str, Any] = {"provider": provider}
    if _present(ctx.get("region")):
        cloud["region"] = ctx["region"]
    if _present(ctx.get("account")):
        cloud["account"] = {"uid": str(ctx["account"])}
    return cloud


def _device(ctx: Mapping[str, Any]) -> dict[str, Any] | None:
    host = ctx.get("host")
    # type_id 0 Unknown: a hostname does not say whether it is a server, VM or node.
    return {"hostname": host, "name": host, "type_id": 0, "type": "Unknown"} if _present(host) else None


def _arn_resource(uid: str) -> dict[str, Any]:
    """An ARN's service/type, region and short name (arn:aws:s3:::bucket, ...:trail/org-trail)."""
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
            if _present(r):
                out.append(_arn_resource(str(r)))
        if _present(event.get("pod")):
            pod: dict[str, Any] = {"type": "pod", "name": event["pod"], "uid": event["pod"]}
            if _present(event.get("namespace")):
                pod["namespace"] = event["namespace"]
                pod["uid"] = f"{event['namespace']}/{event['pod']}"
            out.append(pod)
    return [r for i, r in enumerate(out) if r not in out[:i]]


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
    for event in events:
        pairs = [(name, tid, cap, event.get(col)) for col, name, tid, cap in _OBSERVABLES]
        pairs += [("resources.uid", 10, "Resource UID", r) for r in event.get("resources") or ()]
        for name, type_id, caption, value in pairs:
            if _present(value):
                obs = {"name": name, "type_id": type_id, "type": caption, "value": str(value)}
                if obs not in out:
                    out.append(obs)
    return out


def _evidence(event: Mapping[str, Any]) -> dict[str, Any]:
    """One triggering event: its verbatim record plus the OCSF objects an analyst pivots on."""
    ev: dict[str, Any] = {"uid": _event_uid(event)}
    if _present(event.get("source")):
        ev["name"] = event["source"]
    if (data := _raw_data(event)) is not None:
        ev["data"] = data
    if actor := _actor(event):
        ev["actor"] = actor
    if _present(event.get("operation")):
        api: dict[str, Any] = {"operation": event["operation"]}
        if _present(event.get("service")):
            api["service"] = {"name": event["service"]}
        if _present(event.get("error")):
            api["response"] = {"error": str(event["error"])}
        ev["api"] = api
    if _present(event.get("src_ip")):
        ev["src_endpoint"] = {"ip": event["src_ip"]}
    if _present(event.get("user_agent")):
        ev["http_request"] = {"user_agent": event["user_agent"]}
    if _present(event.get("dst_ip")) or _present(event.get("dst_port")):
        dst: dict[str, Any] = {}
        if _present(event.get("dst_ip")):
            dst["ip"] = event["dst_ip"]
        if _present(event.get("dst_port")):
            dst["port"] = int(event["dst_port"])
        ev["dst_endpoint"] = dst
    if process := _process(event):
        ev["process"] = process
    if container := _container(event):
        ev["container"] = container
    if device := _device(event):
        ev["device"] = device
    if _present(event.get("file_path")):
        ev["file"] = _file(event["file_path"])
    if resources := _resources([event]):
        ev["resources"] = resources
    return ev
