"""Pure, vectorized shaping of one normalized batch before it is written.

Every step works on whole Arrow columns (no per-event Python), so the cost per batch is a few
sorts and hash passes in C++ regardless of how many events it holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from lanner.errors import LakeError
from lanner.lake import layout
from lanner.model.event import EVENT_SCHEMA, QUARANTINE_SCHEMA

# Quarantine reasons the lake itself adds (normalizers own all others).
REASON_NO_TIME = "normalized event has no time: cannot place it in a date partition"
REASON_NO_ID = "normalized event has neither uid nor raw record: cannot deduplicate it"
# Position used for records the lake rejects: their line is no longer known after normalizing.
UNKNOWN_POSITION = -1
# Prefix of uids the lake derives for events their source gave no id (hash of the raw record).
DERIVED_UID_PREFIX = "sha256:"


@dataclass
class PartitionBatch:
    source: str
    date: dt.date
    table: pa.Table  # EVENT_SCHEMA rows of one (source, date), sorted by time


@dataclass
class Prepared:
    partitions: list[PartitionBatch]
    rejected: pa.Table  # QUARANTINE_SCHEMA rows for events the lake cannot place
    batch_duplicates: int
    uids_derived: int


def arange(n: int) -> pa.Array:
    """0..n-1 as int64, without numpy or a Python loop."""
    if n == 0:
        return pa.array([], pa.int64())
    ones = pa.repeat(pa.scalar(1, pa.int64()), n)
    return pc.subtract(pc.cumulative_sum(ones), 1)


def conform(events: pa.Table) -> pa.Table:
    """The batch with exactly EVENT_SCHEMA, or a LakeError naming the mismatch."""
    if events.schema.names != EVENT_SCHEMA.names:
        raise LakeError(
            "normalizer produced columns that differ from EVENT_SCHEMA: "
            f"{set(events.schema.names) ^ set(EVENT_SCHEMA.names) or 'same names, other order'}"
        )
    if events.schema.equals(EVENT_SCHEMA):
        return events
    try:
        return events.cast(EVENT_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise LakeError(f"normalizer produced column types that differ from EVENT_SCHEMA: {exc}") from None


def check_sources(events: pa.Table) -> None:
    if events.num_rows == 0:
        return
    if events["source"].null_count:
        raise LakeError("normalizer produced events without a source")
    for s in pc.unique(events["source"]).to_pylist():
        if not layout.is_valid_source(s):
            raise LakeError(f"normalizer produced an invalid source name {s!r} (must be like 'aws.cloudtrail')")


def _as_rejected(events: pa.Table, file: str, reason: str) -> pa.Table:
    n = events.num_rows
    return pa.table(
        {
            "file": pa.repeat(pa.scalar(file, pa.string()), n),
            "position": pa.repeat(pa.scalar(UNKNOWN_POSITION, pa.int64()), n),
            "source": events["source"],
            "reason": pa.repeat(pa.scalar(reason, pa.string()), n),
            "raw": events["raw"],
        },
        schema=QUARANTINE_SCHEMA,
    )


def derive_missing_uids(events: pa.Table) -> tuple[pa.Table, int]:
    """Give events whose source has no id a stable one: the SHA-256 of the raw record.

    Identical raw records then collapse to one event, which is what re-delivered duplicates
    are; without some uid, re-ingesting would duplicate them.
    """
    missing = events["uid"].null_count
    if missing == 0:
        return events, 0
    con = duckdb.connect()
    try:
        con.register("batch", pa.table({"uid": events["uid"], "raw": events["raw"]}))
        uids = con.sql(
            f"SELECT CASE WHEN uid IS NULL AND raw IS NOT NULL THEN '{DERIVED_UID_PREFIX}' || sha256(raw) "
            "ELSE uid END AS uid FROM batch"
        ).to_arrow_table()
    finally:
        con.close()
    col = uids.column("uid").cast(pa.string())
    return events.set_column(0, "uid", col), missing - col.null_count


def drop_batch_duplicates(events: pa.Table) -> tuple[pa.Table, int]:
    """Keep the first event of each (source, uid) in the batch."""
    n = events.num_rows
    if n < 2 or pc.count_distinct(events["uid"]).as_py() == n:
        return events, 0
    keys = pa.table({"source": events["source"], "uid": events["uid"], "_i": arange(n)})
    first = keys.group_by(["source", "uid"], use_threads=False).aggregate([("_i", "min")])["_i_min"]
    first = pc.take(first, pc.sort_indices(first))
    return events.take(first), n - len(first)


def _is_sorted(col: pa.ChunkedArray) -> bool:
    n = len(col)
    return n < 2 or bool(pc.all(pc.greater_equal(col.slice(1), col.slice(0, n - 1))).as_py())


def sort_by_time(table: pa.Table) -> pa.Table:
    """The table in time order; no copy when it already is (the common case for log files)."""
    return table if _is_sorted(table["time"]) else table.take(pc.sort_indices(table["time"]))


def split_partitions(events: pa.Table) -> list[PartitionBatch]:
    """One time-sorted table per (source, date), as zero-copy slices of one sorted table.

    Sorting by (source, time) also orders by date, so each partition is a contiguous run. Most
    input files are single-source and already in time order; then nothing is copied at all.
    """
    n = events.num_rows
    if n == 0:
        return []
    if len(pc.unique(events["source"])) == 1:
        events = sort_by_time(events)
    else:
        keys = pa.table({"source": events["source"], "time": events["time"]})
        events = events.take(pc.sort_indices(keys, sort_keys=[("source", "ascending"), ("time", "ascending")]))
    runs = (
        pa.table(
            {
                "source": events["source"],
                "date": pc.cast(events["time"], pa.date32()),  # UTC day, the column's time zone
                "_i": arange(n),
            }
        )
        .group_by(["source", "date"], use_threads=False)
        .aggregate([("_i", "min"), ("_i", "max")])
        .to_pylist()
    )
    out = [
        PartitionBatch(r["source"], r["date"], events.slice(r["_i_min"], r["_i_max"] - r["_i_min"] + 1))
        for r in runs
    ]
    out.sort(key=lambda p: (p.source, p.date))
    return out


def prepare(events: pa.Table, file: str) -> Prepared:
    events = conform(events)
    check_sources(events)
    rejected = []
    no_time = events["time"].is_null()
    if events["time"].null_count:
        rejected.append(_as_rejected(events.filter(no_time), file, REASON_NO_TIME))
        events = events.filter(pc.invert(no_time))
    events, derived = derive_missing_uids(events)
    if events["uid"].null_count:
        no_id = events["uid"].is_null()
        rejected.append(_as_rejected(events.filter(no_id), file, REASON_NO_ID))
        events = events.filter(pc.invert(no_id))
    events, dups = drop_batch_duplicates(events)
    rej = pa.concat_tables(rejected) if rejected else QUARANTINE_SCHEMA.empty_table()
    return Prepared(split_partitions(events), rej, dups, derived)
