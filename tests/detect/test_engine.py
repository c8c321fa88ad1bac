"""Engine: source routing, operation prefilter, streaming, one Match per event, correlations."""

from __future__ import annotations

import dataclasses
import sys
import uuid
from collections import Counter
from collections.abc import Generator
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pytest

from lanner.detect.engine import detect, group_query, match_batches, rule_query, scan_filter_pays
from lanner.detect.sigma import load_rules
from lanner.model.event import EVENT_COLUMNS
from lanner.paths import SHARED_DATASETS_DIR

# bench/ holds the synthetic CloudTrail generator; it is not a package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))


import lanner.testing.events as _events

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
    grouped = sorted((rs.rules[i].meta.name, u) for u, i in con.sql(f"SELECT uid, __rule FROM ({group_query('ev', rs.rules)})").fetchall())
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


# --------------------------------------------------------------------------------------------
# The fast path (one grouped scan per source group) against the plain per-rule queries


def _pairs_fast(con: duckdb.DuckDBPyConnection, rules: list) -> Counter[tuple[str, str]]:
    got: Counter[tuple[str, str]] = Counter()
    for rule, batch in match_batches(con, "events", rules):
        assert batch.schema.names == list(EVENT_COLUMNS)
        got.update((rule.meta.path + "#" + rule.meta.id, u) for u in batch.column("uid").to_pylist())
    return got


def _pairs_reference(con: duckdb.DuckDBPyConnection, rules: list) -> Counter[tuple[str, str]]:
    ref: Counter[tuple[str, str]] = Counter()
    for rule in rules:
        for (u,) in con.execute(f"SELECT uid FROM ({rule_query('events', rule)})").fetchall():
            ref[(rule.meta.path + "#" + rule.meta.id, u)] += 1
    return ref


_PANTHER = SHARED_DATASETS_DIR / "panther-dev" / "tests.jsonl"
_SIGMAHQ = SHARED_DATASETS_DIR / "sigmahq"
_PANTHER_TYPES = ("AWS.CloudTrail", "Azure.MonitorActivity", "GCP.AuditLog", "Amazon.EKS.Audit")


@pytest.mark.skipif(not (_PANTHER.is_file() and _SIGMAHQ.is_dir()), reason=f"shared datasets absent under {SHARED_DATASETS_DIR}")
def test_fast_path_equals_per_rule_queries_on_real_records(tmp_path: Path) -> None:
    """Every SigmaHQ rule over Panther's labelled cloud records (CloudTrail, Azure, GCP, EKS), run
    through the real normalizers: the grouped scan returns exactly the per-rule queries' pairs."""
    from lanner.service import load_files

    by_type: dict[str, list[bytes]] = {}
    for line in _PANTHER.read_bytes().splitlines():
        rec = orjson.loads(line)
        if rec["log_type"] in _PANTHER_TYPES and isinstance(rec.get("log"), dict):
            by_type.setdefault(rec["log_type"], []).append(orjson.dumps(rec["log"]))
    for log_type, lines in by_type.items():
        (tmp_path / f"{log_type}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    con = duckdb.connect()
    load_files(con, [tmp_path])
    counts = dict(con.execute("SELECT source, count(*) FROM events GROUP BY ALL").fetchall())
    assert {"aws.cloudtrail", "azure.activity", "gcp.audit", "k8s.audit"} <= set(counts), counts

    rules = load_rules([_SIGMAHQ]).rules
    fast, ref = _pairs_fast(con, rules), _pairs_reference(con, rules)
    assert fast == ref
    assert sum(ref.values()) > 50 and len({r for r, _ in ref}) > 20  # the comparison has teeth


def test_fast_path_equals_per_rule_queries_on_generated_cloudtrail(tmp_path: Path) -> None:
    """The benchmark's synthetic CloudTrail (every identity type, errors, many services) with
    the SigmaHQ AWS rules plus rules that stress the planner (no prefilter, raw-only fields,
    keywords, shared JSON paths, arrays)."""
    gen = pytest.importorskip("gen_cloudtrail", reason="bench/gen_cloudtrail.py not importable")
    from lanner.service import load_files

    path = tmp_path / "ct.jsonl"
    gen.generate(path, n=4000, seed=7, workers=1)
    con = duckdb.connect()
    load_files(con, [path])
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    extra = _ruleset(
        rules_dir,
        assumed="{userIdentity.type: AssumedRole, userIdentity.sessionContext.sessionIssuer.type: Role}",
        keyword_like="'{eventName|startswith: Get, userAgent|contains: boto}'",
        errors="{errorCode|contains: [Denied, NotFound]}",
        noop_raw="{userIdentity.arn|re: ':assumed-role/'}",
        resources_any="{resources.ARN|contains: ':s3:::'}",
        op_and_raw="{eventName: [GetObject, PutObject], requestParameters.bucketName|exists: true}",
    ).rules
    sigma = load_rules([_SIGMAHQ]).rules if _SIGMAHQ.is_dir() else []
    rules = [r for r in sigma if r.sources == ("aws.cloudtrail",)] + list(extra)
    fast, ref = _pairs_fast(con, rules), _pairs_reference(con, rules)
    assert fast == ref
    fired = {r for r, _ in ref}
    assert sum(ref.values()) > 1000 and len(fired) >= 6


def test_group_query_parses_raw_once_and_lowers_operation_once(tmp_path: Path) -> None:
    rs = _ruleset(
        tmp_path,
        a="{eventName: A, userIdentity.type: Root}",
        b="{eventName: B, userIdentity.type: IAMUser, errorCode: X}",
        c="{errorCode: Y}",
    )
    sql = group_query("ev", rs.rules)
    assert sql.count("json_extract_string(raw, [") == 1
    # No per-field parse of the record is left (json_type only runs on values starting '[').
    assert "raw ->> '$.userIdentity.type'" not in sql and "raw ->> '$.errorCode'" not in sql
    assert sql.lower().count("lower(operation)") == 1  # the select's __op; rules read __op
    # Rule c reads raw with no cheap prefilter, so every row is parsed, once, unguarded.
    assert ", json_extract_string(raw, [" in sql


def test_scan_prefilter_when_every_rule_has_one(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, a="{eventName: A, errorCode: X}", b="{eventSource: s3.amazonaws.com, errorCode: Y}")
    sql = group_query("ev", rs.rules)
    scan_where = sql[sql.rindex("WHERE"):]
    assert "lower(operation)" in scan_where.lower() and "raw" not in scan_where
    # The JSON parse is guarded by the same prefilters: rows no rule can match are not parsed.
    assert "THEN json_extract_string(raw, [" in sql


def test_group_query_rejects_mixed_sources(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, a="{eventName: A}")
    other = dataclasses.replace(rs.rules[0], sources=("gcp.audit",))
    with pytest.raises(ValueError, match="same sources"):
        group_query("ev", [rs.rules[0], other])


def test_rows_equal_arrow_conversion_and_early_stop_frees_connection(tmp_path: Path) -> None:
    rs = _ruleset(tmp_path, a="{eventName: A}")
    con = duckdb.connect()
    evs = [{"uid": str(i), "raw": {"eventName": "A", "n": i}} for i in range(70000)]
    evs.append({"uid": "rt", "source": "runtime.process", "cols": {"operation": "A", "pid": 7, "dst_port": 80}, "raw": {}})
    load_events(con, "events", _events.event_rows(evs))
    batches = list(match_batches(con, "events", rs))
    assert sum(b.num_rows for _, b in batches) == 70000 and len(batches) == 2  # streamed in batches
    table = pa.Table.from_batches([b for _, b in batches])
    matches = list(detect(con, "events", rs))
    assert [m.events[0] for m in matches] == table.to_pylist()  # same values, types and tz
    assert all(m.first_time == m.last_time == m.events[0]["time"] for m in matches)
    # A consumer that stops early leaves the connection usable.
    it = detect(con, "events", rs)
    assert isinstance(it, Generator)
    next(it)
    it.close()
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(70001,)]


def test_scan_filter_only_when_selective_and_results_unchanged(tmp_path: Path) -> None:
    # "rare" admits 1 row in 100 through its typed part; "common" admits every AssumeRole row.
    (tmp_path / "rare").mkdir()
    (tmp_path / "common").mkdir()
    rare = _ruleset(tmp_path / "rare", stop="{eventName: StopLogging}").rules
    common = _ruleset(tmp_path / "common", assume="{eventName: AssumeRole, userIdentity.type: AssumedRole}").rules
    con = duckdb.connect()
    evs = [
        {"uid": str(i), "raw": {"eventName": "StopLogging" if i % 100 == 0 else "AssumeRole", "userIdentity": {"type": "AssumedRole"}}}
        for i in range(3000)
    ]
    load_events(con, "events", _events.event_rows(evs))
    assert scan_filter_pays(con, "events", rare) is True
    assert scan_filter_pays(con, "events", common) is False
    for rules in (rare, common):
        with_filter = sorted(con.sql(f"SELECT uid, __rule FROM ({group_query('events', rules)})").fetchall())
        without = sorted(con.sql(f"SELECT uid, __rule FROM ({group_query('events', rules, filter_scan=False)})").fetchall())
        assert with_filter == without and with_filter
