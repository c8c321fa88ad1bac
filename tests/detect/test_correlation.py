"""Sigma correlation rules compiled to windowed SQL, run on real DuckDB.

Three kinds of evidence: hand-written cases with exact expected hits (correlation_cases/*.yml),
a randomized comparison against a brute-force Python oracle of the documented semantics (it
enumerates windows directly instead of using the trailing-window trick of the SQL), and a
200k-event run with planted bursts.
"""

from __future__ import annotations

import json
import random
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import product
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlglot
import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule
from sqlglot.errors import ErrorLevel

from lanner.detect.correlation import MAX_EVENT_UIDS, RESULT_COLUMNS, compile_correlation, correlation_match
from lanner.detect.model import CompiledCorrelation, CompiledRule, RuleMeta
from lanner.errors import RuleError
from lanner.model.event import EVENT_SCHEMA

CASES_DIR = Path(__file__).parent / "correlation_cases"
T0 = datetime(2024, 5, 1, tzinfo=UTC)

# Sigma field -> event column, as the real field mapper does for CloudTrail; anything else reads raw.
_COLUMNS = {"sourceIPAddress": "src_ip", "userIdentity.arn": "actor_id", "eventName": "operation"}


def field_sql(sources: tuple[str, ...], name: str) -> str:
    if name in _COLUMNS:
        return _COLUMNS[name]
    return f"json_extract_string(raw, '$.{name}')"


# --- helpers -------------------------------------------------------------------------------------


def events_table(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], name: str = "events") -> None:
    """Register rows (any subset of EVENT_SCHEMA columns) as a full-schema DuckDB table."""
    cols = {f.name: [r.get(f.name) for r in rows] for f in EVENT_SCHEMA}
    table = pa.Table.from_pydict(cols, schema=EVENT_SCHEMA)
    con.register("_arrow_events", table)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _arrow_events")
    con.unregister("_arrow_events")


def at(seconds: float) -> datetime:
    return T0 + timedelta(milliseconds=round(seconds * 1000))


def compile_yaml(
    sigma_yaml: str,
    base_sql: dict[str, Any],
    path: str = "case.yml",
    fields: Callable[[tuple[str, ...], str], str] = field_sql,
) -> CompiledCorrelation:
    """Parse base rules + one correlation with pySigma and compile it with hand-written base SQL."""
    collection = SigmaCollection.from_yaml(sigma_yaml)
    corrs = [r for r in collection.rules if isinstance(r, SigmaCorrelationRule)]
    assert len(corrs) == 1
    corr = corrs[0]
    base = []
    for ref in corr.rules or []:
        rule = collection[ref.reference]
        assert isinstance(rule, SigmaRule)
        spec = base_sql[ref.reference]
        spec = spec if isinstance(spec, dict) else {"where": spec}
        meta = RuleMeta(id=str(rule.id or ref.reference), title=rule.title, path=path, name=rule.name)
        base.append(CompiledRule(meta, tuple(spec.get("sources", ["aws.cloudtrail"])), spec["where"]))
    meta = RuleMeta(id=str(corr.id or "corr"), title=corr.title, path=path, name=corr.name)
    return compile_correlation(corr, meta, base, fields)


def run(
    con: duckdb.DuckDBPyConnection, compiled: CompiledCorrelation, relation: str = "events"
) -> list[dict[str, Any]]:
    cur = con.execute(compiled.sql.format(relation=relation))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def case_rows(case: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for e in case["events"]:
        rows.append(
            {
                "uid": e["uid"],
                "time": at(e["t"]),
                "source": e.get("source", "aws.cloudtrail"),
                "operation": e["op"],
                "outcome": e.get("outcome"),
                "src_ip": e.get("ip"),
                "actor_id": e.get("actor"),
                "raw": json.dumps(e.get("raw", {"eventName": e["op"]})),
            }
        )
    return rows


CASE_FILES = sorted(CASES_DIR.glob("*.yml"))


# --- hand-written cases ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    compiled = compile_yaml(case["sigma"], case["base"], path=str(path))
    con = duckdb.connect()
    events_table(con, case_rows(case))
    got = run(con, compiled)
    assert [tuple(r) for r in got] == [RESULT_COLUMNS] * len(got)
    simplified = [
        {
            "group": json.loads(r["group_key"]),
            "first": r["first_time"],
            "last": r["last_time"],
            "count": r["event_count"],
            "uids": r["event_uids"],
        }
        for r in got
    ]
    expected = [
        {
            "group": e["group"],
            "first": at(e["first"]),
            "last": at(e["last"]),
            "count": e["count"],
            "uids": e["uids"],
        }
        for e in case["expected"]
    ]
    assert simplified == expected, case["description"]


def test_cases_cover_every_type_and_operator() -> None:
    seen_types, seen_ops = set(), set()
    for path in CASE_FILES:
        for doc in yaml.safe_load_all(yaml.safe_load(path.read_text())["sigma"]):
            corr = doc.get("correlation")
            if corr:
                seen_types.add(corr["type"])
                if isinstance(corr.get("condition"), dict):
                    seen_ops |= set(corr["condition"]) - {"field"}
    assert seen_types == {"event_count", "value_count", "temporal", "temporal_ordered"}
    assert seen_ops == {"gte", "gt", "lte", "lt", "eq", "neq"}


def test_compiled_metadata() -> None:
    case = yaml.safe_load((CASES_DIR / "value_count.yml").read_text())
    compiled = compile_yaml(case["sigma"], case["base"])
    assert compiled.type == "value_count"
    assert compiled.timespan_ms == 300_000
    assert compiled.group_by == ("sourceIPAddress",)
    assert compiled.condition == {"gte": 3, "field": "userIdentity.arn"}
    assert [r.meta.name for r in compiled.rules] == ["fail"]


# --- randomized comparison with a brute-force oracle -----------------------------------------------

SPAN_MS = 5_000


@dataclass(frozen=True)
class Ev:
    uid: str
    t: int  # ms
    op: str
    ip: str | None
    actor: str | None


# Rule i matches these operations; "AB" events match rules 0 and 1 at once.
RULE_OPS = {0: {"A", "AB"}, 1: {"B", "AB"}, 2: {"C"}}


def _random_events(rng: random.Random, n: int) -> list[Ev]:
    out = []
    for i in range(n):
        # 250 ms grid + a few exact-boundary offsets: ties and "exactly timespan apart" are common.
        t = rng.randrange(0, 40_000, 250) + rng.choice([0, 0, 0, 1])
        out.append(
            Ev(
                uid=f"e{i:03d}",
                t=t,
                op=rng.choice(["A", "B", "C", "AB", "X"]),
                ip=rng.choice(["1.1.1.1", "2.2.2.2", None]),
                actor=rng.choice(["u1", "u2", "u3", "u4", None]),
            )
        )
    return out


def _episodes(qual: list[Ev]) -> list[tuple[int, int, int, list[str]]]:
    qual = sorted(set(qual), key=lambda e: (e.t, e.uid))
    out: list[list[Ev]] = []
    for e in qual:
        if out and e.t - out[-1][-1].t <= SPAN_MS:
            out[-1].append(e)
        else:
            out.append([e])
    return [(ep[0].t, ep[-1].t, len(ep), [e.uid for e in ep]) for ep in out]


def _oracle(events: list[Ev], ctype: str, rules: list[int], op: str, n: int) -> list[tuple[Any, ...]]:
    """Documented semantics by brute force: enumerate windows [s, s + T] directly."""
    cmp: dict[str, Callable[[int, int], bool]] = {
        "gte": lambda a, b: a >= b,
        "gt": lambda a, b: a > b,
        "lte": lambda a, b: a <= b,
        "lt": lambda a, b: a < b,
        "eq": lambda a, b: a == b,
        "neq": lambda a, b: a != b,
    }
    # (event, rule) rows of the referenced rules
    rows = [(e, r) for e in events for r in rules if e.op in RULE_OPS[r]]
    hits = []
    for ip in ["1.1.1.1", "2.2.2.2", None]:
        grp = [(e, r) for e, r in rows if e.ip == ip]
        if ctype == "value_count":
            grp = [(e, r) for e, r in grp if e.actor is not None]
        qual: list[Ev] = []
        if ctype == "temporal_ordered":
            qual = _ordered_oracle(grp, rules)
        elif op == "r0 and not r1":
            # Extended condition: evaluated on the trailing window anchored at each referenced event.
            for k, _ in grp:
                present = {r for x, r in grp if k.t - SPAN_MS <= x.t <= k.t}
                if 0 in present and 1 not in present:
                    qual += [x for x, _ in grp if k.t - SPAN_MS <= x.t <= k.t]
        else:
            for e, _ in grp:
                # The best window holding e can be slid right until its left edge meets an event.
                starts = {x.t for x, _ in grp if e.t - SPAN_MS <= x.t <= e.t}
                peak = 0
                for s in starts:
                    inside = [(x, r) for x, r in grp if s <= x.t <= s + SPAN_MS]
                    if ctype == "event_count":
                        m = len({x.uid for x, _ in inside})
                    elif ctype == "value_count":
                        m = len({x.actor for x, _ in inside})
                    else:
                        m = len({r for _, r in inside})
                    peak = max(peak, m)
                if cmp[op](peak, n):
                    qual.append(e)
        for first, last, count, uids in _episodes(qual):
            hits.append(
                (json.dumps({"sourceIPAddress": ip}, separators=(",", ":")), first, last, count, uids)
            )
    return sorted(hits, key=lambda h: (h[1], h[0]))


def _ordered_oracle(grp: list[tuple[Ev, int]], rules: list[int]) -> list[Ev]:
    spans: list[tuple[int, int]] = []

    def extend(step: int, start: int, prev: int) -> None:
        if step == len(rules):
            spans.append((start, prev))
            return
        for e, r in grp:
            if r == rules[step] and prev <= e.t <= start + SPAN_MS:
                extend(step + 1, start, e.t)

    for e, r in grp:
        if r == rules[0]:
            extend(1, e.t, e.t)
    return [e for e, _ in grp if any(s <= e.t <= t for s, t in spans)]


def _random_cases() -> list[tuple[str, list[int], str, int]]:
    cases = [
        ("event_count", [0], op, k) for op, k in product(["gte", "gt", "lte", "lt", "eq", "neq"], [1, 2, 3])
    ]
    cases += [
        ("event_count", [0, 1], "gte", 3),
        ("value_count", [0, 2], "gte", 2),
        ("value_count", [0], "lte", 1),
    ]
    cases += [
        ("value_count", [1], "eq", 2),
        ("temporal", [0, 1, 2], "gte", 3),
        ("temporal", [0, 2], "gte", 1),
    ]
    cases += [("temporal_ordered", [0, 1], "gte", 2), ("temporal_ordered", [2, 0, 1], "gte", 3)]
    cases += [("temporal", [0, 1], "r0 and not r1", 0)]
    return cases


def _random_sigma(
    ctype: str, rules: list[int], op: str, n: int, via_raw: bool = False
) -> tuple[str, dict[str, Any]]:
    docs, base = [], {}
    for r in rules:
        docs.append(
            f"title: r{r}\nname: r{r}\nlogsource: {{product: aws, service: cloudtrail}}\n"
            f"detection: {{sel: {{eventName: x}}, condition: sel}}\n"
        )
        ops = ", ".join(f"'{o}'" for o in sorted(RULE_OPS[r]))
        # via_raw: the rule reads the record like a rule on a field without a column does, with
        # extra JSON conditions that always hold, so the oracle's expectations do not change.
        base[f"r{r}"] = (
            f"(raw ->> '$.eventName') IN ({ops}) AND (raw ->> '$.userIdentity.invokedBy') IS NULL "
            f"AND json_extract_string(raw, '$.eventName') IS NOT NULL AND source = 'aws.cloudtrail'"
            if via_raw
            else f"operation IN ({ops})"
        )
    cond = f"{{{op}: {n}, field: userIdentity.arn}}" if ctype == "value_count" else f"{{{op}: {n}}}"
    corr = (
        f"title: c\ncorrelation:\n  type: {ctype}\n  rules: [{', '.join(f'r{r}' for r in rules)}]\n"
        f"  group-by: [sourceIPAddress]\n  timespan: {SPAN_MS // 1000}s\n"
    )
    if " " in op:
        corr += f"  condition: {op}\n"
    elif ctype != "temporal_ordered":
        corr += f"  condition: {cond}\n"
    return "---\n".join([*docs, corr]), base


def raw_field_sql(sources: tuple[str, ...], name: str) -> str:
    """Every Sigma field read from the record (as for a log type without typed columns)."""
    return f"(raw ->> '$.{name}')"


def _raw_record(e: Ev) -> str:
    record: dict[str, Any] = {"eventName": e.op}
    if e.ip is not None:
        record["sourceIPAddress"] = e.ip
    if e.actor is not None:
        record["userIdentity"] = {"arn": e.actor}
    return json.dumps(record)


@pytest.mark.parametrize("via_raw", [False, True], ids=["columns", "raw"])
@pytest.mark.parametrize("seed", range(10))
def test_matches_bruteforce_oracle(seed: int, via_raw: bool) -> None:
    """`raw`: rules, group-by and value fields read the JSON record (the shared-parse path)."""
    rng = random.Random(seed)
    events = _random_events(rng, 70)
    con = duckdb.connect()
    events_table(
        con,
        [
            {
                "uid": e.uid,
                "time": T0 + timedelta(milliseconds=e.t),
                "source": "aws.cloudtrail",
                "operation": e.op,
                "src_ip": e.ip,
                "actor_id": e.actor,
                "raw": _raw_record(e),
            }
            for e in events
        ],
    )
    fields = raw_field_sql if via_raw else field_sql
    for ctype, rules, op, n in _random_cases():
        sigma_yaml, base = _random_sigma(ctype, rules, op, n, via_raw)
        got = [
            (
                r["group_key"],
                round((r["first_time"] - T0).total_seconds() * 1000),
                round((r["last_time"] - T0).total_seconds() * 1000),
                r["event_count"],
                r["event_uids"],
            )
            for r in run(con, compile_yaml(sigma_yaml, base, fields=fields))
        ]
        want = _oracle(events, ctype, rules, op, n)
        assert sorted(got) == sorted(want), (ctype, rules, op, n)


# --- behaviour details ------------------------------------------------------------------------------


def _burst_yaml(condition: str = "{gte: 2}", extra: str = "") -> str:
    return (
        "title: b\nname: base\nlogsource: {product: aws, service: cloudtrail}\n"
        "detection: {sel: {eventName: x}, condition: sel}\n---\n"
        f"title: c\ncorrelation:\n  type: event_count\n  rules: [base]\n  timespan: 1h\n  condition: {condition}\n{extra}"
    )


def test_uid_list_is_capped_but_count_is_not() -> None:
    con = duckdb.connect()
    n = MAX_EVENT_UIDS + 234
    events_table(
        con,
        [
            {"uid": f"u{i:05d}", "time": at(i * 0.001), "source": "aws.cloudtrail", "operation": "x"}
            for i in range(n)
        ],
    )
    [hit] = run(con, compile_yaml(_burst_yaml(), {"base": "operation = 'x'"}))
    assert hit["event_count"] == n
    assert hit["event_uids"] == [f"u{i:05d}" for i in range(MAX_EVENT_UIDS)]


def test_braces_in_rule_sql_survive_format() -> None:
    con = duckdb.connect()
    events_table(
        con,
        [
            {"uid": str(i), "time": at(i), "source": "aws.cloudtrail", "operation": op}
            for i, op in enumerate(["aaa", "aaaa", "b"])
        ],
    )
    compiled = compile_yaml(
        _burst_yaml(), {"base": "regexp_matches(operation, '^a{3,4}$') AND raw IS DISTINCT FROM '{}'"}
    )
    [hit] = run(con, compiled)
    assert hit["event_uids"] == ["0", "1"]
    assert hit["group_key"] == "{}"


def test_source_and_null_time_are_respected() -> None:
    con = duckdb.connect()
    # uid 2 is of another source; uid 3 has no time, so no window can hold it.
    rows: list[dict[str, Any]] = [
        {"uid": "1", "time": at(0), "source": "aws.cloudtrail", "operation": "x"},
        {"uid": "2", "time": at(1), "source": "gcp.audit", "operation": "x"},
        {"uid": "3", "time": None, "source": "aws.cloudtrail", "operation": "x"},
    ]
    events_table(con, rows)
    assert run(con, compile_yaml(_burst_yaml(), {"base": "operation = 'x'"})) == []
    rows.append({"uid": "4", "time": at(2), "source": "aws.cloudtrail", "operation": "x"})
    events_table(con, rows)
    [hit] = run(con, compile_yaml(_burst_yaml(), {"base": "operation = 'x'"}))
    assert hit["event_uids"] == ["1", "4"]


def test_null_group_value_is_a_group_of_its_own() -> None:
    con = duckdb.connect()
    events_table(
        con,
        [
            {"uid": str(i), "time": at(i), "source": "aws.cloudtrail", "operation": "x", "src_ip": ip}
            for i, ip in enumerate([None, None, "1.1.1.1"])
        ],
    )
    compiled = compile_yaml(_burst_yaml(extra="  group-by: [sourceIPAddress]\n"), {"base": "operation = 'x'"})
    [hit] = run(con, compiled)
    assert json.loads(hit["group_key"]) == {"sourceIPAddress": None}
    assert hit["event_uids"] == ["0", "1"]


def test_correlation_match_builds_match() -> None:
    case = yaml.safe_load((CASES_DIR / "event_count_sliding.yml").read_text())
    compiled = compile_yaml(case["sigma"], case["base"])
    con = duckdb.connect()
    events_table(con, case_rows(case))
    row = run(con, compiled)[1]
    cur = con.execute(
        "SELECT * FROM events WHERE uid IN (SELECT unnest(?)) ORDER BY uid DESC", [row["event_uids"]]
    )
    names = [d[0] for d in cur.description]
    samples = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    match = correlation_match(row, compiled.meta, samples)
    assert match.rule is compiled.meta
    assert match.group == {"userIdentity.arn": "bob"}
    assert match.event_count == 4
    assert [e["uid"] for e in match.events] == ["e1", "e2", "e3", "e4"]  # put back in time order
    assert (match.first_time, match.last_time) == (at(1100), at(1150))
    with pytest.raises(ValueError, match="not a correlation result row"):
        correlation_match({"group_key": "{}"}, compiled.meta, [])


# --- errors ---------------------------------------------------------------------------------------------


def _two_rule_yaml(correlation: str) -> str:
    return (
        "title: a\nname: a\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: a}, condition: s}\n"
        "---\ntitle: b\nname: b\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: b}, condition: s}\n"
        f"---\ntitle: c\ncorrelation:\n{correlation}"
    )


BASE_AB = {"a": "operation = 'a'", "b": "operation = 'b'"}


@pytest.mark.parametrize(
    ("correlation", "message"),
    [
        (
            "  type: value_sum\n  rules: [a]\n  timespan: 1m\n  condition: {gte: 3, field: x}\n",
            "not supported",
        ),
        (
            "  type: temporal_ordered\n  rules: [a, b]\n  timespan: 1m\n  condition: a and b\n",
            "temporal correlations only",
        ),
        (
            "  type: temporal_ordered\n  rules: [a, b]\n  timespan: 1m\n  condition: {gte: 1}\n",
            "no condition other than gte: 2",
        ),
        ("  type: temporal_ordered\n  rules: [a]\n  timespan: 1m\n", "at least two rules"),
        (
            "  type: event_count\n  rules: [a]\n  timespan: 1m\n  condition: {gte: 3, field: x}\n",
            "only applies to value_count",
        ),
        (
            "  type: value_count\n  rules: [a]\n  timespan: 1m\n  condition: {gte: 3, field: [x, y]}\n",
            "exactly one `field`",
        ),
        (
            "  type: temporal\n  rules: [a, b]\n  group-by: [ip]\n  timespan: 1m\n  aliases: {ip: {a: sourceIPAddress}}\n",
            "alias 'ip' has no field for rule 'b'",
        ),
    ],
)
def test_rule_errors_are_located(correlation: str, message: str) -> None:
    with pytest.raises(RuleError, match=message) as err:
        compile_yaml(_two_rule_yaml(correlation), BASE_AB, path="rules/bad.yml")
    assert err.value.location is not None and err.value.location.path == "rules/bad.yml"


def test_field_mapping_failure_is_a_rule_error() -> None:
    def failing(sources: tuple[str, ...], name: str) -> str:
        raise ValueError(f"field {name!r} is multi-valued")

    corr = "  type: event_count\n  rules: [a]\n  group-by: [tags]\n  timespan: 1m\n  condition: {gte: 3}\n"
    with pytest.raises(RuleError, match="field 'tags' of rule 'a' cannot be read"):
        compile_yaml(_two_rule_yaml(corr), BASE_AB, path="rules/bad.yml", fields=failing)


def test_base_rule_count_must_match() -> None:
    collection = SigmaCollection.from_yaml(
        _two_rule_yaml("  type: temporal\n  rules: [a, b]\n  timespan: 1m\n")
    )
    corr = collection.rules[-1]
    assert isinstance(corr, SigmaCorrelationRule)
    with pytest.raises(RuleError, match="lists 2 rules but 1 compiled"):
        compile_correlation(
            corr,
            RuleMeta(id="c", title="c", path="p.yml"),
            [CompiledRule(RuleMeta(id="a", title="a", path="p"), ("aws.cloudtrail",), "TRUE")],
            field_sql,
        )


def test_record_is_parsed_once_per_row() -> None:
    """Every constant JSON path the rules, group-by and value read comes from ONE extraction per
    scan: on a lake, parsing `raw` once per path per row was what made correlations slow."""
    sigma_yaml, base = _random_sigma("value_count", [0, 2], "gte", 2, via_raw=True)
    sql = compile_yaml(sigma_yaml, base, fields=raw_field_sql).sql
    assert sql.count("json_extract_string(raw, [") == 1
    assert "raw ->>" not in sql and "json_extract_string(raw, '" not in sql
    con = duckdb.connect()
    rows: list[dict[str, Any]] = [
        {
            "uid": f"e{i}",
            "time": at(i),
            "source": "aws.cloudtrail",
            "raw": json.dumps(
                {"eventName": op, "sourceIPAddress": "1.1.1.1", "userIdentity": {"arn": actor}}
            ),
        }
        for i, (op, actor) in enumerate([("A", "u1"), ("C", "u2"), ("B", "u3"), ("A", None)])
    ]
    events_table(con, rows)
    [hit] = run(con, compile_yaml(sigma_yaml, base, fields=raw_field_sql))
    assert hit["event_uids"] == ["e0", "e1"]  # e2 matches neither rule; e3 has no value
    assert json.loads(hit["group_key"]) == {"sourceIPAddress": "1.1.1.1"}


@pytest.mark.parametrize(
    ("condition", "fires"),
    [
        ("{gte: 3}", True),
        ("{gte: 4}", False),
        ("{gt: 2}", True),
        ("{gt: 3}", False),
        ("{eq: 3}", True),
        ("{eq: 4}", False),
        ("{lte: 1}", False),
        ("{lt: 4}", True),
    ],
)
def test_groups_pruned_only_when_they_cannot_fire(condition: str, fires: bool) -> None:
    """Groups whose whole population misses a gte/gt/eq threshold are dropped before the windows;
    at the boundary (total == N) they must still fire, and lte/lt keep every group."""
    con = duckdb.connect()
    rows = [
        {"uid": f"a{i}", "time": at(i), "source": "aws.cloudtrail", "operation": "x", "src_ip": "1.1.1.1"}
        for i in range(3)
    ]
    rows.append({"uid": "b0", "time": at(0), "source": "aws.cloudtrail", "operation": "x", "src_ip": None})
    events_table(con, rows)
    compiled = compile_yaml(
        _burst_yaml(condition, "  group-by: [sourceIPAddress]\n"), {"base": "operation = 'x'"}
    )
    groups = {json.loads(h["group_key"])["sourceIPAddress"]: h["event_count"] for h in run(con, compiled)}
    assert ("1.1.1.1" in groups) == fires
    if fires:
        assert groups["1.1.1.1"] == 3
    # The lone NULL-ip event: a group of its own, kept by lte/lt (sparse), dropped by the others.
    assert (None in groups) == (condition in ("{lte: 1}", "{lt: 4}"))


# --- portability and scale ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_sql_transpiles_to_spark(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    sql = compile_yaml(case["sigma"], case["base"]).sql.format(relation="events")
    [spark] = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)
    sqlglot.parse_one(spark, read="spark")  # and Spark's own grammar accepts the result
    lowered = spark.lower()
    for duckdb_only in ("struct_pack", "epoch_ms", "list_slice", "::"):
        assert duckdb_only not in lowered
    assert "range between interval" in lowered


def test_200k_events_stay_fast(capsys: pytest.CaptureFixture[str]) -> None:
    """Background traffic (5,000 IPs, ~40 calls each over a day) plus 20 planted bursts."""
    rng = random.Random(7)
    n_bg = 200_000
    ips = [f"10.{i // 250}.{i % 250}.1" for i in range(5000)]
    rows = [
        {
            "uid": f"bg{i}",
            "time": T0 + timedelta(milliseconds=rng.randrange(86_400_000)),
            "source": "aws.cloudtrail",
            "operation": rng.choice(["ConsoleLogin", "GetObject", "ListUsers", "AttachUserPolicy"]),
            "src_ip": rng.choice(ips),
            "actor_id": f"user{rng.randrange(300)}",
        }
        for i in range(n_bg)
    ]
    planted = {f"203.0.113.{k}" for k in range(20)}
    for k, ip in enumerate(sorted(planted)):
        start = rng.randrange(80_000_000)
        rows += [
            {
                "uid": f"p{k}_{j}",
                "time": T0 + timedelta(milliseconds=start + 200 * j),
                "source": "aws.cloudtrail",
                "operation": "ConsoleLogin",
                "src_ip": ip,
                "actor_id": f"victim{j}",
            }
            for j in range(30)
        ]
    rows += [
        {
            "uid": f"o{k}",
            "time": T0 + timedelta(seconds=3600 * k),
            "source": "aws.cloudtrail",
            "operation": op,
            "src_ip": "198.51.100.1",
        }
        for k, op in enumerate(["ListUsers", "AttachUserPolicy"])
    ]
    con = duckdb.connect()
    events_table(con, rows)

    base = {
        "login": "operation = 'ConsoleLogin'",
        "recon": "operation = 'ListUsers'",
        "escalate": "operation = 'AttachUserPolicy'",
    }
    head = (
        "title: l\nname: login\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: x}, condition: s}\n"
        "---\ntitle: r\nname: recon\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: x}, condition: s}\n"
        "---\ntitle: e\nname: escalate\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: x}, condition: s}\n---\n"
    )
    rules = {
        "event_count": "type: event_count\n  rules: [login]\n  group-by: [sourceIPAddress]\n  timespan: 10s\n  condition: {gte: 20}",
        "value_count": "type: value_count\n  rules: [login]\n  group-by: [sourceIPAddress]\n  timespan: 10s\n"
        "  condition: {gte: 20, field: userIdentity.arn}",
        "temporal_ordered": "type: temporal_ordered\n  rules: [recon, escalate]\n  group-by: [sourceIPAddress]\n  timespan: 2h",
    }
    timings = {}
    for name, body in rules.items():
        compiled = compile_yaml(head + f"title: c\ncorrelation:\n  {body}\n", base)
        started = clock.perf_counter()
        hits = run(con, compiled)
        timings[name] = clock.perf_counter() - started
        groups = {json.loads(h["group_key"])["sourceIPAddress"] for h in hits}
        if name == "temporal_ordered":
            # Background IPs also do recon then escalation by chance; the planted pair must be among them.
            assert "198.51.100.1" in groups
        else:
            assert groups == planted
            assert all(h["event_count"] == 30 for h in hits)
    with capsys.disabled():
        print(
            f"\ncorrelation over {len(rows):,} events: "
            + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items())
        )
