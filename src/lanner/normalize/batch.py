"""Normalizing one batch of framed records with DuckDB: the SQL runs, Arrow splits the result."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from lanner.model.event import EVENT_COLUMNS, EVENT_SCHEMA, QUARANTINE_SCHEMA
from lanner.normalize.registry import ENVELOPES, FORMATS
from lanner.normalize.sql import normalize_sql

# A fresh name per batch, so batches on one connection never see each other's input.
_INPUT_NAMES = itertools.count()


@dataclass
class Normalized:
    """Events (exactly EVENT_SCHEMA), quarantined input (QUARANTINE_SCHEMA), events per source."""

    events: pa.Table
    quarantine: pa.Table
    counts: dict[str, int] = field(default_factory=dict)


def normalize_batch(con: duckdb.DuckDBPyConnection, records: pa.Table) -> Normalized:
    """Classify and normalize `records` (columns file, position, raw) into events.

    Every input row ends up in exactly one of `events` or `quarantine`.
    """
    if records.num_rows == 0:
        return Normalized(EVENT_SCHEMA.empty_table(), QUARANTINE_SCHEMA.empty_table(), {})
    name = f"_lanner_records_{next(_INPUT_NAMES)}"
    con.register(name, records.select(["file", "position", "raw"]))
    try:
        result = con.sql(normalize_sql(name, FORMATS.values(), ENVELOPES)).to_arrow_table()
    finally:
        con.unregister(name)
    return split_result(result)


def split_result(result: pa.Table) -> Normalized:
    """Split the interpreter's output into events and quarantine rows."""
    is_event = pc.is_null(result["_reason"])
    events_part = result.filter(is_event)
    bad = result.filter(pc.invert(is_event))
    events = pa.Table.from_arrays(
        [_event_column(events_part, name) for name in EVENT_COLUMNS], schema=EVENT_SCHEMA
    )
    quarantine = pa.Table.from_arrays(
        [bad["file"], bad["position"], bad["source"], bad["_reason"], bad["_original"]],
        schema=QUARANTINE_SCHEMA,
    )
    counts = {row["values"]: row["counts"] for row in pc.value_counts(events["source"]).to_pylist()}
    return Normalized(events=events, quarantine=quarantine, counts=counts)


def _event_column(table: pa.Table, name: str) -> pa.ChunkedArray:
    target = EVENT_SCHEMA.field(name).type
    column = table[name]
    if name == "time":
        return column.cast(pa.int64()).cast(target)
    return column.cast(target)
