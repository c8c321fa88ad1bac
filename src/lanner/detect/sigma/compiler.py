"""Sigma condition tree -> one sqlglot boolean expression (engine-neutral IR), rendered per dialect.

pySigma parses the detection and condition (including `1 of x*`, `all of them`, value lists
and modifiers) into a tree of ConditionAND/OR/NOT over field=value leaves; this module turns
that tree into SQL over the normalized event (see fields/ for the field mapping and values.py
for the value semantics). Every leaf is NULL-safe (missing field = no match), so `not` is exact.

Implied prefilters: a positive leaf on a raw path that the field spec says is *implied* by a typed
column (`SourceFields.implied`, e.g. CloudTrail `userIdentity.arn` -> `actor_id`) also gets the
same predicate on the column, as an extra necessary condition. These raw-free conditions are
collected through AND and hoisted through OR (an OR of necessary conditions is necessary), and
the rule's WHERE becomes `(extra) AND (condition)`: the engine uses raw-free top-level conjuncts
to decide which rows pay for reading `raw`, and the condition itself is unchanged, so the extra
can only drop rows the condition would drop anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import duckdb
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
)
from sqlglot import exp

from lanner.detect.model import CompiledRule, RuleMeta
from lanner.detect.sigma import values as v
from lanner.detect.sigma.fields import SOURCE_FIELDS, FieldRef, resolve
from lanner.detect.sigma.values import Unsupported
from lanner.detect.sqlexpr import conjuncts, reads_raw
from lanner.model.event import EVENT_SCHEMA

__all__ = ["Unsupported", "compile_rule", "compile_where", "render"]

FALSE = exp.Boolean(this=False)
_STRING_COLUMNS = frozenset(f.name for f in EVENT_SCHEMA if f.type == "string")


@dataclass(frozen=True)
class _Node:
    expr: exp.Expr
    # Lower-cased `operation` values every match must have, or None (unconstrained).
    ops: frozenset[str] | None = None
    # A raw-free condition every match satisfies that is not already a top-level conjunct of
    # `expr` (implied prefilters, hoisted through AND/OR), or None when nothing extra is known.
    extra: exp.Expr | None = None


def render(expr: exp.Expr, dialect: str = "duckdb") -> str:
    return expr.sql(dialect=dialect)


def compile_rule(rule: SigmaRule, meta: RuleMeta, sources: tuple[str, ...]) -> CompiledRule:
    where, ops = compile_where(rule, sources)
    return CompiledRule(
        meta=meta,
        sources=sources,
        where=render(where),
        operations=tuple(sorted(ops)) if ops is not None else None,
    )


def compile_where(rule: SigmaRule, sources: tuple[str, ...]) -> tuple[exp.Expr, frozenset[str] | None]:
    """The rule's condition(s) as one boolean expression, plus the operations it requires."""
    nodes = [_walk(cond.parsed, sources) for cond in rule.detection.parsed_condition]
    node = nodes[0] if len(nodes) == 1 else _or(nodes)  # several conditions: any of them
    if node.extra is None:
        return node.expr, node.ops
    # The extra first: it is the cheap part, and reads as "only rows where ..." in the SQL.
    return _conj([node.extra, node.expr]), node.ops


def _conj(parts: list[exp.Expr]) -> exp.Expr:
    return exp.and_(*(exp.paren(p, copy=False) for p in parts), copy=False)


def _necessary(node: _Node) -> exp.Expr | None:
    """A raw-free condition every match of `node` satisfies, or None if none is known."""
    if not reads_raw(node.expr):
        return node.expr
    parts = [c for c in conjuncts(node.expr) if not reads_raw(c)]
    if node.extra is not None:
        parts.append(node.extra)
    return _conj(parts) if parts else None


def _and(nodes: list[_Node]) -> _Node:
    constrained = [n.ops for n in nodes if n.ops is not None]
    ops = frozenset.intersection(*constrained) if constrained else None
    extras = [n.extra for n in nodes if n.extra is not None]
    # Raw-free children are already top-level conjuncts of the AND; only extras are added.
    extra = _conj(extras) if extras else None
    return _Node(exp.and_(*(exp.paren(n.expr, copy=False) for n in nodes), copy=False), ops, extra)


def _or(nodes: list[_Node]) -> _Node:
    ops = None if any(n.ops is None for n in nodes) else frozenset().union(*(n.ops or () for n in nodes))
    extra = _or_extra(nodes)
    merged = _merge_in(nodes)
    if merged is not None:
        return _Node(merged, ops, extra)
    return _Node(exp.or_(*(exp.paren(n.expr, copy=False) for n in nodes), copy=False), ops, extra)


def _or_extra(nodes: list[_Node]) -> exp.Expr | None:
    """Hoist implied prefilters through OR: the OR of each branch's necessary condition.

    Only when some branch carries an implied prefilter (otherwise the branches' raw-free parts
    are the rule author's own conditions, already used as they are) and every branch has one.
    """
    if not any(n.extra is not None for n in nodes):
        return None
    needs = [_necessary(n) for n in nodes]
    if any(x is None for x in needs):
        return None
    return exp.or_(*(exp.paren(x, copy=False) for x in needs if x is not None), copy=False)


def _merge_in(nodes: list[_Node]) -> exp.Expr | None:
    """`lower(x) = 'a' OR lower(x) = 'b'` -> `lower(x) IN ('a', 'b')` (a value list, the common case)."""
    target = None
    values: list[exp.Expr] = []
    for n in nodes:
        e = n.expr
        if isinstance(e, exp.Coalesce):
            e = e.this
        if isinstance(e, exp.In) and not e.args.get("query"):
            this, vals = e.this, e.expressions
        elif isinstance(e, exp.EQ) and isinstance(e.expression, exp.Literal):
            this, vals = e.this, [e.expression]
        else:
            return None
        if target is None:
            target = this
        elif this != target:
            return None
        values.extend(vals)
    if target is None:
        return None
    return exp.Coalesce(this=exp.In(this=target, expressions=values), expressions=[FALSE])


def _walk(node: object, sources: tuple[str, ...]) -> _Node:
    if isinstance(node, ConditionAND):
        return _and([_walk(a, sources) for a in node.args])
    if isinstance(node, ConditionOR):
        return _or([_walk(a, sources) for a in node.args])
    if isinstance(node, ConditionNOT):
        # An implied prefilter is necessary for the leaf, not for its negation: dropped here.
        inner = _walk(node.args[0], sources)
        return _Node(exp.Not(this=exp.paren(inner.expr, copy=False)))
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _field_leaf(node.field, node.value, sources)
    if isinstance(node, ConditionValueExpression):
        return _keyword_leaf(node.value)
    raise Unsupported(f"condition element {type(node).__name__} is not supported")


def _keyword_leaf(value: SigmaType) -> _Node:
    """A keyword (value without a field) matches anywhere in the original record."""
    if isinstance(value, SigmaExpansion):
        return _or([_keyword_leaf(x) for x in value.values])
    if isinstance(value, SigmaString):
        inner = value if value.startswith(v.SpecialChars.WILDCARD_MULTI) else SigmaString("*") + value
        inner = inner if inner.endswith(v.SpecialChars.WILDCARD_MULTI) else inner + SigmaString("*")
        if isinstance(value, v.SigmaCasedString):
            inner = v.SigmaCasedString.from_sigma_string(inner)
        pred = v.string_pred(inner)
    elif isinstance(value, SigmaNumber | SigmaBool):
        text = v.number_text(value) if isinstance(value, SigmaNumber) else v.bool_text(value)
        pred = v.string_pred(SigmaString("*") + SigmaString(text) + SigmaString("*"))
    elif isinstance(value, SigmaRegularExpression):
        pred = v.regex_pred(_checked_regex(value))
    else:
        raise Unsupported(f"keyword of type {type(value).__name__} is not supported")
    return _Node(_null_safe(pred(exp.column("raw"))))


def _null_safe(e: exp.Expr) -> exp.Expr:
    return exp.Coalesce(this=e, expressions=[FALSE])


def _field_leaf(name: str, value: SigmaType, sources: tuple[str, ...]) -> _Node:
    ref = resolve(sources, name)
    if isinstance(value, SigmaExpansion):  # base64offset / windash variants: any of them
        return _or([_field_leaf(name, x, sources) for x in value.values])
    if isinstance(value, SigmaNull):
        return _Node(_is_null(ref))
    if isinstance(value, SigmaExists):
        present = exp.Not(this=_is_null(ref))
        return _Node(present if value.exists else _is_null(ref))
    if isinstance(value, SigmaFieldReference):
        other = resolve(sources, value.field)
        if ref.kind == "list" or other.kind == "list":
            raise Unsupported(f"fieldref between multi-valued fields ({name}, {value.field})")
        return _Node(_null_safe(exp.EQ(this=v.lower(ref.expr), expression=v.lower(other.expr))))
    if isinstance(value, SigmaString):
        pred = v.string_pred(value)
    elif isinstance(value, SigmaNumber):
        pred = v.text_pred(v.number_text(value))
    elif isinstance(value, SigmaBool):
        pred = v.text_pred(v.bool_text(value))
    elif isinstance(value, SigmaRegularExpression):
        pred = v.regex_pred(_checked_regex(value))
    elif isinstance(value, SigmaCIDRExpression):
        pred = v.cidr_pred(value)
    elif isinstance(value, SigmaCompareExpression):
        pred = v.compare_pred(value)
    else:
        raise Unsupported(f"value type {type(value).__name__} (field {name}) is not supported")
    node = _Node(_apply(ref, pred), extra=_implied_prefilter(ref, name, pred, sources))
    if ref.kind == "column" and ref.column == "operation" and isinstance(value, SigmaString) and not value.contains_special():
        return _Node(node.expr, frozenset({v.literal_text(value).lower()}))
    return node


def _implied_column(sources: tuple[str, ...], name: str) -> str | None:
    """The typed column every source's spec declares implied by the raw path `name` reads."""
    cols = set()
    for s in sources:
        spec = SOURCE_FIELDS.get(s)
        col = spec.implied_column(name) if spec is not None else None
        if col is None:
            return None
        cols.add(col)
    if len(cols) != 1:
        return None
    (col,) = cols
    if col not in _STRING_COLUMNS:
        raise ValueError(f"implied prefilter for field {name!r} names {col!r}, not a string column")
    return col


def _implied_prefilter(ref: FieldRef, name: str, pred: v.Pred, sources: tuple[str, ...]) -> exp.Expr | None:
    """`pred` on the implied column, a necessary condition of the leaf `_apply(ref, pred)`.

    Sound because the leaf is false when the path is missing (null-safe), and where it is present
    the column holds the same text: a scalar value satisfies `pred` on both; a JSON array (whose
    elements the leaf tests) is kept by admitting column text starting with '['.
    """
    if ref.kind != "json" or ref.path is None:
        return None
    col = _implied_column(sources, name)
    if col is None:
        return None
    column = exp.column(col)
    array = _null_safe(exp.func("starts_with", column.copy(), v.lit("[")))
    return exp.or_(exp.paren(_null_safe(pred(column)), copy=False), array, copy=False)


def _is_null(ref: FieldRef) -> exp.Expr:
    if ref.kind == "list":
        return exp.EQ(this=exp.func("coalesce", exp.func("len", ref.expr), exp.Literal.number(0)), expression=exp.Literal.number(0))
    return exp.Is(this=ref.expr, expression=exp.Null())


def _any(lst: exp.Expr, pred: v.Pred) -> exp.Expr:
    # Builders copy their arguments by default; only `lst` may be shared (a field reference
    # used twice in a rule), so copy it once and build the rest in place: compiling the pack
    # spent most of its time in those copies.
    elem = exp.column("e")
    lam = exp.Lambda(this=pred(elem), expressions=[exp.to_identifier("e")])
    filtered = exp.func("list_filter", lst.copy(), lam, copy=False)
    return _null_safe(exp.GT(this=exp.func("len", filtered, copy=False), expression=exp.Literal.number(0)))


def _apply(ref: FieldRef, pred: v.Pred) -> exp.Expr:
    """Apply a value predicate to a field, with Lanner's array rule: when the field holds a
    JSON array, the predicate holds if it holds for any element."""
    if ref.kind == "list":
        return _any(ref.expr, pred)
    scalar = _null_safe(pred(ref.expr))
    if ref.kind == "column" or ref.path is None:
        return scalar
    # Only rows whose value text starts with '[' pay for the second JSON parse.
    is_array = exp.and_(
        exp.func("starts_with", ref.expr.copy(), v.lit("["), copy=False),
        exp.EQ(this=exp.func("json_type", exp.column("raw"), v.lit(ref.path), copy=False), expression=v.lit("ARRAY")),
        copy=False,
    )
    elems = exp.func("json_extract_string", exp.column("raw"), v.lit(ref.path + "[*]"), dialect="duckdb", copy=False)
    return exp.Case(ifs=[exp.If(this=is_array, true=_any(elems, pred))], default=scalar)


@cache
def _regex_ok(pattern: str) -> str | None:
    try:
        _con().execute("SELECT regexp_matches('', ?)", [pattern]).fetchone()
    except duckdb.Error as e:
        return str(e).splitlines()[0]
    return None


@cache
def _con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _checked_regex(value: SigmaRegularExpression) -> str:
    pattern = v.regex_pattern(value)
    problem = _regex_ok(pattern)
    if problem:
        raise Unsupported(f"regular expression {value.regexp.to_plain()!r} is not valid RE2: {problem}")
    return pattern
