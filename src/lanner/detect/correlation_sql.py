"""Render a normalized correlation plan to one DuckDB query (pure string building, no I/O).

`lanner.detect.correlation` validates the pySigma rule, maps fields and documents the semantics;
this module only turns the resulting `Plan` into SQL. The query reads the placeholder relation
`{relation}` and returns one row per firing episode with the columns listed in
`lanner.detect.correlation.RESULT_COLUMNS`.

Portability: the SQL sticks to window functions, `INTERVAL 'n' SECOND` frames, `FILTER`,
`to_json(struct_pack(...))` and `array_agg` so that `sqlglot.transpile(..., write="spark")`
renders it for Spark. The one construct Spark cannot run as rendered is `count(DISTINCT …)
OVER (…)` used by value_count (exact distinct counts in a sliding window); a Spark renderer must
turn it into `size(collect_set(…) OVER (…))`.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_EVENT_UIDS = 1000  # uids listed per hit; `event_count` still counts every event

# Built with a sentinel, then every other brace is escaped for `str.format(relation=...)`:
# rule SQL may legitimately contain braces (regex quantifiers, JSON literals).
_RELATION_SENTINEL = "\x00RELATION\x00"


@dataclass(frozen=True)
class Branch:
    """One referenced rule: where its events come from and how its group-by/value fields read."""

    index: int  # position in the correlation's `rules` list (defines temporal_ordered order)
    sources: tuple[str, ...]
    where: str
    operations: tuple[str, ...] | None
    group_exprs: tuple[str, ...]  # one SQL expression per group-by name, for this rule's events
    value_expr: str | None = None  # value_count: the counted field for this rule's events


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
    ctes = [("m", _matched(plan))]
    if plan.type == "temporal_ordered":
        ctes += _ordered_chain(plan)
    else:
        ctes += _window_measure(plan)
    ctes += _episodes(plan, source=ctes[-1][0])
    body = ",\n".join(f"{name} AS (\n{sql}\n)" for name, sql in ctes)
    sql = f"WITH {body}\n{_final(plan)}"
    return sql.replace("{", "{{").replace("}", "}}").replace(_RELATION_SENTINEL, "{relation}")


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


def _branch_select(plan: Plan, b: Branch, with_rule: bool) -> str:
    cols = ["uid", "time"]
    if with_rule:
        cols.append(f"{b.index} AS _r")
    # VARCHAR group values: aliased fields of different rules (and types) must land in one column.
    cols += [f"CAST(({expr}) AS VARCHAR) AS _g{i}" for i, expr in enumerate(b.group_exprs)]
    conds = ["time IS NOT NULL"]
    if b.sources:
        conds.append(f"source IN ({', '.join(_quote_str(s) for s in b.sources)})")
    else:
        conds.append("FALSE")  # a rule bound to no source can match no event
    if b.operations:
        # Implied by `where`; stated so the scan can prune on the cheap column first.
        conds.append(f"lower(operation) IN ({', '.join(_quote_str(o) for o in b.operations)})")
    if b.value_expr is not None:
        cols.append(f"CAST(({b.value_expr}) AS VARCHAR) AS _v")
    conds.append(f"({b.where})")
    select = f"  SELECT {', '.join(cols)}\n  FROM {_RELATION_SENTINEL}\n  WHERE " + "\n    AND ".join(conds)
    if b.value_expr is not None:
        # Events without a value cannot add a distinct value; they take no part in value_count.
        select = f"  SELECT * FROM (\n{select}\n  ) WHERE _v IS NOT NULL"
    return select


def _matched(plan: Plan) -> str:
    """All events of the referenced rules: one row per (event, rule) for temporal types.

    For counting types the rule index is dropped and UNION (distinct) makes an event that several
    referenced rules match count once per group.
    """
    with_rule = plan.type in ("temporal", "temporal_ordered")
    joiner = "\n  UNION ALL\n" if with_rule else "\n  UNION\n"
    return joiner.join(_branch_select(plan, b, with_rule) for b in plan.branches)


def _window_measure(plan: Plan) -> list[tuple[str, str]]:
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
    return [("w", f"  SELECT *, {measure} AS _x\n  FROM m"), *_qualify(plan, "w")]


def _temporal_measure(plan: Plan) -> str:
    if plan.expression is not None:
        # Extended condition: the trailing window fires (1) or not (0).
        return f"CASE WHEN {plan.expression} THEN 1 ELSE 0 END"
    return " + ".join(f"_p{b.index}" for b in plan.branches)  # distinct rules present


def _qualify(plan: Plan, source: str) -> list[tuple[str, str]]:
    # Extended condition: the event lies in at least one firing window.
    keep = "_peak = 1" if plan.expression is not None else f"_peak {plan.op} {plan.count}"
    return [
        ("pk", f"  SELECT *, max(_x) {_following(plan)} AS _peak\n  FROM {source}"),
        ("hit", f"  SELECT DISTINCT uid, time{_gcols(plan)}\n  FROM pk\n  WHERE {keep}"),
    ]


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


def _episodes(plan: Plan, source: str) -> list[tuple[str, str]]:
    """Chain qualifying events of a group into episodes: a gap longer than `timespan` starts a new one."""
    span = f"INTERVAL '{plan.timespan_s}' SECOND"
    return [
        ("lg", f"  SELECT *, lag(time) {_over(plan, '')} AS _prev\n  FROM {source}"),
        (
            "ep",
            "  SELECT *, sum(CASE WHEN _prev IS NULL OR time - _prev > "
            f"{span} THEN 1 ELSE 0 END) "
            # RANGE (not ROWS): events with equal times share one episode number whatever their order.
            f"{_over(plan, 'RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW')} AS _ep\n  FROM lg",
        ),
        (
            "num",
            f"  SELECT *, row_number() OVER (PARTITION BY {', '.join([*_g(plan), '_ep'])} ORDER BY time, uid) AS _n\n"
            "  FROM ep",
        ),
    ]


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
