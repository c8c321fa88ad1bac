"""Correlation chaining: temporal / temporal_ordered over event_count / value_count correlations.

Hand-built event tables on real DuckDB, a brute-force oracle of the documented semantics
(lanner.detect.correlation module docs), the loader's handling of chains and of unsupported
shapes, and the engine end to end (findings carry the inner episode's events).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlglot
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule
from sqlglot.errors import ErrorLevel

from lanner.detect.correlation import RESULT_COLUMNS, Unsupported, compile_correlation
from lanner.detect.engine import detect
from lanner.detect.model import CompiledCorrelation, CompiledRule, RuleMeta
from lanner.detect.sigma import load_rules
from lanner.detect.sigma.loader import RuleSet
from lanner.errors import RuleError
from lanner.model.event import EVENT_SCHEMA

T0 = datetime(2024, 5, 1, tzinfo=UTC)
SOURCE = "okta.system"


def field_sql(sources: tuple[str, ...], name: str) -> str:
    return {"user": "actor_id", "ip": "src_ip"}.get(name, f"json_extract_string(raw, '$.{name}')")


def events_table(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    cols = {f.name: [r.get(f.name) for r in rows] for f in EVENT_SCHEMA}
    con.register("_arrow_events", pa.Table.from_pydict(cols, schema=EVENT_SCHEMA))
    con.execute("CREATE OR REPLACE TABLE events AS SELECT * FROM _arrow_events")
    con.unregister("_arrow_events")


def ms(t: int) -> datetime:
    return T0 + timedelta(milliseconds=t)


def ev(
    uid: str, t_s: float, op: str, user: str | None = "alice", ip: str | None = "198.51.100.7"
) -> dict[str, Any]:
    return {
        "uid": uid,
        "time": ms(round(t_s * 1000)),
        "source": SOURCE,
        "operation": op,
        "actor_id": user,
        "src_ip": ip,
        "raw": json.dumps({"eventType": op}),
    }


BASE = {"deny": "operation = 'deny'", "ok": "operation = 'ok'"}


def sigma(inner: str, outer: str, extra_base: str = "") -> str:
    """Base rules `deny` and `ok`, inner correlation `denials`, then the outer correlation."""
    base = "".join(
        f"title: {n}\nname: {n}\nlogsource: {{product: okta, service: okta}}\n"
        f"detection: {{s: {{eventType: {n}}}, condition: s}}\n---\n"
        for n in ("deny", "ok")
    )
    return f"{base}{extra_base}title: denials\nname: denials\ncorrelation:\n{inner}---\ntitle: chain\nname: chain\ncorrelation:\n{outer}"


INNER = "  type: event_count\n  rules: [deny]\n  group-by: [user]\n  timespan: 10s\n  condition: {gte: 3}\n"
OUTER = "  type: temporal_ordered\n  rules: [denials, ok]\n  group-by: [user]\n  timespan: 5s\n"


def compile_all(
    text: str, base_sql: dict[str, str] = BASE, fields: Callable[[tuple[str, ...], str], str] = field_sql
) -> dict[str, CompiledRule | CompiledCorrelation]:
    """Compile every document in order (base rules, then correlations over what came before)."""
    out: dict[str, CompiledRule | CompiledCorrelation] = {}
    for rule in SigmaCollection.from_yaml(text).rules:
        name = str(rule.name)
        meta = RuleMeta(id=str(rule.id or name), title=rule.title, path="chain.yml", name=name)
        if isinstance(rule, SigmaRule):
            out[name] = CompiledRule(meta, (SOURCE,), base_sql[name])
        else:
            assert isinstance(rule, SigmaCorrelationRule)
            refs = [out[r.reference] for r in rule.rules or []]
            out[name] = compile_correlation(rule, meta, refs, fields)
    return out


def run(con: duckdb.DuckDBPyConnection, c: CompiledRule | CompiledCorrelation) -> list[dict[str, Any]]:
    assert isinstance(c, CompiledCorrelation)
    cur = con.execute(c.sql.format(relation="events"))
    names = [d[0] for d in cur.description]
    assert tuple(names) == RESULT_COLUMNS
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def hits(rows: list[dict[str, Any]], inner: str = INNER, outer: str = OUTER) -> list[dict[str, Any]]:
    con = duckdb.connect()
    events_table(con, rows)
    return run(con, compile_all(sigma(inner, outer))["chain"])


# --- the MFA fatigue story, by hand ----------------------------------------------------------------


def test_denials_then_success_fires_with_the_whole_story() -> None:
    rows = [ev(f"d{i}", i, "deny") for i in range(4)] + [ev("s", 5, "ok")]
    [hit] = hits(rows)
    assert json.loads(hit["group_key"]) == {"user": "alice"}
    # The evidence is the inner episode (all four denials) plus the success.
    assert hit["event_uids"] == ["d0", "d1", "d2", "d3", "s"]
    assert hit["event_count"] == 5
    assert (hit["first_time"], hit["last_time"]) == (ms(0), ms(5000))


def test_success_before_denials_does_not_fire() -> None:
    rows = [ev("s", 0, "ok")] + [ev(f"d{i}", 1 + i, "deny") for i in range(4)]
    assert hits(rows) == []


def test_success_in_the_middle_of_the_denials_does_not_fire() -> None:
    """The inner correlation fires at its third denial: a success before that is not "after"."""
    rows = [ev("d0", 0, "deny"), ev("d1", 1, "deny"), ev("s", 1.5, "ok"), ev("d2", 2, "deny")]
    assert hits(rows) == []
    rows.append(ev("s2", 2, "ok"))  # same second as the firing denial: in order
    [hit] = hits(rows)
    assert hit["event_uids"] == ["d0", "d1", "d2", "s2"]


def test_too_few_denials_do_not_fire() -> None:
    rows = [ev("d0", 0, "deny"), ev("d1", 1, "deny"), ev("s", 2, "ok")]
    assert hits(rows) == []
    # Three denials, but never three within the inner 10 s window.
    rows = [ev("d0", 0, "deny"), ev("d1", 6, "deny"), ev("d2", 12, "deny"), ev("s", 13, "ok")]
    assert hits(rows) == []


def test_different_users_do_not_chain() -> None:
    rows = [ev(f"d{i}", i, "deny", user="alice") for i in range(3)] + [ev("s", 4, "ok", user="bob")]
    assert hits(rows) == []
    rows += [ev("s2", 4, "ok", user="alice")]
    [hit] = hits(rows)
    assert json.loads(hit["group_key"]) == {"user": "alice"} and "s" not in hit["event_uids"]


def test_inner_window_boundary_is_inclusive() -> None:
    # Three denials spanning exactly the inner timespan (10 s) fire; by 1 ms more they do not.
    rows = [ev("d0", 0, "deny"), ev("d1", 5, "deny"), ev("d2", 10, "deny"), ev("s", 11, "ok")]
    assert len(hits(rows)) == 1
    rows[2] = ev("d2", 10.001, "deny")
    assert hits(rows) == []


def test_outer_window_is_measured_from_the_moment_the_inner_fired() -> None:
    # Fired at d2 (t = 2); the outer timespan is 5 s: a success at 7 s chains, at 7.001 s it does not.
    denials = [ev(f"d{i}", i, "deny") for i in range(3)]
    assert len(hits([*denials, ev("s", 7, "ok")])) == 1
    assert hits([*denials, ev("s", 7.001, "ok")]) == []
    # Measured from the firing (d2), not the episode start (d0): 9 s after d0 still chains.
    late = [ev("d0", 0, "deny"), ev("d1", 3, "deny"), ev("d2", 4, "deny"), ev("s", 9, "ok")]
    assert len(hits(late)) == 1


def test_null_group_values_chain_like_any_group() -> None:
    rows = [ev(f"d{i}", i, "deny", user=None) for i in range(3)] + [ev("s", 3, "ok", user=None)]
    [hit] = hits(rows)
    assert json.loads(hit["group_key"]) == {"user": None}


def test_temporal_any_order_and_value_count_inner() -> None:
    """temporal (any order) over a value_count correlation: 3 distinct IPs denied, and a success."""
    inner = "  type: value_count\n  rules: [deny]\n  group-by: [user]\n  timespan: 10s\n  condition: {gte: 3, field: ip}\n"
    outer = "  type: temporal\n  rules: [denials, ok]\n  group-by: [user]\n  timespan: 5s\n"
    ips = ["203.0.113.1", "203.0.113.2", "203.0.113.2", "203.0.113.3"]
    rows = [ev(f"d{i}", 1 + i, "deny", ip=ip) for i, ip in enumerate(ips)] + [ev("s", 0, "ok")]
    [hit] = hits(rows, inner, outer)  # success first: fine for temporal (fired at d3, t = 4 s)
    assert hit["event_uids"] == ["s", "d0", "d1", "d2", "d3"]
    rows[3] = ev("d3", 4, "deny", ip="203.0.113.1")  # only two distinct IPs: no inner episode
    assert hits(rows, inner, outer) == []


def test_an_event_in_both_roles_counts_once() -> None:
    base = {"deny": "operation IN ('deny', 'both')", "ok": "operation IN ('ok', 'both')"}
    con = duckdb.connect()
    events_table(con, [ev("d0", 0, "deny"), ev("d1", 1, "deny"), ev("b", 2, "both")])
    [hit] = run(con, compile_all(sigma(INNER, OUTER), base)["chain"])
    assert hit["event_uids"] == ["d0", "d1", "b"] and hit["event_count"] == 3


def test_two_inner_episodes_give_two_hits() -> None:
    first = [ev(f"a{i}", i, "deny") for i in range(3)] + [ev("s1", 3, "ok")]
    second = [ev(f"b{i}", 100 + i, "deny") for i in range(3)] + [ev("s2", 104, "ok")]
    got = hits(first + second)
    assert [h["event_uids"] for h in got] == [["a0", "a1", "a2", "s1"], ["b0", "b1", "b2", "s2"]]


def test_chained_sql_transpiles_to_spark() -> None:
    sql = compile_all(sigma(INNER, OUTER))["chain"]
    assert isinstance(sql, CompiledCorrelation)
    [spark] = sqlglot.transpile(
        sql.sql.format(relation="events"), read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE
    )
    sqlglot.parse_one(spark, read="spark")


# --- brute-force oracle -------------------------------------------------------------------------------

IN_MS, OUT_MS, N = 4_000, 3_000, 3


def _episodes(times: list[tuple[int, str]], span: int) -> list[list[tuple[int, str]]]:
    out: list[list[tuple[int, str]]] = []
    for t, uid in sorted(set(times)):
        if out and t - out[-1][-1][0] <= span:
            out[-1].append((t, uid))
        else:
            out.append([(t, uid)])
    return out


def _inner_oracle(denials: list[tuple[int, str]]) -> list[tuple[int, list[tuple[int, str]]]]:
    """(fire time, events) of each event_count >= N episode, by enumerating windows [s, s + T]."""
    qualifying = []
    for t, uid in denials:
        starts = {s for s, _ in denials if t - IN_MS <= s <= t}
        if any(sum(1 for x, _ in denials if s <= x <= s + IN_MS) >= N for s in starts):
            qualifying.append((t, uid))
    out = []
    for ep in _episodes(qualifying, IN_MS):
        # First met: the earliest moment t at which some window ending at t holds N events.
        fire = min(t for t, _ in ep if sum(1 for x, _ in denials if t - IN_MS <= x <= t) >= N)
        out.append((fire, ep))
    return out


def _chain_oracle(rows: list[dict[str, Any]], ordered: bool) -> list[tuple[Any, ...]]:
    out = []
    for user in sorted({r["actor_id"] for r in rows}, key=lambda u: (u is None, u or "")):
        t = {r["uid"]: round((r["time"] - T0).total_seconds() * 1000) for r in rows if r["actor_id"] == user}
        mine = [r for r in rows if r["actor_id"] == user]
        denials = [(t[r["uid"]], r["uid"]) for r in mine if r["operation"] == "deny"]
        inner = _inner_oracle(denials)
        # Outer events: (time, rule, key); inner episodes are keyed by their index.
        events = [(fire, 0, f"#{k}") for k, (fire, _) in enumerate(inner)]
        events += [(t[r["uid"]], 1, r["uid"]) for r in mine if r["operation"] == "ok"]
        spans = [
            (min(a[0], b[0]), max(a[0], b[0]))
            for a in events
            if a[1] == 0
            for b in events
            if b[1] == 1 and abs(b[0] - a[0]) <= OUT_MS and (not ordered or a[0] <= b[0])
        ]
        qualifying = [(tm, key) for tm, _, key in events if any(s <= tm <= e for s, e in spans)]
        for ep in _episodes(qualifying, OUT_MS):
            members: set[tuple[int, str]] = set()
            for tm, key in ep:
                members |= set(inner[int(key[1:])][1]) if key.startswith("#") else {(tm, key)}
            ordered_members = sorted(members)
            out.append(
                (
                    json.dumps({"user": user}, separators=(",", ":")),
                    ordered_members[0][0],
                    ordered_members[-1][0],
                    len(members),
                    [u for _, u in ordered_members],
                )
            )
    return sorted(out, key=lambda h: (h[1], h[0]))


@pytest.mark.parametrize("ordered", [True, False], ids=["temporal_ordered", "temporal"])
@pytest.mark.parametrize("seed", range(8))
def test_matches_bruteforce_oracle(seed: int, ordered: bool) -> None:
    rng = random.Random(seed)
    rows = [
        ev(
            f"e{i:03d}",
            (rng.randrange(0, 40_000, 250) + rng.choice([0, 0, 0, 1])) / 1000,
            rng.choice(["deny", "deny", "deny", "ok", "other"]),
            user=rng.choice(["u1", "u2", "u3", None]),
        )
        for i in range(90)
    ]
    inner = f"  type: event_count\n  rules: [deny]\n  group-by: [user]\n  timespan: {IN_MS // 1000}s\n  condition: {{gte: {N}}}\n"
    kind = "temporal_ordered" if ordered else "temporal"
    outer = f"  type: {kind}\n  rules: [denials, ok]\n  group-by: [user]\n  timespan: {OUT_MS // 1000}s\n"
    got = [
        (
            h["group_key"],
            round((h["first_time"] - T0).total_seconds() * 1000),
            round((h["last_time"] - T0).total_seconds() * 1000),
            h["event_count"],
            h["event_uids"],
        )
        for h in hits(rows, inner, outer)
    ]
    want = _chain_oracle(rows, ordered)
    assert got == want
    assert seed != 0 or want, "the seed-0 table should hold at least one chain"


# --- shapes that are reported, not crashed on ----------------------------------------------------------


@pytest.mark.parametrize(
    ("inner", "outer", "reason"),
    [
        (
            INNER,
            "  type: event_count\n  rules: [denials]\n  timespan: 5s\n  condition: {gte: 2}\n",
            "event_count over correlation 'denials'",
        ),
        (
            INNER,
            "  type: value_count\n  rules: [denials, ok]\n  timespan: 5s\n  condition: {gte: 2, field: user}\n",
            "only temporal and temporal_ordered",
        ),
        ("  type: temporal\n  rules: [deny, ok]\n  group-by: [user]\n  timespan: 5s\n", OUTER, "is temporal"),
        (
            "  type: event_count\n  rules: [deny]\n  group-by: [user]\n  timespan: 5s\n  condition: {lte: 2}\n",
            OUTER,
            "gte or gt",
        ),
    ],
)
def test_unsupported_shapes_raise_unsupported(inner: str, outer: str, reason: str) -> None:
    with pytest.raises(Unsupported, match=reason):
        compile_all(sigma(inner, outer))


def test_group_by_missing_from_inner_is_a_rule_error() -> None:
    outer = "  type: temporal_ordered\n  rules: [denials, ok]\n  group-by: [ip]\n  timespan: 5s\n"
    with pytest.raises(RuleError, match="'ip' is not grouped by correlation 'denials'"):
        compile_all(sigma(INNER, outer))


def test_alias_maps_outer_group_onto_inner_group() -> None:
    outer = (
        "  type: temporal_ordered\n  rules: [denials, ok]\n  group-by: [who]\n  timespan: 5s\n"
        "  aliases: {who: {denials: user, ok: user}}\n"
    )
    rows = [ev(f"d{i}", i, "deny") for i in range(3)] + [ev("s", 3, "ok")]
    [hit] = hits(rows, INNER, outer)
    assert json.loads(hit["group_key"]) == {"who": "alice"}


# --- loader and engine ------------------------------------------------------------------------------------

_OKTA_RULES = """\
title: Push rejected
id: 6f1b8a52-0d7e-4a40-9a43-3c1a3c0a0001
name: t_push_rejected
logsource: {product: okta, service: okta}
detection: {sel: {eventType: user.mfa.okta_verify.deny_push}, condition: sel}
---
title: Push approved
id: 6f1b8a52-0d7e-4a40-9a43-3c1a3c0a0002
name: t_push_approved
logsource: {product: okta, service: okta}
detection: {sel: {eventType: user.authentication.auth_via_mfa, outcome.result: SUCCESS}, condition: sel}
---
title: Rejections
id: 6f1b8a52-0d7e-4a40-9a43-3c1a3c0a0003
name: t_rejections
correlation:
  type: event_count
  rules: [t_push_rejected]
  group-by: [actor.alternateId]
  timespan: 10m
  condition: {gte: 3}
"""

_CHAIN = """\
title: Approved after rejections
id: 6f1b8a52-0d7e-4a40-9a43-3c1a3c0a0004
name: t_chain
correlation:
  type: temporal_ordered
  rules: [t_rejections, t_push_approved]
  group-by: [actor.alternateId]
  timespan: 10m
"""


def _load(tmp_path: Path, *docs: str) -> RuleSet:
    for i, text in enumerate(docs):
        (tmp_path / f"r{i}.yml").write_text(text)
    return load_rules([tmp_path])


def test_loader_compiles_chain_across_files_in_any_order(tmp_path: Path) -> None:
    rs = _load(tmp_path, _CHAIN, _OKTA_RULES)  # the chain's file is read first
    assert not rs.errors and not rs.unsupported, (rs.errors, rs.unsupported)
    # generate: false (default): the inner correlation and the base rules are no findings of their own.
    assert [c.meta.name for c in rs.correlations] == ["t_chain"]
    assert rs.rules == [] and {r.meta.name for r in rs.correlation_only} == {
        "t_push_rejected",
        "t_push_approved",
    }
    [chain] = rs.correlations
    assert [c.meta.name for c in chain.chained] == ["t_rejections"]
    assert [r.meta.name for r in chain.rules] == ["t_push_rejected", "t_push_approved"]


def test_generate_true_keeps_the_inner_correlation(tmp_path: Path) -> None:
    rs = _load(tmp_path, _OKTA_RULES + "---\n" + _CHAIN + "  generate: true\n")
    assert sorted(c.meta.name for c in rs.correlations) == ["t_chain", "t_rejections"]


def test_loader_reports_unsupported_chains(tmp_path: Path) -> None:
    bad = _CHAIN.replace("temporal_ordered", "event_count").replace(
        "  timespan: 10m\n", "  timespan: 10m\n  condition: {gte: 1}\n"
    )
    rs = _load(tmp_path, _OKTA_RULES + "---\n" + bad)
    assert not rs.errors
    assert [reason for _, reason in rs.unsupported] == [
        "event_count over correlation 't_rejections' is not supported: only temporal and "
        "temporal_ordered correlations may reference other correlations"
    ]
    # The inner correlation was not consumed by a compiled chain: it stays a finding rule.
    assert [c.meta.name for c in rs.correlations] == ["t_rejections"]


def test_loader_reports_reference_cycles(tmp_path: Path) -> None:
    a = "title: A\nname: ca\ncorrelation:\n  type: temporal\n  rules: [cb, t_push_approved]\n  timespan: 1m\n"
    b = "title: B\nname: cb\ncorrelation:\n  type: temporal\n  rules: [ca, t_push_approved]\n  timespan: 1m\n"
    rs = _load(tmp_path, _OKTA_RULES, a, b)
    assert [reason for _, reason in rs.unsupported] == ["correlations reference each other in a cycle"] * 2
    assert [c.meta.name for c in rs.correlations] == ["t_rejections"]


def _okta(uid: str, t_s: int, event_type: str, user: str, result: str = "SUCCESS") -> dict[str, Any]:
    raw = {
        "uuid": uid,
        "published": (T0 + timedelta(seconds=t_s)).isoformat(),
        "eventType": event_type,
        "actor": {"alternateId": user},
        "outcome": {"result": result},
    }
    return {
        "uid": uid,
        "time": T0 + timedelta(seconds=t_s),
        "source": SOURCE,
        "operation": event_type,
        "actor_name": user,
        "raw": json.dumps(raw),
    }


def test_engine_findings_carry_inner_and_outer_events(tmp_path: Path) -> None:
    rs = _load(tmp_path, _OKTA_RULES + "---\n" + _CHAIN)
    deny, ok = "user.mfa.okta_verify.deny_push", "user.authentication.auth_via_mfa"
    rows = [_okta(f"d{i}", 30 * i, deny, "alice@example.com") for i in range(4)]
    rows += [_okta("s", 200, ok, "alice@example.com"), _okta("x", 210, ok, "bob@example.com")]
    rows += [_okta(f"b{i}", 300 + i, deny, "bob@example.com") for i in range(2)]  # too few for bob
    con = duckdb.connect()
    events_table(con, rows)
    [match] = list(detect(con, "events", rs, sample_limit=3))
    assert match.rule.name == "t_chain"
    assert match.group == {"actor.alternateId": "alice@example.com"}
    assert match.event_count == 5
    assert [e["uid"] for e in match.events] == ["d0", "d1", "d2"]  # bounded sample, in time order
    assert (match.first_time, match.last_time) == (T0, T0 + timedelta(seconds=200))
