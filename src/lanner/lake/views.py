"""Reading the lake: DuckDB views ``events`` and ``quarantine``, and cheap statistics.

A directory that is not a lake (never ingested into) is an error that says how to make one,
because querying a typo'd path and getting zero rows would hide the mistake. A lake that exists
but holds no events yet (say, everything was quarantined) gives empty views with the full,
typed schema, so queries and rules still compile against it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from lanner.errors import LakeError, Location
from lanner.lake import layout
from lanner.lake.checkpoint import Checkpoint
from lanner.model.event import EVENT_COLUMNS, EVENT_SCHEMA, QUARANTINE_SCHEMA

# Hive partition columns: `source` is stored only in the directory name, `date` is derived.
PARTITION_TYPES = {"source": "VARCHAR", "date": "DATE"}
EVENT_VIEW_COLUMNS = (*EVENT_COLUMNS, "date")


def _require_lake(lake: Path) -> None:
    if not layout.state_dir(lake).is_dir():
        raise LakeError(
            f"no lake at {lake}: run `lanner ingest PATH... --lake {lake}` first", Location(str(lake))
        )


def duckdb_types(schema: pa.Schema, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """DuckDB's own name for each Arrow column type (so empty views match real ones exactly)."""
    name = "__lanner_schema_probe"
    con.register(name, schema.empty_table())
    try:
        rows = con.sql(f"DESCRIBE SELECT * FROM {name}").fetchall()
    finally:
        con.unregister(name)
    return {name: typ for name, typ, *_ in rows}


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _empty_select(types: dict[str, str], columns: tuple[str, ...]) -> str:
    cols = ", ".join(f"CAST(NULL AS {types[c]}) AS {_ident(c)}" for c in columns)
    return f"SELECT {cols} WHERE false"


def open_lake(lake: str | Path, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """A connection with views ``events`` (EVENT_SCHEMA columns + ``date``) and ``quarantine``.

    The views glob the lake at query time, so files ingested later show up without reopening
    (except that a lake opened while it had no event files keeps its empty view until reopened).
    """
    lake = Path(lake).absolute()
    _require_lake(lake)
    con = con if con is not None else duckdb.connect()
    ev_types = duckdb_types(EVENT_SCHEMA, con) | PARTITION_TYPES
    q_types = duckdb_types(QUARANTINE_SCHEMA, con)

    if any(layout.events_dir(lake).glob("source=*/date=*/part-*.parquet")):
        hive = "{" + ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in PARTITION_TYPES.items()) + "}"
        cols = ", ".join(_ident(c) for c in EVENT_VIEW_COLUMNS)
        src = _quote(str(lake / layout.EVENT_GLOB))
        events_sql = f"SELECT {cols} FROM read_parquet({src}, hive_partitioning = true, hive_types = {hive})"
    else:
        events_sql = _empty_select(ev_types, EVENT_VIEW_COLUMNS)

    if layout.part_files(layout.quarantine_dir(lake)):
        cols = ", ".join(_ident(c) for c in QUARANTINE_SCHEMA.names)
        src = _quote(str(lake / layout.QUARANTINE_GLOB))
        q_sql = f"SELECT {cols} FROM read_parquet({src}, hive_partitioning = false)"
    else:
        q_sql = _empty_select(q_types, tuple(QUARANTINE_SCHEMA.names))

    con.execute(f"CREATE OR REPLACE VIEW events AS {events_sql}")
    con.execute(f"CREATE OR REPLACE VIEW quarantine AS {q_sql}")
    return con


def _rows(path: Path) -> int:
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (OSError, pa.ArrowInvalid) as exc:
        raise LakeError(f"unreadable lake file ({exc})", Location(str(path))) from None


def lake_stats(lake: str | Path) -> dict[str, Any]:
    """Counts from Parquet footers only (no data is read): per partition, per source, totals."""
    lake = Path(lake).absolute()
    _require_lake(lake)
    partitions: list[dict[str, Any]] = []
    per_source: dict[str, int] = {}
    for pdir in sorted(layout.events_dir(lake).glob("source=*/date=*")):
        parsed = layout.parse_partition(pdir.relative_to(layout.events_dir(lake)).as_posix())
        files = layout.part_files(pdir)
        if parsed is None or not files:
            continue
        source, date = parsed
        events = sum(_rows(f) for f in files)
        size = sum(f.stat().st_size for f in files)
        partitions.append({"source": source, "date": date.isoformat(), "files": len(files), "events": events, "bytes": size})
        per_source[source] = per_source.get(source, 0) + events
    qfiles = layout.part_files(layout.quarantine_dir(lake))
    dates = [dt.date.fromisoformat(p["date"]) for p in partitions]
    event_files = sum(p["files"] for p in partitions)
    event_bytes = sum(p["bytes"] for p in partitions)
    q_bytes = sum(f.stat().st_size for f in qfiles)
    return {
        "lake": str(lake),
        "events": sum(per_source.values()),
        "per_source": dict(sorted(per_source.items())),
        "partitions": partitions,
        "first_date": min(dates).isoformat() if dates else None,
        "last_date": max(dates).isoformat() if dates else None,
        "event_files": event_files,
        "event_bytes": event_bytes,
        "quarantined": sum(_rows(f) for f in qfiles),
        "quarantine_files": len(qfiles),
        "quarantine_bytes": q_bytes,
        "files": event_files + len(qfiles),
        "bytes": event_bytes + q_bytes,
        "ingested_inputs": len(Checkpoint(lake)),
    }
