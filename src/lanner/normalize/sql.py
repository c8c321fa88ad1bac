"""The generic interpreter: declared formats and envelopes -> DuckDB queries.

General query, any mix of records: per record, the top-level keys detection needs (one
`from_json` into a presence struct, which also tells malformed JSON apart), unwrap envelopes,
classify, then parse once per format with `from_json` and evaluate the declared field map.
Every row comes out either as an event (`_reason` NULL) or with the reason it is quarantined.

Fast query, one format F: a single `from_json` per record into F's structure widened with
presence fields for every other detection key, the same classification evaluated on it, and
F's field map. Rows that are not F (or sit in an envelope) are flagged `_ok = false` and
left for the general query, so both give identical results for every record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from lanner.model.event import EVENT_SCHEMA
from lanner.normalize.spec import Envelope, FormatMap, lit

_DUCK_TYPES = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.list_(pa.string()): "VARCHAR[]",
}
# A struct target is non-NULL for any non-null JSON value (object, array, scalar) and builds
# no text, so it is the cheapest way to ask "is this key there".
_PRESENT: dict[str, str] = {"_": "VARCHAR"}
_KEY_REF = re.compile(r'\bk\."((?:[^"]|"")+)"')


def _duck_type(field: pa.Field) -> str:
    if field.name == "time":
        return "BIGINT"  # epoch ms; converted to timestamp[ms, UTC] on the Arrow side
    return _DUCK_TYPES[field.type]


EVENT_SQL_COLUMNS = [(f.name, _duck_type(f)) for f in EVENT_SCHEMA]
OUT_PREFIX = ["file", "position", "_original", "_reason"]


def detection_keys(formats: Iterable[FormatMap], envelopes: Iterable[Envelope]) -> list[str]:
    """Every top-level key a detection predicate asks about (via `has`/`has_any`)."""
    found: set[str] = set()
    for text in [f.detect for f in formats] + [e.detect for e in envelopes]:
        found.update(m.replace('""', '"') for m in _KEY_REF.findall(text))
    return sorted(found) or ["_"]


def _presence_structure(keys: Iterable[str]) -> str:
    return lit(_json({key: _PRESENT for key in keys}))


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


def _classify_sql(input_name: str, formats: Iterable[FormatMap], envelopes: Iterable[Envelope]) -> str:
    formats, envelopes = list(formats), list(envelopes)
    presence = _presence_structure(detection_keys(formats, envelopes))
    # Detect the envelope once per row, then unwrap by its name.
    unwrap = "".join(f"WHEN {lit(e.name)} THEN {e.inner} " for e in envelopes)
    envelope_name = "".join(f"WHEN {e.detect} THEN {lit(e.name)} " for e in envelopes)
    classify = "".join(f"WHEN {f.detect} THEN {lit(f.name)} " for f in formats)
    return f"""
    SELECT file, position, _original, raw, k, _envelope,
        CASE WHEN k IS NULL THEN NULL {classify} ELSE NULL END AS _fmt
    FROM (
        SELECT file, position, _original, coalesce(_inner, _original) AS raw, _envelope,
            CASE WHEN _inner IS NULL THEN k ELSE try(from_json(_inner, {presence})) END AS k
        FROM (
            SELECT *, CASE _envelope {unwrap or "WHEN NULL THEN NULL "}ELSE NULL END AS _inner FROM (
                SELECT file, position, raw AS _original, raw, k,
                    CASE WHEN k IS NULL THEN NULL {envelope_name} ELSE NULL END AS _envelope
                FROM (SELECT file, position, raw, try(from_json(raw, {presence})) AS k FROM {input_name})
            )
        )
    )"""


def classify_counts_sql(input_name: str, formats: Iterable[FormatMap], envelopes: Iterable[Envelope]) -> str:
    """Records per format among the un-enveloped records of `input_name`, most frequent first."""
    return (
        f"SELECT _fmt, count(*) AS n FROM ({_classify_sql(input_name, formats, envelopes)}) "
        "WHERE _envelope IS NULL AND _fmt IS NOT NULL GROUP BY _fmt ORDER BY n DESC, _fmt"
    )


def _mapped_sql(fmt: FormatMap, parsed: str, keep: str, *, with_raw: bool = True) -> str:
    """F's field map over `parsed` (a query with `keep` columns, `raw` and the struct `r`).

    Output: `keep` columns, `_reason` (NULL for events), the event columns (`raw` only when
    `with_raw`).
    """
    inner = parsed
    # Each let may use the previous ones: nest one level per let.
    for name, expr in fmt.lets:
        inner = f"SELECT *, {expr} AS {name} FROM ({inner})"
    columns = [(n, d) for n, d in EVENT_SQL_COLUMNS if with_raw or n != "raw"]
    cols = ", ".join(_column_sql(fmt, name, duck) for name, duck in columns)
    skips = "".join(f"WHEN {pred} THEN {reason} " for pred, reason in fmt.skip)
    mapped = f"SELECT {keep}, CASE {skips or 'WHEN false THEN NULL '}END AS _skip, {cols} FROM ({inner})"
    missing = "".join(
        f"WHEN {col} IS NULL THEN {lit(f'missing or unparseable {col} ({field})' if col == 'time' else f'missing {col} ({field})')} "
        for col, field in fmt.required.items()
    )
    names = ", ".join(name for name, _ in columns)
    return f"SELECT {keep}, CASE WHEN _skip IS NOT NULL THEN _skip {missing}END AS _reason, {names} FROM ({mapped})"


def _format_sql(fmt: FormatMap) -> str:
    parsed = (
        f"SELECT file, position, _original, raw, from_json(raw, {lit(fmt.structure_json())}) AS r "
        f"FROM classified WHERE _fmt = {lit(fmt.name)}"
    )
    return _mapped_sql(fmt, parsed, "file, position, _original")


def fast_sql(input_name: str, fmt: FormatMap, formats: Iterable[FormatMap], envelopes: Iterable[Envelope]) -> str:
    """One-parse query for records of `fmt` over `input_name` (columns _i, raw).

    Output: `_i`, `_ok` (the general query would classify the row as `fmt`, un-enveloped),
    `_reason`, and the event columns except `raw` (the caller has the text already).
    """
    formats, envelopes = list(formats), list(envelopes)
    keys = detection_keys(formats, envelopes)
    structure = dict(fmt.structure)
    # Presence must mean "present and non-null" exactly as in the general query. A typed
    # field says so for text and struct targets; a list or scalar target is NULL for values
    # of another JSON type, so rows where such a key looks absent are left to the general query.
    ambiguous = [key for key in keys if key in structure and not _null_means_absent(structure[key])]
    structure.update({key: _PRESENT for key in keys if key not in structure})
    envelope_any = "".join(f"WHEN {e.detect} THEN true " for e in envelopes)
    classify = "".join(f"WHEN {f.detect} THEN {lit(f.name)} " for f in formats)
    unsure = "".join(f'WHEN r."{key.replace(chr(34), chr(34) * 2)}" IS NULL THEN false ' for key in ambiguous)
    ok = (
        f"CASE WHEN r IS NULL THEN false {unsure}"
        f"WHEN (CASE {envelope_any or 'WHEN false THEN true '}ELSE false END) THEN false "
        f"ELSE coalesce((CASE {classify}ELSE NULL END) = {lit(fmt.name)}, false) END"
    )
    parsed = (
        f"SELECT _i, raw, r, r AS k FROM "
        f"(SELECT _i, raw, try(from_json(raw, {lit(_json(structure))})) AS r FROM {input_name})"
    )
    checked = f"SELECT *, {ok} AS _ok FROM ({parsed})"
    return _mapped_sql(fmt, checked, "_i, _ok", with_raw=False)


def _null_means_absent(target: Mapping[str, Any] | list[Any] | str) -> bool:
    return isinstance(target, Mapping) or target in ("VARCHAR", "JSON")


def _column_sql(fmt: FormatMap, name: str, duck: str) -> str:
    if name == "raw":
        return "raw"  # the record text (the inner record when an envelope was unwrapped)
    if name in fmt.columns:
        return f"CAST(({fmt.columns[name]}) AS {duck}) AS {name}"
    return f"CAST(NULL AS {duck}) AS {name}"


def _unclassified_sql() -> str:
    nulls = ", ".join(
        f"CAST(NULL AS {duck}) AS {name}" if name != "raw" else "raw" for name, duck in EVENT_SQL_COLUMNS
    )
    # `k` is NULL for malformed JSON and for the bare literal `null` (valid, not an object).
    reason = (
        "CASE WHEN k IS NULL AND _envelope IS NOT NULL THEN 'malformed JSON in the record wrapped by ' || _envelope "
        "WHEN k IS NULL AND NOT coalesce(json_valid(raw), false) THEN 'malformed JSON' "
        "WHEN json_type(raw) <> 'OBJECT' THEN 'record is not a JSON object' "
        "ELSE 'unrecognised log type' END"
    )
    return f"SELECT file, position, _original, {reason} AS _reason, {nulls} FROM classified WHERE _fmt IS NULL"


def normalize_sql(input_name: str, formats: Iterable[FormatMap], envelopes: Iterable[Envelope]) -> str:
    """The full query over a table/view `input_name` with columns (file, position, raw).

    Output columns: file, position, _original (the input text), _reason (NULL for events),
    then the event columns with `time` as epoch milliseconds.
    """
    formats = list(formats)
    parts = [_format_sql(fmt) for fmt in formats] + [_unclassified_sql()]
    return (
        f"WITH classified AS MATERIALIZED ({_classify_sql(input_name, formats, envelopes)})\n"
        + "\nUNION ALL\n".join(parts)
    )
