"""Normalizing one batch of framed records with DuckDB: the SQL runs, Arrow splits the result.

A JSON-lines file is nearly always one log type, so a batch is classified on a sample first,
and each format that dominates the sample gets the one-parse fast query over the batch. Rows
the fast query does not vouch for (other formats, envelopes, malformed JSON) go through the
general query. Both are generated from the same declarations, so the route a record takes
never changes its result (tests/normalize check this on third-party events).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from lanner.model.event import EVENT_COLUMNS, EVENT_SCHEMA, QUARANTINE_SCHEMA
from lanner.normalize.registry import ENVELOPES, FORMATS
from lanner.normalize.sql import classify_counts_sql, fast_sql, normalize_sql

# A fresh name per query, so batches on one connection never see each other's input.
_INPUT_NAMES = itertools.count()
# Below this many records the general query alone is as quick as sampling first.
FAST_MIN_ROWS = 2048
# Records classified to choose the fast formats, spread evenly over the batch.
SAMPLE_ROWS = 512
# A format gets a fast pass when at least this share of the sample is of it; each pass
# parses every record still undecided, so passes for rare formats would cost more than
# they save.
FAST_MIN_SHARE = 0.25


@dataclass
class Normalized:
    """Events (exactly EVENT_SCHEMA), quarantined input (QUARANTINE_SCHEMA), events per source."""

    events: pa.Table
    quarantine: pa.Table
    counts: dict[str, int] = field(default_factory=dict)
    # The input file of each event row (parallel to `events`), so a batch that coalesced several
    # small files can be split back per file; None when not tracked.
    files: pa.ChunkedArray | None = None


def normalize_batch(
    con: duckdb.DuckDBPyConnection, records: pa.Table, *, fast_min_rows: int = FAST_MIN_ROWS
) -> Normalized:
    """Classify and normalize `records` (columns file, position, raw) into events.

    Every input row ends up in exactly one of `events` or `quarantine`. `fast_min_rows` is
    the batch size from which the sampled fast path is tried (tests vary it to prove both
    routes agree).
    """
    if records.num_rows == 0:
        return Normalized(EVENT_SCHEMA.empty_table(), QUARANTINE_SCHEMA.empty_table(), {})
    pending = records.select(["file", "position", "raw"])
    events: list[Normalized] = []
    quarantine: list[pa.Table] = []
    if pending.num_rows >= fast_min_rows:
        pending = pending.append_column("_i", _row_numbers(pending.num_rows))
        for name in _dominant_formats(con, pending):
            pending, done = _fast_pass(con, pending, name)
            events.append(done)
            quarantine.append(done.quarantine)
            if pending.num_rows == 0:
                break
        pending = pending.drop_columns(["_i"])
    if pending.num_rows:
        done = _general(con, pending)
        events.append(done)
        quarantine.append(done.quarantine)
    all_events = pa.concat_tables([d.events for d in events]) if len(events) != 1 else events[0].events
    all_quarantine = pa.concat_tables(quarantine) if len(quarantine) != 1 else quarantine[0]
    files = pa.chunked_array([c for d in events for c in (d.files or pa.chunked_array([], pa.string())).chunks], pa.string())
    counts = {row["values"]: row["counts"] for row in pc.value_counts(all_events["source"]).to_pylist()}
    return Normalized(events=all_events, quarantine=all_quarantine, counts=counts, files=files)


def _general(con: duckdb.DuckDBPyConnection, records: pa.Table) -> Normalized:
    with _registered(con, records) as name:
        result = con.sql(normalize_sql(name, FORMATS.values(), ENVELOPES)).to_arrow_table()
    return split_result(result)


def _dominant_formats(con: duckdb.DuckDBPyConnection, records: pa.Table) -> list[str]:
    step = max(1, records.num_rows // SAMPLE_ROWS)
    sample = records.take(pa.array(range(0, records.num_rows, step), pa.int64())).select(["file", "position", "raw"])
    with _registered(con, sample) as name:
        rows = con.sql(classify_counts_sql(name, FORMATS.values(), ENVELOPES)).fetchall()
    return [fmt for fmt, n in rows if n >= FAST_MIN_SHARE * sample.num_rows]


def _fast_pass(con: duckdb.DuckDBPyConnection, records: pa.Table, name: str) -> tuple[pa.Table, Normalized]:
    """Run the fast query for format `name`; return (records left undecided, decided part)."""
    with _registered(con, records.select(["_i", "raw"])) as input_name:
        result = con.sql(fast_sql(input_name, FORMATS[name], FORMATS.values(), ENVELOPES)).to_arrow_table()
    # DuckDB keeps insertion order here, but a caller's connection may have turned that off:
    # align on the row numbers rather than trust it.
    if not result["_i"].equals(records["_i"]):
        result = result.sort_by("_i")
    ok = result["_ok"]
    if pc.all(ok).as_py():  # the usual case: nothing to filter, the texts are not copied
        decided, rest, mapped = records, records.slice(0, 0), result
    else:
        decided, rest, mapped = records.filter(ok), records.filter(pc.invert(ok)), result.filter(ok)
    mapped = mapped.drop_columns(["_i", "_ok"])
    mapped = mapped.append_column("raw", decided["raw"])
    for column in ("file", "position"):
        mapped = mapped.append_column(column, decided[column])
    mapped = mapped.append_column("_original", decided["raw"])
    return rest, split_result(mapped)


def split_result(result: pa.Table) -> Normalized:
    """Split the interpreter's output into events and quarantine rows."""
    is_event = pc.is_null(result["_reason"])
    if result["_reason"].null_count == result.num_rows:  # all events: no copy
        events_part, bad = result, result.slice(0, 0)
    else:
        events_part, bad = result.filter(is_event), result.filter(pc.invert(is_event))
    events = pa.Table.from_arrays(
        [_event_column(events_part, name) for name in EVENT_COLUMNS], schema=EVENT_SCHEMA
    )
    quarantine = pa.Table.from_arrays(
        [_cast(bad[name], QUARANTINE_SCHEMA.field(target).type)
         for name, target in zip(("file", "position", "source", "_reason", "_original"), QUARANTINE_SCHEMA.names, strict=True)],
        schema=QUARANTINE_SCHEMA,
    )
    counts = {row["values"]: row["counts"] for row in pc.value_counts(events["source"]).to_pylist()}
    return Normalized(events=events, quarantine=quarantine, counts=counts, files=_cast(events_part["file"], pa.string()))


def _event_column(table: pa.Table, name: str) -> pa.ChunkedArray:
    target = EVENT_SCHEMA.field(name).type
    column = table[name]
    if name == "time":
        return column.cast(pa.int64()).cast(target)
    return _cast(column, target)


def _cast(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    return column if column.type == target else column.cast(target)


def _row_numbers(n: int) -> pa.Array:
    # 0..n-1 without a Python loop: cumulative sum of ones, minus one.
    return pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)), 1)


class _registered:
    """Register an Arrow table under a fresh name for the duration of a `with` block."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
        self.con, self.table = con, table
        self.name = f"_lanner_records_{next(_INPUT_NAMES)}"

    def __enter__(self) -> str:
        self.con.register(self.name, self.table)
        return self.name

    def __exit__(self, *exc: object) -> None:
        self.con.unregister(self.name)


