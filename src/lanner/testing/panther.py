"""Score the rule pack on panther-analysis's labelled rule-test events (`panther-dev`).

Each test case is one event with a label: `true` means that Panther rule must alert, so the
event is a realistic example of a behaviour worth detecting; `false` means that Panther rule must
not alert (the event may still be suspicious to another rule). We measure, per log type, the
share of positives on which Lanner raises at least one finding and the share of negatives on
which it does.

Evaluation is per single event: correlation rules need sequences and are exercised by their own
examples, so they are left out here (running all cases together would let unrelated cases form
spurious bursts). Panther trims its test events to the fields a rule reads, so many lack the
provider's event id or timestamp, which Lanner requires; when the event classifies but is missing
exactly those, the harness stamps a placeholder id/time into the field the format names
(`FormatMap.required`) and counts how often it did so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from lanner.detect.engine import detect
from lanner.detect.sigma.loader import RuleSet
from lanner.normalize import normalize_batch
from lanner.normalize.registry import FORMATS
from lanner.paths import SHARED_DATASETS_DIR
from lanner.sources import RECORDS_SCHEMA

DATASET = SHARED_DATASETS_DIR / "panther-dev" / "tests.jsonl"

# Panther log types whose events Lanner ingests, and the Lanner sources they land in.
INGESTED: dict[str, frozenset[str]] = {
    "AWS.CloudTrail": frozenset({"aws.cloudtrail"}),
    "GCP.AuditLog": frozenset({"gcp.audit"}),
    "Azure.MonitorActivity": frozenset({"azure.activity", "azure.audit", "azure.signin", "k8s.audit"}),
    "Azure.Audit": frozenset({"azure.audit", "azure.signin"}),
    "Amazon.EKS.Audit": frozenset({"k8s.audit"}),
    "Okta.SystemLog": frozenset({"okta.system"}),
    "GSuite.ActivityEvent": frozenset({"gworkspace.audit"}),
    "GitHub.Audit": frozenset({"github.audit"}),
    "Microsoft365.Audit.Exchange": frozenset({"m365.audit"}),
    "Microsoft365.Audit.AzureActiveDirectory": frozenset({"m365.audit"}),
}

_PLACEHOLDER_TIME = "2026-01-15T12:00:00Z"


@dataclass(frozen=True)
class Case:
    index: int  # line number in the dataset (1-based)
    rule_id: str  # the Panther rule the test belongs to
    log_type: str
    expected: bool
    log: dict[str, Any]
    # A negative whose identical event another Panther test labels positive: the label only
    # says that one rule must stay quiet, and the event is a behaviour worth detecting.
    contested: bool = False


@dataclass
class Outcome:
    case: Case
    text: str  # the record as fed to Lanner (after enrichment removal and placeholders)
    filled: tuple[str, ...] = ()  # fields the harness stamped
    source: str | None = None  # Lanner source it normalized to (None: quarantined)
    quarantine_reason: str | None = None
    rules: tuple[str, ...] = ()  # Lanner rules that raised a finding on it


@dataclass
class Score:
    log_type: str
    outcomes: list[Outcome] = field(default_factory=list)

    def _share(self, expected: bool) -> tuple[int, int]:
        cases = [o for o in self.outcomes if o.case.expected is expected]
        return sum(1 for o in cases if o.rules), len(cases)

    @property
    def positives(self) -> tuple[int, int]:
        """(positives with a finding, positives)."""
        return self._share(True)

    @property
    def negatives(self) -> tuple[int, int]:
        """(negatives with a finding, negatives)."""
        return self._share(False)

    @property
    def uncontested_negatives(self) -> tuple[int, int]:
        """(negatives with a finding, negatives), leaving out contested ones."""
        cases = [o for o in self.outcomes if not o.case.expected and not o.case.contested]
        return sum(1 for o in cases if o.rules), len(cases)

    @property
    def normalized(self) -> int:
        return sum(1 for o in self.outcomes if o.source is not None)

    @property
    def filled(self) -> int:
        return sum(1 for o in self.outcomes if o.filled)


def load_cases(path: Path = DATASET, log_types: Iterable[str] | None = None) -> list[Case]:
    wanted = set(log_types) if log_types is not None else set(INGESTED)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    positive_logs = {d.get("log_hash") for d in rows if d["expected_result"]} - {None}
    return [
        Case(i, d["rule_id"], d["log_type"], bool(d["expected_result"]), d["log"],
             contested=not d["expected_result"] and d.get("log_hash") in positive_logs)
        for i, d in enumerate(rows, 1)
        if d["log_type"] in wanted and isinstance(d.get("log"), dict)
    ]


def _strip_enrichment(log: dict[str, Any]) -> dict[str, Any]:
    # Panther's `p_*` fields are its own enrichment, not part of the provider's record.
    return {k: v for k, v in log.items() if not k.startswith("p_")}


def _set_path(record: dict[str, Any], dotted: str, value: Any) -> bool:
    """Set `dotted` in `record` unless an intermediate value is not an object; True if set."""
    node = record
    *parents, last = dotted.split(".")
    top = parents[0] if parents else last
    if record and all(k == k.lower() for k in record) and top != top.lower():
        # Panther lower-cases some providers' keys (Microsoft 365); follow the record's casing.
        parents, last = [p.lower() for p in parents], last.lower()
    for key in parents:
        nxt = node.setdefault(key, {})
        if not isinstance(nxt, dict):
            return False
        node = nxt
    if last in node and node[last] not in (None, ""):
        return False
    node[last] = value
    return True


def _records(texts: Sequence[str]) -> pa.Table:
    return pa.Table.from_pydict(
        {"file": ["panther-dev"] * len(texts), "position": list(range(1, len(texts) + 1)), "raw": list(texts)},
        schema=RECORDS_SCHEMA,
    )


def _by_raw(outcomes: Sequence[Outcome]) -> dict[str, list[Outcome]]:
    """Outcomes by the `raw` their event will carry: the record, or the record an envelope wraps."""
    index: dict[str, list[Outcome]] = {}
    for o in outcomes:
        index.setdefault(o.text, []).append(o)
        props = json.loads(o.text).get("properties")
        if isinstance(props, dict) and isinstance(props.get("log"), str):
            index.setdefault(props["log"], []).append(o)  # AKS diagnostic records are unwrapped
    return index


def prepare(
    con: duckdb.DuckDBPyConnection, cases: Sequence[Case]
) -> tuple[list[Outcome], pa.Table, dict[str, list[Outcome]]]:
    """Normalize the cases' events (stamping missing id/time); returns outcomes, the events,
    and the outcomes by the `raw` their event carries."""
    logs = [_strip_enrichment(c.log) for c in cases]
    outcomes = [Outcome(c, json.dumps(log, separators=(",", ":"))) for c, log in zip(cases, logs, strict=True)]
    first = normalize_batch(con, _records([o.text for o in outcomes]))
    for q in first.quarantine.to_pylist():
        o = outcomes[q["position"] - 1]
        reason, source = q["reason"] or "", q["source"]
        fmt = FORMATS.get(source) if source else None
        if fmt is None or not reason.startswith(("missing uid", "missing or unparseable time")):
            continue
        log = json.loads(o.text)
        # AKS diagnostic records carry the audit event as a JSON string: stamp the inner event.
        inner = log.get("properties", {}).get("log") if isinstance(log.get("properties"), dict) else None
        target = json.loads(inner) if isinstance(inner, str) and inner.startswith("{") else log
        filled = []
        if "uid" in fmt.required and _set_path(target, fmt.required["uid"], f"panther-dev-{o.case.index}"):
            filled.append(fmt.required["uid"])
        if "time" in fmt.required and _set_path(target, fmt.required["time"], _PLACEHOLDER_TIME):
            filled.append(fmt.required["time"])
        if target is not log:
            log["properties"]["log"] = json.dumps(target, separators=(",", ":"))
        if filled:
            o.text, o.filled = json.dumps(log, separators=(",", ":")), tuple(filled)
    result = normalize_batch(con, _records([o.text for o in outcomes]))
    by_text = _by_raw(outcomes)
    for raw, source in zip(result.events["raw"].to_pylist(), result.events["source"].to_pylist(), strict=True):
        for o in by_text.get(raw, []):
            o.source = source
    for q in result.quarantine.to_pylist():
        outcomes[q["position"] - 1].quarantine_reason = q["reason"]
    return outcomes, result.events, by_text


def evaluate(ruleset: RuleSet, cases: Sequence[Case], con: duckdb.DuckDBPyConnection | None = None) -> dict[str, Score]:
    """Per log type: which cases the single-event rules of `ruleset` raise findings on."""
    con = con or duckdb.connect()
    single = replace(ruleset, correlations=[])
    scores: dict[str, Score] = {}
    by_type: dict[str, list[Case]] = {}
    for c in cases:
        by_type.setdefault(c.log_type, []).append(c)
    for log_type, group in sorted(by_type.items()):
        outcomes, events, by_text = prepare(con, group)
        con.register("panther_events", events)
        hits: dict[int, set[str]] = {}
        for m in detect(con, "panther_events", single):
            for row in m.events:
                for o in by_text.get(str(row["raw"]), []):
                    hits.setdefault(id(o), set()).add(m.rule.name or m.rule.id)
        con.unregister("panther_events")
        for o in outcomes:
            o.rules = tuple(sorted(hits.get(id(o), ())))
        scores[log_type] = Score(log_type, outcomes)
    return scores


def describe(case: Case) -> str:
    """A short handle on what the event is, for listing misses."""
    log = case.log
    for path in ("eventName", "protoPayload.methodName", "operationName", "eventType", "action", "name", "verb",
                 "Operation", "operation"):
        node: Any = log
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node = node.get("value")
        if node:
            extra = log.get("objectRef", {}).get("resource") if path == "verb" and isinstance(log.get("objectRef"), dict) else None
            return f"{node}{'/' + str(extra) if extra else ''}"
    return "?"
