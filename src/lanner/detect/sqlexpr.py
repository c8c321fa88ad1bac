"""Reading compiled rule SQL back as sqlglot trees: the pieces the engine and correlations share.

Both split a rule's WHERE into conjuncts that need `raw` and conjuncts that do not, and both
route scalar JSON reads of `raw` to one shared `json_extract_string(raw, [paths])` per row.
"""

from __future__ import annotations

from sqlglot import exp


def conjuncts(e: exp.Expr) -> list[exp.Expr]:
    """The top-level AND operands of `e` (parentheses looked through)."""
    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, exp.And):
        return conjuncts(e.this) + conjuncts(e.expression)
    return [e]


def reads_raw(e: exp.Expr) -> bool:
    """Whether `e` reads the verbatim record (the unqualified column `raw`)."""
    return any(c.name == "raw" and not c.table for c in e.find_all(exp.Column))


def raw_json_path(node: exp.Expr) -> str | None:
    """The constant path of a scalar JSON read of `raw` (`raw ->> p`, `json_extract_string`).

    None for anything else, and for wildcard paths: they return lists, which the list form of
    `json_extract_string` cannot hold per path.
    """
    if not isinstance(node, exp.JSONExtractScalar):
        return None
    this = node.this
    if not (isinstance(this, exp.Column) and this.name == "raw" and not this.table):
        return None
    path = node.expression
    if isinstance(path, exp.JSONPath):
        text = path.sql(dialect="duckdb")
        # A rendered path is a SQL string literal: strip its quotes and undo '' escaping.
        text = text[1:-1].replace("''", "'") if text.startswith("'") and text.endswith("'") else text
    elif isinstance(path, exp.Literal) and path.is_string:
        text = path.name
    else:
        return None
    return None if "*" in text else text
