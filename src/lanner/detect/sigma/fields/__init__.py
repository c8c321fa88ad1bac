"""Log-source binding and field mapping, declared as data per provider.

A Sigma rule names a log source (product/service/category) and native field names. Each provider
module declares which Lanner sources a log source binds to and how a Sigma field name reads from
the normalized event: a typed column where the meaning is identical, otherwise a JSON path into
`raw` (the verbatim record). The compiler asks `resolve(sources, field)`; the correlation compiler
asks `field_sql(sources, field)` for the rendered SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from lanner.detect.sigma.fields import aws, azure, gcp, kubernetes, linux, saas
from lanner.detect.sigma.fields.spec import LogsourceBinding, SourceFields, json_path
from lanner.model.event import EVENT_SCHEMA

__all__ = ["FieldRef", "bind_logsource", "field_sql", "json_path", "resolve", "BINDINGS", "SOURCE_FIELDS"]

_PROVIDERS = (aws, azure, gcp, kubernetes, linux, saas)

BINDINGS: tuple[LogsourceBinding, ...] = tuple(b for p in _PROVIDERS for b in p.BINDINGS)
SOURCE_FIELDS: dict[str, SourceFields] = {s.source: s for p in _PROVIDERS for s in p.FIELDS}

# Products Lanner knows but does not ingest (yet): named in the unsupported reason.
_NOT_INGESTED_PRODUCTS = {
    "windows": "Windows events",
    "macos": "macOS events",
}

_STRING_COLUMNS = {f.name for f in EVENT_SCHEMA if f.type == "string"}
_OTHER_COLUMNS = {f.name for f in EVENT_SCHEMA} - _STRING_COLUMNS


@dataclass(frozen=True)
class FieldRef:
    """How one Sigma field reads from an event row.

    kind: "column" (a typed column, VARCHAR view of it), "json" (a scalar JSON path into raw:
    when the value there is an array, predicates apply to each element) or "list" (a declared
    multi-valued path with `[*]`: predicates apply to each element).
    """

    kind: str
    expr: exp.Expr  # VARCHAR for column/json, VARCHAR[] for list
    path: str | None = None  # JSON path for json/list kinds
    column: str | None = None
    by_source: tuple[tuple[str, FieldRef], ...] = field(default=())


def bind_logsource(product: str | None, service: str | None, category: str | None) -> tuple[str, ...] | str:
    """The Lanner sources a Sigma log source binds to, or the reason it cannot bind."""
    for b in BINDINGS:
        if b.matches(product, service, category):
            return b.sources
    desc = " ".join(f"{k}={v}" for k, v in (("product", product), ("service", service), ("category", category)) if v)
    desc = desc or "(empty)"
    what = _NOT_INGESTED_PRODUCTS.get(product or "")
    if product == "linux":
        what = f"Linux {service} logs" if service else "Linux logs without a category (syslog keyword rules)"
    if what:
        return f"log source {desc}: Lanner does not ingest {what} yet"
    return f"log source {desc}: no Lanner source for this log source"


def _raw_ref(dotted: str) -> FieldRef:
    path = json_path(dotted)
    if "[*]" in path:
        return FieldRef("list", _json_extract(path), path=path)
    return FieldRef("json", _json_extract(path), path=path)


def _json_extract(path: str) -> exp.Expr:
    return exp.func("json_extract_string", exp.column("raw"), exp.Literal.string(path), dialect="duckdb", copy=False)


def _column_ref(col: str) -> FieldRef:
    if col in _STRING_COLUMNS:
        return FieldRef("column", exp.column(col), column=col)
    if col in _OTHER_COLUMNS:
        # Rules compare against text; numbers render the same as in the JSON source.
        return FieldRef("column", exp.cast(exp.column(col), exp.DataType.build("varchar")), column=col)
    raise ValueError(f"field mapping names unknown column {col!r}")


def _resolve_one(source: str, name: str) -> FieldRef:
    spec = SOURCE_FIELDS.get(source)
    if spec is None:
        return _raw_ref(name)
    target = spec.lookup(name)
    if target.startswith("column:"):
        return _column_ref(target.removeprefix("column:"))
    if target.startswith("sql:"):
        sql = target.removeprefix("sql:")
        return FieldRef("json", sqlglot.parse_one(sql, read="duckdb"), path=None)
    if target.startswith("list:"):
        return FieldRef("list", sqlglot.parse_one(target.removeprefix("list:"), read="duckdb"), path=None)
    return _raw_ref(target)


def resolve(sources: tuple[str, ...], name: str) -> FieldRef:
    """Resolve a Sigma field name for rows of the given sources."""
    refs = [(s, _resolve_one(s, name)) for s in sources] or [("", _raw_ref(name))]
    first = refs[0][1]
    if all(r == first for _, r in refs):
        return first
    # Sources disagree (e.g. one maps to a column, another to raw): choose per row by source.
    case = exp.Case()
    for s, r in refs:
        if r.kind == "list":
            raise ValueError(f"field {name!r} is multi-valued for source {s}; cannot mix with other sources")
        case = case.when(exp.EQ(this=exp.column("source"), expression=exp.Literal.string(s)), r.expr)
    return FieldRef("column", case, by_source=tuple(refs))


def field_sql(sources: tuple[str, ...], field: str) -> str:
    """DuckDB SQL (VARCHAR, or VARCHAR[] for multi-valued fields) reading `field` for these sources."""
    return resolve(sources, field).expr.sql(dialect="duckdb")
