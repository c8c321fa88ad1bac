"""How a log format is declared: detection predicate, JSON structure, and field map as data.

Every format module (aws_cloudtrail.py, gcp_audit.py, ...) builds one `FormatMap`; the
generic interpreter in `sql.py` turns all of them into DuckDB queries. SQL expressions see:

- `k`   the record's top-level keys that detection looks at, as a struct whose field is
        non-NULL when the record has that key with a non-null value (build predicates over
        it with `has` / `has_any` only: the interpreter finds the keys in their output);
- `raw` the record text;
- `r`   the record parsed once with `from_json(raw, structure)` (field maps only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True)
class FormatMap:
    """One log format and how its records become event rows.

    `lets` are named intermediate expressions over `r` (evaluated once, in order, and usable
    by later lets, `columns` and `skip`). `columns` maps event columns to SQL expressions;
    columns not named are NULL. `time` must be epoch milliseconds (use `epoch_ms_of`).
    `required` names, per mandatory column, the source field to cite when it is missing.
    `skip` lists (predicate, reason SQL expression) pairs for records that are recognised but
    deliberately not events: they are quarantined with the reason, so nothing disappears
    silently.
    """

    name: str
    detect: str
    structure: Mapping[str, Any]
    columns: Mapping[str, str]
    required: Mapping[str, str]
    skip: tuple[tuple[str, str], ...] = field(default=())
    lets: tuple[tuple[str, str], ...] = field(default=())

    def structure_json(self) -> str:
        return orjson.dumps(self.structure).decode()


@dataclass(frozen=True)
class Envelope:
    """A wrapper around another record, unwrapped per row before classification."""

    name: str
    detect: str  # predicate over `k` and `raw`
    inner: str  # SQL expression giving the inner record's JSON text


# --- helpers that keep the declared maps short and readable -------------------------------


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def in_list(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def key_ref(key: str) -> str:
    """The field of `k` that says whether the record has top-level `key` (non-null)."""
    return 'k."' + key.replace('"', '""') + '"'


def has(*keys: str) -> str:
    """Predicate: the record has all these top-level keys, with non-null values.

    A key whose value is null counts as absent: `{"protoPayload": null}` is not a GCP entry.
    That is also what lets the fast path classify from the one parse it makes anyway.
    """
    return "(" + " AND ".join(f"{key_ref(key)} IS NOT NULL" for key in keys) + ")"


def has_any(*keys: str) -> str:
    return "(" + " OR ".join(f"{key_ref(key)} IS NOT NULL" for key in keys) + ")"


def guarded(cheap: str, costly: str) -> str:
    """`cheap AND costly`, evaluating `costly` (a JSON re-parse) only where `cheap` holds.

    DuckDB evaluates both sides of AND over whole vectors; CASE runs a branch only for the
    rows that select it, which matters when most rows are of another log type.
    """
    return f"(CASE WHEN {cheap} THEN coalesce({costly}, false) ELSE false END)"


def epoch_ms_of(text: str) -> str:
    """Epoch milliseconds of an ISO-8601 text, independent of the session time zone.

    Texts without an offset are UTC (CloudTrail Lake writes them that way). `Z` texts go
    through TIMESTAMP, which is the fast path; explicit offsets need TIMESTAMPTZ.
    """
    # epoch_us // 1000 truncates sub-millisecond digits (epoch_ms would round up).
    return (
        f"CASE WHEN ({text}) LIKE '%Z' THEN epoch_us(try_cast(({text}) AS TIMESTAMP)) // 1000 "
        f"WHEN regexp_matches(({text}), '[+-][0-9][0-9]:?[0-9][0-9]$') THEN epoch_us(try_cast(({text}) AS TIMESTAMPTZ)) // 1000 "
        f"ELSE epoch_us(try_cast(({text}) AS TIMESTAMP)) // 1000 END"
    )


def non_null_list(*items: str) -> str:
    """A VARCHAR[] of the given expressions with NULLs removed (NULL when all are NULL)."""
    body = f"list_filter([{', '.join(items)}], lambda x: x IS NOT NULL AND x <> '')"
    return f"nullif({body}, [])"


def md5_uid(*parts: str) -> str:
    """A deterministic id for formats without one: md5 over the given parts joined by '|'."""
    joined = " || '|' || ".join(f"coalesce(CAST(({p}) AS VARCHAR), '')" for p in parts)
    return f"md5({joined})"
