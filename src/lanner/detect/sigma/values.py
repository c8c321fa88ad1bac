"""Sigma values -> SQL predicates over one VARCHAR expression (pure, no I/O).

Semantics (see docs/rules.md): strings match case-insensitively unless `|cased`; `*`/`?` are
wildcards (LIKE `%`/`_` with `%`, `_`, `\\` escaped); numbers and booleans compare with the JSON
text of the field; `re` uses RE2 with Sigma's flags as inline flags; `cidr` parses the text as
an IPv4 or IPv6 address and compares the network prefix exactly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import sqlglot
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)
from sqlglot import exp

Pred = Callable[[exp.Expr], exp.Expr]


class Unsupported(Exception):
    """The rule uses a feature Lanner cannot evaluate exactly; the message says which."""


def lit(s: str) -> exp.Literal:
    return exp.Literal.string(s)


def lower(e: exp.Expr) -> exp.Expr:
    return exp.Lower(this=e)


def like_pattern(value: SigmaString) -> str:
    out = []
    for part in value.s:
        if part == SpecialChars.WILDCARD_MULTI:
            out.append("%")
        elif part == SpecialChars.WILDCARD_SINGLE:
            out.append("_")
        elif isinstance(part, str):
            out.append(part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
        else:
            raise Unsupported("placeholder values (`expand` modifier) need a pipeline Lanner does not provide")
    return "".join(out)


def string_pred(value: SigmaString) -> Pred:
    cased = isinstance(value, SigmaCasedString)
    if value.contains_placeholder():
        raise Unsupported("placeholder values (`expand` modifier) need a pipeline Lanner does not provide")
    if not value.contains_special():
        plain = literal_text(value)
        if cased:
            return lambda e: exp.EQ(this=e, expression=lit(plain))
        return lambda e: exp.EQ(this=lower(e), expression=lit(plain.lower()))
    pattern = like_pattern(value)
    if pattern == "%":
        # `field: '*'` means "any value" (non-null); LIKE '%' says the same, cheaper as IS NOT NULL.
        return lambda e: exp.Not(this=exp.Is(this=e, expression=exp.Null()))
    if cased:
        return lambda e: _like(e, pattern)
    low = pattern.lower()
    return lambda e: _like(lower(e), low)


def _like(e: exp.Expr, pattern: str) -> exp.Expr:
    return exp.Escape(this=exp.Like(this=e, expression=lit(pattern)), expression=lit("\\"))


def literal_text(value: SigmaString) -> str:
    """The characters of a wildcard-free SigmaString (to_plain() would re-escape `*`, `?`, `\\`)."""
    return "".join(p for p in value.s if isinstance(p, str))


def text_pred(text: str) -> Pred:
    """Numbers/booleans: equality with the JSON text of the field, case-insensitive (`True`)."""
    return lambda e: exp.EQ(this=lower(e), expression=lit(text.lower()))


def number_text(value: SigmaNumber) -> str:
    return str(value.number)


def bool_text(value: SigmaBool) -> str:
    return "true" if value.boolean else "false"


_RE_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


def regex_pattern(value: SigmaRegularExpression) -> str:
    flags = "".join(sorted(_RE_FLAGS[f] for f in value.flags))
    pattern = value.regexp.to_plain()
    return f"(?{flags}){pattern}" if flags else pattern


def regex_pred(pattern: str) -> Pred:
    return lambda e: exp.RegexpLike(this=e, expression=lit(pattern))


_OPS = {"lt": exp.LT, "lte": exp.LTE, "gt": exp.GT, "gte": exp.GTE, "neq": exp.NEQ}


def compare_pred(value: SigmaCompareExpression) -> Pred:
    op = _OPS[value.op.name.lower()]
    num = value.number.number
    number = exp.Literal.number(num)

    def pred(e: exp.Expr) -> exp.Expr:
        return op(this=exp.TryCast(this=e, to=exp.DataType.build("double")), expression=number)

    return pred


def _sub(template: str, x: exp.Expr) -> exp.Expr:
    tree = sqlglot.parse_one(template, read="duckdb")
    return tree.transform(lambda n: x.copy() if isinstance(n, exp.Column) and n.name == "__x__" else n)


def cidr_pred(value: SigmaCIDRExpression) -> Pred:
    net = value.network
    if isinstance(net, ipaddress.IPv4Network):
        lo, hi = int(net.network_address), int(net.broadcast_address)
        octet = "TRY_CAST(split_part(__x__, '.', {i}) AS BIGINT)"
        total = " + ".join(f"{octet.format(i=i)} * {256 ** (4 - i)}" for i in range(1, 5))
        template = (
            r"(regexp_full_match(__x__, '[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}')"
            + "".join(f" AND {octet.format(i=i)} <= 255" for i in range(1, 5))
            + f" AND ({total}) BETWEEN {lo} AND {hi})"
        )
        return lambda e: _sub(template, e)
    # IPv6: expand `::`, left-pad the groups to 32 hex digits, compare the prefix bits exactly.
    full = net.network_address.exploded.replace(":", "")
    nibbles, rest = divmod(net.prefixlen, 4)
    checks = [f"starts_with(__h__, '{full[:nibbles]}')"] if nibbles else []
    if rest:
        want = int(full[nibbles], 16) >> (4 - rest)
        allowed = [f"{d:x}" for d in range(16) if d >> (4 - rest) == want]
        checks.append(f"substr(__h__, {nibbles + 1}, 1) IN ({', '.join(repr(a) for a in allowed)})")
    missing = "8 - len(list_filter(string_split(lower(__x__), ':'), t -> t <> ''))"
    expanded = f"trim(replace(lower(__x__), '::', ':' || repeat('0:', {missing})), ':')"
    hexed = f"array_to_string(list_transform(string_split({expanded}, ':'), g -> lpad(g, 4, '0')), '')"
    template = (
        r"(regexp_full_match(__x__, '[0-9A-Fa-f:]{2,39}')"
        r" AND NOT regexp_matches(__x__, '[0-9A-Fa-f]{5}|:::')"
        r" AND len(string_split(__x__, '::')) <= 2"
        r" AND (NOT starts_with(__x__, ':') OR starts_with(__x__, '::'))"
        r" AND (NOT ends_with(__x__, ':') OR ends_with(__x__, '::'))"
        r" AND regexp_full_match(__h__, '[0-9a-f]{32}')"
        + "".join(f" AND {c}" for c in checks)
        + ")"
    )
    template = template.replace("__h__", hexed)
    return lambda e: _sub(template, e)
