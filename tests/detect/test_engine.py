"""Engine: source routing, operation prefilter, streaming, one Match per event, correlations."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import duckdb
import pytest

from lanner.detect.engine import detect, group_query, rule_query
from lanner.detect.sigma import load_rules


def _load_events_module() -> object:
    path = Path(__file__).parent / "conformance" / "events.py"
    spec = importlib.util.spec_from_file_location("lanner_test_events", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_events = _load_events_module()
event_row = _events.event_row
load_events = _events.load_events



RULE = """\
title: {title}
id: {id}
name: {name}
logsource: {{product: aws, service: cloudtrail}}
detection:
  sel: {detection}
  condition: sel
"""


def _ruleset(tmp_path: Path, **rules: str):
    for name, det in rules.items():
        (tmp_path / f"{name}.yml").write_text(RULE.format(title=name, id=uuid.uuid4(), name=name, detection=det))
    rs = load_rules([tmp_path])
    assert not rs.errors and not rs.unsupported
    return rs


def test_one_match_per_event_and_rule_streamed(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, stop="{eventName: StopLogging}", root="{userIdentity.type: Root}")
    con = duckdb.connect()
    events = [
        {"uid": "1", "raw": {"eventName": "StopLogging", "userIdentity": {"type": "Root"}}},
        {"uid": "2", "raw": {"eventName": "StopLogging"}},
        {"uid": "3", "raw": {"eventName": "ListBuckets"}},
        {"uid": "4", "source": "gcp.audit", "cols": {"operation": "StopLogging"}, "raw": {"userIdentity": {"type": "Root"}}},
    ]
    load_events(con, "ev", [event_row(e, i) for i, e in enumerate(events)])
    it = detect(con, "ev", rs)
    assert iter(it) is it  # a generator: matches stream
    got = sorted((m.rule.name, m.events[0]["uid"], m.event_count) for m in it)
    assert got == [("root", "1", 1), ("stop", "1", 1), ("stop", "2", 1)]


def test_prefilter_sql_uses_operation_column(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, stop="{eventName: [StopLogging, DeleteTrail], userAgent|contains: cli}")
    sql = rule_query("ev", rs.rules[0])
    assert "lower(operation) IN ('deletetrail', 'stoplogging')" in sql
    assert "source IN ('aws.cloudtrail')" in sql


def test_group_query_matches_per_rule_queries(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, a="{eventName: A}", b="{userAgent|contains: x}")
    con = duckdb.connect()
    evs = [{"uid": str(i), "raw": {"eventName": "A" if i % 2 else "B", "userAgent": "x" if i % 3 else "y"}} for i in range(30)]
    load_events(con, "ev", [event_row(e, i) for i, e in enumerate(evs)])
    grouped = sorted((rs.rules[h].meta.name, u) for u, hits in con.sql(f"SELECT uid, __hits FROM ({group_query('ev', rs.rules)})").fetchall() for h in hits)
    single = sorted((m.rule.name, m.events[0]["uid"]) for m in detect(con, "ev", rs))
    assert grouped == single and len(single) == 15 + 20


def test_correlation_runs_and_samples(tmp_path: Path) -> None:
    pytest.importorskip("lanner.detect.correlation", reason="correlation compiler not present")
    _ruleset(tmp_path, denied="{errorCode: AccessDenied}")
    (tmp_path / "corr.yml").write_text(
        "title: Burst\nid: 0b5d6d39-2a3f-4b0b-9a0b-3f6a5e3c0105\ncorrelation:\n  type: event_count\n"
        "  rules: [denied]\n  group-by: [userIdentity.arn]\n  timespan: 1m\n  condition: {gte: 3}\n"
    )
    rs = load_rules([tmp_path])
    assert not rs.errors and len(rs.correlations) == 1
    con = duckdb.connect()
    evs = [{"uid": f"u{i}", "raw": {"errorCode": "AccessDenied", "userIdentity": {"arn": "a" if i < 4 else "b"}}} for i in range(6)]
    load_events(con, "ev", [event_row(e, i) for i, e in enumerate(evs)])
    corr = [m for m in detect(con, "ev", rs, sample_limit=2) if m.group is not None]
    assert len(corr) == 1
    assert corr[0].event_count == 4 and len(corr[0].events) == 2
