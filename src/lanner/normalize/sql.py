"""The generic interpreter: declared formats and envelopes -> one DuckDB query.

Per record, in SQL: top-level keys once (`json_keys`, which also tells malformed JSON apart),
unwrap envelopes, classify by keys, then parse once per format with `from_json` and evaluate
the declared field map. Every row comes out either as an event (`_reason` NULL) or with the
reason it is quarantined.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from lanner.model.event import EVENT_SCHEMA
from lanner.normalize.spec import Envelope, FormatMap, lit

_DUCK_TYPES = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.list_(pa.string()): "VARCHAR[]",
}


def _duck_type(field: pa.Field) -> str:
    if field.name == "time":
        return "BIGINT"  # epoch ms; converted to timestamp[ms, UTC] on the Arrow side
    return _DUCK_TYPES[field.type]


EVENT_SQL_COLUMNS = [(f.name, _duck_type(f)) for f in EVENT_SCHEMA]
OUT_PREFIX = ["file", "position", "_original", "_reason"]


def _classify_sql(input_name: str, formats: Iterable[FormatMap], envelopes: Iterable[Envelope]) -> str:
    envelopes = list(envelopes)
    # Detect the envelope once per row, then unwrap by its name.
    unwrap = "".join(f"WHEN {lit(e.name)} THEN {e.inner} " for e in envelopes)
    envelope_name = "".join(f"WHEN {e.detect} THEN {lit(e.name)} " for e in envelopes)
    classify = "".join(f"WHEN {f.detect} THEN {lit(f.name)} " for f in formats)
    return f"""
    SELECT file, position, _original, raw, k, _envelope,
        CASE WHEN k IS NULL THEN NULL {classify} ELSE NULL END AS _fmt
    FROM (
        SELECT file, position, _original, coalesce(_inner, _original) AS raw, _envelope,
            CASE WHEN _inner IS NULL THEN k ELSE try(json_keys(_inner)) END AS k
        FROM (
            SELECT *, CASE _envelope {unwrap or "WHEN NULL THEN NULL "}ELSE NULL END AS _inner FROM (
                SELECT file, position, raw AS _original, raw, k,
                    CASE WHEN k IS NULL THEN NULL {envelope_name} ELSE NULL END AS _envelope
                FROM (SELECT file, position, raw, try(json_keys(raw)) AS k FROM {input_name})
            )
        )
    )"""


def _format_sql(fmt: FormatMap) -> str:
    # Each let may use the previous ones: nest one level per let.
    inner = f"SELECT file, position, _original, raw, from_json(raw, {lit(fmt.structure_json())}) AS r FROM classified WHERE _fmt = {lit(fmt.name)}"
    for name, expr in fmt.lets:
        inner = f"SELECT *, {expr} AS {name} FROM ({inner})"
    cols = ", ".join(_column_sql(fmt, name, duck) for name, duck in EVENT_SQL_COLUMNS)
    skips = "".join(f"WHEN {pred} THEN {reason} " for pred, reason in fmt.skip)
    mapped = f"SELECT file, position, _original, CASE {skips or 'WHEN false THEN NULL '}END AS _skip, {cols} FROM ({inner})"
    missing = "".join(
        f"WHEN {col} IS NULL THEN {lit(f'missing or unparseable {col} ({field})' if col == 'time' else f'missing {col} ({field})')} "
        for col, field in fmt.required.items()
    )
    names = ", ".join(name for name, _ in EVENT_SQL_COLUMNS)
    return (
        f"SELECT file, position, _original, CASE WHEN _skip IS NOT NULL THEN _skip {missing}END AS _reason, {names} "
        f"FROM ({mapped})"
    )


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
    reason = (
        "CASE WHEN k IS NULL AND _envelope IS NOT NULL THEN 'malformed JSON in the record wrapped by ' || _envelope "
        "WHEN k IS NULL THEN 'malformed JSON' "
        "WHEN len(k) = 0 AND json_type(raw) <> 'OBJECT' THEN 'record is not a JSON object' "
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
