"""Sigma correlation rules compiled to exact sliding-window SQL.

Supported types: `event_count`, `value_count`, `temporal`, `temporal_ordered` (Sigma
correlation spec). The loader calls `compile_correlation`; the engine runs
`CompiledCorrelation.sql.format(relation=<table or view of events>)` and turns each result row into a
`Match` with `correlation_match`.

Result columns (one row per firing episode, ordered by first_time):

- `group_key`   VARCHAR   JSON object {group-by name: value as text or null}; `{}` without group-by.
- `first_time`  TIMESTAMP WITH TIME ZONE   time of the episode's first event.
- `last_time`   TIMESTAMP WITH TIME ZONE   time of the episode's last event.
- `event_count` BIGINT    number of distinct events in the episode (see below).
- `event_uids`  VARCHAR[] their uids, the first `MAX_EVENT_UIDS` (1000) by time.

Semantics (T = timespan; all windows are inclusive at both ends):

- Events: rows of the relation with a non-NULL `time`, of the rule's bound sources, satisfying a
  referenced rule's `where`. An event matching several referenced rules counts once for
  event_count/value_count. Group-by values are compared as text; a NULL value is a group of its own
  (like SQL PARTITION BY), so nothing is dropped. Without group-by all events form one group.
- Window: any time interval [s, s + T]. Events whose times differ by exactly T are in one
  window; by T + 1 ms they are not.
- event_count: the measure of a window is its number of events; value_count: its number of
  distinct non-NULL values of `condition.field` (events without a value take no part).
- Peak of an event: the largest measure of any window containing it. It is computed exactly: the
  measure of every trailing window [t_k - T, t_k] anchored at an event k, then the maximum over
  the events k with t_j <= t_k <= t_j + T (every window containing t_j is covered by one of
  those trailing windows, and each of them contains t_j).
- An event qualifies when `peak <op> count`. For gte/gt this is exactly "the event belongs to a
  window with at least (more than) N events/values" — sliding windows, not fixed buckets. For
  lte/lt it means "no window around the event ever holds more than N": the group was sparse
  around it (a lone event qualifies for `lte: 1`; a burst does not). For eq/neq it compares the
  peak density around the event with N. Windows holding zero events have no anchor and are never
  reported (SQL cannot see absence in rows it does not have).
- temporal: the measure of a window is the number of distinct referenced rules that have an
  event in it; the default condition is gte <number of rules> (all rules within T, any order);
  an explicit condition counts rules likewise. An extended condition (`a and not b`) is a
  boolean over "rule has an event in the window", evaluated on every trailing window anchored
  at a referenced event; events inside a window where it holds qualify.
- temporal_ordered: events e1 <= e2 <= ... <= en of the referenced rules in listed order, with
  en - e1 <= T, form a chain (equal timestamps count as in order: CloudTrail times have only
  second precision). Every referenced event inside a complete chain's [e1, en] qualifies. An
  event that matches two consecutive rules may fill both steps.
- Episodes: the qualifying events of a group, in time order, are cut wherever two consecutive
  ones are more than T apart; each piece is one hit. first_time is therefore the start of the
  earliest firing window, and one burst gives one hit, not one per event.

Chaining (a correlation listing another correlation in `rules`): supported for temporal and
temporal_ordered over event_count/value_count correlations whose condition is gte/gt (next to
base rules). Each firing episode of the inner correlation is one event of the outer one, at the
time its condition was first met (the earliest event of the episode whose trailing window meets
it: for "3 denials in 10m", the third denial), carrying the inner group-by values. The outer
group-by names (or aliases) must be group-by fields of the inner correlation. The outer
timespan is measured from that moment; inner and outer windows are exact as above. A hit's
events are the outer events plus every event of the inner episodes it used (each event once),
so `first_time` may be the inner episode's first event. Other shapes (event_count over a
correlation, chaining a temporal correlation, lte/lt/eq/neq inner conditions) raise
`Unsupported`.

The result is evaluated over the events given: in micro-batches, an episode cut by a batch
boundary is reported per batch unless the batch carries a timespan of overlap.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionItem,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaCorrelationCondition,
    SigmaCorrelationRule,
    SigmaCorrelationType,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)

from lanner.detect.correlation_sql import MAX_EVENT_UIDS, Branch, Plan, render
from lanner.detect.model import CompiledCorrelation, CompiledRule, Match, RuleMeta
from lanner.detect.sigma.values import Unsupported
from lanner.errors import Location, RuleError

__all__ = ["MAX_EVENT_UIDS", "RESULT_COLUMNS", "Unsupported", "compile_correlation", "correlation_match"]

RESULT_COLUMNS = ("group_key", "first_time", "last_time", "event_count", "event_uids")

FieldSql = Callable[[tuple[str, ...], str], str]

_OPS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "eq": "=", "neq": "<>"}
_SUPPORTED = ("event_count", "value_count", "temporal", "temporal_ordered")
_CHAINING = ("temporal", "temporal_ordered")  # may reference correlations
_CHAINABLE = ("event_count", "value_count")  # may be referenced (with a gte/gt condition)


def compile_correlation(
    corr: SigmaCorrelationRule,
    meta: RuleMeta,
    base: Sequence[CompiledRule | CompiledCorrelation],
    field_sql: FieldSql,
) -> CompiledCorrelation:
    """Compile a parsed Sigma correlation over its compiled referenced rules (in `rules` order).

    A referenced rule may itself be a compiled correlation (chaining, see the module docs).
    `field_sql(sources, sigma_field)` renders a Sigma field for events of those sources.
    Raises RuleError (located at the rule's file) for what cannot be compiled, and
    Unsupported for chaining shapes Lanner does not evaluate.
    """
    where = _location(corr, meta)
    ctype = corr.type.name.lower() if isinstance(corr.type, SigmaCorrelationType) else str(corr.type)
    if ctype not in _SUPPORTED:
        raise RuleError(
            f"correlation type {ctype!r} is not supported (supported: {', '.join(_SUPPORTED)})", where
        )
    refs = _rule_refs(corr)
    if not refs:
        raise RuleError("correlation names no rules", where)
    if len(base) != len(refs):
        raise RuleError(
            f"correlation lists {len(refs)} rules but {len(base)} compiled rules were given", where
        )
    if ctype == "temporal_ordered" and len(refs) < 2:
        raise RuleError("temporal_ordered needs at least two rules", where)

    group_names = tuple(corr.group_by or ())
    aliases = _alias_map(corr)
    for ref, rule in zip(refs, base, strict=True):
        if isinstance(rule, CompiledCorrelation):
            _check_chain(ctype, ref, rule)
    op, count, expression, value_field = _condition(corr, ctype, refs, where)

    branches = []
    for i, (ref, rule) in enumerate(zip(refs, base, strict=True)):
        if isinstance(rule, CompiledCorrelation):
            groups = tuple(_inner_group(rule, aliases, name, ref, where) for name in group_names)
            branches.append(Branch(i, (), "FALSE", None, groups, chain=rule.plan))
            continue
        groups = tuple(_field(field_sql, rule, aliases, name, ref, where) for name in group_names)
        value = _field(field_sql, rule, aliases, value_field, ref, where) if value_field else None
        branches.append(Branch(i, tuple(rule.sources), rule.where, rule.operations, groups, value))

    plan = Plan(ctype, tuple(branches), group_names, corr.timespan.seconds, op, count, expression)
    condition: dict[str, Any]
    if isinstance(corr.condition, SigmaExtendedCorrelationCondition):
        condition = {"expression": corr.condition.expression}
    else:
        condition = {_op_name(op): count}
        if value_field:
            condition["field"] = value_field
    rules: dict[str, CompiledRule] = {}  # chained: the inner correlations' base rules in place
    for b in base:
        for r in b.rules if isinstance(b, CompiledCorrelation) else (b,):
            rules.setdefault(r.meta.id, r)
    return CompiledCorrelation(
        meta=meta,
        type=ctype,
        rules=tuple(rules.values()),
        group_by=group_names,
        timespan_ms=corr.timespan.seconds * 1000,
        condition=condition,
        sql=render(plan),
        plan=plan,
        chained=tuple(b for b in base if isinstance(b, CompiledCorrelation)),
    )


def correlation_match(
    row: Mapping[str, Any], meta: RuleMeta, sample_rows: Sequence[Mapping[str, Any]]
) -> Match:
    """Build a Match from one result row and the event rows the engine fetched for its uids.

    Sample rows are put in time order; `event_count` stays the full count of the episode.
    """
    try:
        group = json.loads(row["group_key"])
        first: datetime = row["first_time"]
        last: datetime = row["last_time"]
        total = int(row["event_count"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a correlation result row (columns {RESULT_COLUMNS}): {exc}") from exc
    events = sorted(
        (dict(r) for r in sample_rows), key=lambda r: (r.get("time") is None, r.get("time") or first)
    )
    return Match(
        rule=meta,
        events=tuple(events),
        event_count=total,
        first_time=first,
        last_time=last,
        group=group,
    )


# --- helpers -------------------------------------------------------------------------------------


def _location(corr: SigmaCorrelationRule, meta: RuleMeta) -> Location:
    line = corr.source.line if corr.source is not None else None
    return Location(meta.path, line)


def _rule_refs(corr: SigmaCorrelationRule) -> list[str]:
    if corr.rules is not None:
        return [r.reference for r in corr.rules]
    if corr.referenced_rules:
        return [r.reference for r in corr.referenced_rules]
    if isinstance(corr.condition, SigmaExtendedCorrelationCondition):
        return corr.condition.get_referenced_rules()
    return []


def _check_chain(ctype: str, ref: str, inner: CompiledCorrelation) -> None:
    """Raise Unsupported unless `ref` (a correlation) can feed a correlation of type `ctype`."""
    if ctype not in _CHAINING:
        raise Unsupported(
            f"{ctype} over correlation {ref!r} is not supported: only temporal and temporal_ordered "
            "correlations may reference other correlations"
        )
    if inner.type not in _CHAINABLE:
        raise Unsupported(
            f"correlation {ref!r} is {inner.type}: only event_count and value_count correlations "
            "can be referenced by another correlation"
        )
    plan = inner.plan
    if not isinstance(plan, Plan) or plan.op not in (">=", ">"):
        raise Unsupported(
            f"correlation {ref!r} can be referenced by another correlation only with a gte or gt "
            "condition (the moment it fires must be the moment its threshold is first reached)"
        )


def _inner_group(
    inner: CompiledCorrelation, aliases: dict[str, dict[str, str]], name: str, ref: str, where: Location
) -> str:
    """The column of a chained correlation's episodes holding outer group-by `name` (or alias)."""
    target = name
    if name in aliases:
        mapping = aliases[name]
        keys = (ref, inner.meta.id, inner.meta.name or "")
        target = next((mapping[k] for k in keys if k in mapping), name)
    if target not in inner.group_by:
        raise RuleError(
            f"group-by field {target!r} is not grouped by correlation {ref!r} "
            f"(it groups by {list(inner.group_by)}): a correlation over a correlation can only "
            "group by fields the referenced one groups by",
            where,
        )
    return f"_g{inner.group_by.index(target)}"


def _alias_map(corr: SigmaCorrelationRule) -> dict[str, dict[str, str]]:
    """alias name -> {rule reference -> that rule's field name}."""
    return {a.alias: {ref.reference: name for ref, name in a.mapping.items()} for a in corr.aliases}


def _field(
    field_sql: FieldSql,
    rule: CompiledRule,
    aliases: dict[str, dict[str, str]],
    name: str,
    ref: str,
    where: Location,
) -> str:
    """SQL for Sigma field `name` (or alias) on events of one referenced rule."""
    target = name
    if name in aliases:
        mapping = aliases[name]
        if ref not in mapping and rule.meta.id not in mapping and (rule.meta.name or "") not in mapping:
            raise RuleError(f"alias {name!r} has no field for rule {ref!r}", where)
        target = mapping.get(ref) or mapping.get(rule.meta.id) or mapping[rule.meta.name or ""]
    try:
        return field_sql(tuple(rule.sources), target)
    except (ValueError, KeyError) as exc:
        raise RuleError(f"field {target!r} of rule {ref!r} cannot be read: {exc}", where) from exc


def _condition(
    corr: SigmaCorrelationRule, ctype: str, refs: list[str], where: Location
) -> tuple[str | None, int | None, str | None, str | None]:
    """(SQL operator, count, extended SQL expression, value_count field)."""
    cond = corr.condition
    if isinstance(cond, SigmaExtendedCorrelationCondition):
        if ctype != "temporal":
            raise RuleError(
                "extended (boolean) conditions are supported for temporal correlations only", where
            )
        index = {r: i for i, r in enumerate(refs)}
        return None, None, _expression(cond.parsed, index, where), None
    if not isinstance(cond, SigmaCorrelationCondition):
        raise RuleError("correlation has no condition", where)
    op = _OPS[cond.op.name.lower()]
    if cond.count < 0:
        raise RuleError(f"condition count must not be negative (got {cond.count})", where)
    value_field: str | None = None
    if ctype == "value_count":
        if not isinstance(cond.fieldref, str) or not cond.fieldref:
            raise RuleError("value_count condition needs exactly one `field`", where)
        value_field = cond.fieldref
    elif cond.fieldref:
        raise RuleError(f"`field` in the condition only applies to value_count, not {ctype}", where)
    if ctype == "temporal_ordered" and (op, cond.count) != (">=", len(refs)):
        raise RuleError(
            f"temporal_ordered takes no condition other than gte: {len(refs)} (all rules in order)", where
        )
    return op, cond.count, None, value_field


def _expression(
    node: CorrelationConditionItem | SigmaRuleReference, index: dict[str, int], where: Location
) -> str:
    if isinstance(node, SigmaRuleReference):
        if node.reference not in index:
            raise RuleError(
                f"condition names rule {node.reference!r} that the correlation does not list", where
            )
        return f"_p{index[node.reference]} = 1"
    parts = [_expression(a, index, where) for a in node.args]
    if isinstance(node, CorrelationConditionNOT):
        return f"NOT ({parts[0]})"
    if isinstance(node, CorrelationConditionAND):
        return "(" + " AND ".join(parts) + ")"
    if isinstance(node, CorrelationConditionOR):
        return "(" + " OR ".join(parts) + ")"
    raise RuleError(f"unsupported condition element {type(node).__name__}", where)


def _op_name(op: str | None) -> str:
    return next(k for k, v in _OPS.items() if v == op)
