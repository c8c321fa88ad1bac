"""Render a normalized correlation plan to one DuckDB query (pure string building, no I/O).

`lanner.detect.correlation` validates the pySigma rule, maps fields and documents the semantics;
this module only turns the resulting `Plan` into SQL. The query reads the placeholder relation
`{relation}` and returns one row per firing episode with the columns listed in
`lanner.detect.correlation.RESULT_COLUMNS`.

Cost model (measured on 1 M CloudTrail events in the Parquet lake, see bench/correlation_profile.py):
almost all the time goes into finding the referenced rules' events, not into the windows. A rule
such as "errorCode is AccessDenied and userIdentity.invokedBy is absent" has no cheap column to
prefilter on, and written naively it parses every record's `raw` JSON once per `raw ->> path`
(ten times per row for that rule). So the matched-events CTE is built like the engine's grouped
scan: one scan per distinct source set for all referenced rules; each rule's raw-free conjuncts
(typed columns, the operation prefilter) go first, and every constant JSON path read by any
rule's `where`, group-by or value expression is extracted in ONE `json_extract_string(raw,
[paths])` per row; the raw-reading rest runs only where the cheap part holds. Group-by and value
expressions are evaluated only on matching rows. Before the sliding windows, groups whose whole
population cannot reach the threshold (`gte`/`gt`/`eq`) are dropped with a GROUP BY.

Portability: the SQL sticks to window functions, `INTERVAL 'n' SECOND` frames, `FILTER`,
`to_json(struct_pack(...))`, `array_agg`, `unnest(list_filter(...))` and `list[k]` so that
`sqlglot.transpile(..., write="spark")` renders it for Spark. Two constructs need a Spark
renderer's attention: `count(DISTINCT …) OVER (…)` used by value_count (exact distinct counts in a
sliding window; Spark: `size(collect_set(…) OVER (…))`), and the list form of
`json_extract_string(raw, [paths])` (Spark: one `get_json_object` per path, or `from_json`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from lanner.detect.sqlexpr import conjuncts, raw_json_path, reads_raw

MAX_EVENT_UIDS = 1000  # uids listed per hit; `event_count` still counts every event

# Built with a sentinel, then every other brace is escaped for `str.format(relation=...)`:
# rule SQL may legitimately contain braces (regex quantifiers, JSON literals).
_RELATION_SENTINEL = "\x00RELATION\x00"

_JSON = "__j"  # per-row list of the JSON paths the referenced rules read (one parse of `raw`)


@dataclass(frozen=True)
class Branch:
    """One referenced rule: where its events come from and how its group-by/value fields read."""

    index: int  # position in the correlation's `rules` list (defines temporal_ordered order)
    sources: tuple[str, ...]
    where: str
    operations: tuple[str, ...] | None
    group_exprs: tuple[str, ...]  # one SQL expression per group-by name, for this rule's events
    value_expr: str | None = None  # value_count: the counted field for this rule's events
    # Chaining: the referenced rule is itself a correlation (event_count/value_count with gte/gt).
    # Each of its firing episodes is one event at the time its condition was first met; then
    # `group_exprs` name its group columns (`_g{j}` of `chain`) and sources/where are unused.
    chain: Plan | None = None


@dataclass(frozen=True)
class Plan:
    """Everything needed to render a correlation; built and validated by `correlation.py`."""

    type: str  # event_count | value_count | temporal | temporal_ordered
    branches: tuple[Branch, ...]
    group_names: tuple[str, ...]  # keys of the group_key JSON object
    timespan_s: int
    op: str | None = None  # SQL comparison (>=, >, <=, <, =, <>) applied to the window measure
    count: int | None = None
    expression: str | None = None  # temporal extended condition, already SQL over _p{i} flags


def render(plan: Plan) -> str:
    """The complete query, with `{relation}` as the only format placeholder."""
    chains = [b for b in plan.branches if b.chain is not None]
    ctes = [(f"x{b.index}", _chain_input(b)) for b in chains]
    ctes += _matched(plan)
    if plan.type == "temporal_ordered":
        ctes += _ordered_chain(plan)
    else:
        ctes += _window_measure(plan)
    ctes += _episodes(plan, source=ctes[-1][0], expand=[b.index for b in chains])
    sql = f"WITH {_with(ctes)}\n{_final(plan)}"
    return sql.replace("{", "{{").replace("}", "}}").replace(_RELATION_SENTINEL, "{relation}")


def _with(ctes: list[tuple[str, str]]) -> str:
    return ",\n".join(f"{name} AS (\n{sql}\n)" for name, sql in ctes)


# --- building blocks -------------------------------------------------------------------------------


def _g(plan: Plan) -> list[str]:
    return [f"_g{i}" for i in range(len(plan.group_names))]


def _over(plan: Plan, frame: str, order: str = "time") -> str:
    part = ", ".join(_g(plan))
    partition = f"PARTITION BY {part} " if part else ""
    return f"OVER ({partition}ORDER BY {order} {frame})"


def _preceding(plan: Plan) -> str:
    # Inclusive on both ends: an event exactly `timespan` before the current one is inside.
    return _over(plan, f"RANGE BETWEEN INTERVAL '{plan.timespan_s}' SECOND PRECEDING AND CURRENT ROW")


def _following(plan: Plan) -> str:
    return _over(plan, f"RANGE BETWEEN CURRENT ROW AND INTERVAL '{plan.timespan_s}' SECOND FOLLOWING")


def _quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- matched events: one scan per source set, one JSON parse per row ------------------------------


class _Paths:
    """JSON paths read by a scan's rules, numbered for `__j[k]` (1-based, as DuckDB lists are)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def rewrite(self, e: exp.Expr) -> exp.Expr:
        def swap(node: exp.Expr) -> exp.Expr:
            path = raw_json_path(node)
            if path is None:
                return node
            k = self.index.setdefault(path, len(self.index) + 1)
            # offset=1: k is DuckDB's 1-based position (sqlglot shifts it for 0-based dialects).
            return exp.Bracket(this=exp.column(_JSON), expressions=[exp.Literal.number(k)], offset=1)

        return e.transform(swap)


def _parse(sql: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError:
        return None  # left verbatim: correct, just without the shared JSON parse


def _expr_sql(sql: str, paths: _Paths) -> str:
    """A group/value expression with its JSON reads routed to `__j` (verbatim if none)."""
    tree = _parse(sql)
    if tree is None or not any(raw_json_path(n) is not None for n in tree.walk()):
        return sql
    return paths.rewrite(tree).sql(dialect="duckdb")


def _split_where(b: Branch, paths: _Paths) -> tuple[str | None, str | None]:
    """(raw-free necessary part, raw-reading rest over `__j`) of a branch's `where`; None = TRUE."""
    pre: list[str] = []
    if b.operations:
        # Implied by `where`; stated so the scan can prune on the cheap column first.
        pre.append(f"lower(operation) IN ({', '.join(_quote_str(o) for o in b.operations)})")
    tree = _parse(b.where)
    if tree is None or not any(raw_json_path(n) is not None for n in tree.walk()):
        # Nothing to share: the rule's SQL goes in verbatim (no sqlglot round trip to trust).
        if tree is not None and not reads_raw(tree):
            return _and([*pre, f"({b.where})"]), None
        return _and(pre), f"({b.where})"
    rest: list[str] = []
    for c in conjuncts(tree):
        if reads_raw(c):
            rest.append(f"({paths.rewrite(c).sql(dialect='duckdb')})")
        else:
            pre.append(f"({c.sql(dialect='duckdb')})")
    return _and(pre), _and(rest)


def _and(parts: list[str]) -> str | None:
    return " AND ".join(parts) if parts else None


def _per_rule(values: list[tuple[int, str]]) -> str:
    """One expression if every rule reads the field alike, else a CASE on the rule index."""
    distinct = {v for _, v in values}
    if len(distinct) == 1:
        return values[0][1]
    return "CASE _r " + " ".join(f"WHEN {i} THEN {v}" for i, v in values) + " END"


def _scan(plan: Plan, branches: list[Branch], with_value: bool) -> str:
    """Rows (uid, time, _r, _g*, [_v]) of one scan over the branches' (shared) sources: one row
    per (event, referenced rule it matches)."""
    sources = branches[0].sources
    paths = _Paths()
    splits = [_split_where(b, paths) for b in branches]
    groups = [[_expr_sql(e, paths) for e in b.group_exprs] for b in branches]
    values = [_expr_sql(b.value_expr, paths) if b.value_expr is not None else None for b in branches]

    conds = ["time IS NOT NULL", f"source IN ({', '.join(_quote_str(s) for s in sources)})"]
    if all(pre is not None for pre, _ in splits):
        conds.append("(" + " OR ".join(f"({pre})" for pre, _ in splits) + ")")

    hits = []
    for b, (pre, rest), value in zip(branches, splits, values, strict=True):
        # Events without a value cannot add a distinct value; they take no part in value_count.
        full_rest = [p for p in (rest, f"({value}) IS NOT NULL" if value is not None else None) if p]
        # Nested CASE: the raw-reading part is evaluated only on rows the cheap part admitted.
        hit = f"CASE WHEN {' AND '.join(full_rest)} THEN {b.index} END" if full_rest else str(b.index)
        if pre is not None:
            hit = f"CASE WHEN {pre} THEN {hit} END"
        hits.append(hit)

    json_col = ""
    if paths.index:
        json_col = f", json_extract_string(raw, [{', '.join(_quote_str(p) for p in paths.index)}]) AS {_JSON}"
    cols = ["uid", "time", "_r"]
    # VARCHAR group values: aliased fields of different rules (and types) must land in one column.
    for i in range(len(plan.group_names)):
        expr = _per_rule([(b.index, groups[k][i]) for k, b in enumerate(branches)])
        cols.append(f"CAST(({expr}) AS VARCHAR) AS _g{i}")
    if with_value:
        expr = _per_rule([(b.index, v) for b, v in zip(branches, values, strict=True) if v is not None])
        cols.append(f"CAST(({expr}) AS VARCHAR) AS _v")
    # UNNEST of the hit list emits one row per (row, rule hit) and none for rows without hits, so
    # no filter on the hits is needed (DuckDB would push such a filter below the projection and
    # compute the hits twice). Group and value expressions run after it: on matches only.
    return (
        f"  SELECT {', '.join(cols)} FROM (\n"
        f"    SELECT *, unnest(list_filter([{', '.join(hits)}], lambda _h: _h IS NOT NULL)) AS _r FROM (\n"
        f"      SELECT *{json_col}\n      FROM {_RELATION_SENTINEL}\n      WHERE {' AND '.join(conds)}\n"
        "    )\n  )"
    )


def _matched(plan: Plan) -> list[tuple[str, str]]:
    """All events of the referenced rules (`m`), minus groups that can never fire.

    Temporal types keep one row per (event, rule); for counting types the rule index is dropped
    and DISTINCT makes an event that several referenced rules match count once per group.
    """
    with_rule = plan.type in ("temporal", "temporal_ordered")
    with_value = plan.type == "value_count"
    by_sources: dict[tuple[str, ...], list[Branch]] = {}
    for b in plan.branches:
        if b.chain is None:
            by_sources.setdefault(b.sources, []).append(b)
    scans = []
    for sources, branches in by_sources.items():
        if sources:
            scans.append(_scan(plan, branches, with_value))
    for b in plan.branches:
        if b.chain is not None:
            groups = "".join(f", CAST({e} AS VARCHAR) AS _g{k}" for k, e in enumerate(b.group_exprs))
            scans.append(
                f"  SELECT DISTINCT _s AS uid, _fire AS time, {b.index} AS _r{groups} FROM x{b.index}"
            )
    if not scans:  # rules bound to no source can match no event
        cols = ["CAST(NULL AS VARCHAR) AS uid", "CAST(NULL AS TIMESTAMPTZ) AS time", "0 AS _r"]
        cols += [f"CAST(NULL AS VARCHAR) AS {g}" for g in _g(plan)]
        if with_value:
            cols.append("CAST(NULL AS VARCHAR) AS _v")
        scans.append(f"  SELECT {', '.join(cols)} WHERE FALSE")
    union = "\n  UNION ALL\n".join(scans)
    keep = ["uid", "time", *(["_r"] if with_rule else []), *_g(plan), *(["_v"] if with_value else [])]
    select = "SELECT " if with_rule else "SELECT DISTINCT "
    all_rows = f"  {select}{', '.join(keep)} FROM (\n{union}\n  )"
    total = _group_total(plan)
    if total is None:
        return [("m", all_rows)]
    return [("ma", all_rows), *_prune(plan, total)]


def _group_total(plan: Plan) -> str | None:
    """HAVING condition a group needs over ALL its events to possibly fire, or None (no pruning).

    The measure of any window is at most the same measure over the whole group, so for gte/gt/eq
    a group whose total falls short has no qualifying event. lte/lt/neq can fire on sparse groups.
    """
    if plan.type == "temporal_ordered":
        return f"count(DISTINCT _r) >= {len(plan.branches)}"  # a chain needs every rule
    if plan.expression is not None or plan.op not in (">=", ">", "=") or plan.count is None:
        return None
    measure = {"event_count": "count(*)", "value_count": "count(DISTINCT _v)"}.get(
        plan.type, "count(DISTINCT _r)"
    )
    op = ">=" if plan.op == "=" else plan.op
    return f"{measure} {op} {plan.count}"


def _prune(plan: Plan, having: str) -> list[tuple[str, str]]:
    gs = _g(plan)
    if not gs:
        return [
            ("big", f"  SELECT 1 AS _ok FROM ma HAVING {having}"),
            ("m", "  SELECT ma.* FROM ma CROSS JOIN big"),
        ]
    # IS NOT DISTINCT FROM: a NULL group value is a group of its own and must survive the join.
    on = " AND ".join(f"ma.{g} IS NOT DISTINCT FROM big.{g}" for g in gs)
    return [
        ("big", f"  SELECT {', '.join(gs)} FROM ma GROUP BY {', '.join(gs)} HAVING {having}"),
        ("m", f"  SELECT ma.* FROM ma JOIN big ON {on}"),
    ]


def _window_measure(plan: Plan, fire: bool = False) -> list[tuple[str, str]]:
    """x = measure of the trailing window [time - timespan, time] of every matched event;
    peak = max x over events up to `timespan` later = the densest timespan window holding the event.
    """
    pre = _preceding(plan)
    if plan.type == "event_count":
        measure = f"count(*) {pre}"
    elif plan.type == "value_count":
        measure = f"count(DISTINCT _v) {pre}"
    else:  # temporal: per-rule presence flags in the window
        flags = [
            f"CASE WHEN count(CASE WHEN _r = {b.index} THEN 1 END) {pre} > 0 THEN 1 ELSE 0 END AS _p{b.index}"
            for b in plan.branches
        ]
        return [
            ("pw", "  SELECT *, " + ",\n    ".join(flags) + "\n  FROM m"),
            ("w", "  SELECT *, " + _temporal_measure(plan) + " AS _x\n  FROM pw"),
            *_qualify(plan, "w"),
        ]
    return [("w", f"  SELECT *, {measure} AS _x\n  FROM m"), *_qualify(plan, "w", fire)]


def _temporal_measure(plan: Plan) -> str:
    if plan.expression is not None:
        # Extended condition: the trailing window fires (1) or not (0).
        return f"CASE WHEN {plan.expression} THEN 1 ELSE 0 END"
    return " + ".join(f"_p{b.index}" for b in plan.branches)  # distinct rules present


def _qualify(plan: Plan, source: str, fire: bool = False) -> list[tuple[str, str]]:
    # Extended condition: the event lies in at least one firing window.
    keep = "_peak = 1" if plan.expression is not None else f"_peak {plan.op} {plan.count}"
    hit = f"  SELECT DISTINCT uid, time{_gcols(plan)}\n  FROM pk\n  WHERE {keep}"
    if fire:
        # _f: the trailing window ending at this event meets the condition (gte/gt: the moment
        # the condition is first met is the earliest such event of an episode).
        hit = (
            f"  SELECT uid, time{_gcols(plan)}, max(CASE WHEN _x {plan.op} {plan.count} THEN 1 ELSE 0 END) AS _f\n"
            f"  FROM pk\n  WHERE {keep}\n  GROUP BY uid, time{_gcols(plan)}"
        )
    return [("pk", f"  SELECT *, max(_x) {_following(plan)} AS _peak\n  FROM {source}"), ("hit", hit)]


def _gcols(plan: Plan) -> str:
    return "".join(f", {g}" for g in _g(plan))


def _ordered_chain(plan: Plan) -> list[tuple[str, str]]:
    """Exact evidence for temporal_ordered (rules 0..n-1 in order, span <= timespan).

    _c{i} (rows of rule i): the latest start of a chain rule 0 <= ... <= rule i ending at the row;
    _d{i} (rows of rule i): the earliest end of a chain rule i <= ... <= rule n-1 starting at it.
    Chains spanning more than `timespan` are dropped on the way (they cannot be part of a hit).
    An event at time t lies inside a complete chain iff for some split p the best prefix ending
    at or before t (rules 0..p-1) and the best suffix starting at or after t (rules p..n-1) fit
    in `timespan` together: latest start and earliest end are the only values that matter.
    """
    n = len(plan.branches)
    span = f"INTERVAL '{plan.timespan_s}' SECOND"
    ctes: list[tuple[str, str]] = [
        (
            "c0",
            f"  SELECT *, CASE WHEN _r = 0 THEN time END AS _c0,\n"
            f"    CASE WHEN _r = {n - 1} THEN time END AS _d{n - 1}\n  FROM m",
        )
    ]
    prev = "c0"
    for i in range(1, n):
        ctes.append((f"b{i}", f"  SELECT *, max(_c{i - 1}) {_preceding(plan)} AS _best{i}\n  FROM {prev}"))
        keep = f"_r = {i} AND _best{i} >= time - {span}"
        ctes.append((f"c{i}", f"  SELECT *, CASE WHEN {keep} THEN _best{i} END AS _c{i}\n  FROM b{i}"))
        prev = f"c{i}"
    for i in range(n - 2, -1, -1):
        ctes.append((f"f{i}", f"  SELECT *, min(_d{i + 1}) {_following(plan)} AS _next{i}\n  FROM {prev}"))
        keep = f"_r = {i} AND _next{i} <= time + {span}"
        ctes.append((f"d{i}", f"  SELECT *, CASE WHEN {keep} THEN _next{i} END AS _d{i}\n  FROM f{i}"))
        prev = f"d{i}"
    bounds = []
    for p in range(1, n):
        bounds.append(f"max(_c{p - 1}) {_preceding(plan)} AS _pre{p}")
        bounds.append(f"min(_d{p}) {_following(plan)} AS _suf{p}")
    ctes.append(("pk", "  SELECT *, " + ",\n    ".join(bounds) + f"\n  FROM {prev}"))
    covered = " OR ".join(f"_suf{p} <= _pre{p} + {span}" for p in range(1, n))
    ctes.append(("hit", f"  SELECT DISTINCT uid, time{_gcols(plan)}\n  FROM pk\n  WHERE {covered}"))
    return ctes


def _episodes(plan: Plan, source: str, expand: list[int] | None = None) -> list[tuple[str, str]]:
    """Chain qualifying events of a group into episodes: a gap longer than `timespan` starts a new one.

    `expand`: indexes of chained branches; their episode-events are replaced by the events of the
    inner episode they stand for (distinct events, so one shared by both roles counts once).
    """
    span = f"INTERVAL '{plan.timespan_s}' SECOND"
    numbered = "ep"
    expansion: list[tuple[str, str]] = []
    if expand:
        inner = "\n  UNION ALL\n".join(f"  SELECT _s, uid AS _u, time AS _t FROM x{i}" for i in expand)
        gs = "".join(f", ep.{g}" for g in _g(plan))
        expansion = [
            ("xm", inner),
            (
                "xp",
                f"  SELECT DISTINCT coalesce(xm._u, ep.uid) AS uid, coalesce(xm._t, ep.time) AS time{gs}, ep._ep\n"
                "  FROM ep LEFT JOIN xm ON ep.uid = xm._s",
            ),
        ]
        numbered = "xp"
    return [
        ("lg", f"  SELECT *, lag(time) {_over(plan, '')} AS _prev\n  FROM {source}"),
        (
            "ep",
            "  SELECT *, sum(CASE WHEN _prev IS NULL OR time - _prev > "
            f"{span} THEN 1 ELSE 0 END) "
            # RANGE (not ROWS): events with equal times share one episode number whatever their order.
            f"{_over(plan, 'RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW')} AS _ep\n  FROM lg",
        ),
        *expansion,
        (
            "num",
            f"  SELECT *, row_number() OVER (PARTITION BY {', '.join([*_g(plan), '_ep'])} ORDER BY time, uid) AS _n\n"
            f"  FROM {numbered}",
        ),
    ]


def _chain_input(b: Branch) -> str:
    """Events of a chained (inner) correlation with their episode: (uid, time, _g*, _ep, _fire, _s).

    `_fire`: when the episode's condition was first met (its earliest event whose trailing window
    meets it); `_s`: a synthetic uid naming the episode, its one event in the outer correlation.
    """
    assert b.chain is not None
    inner = b.chain
    ctes = _matched(inner) + _window_measure(inner, fire=True)
    ctes += _episodes(inner, source=ctes[-1][0])[:2]  # lg, ep
    part = ", ".join([*_g(inner), "_ep"])
    order = ", ".join([*_g(inner), "_ep"])
    select = (
        f"  SELECT uid, time{_gcols(inner)}, _ep,\n"
        f"    min(CASE WHEN _f = 1 THEN time END) OVER (PARTITION BY {part}) AS _fire,\n"
        f"    '~chain{b.index}~' || CAST(dense_rank() OVER (ORDER BY {order}) AS VARCHAR) AS _s\n"
        "  FROM ep"
    )
    return f"  WITH {_with(ctes)}\n{select}"


def _final(plan: Plan) -> str:
    if plan.group_names:
        fields = ", ".join(
            f"{_quote_ident(n)} := {g}" for n, g in zip(plan.group_names, _g(plan), strict=True)
        )
        key = f"CAST(to_json(struct_pack({fields})) AS VARCHAR)"
    else:
        key = "'{}'"
    group = ", ".join([*_g(plan), "_ep"])
    return (
        f"SELECT {key} AS group_key, min(time) AS first_time, max(time) AS last_time,\n"
        "  count(*) AS event_count,\n"
        f"  array_agg(uid ORDER BY _n) FILTER (WHERE _n <= {MAX_EVENT_UIDS}) AS event_uids\n"
        f"FROM num\nGROUP BY {group}\nORDER BY first_time, group_key"
    )
