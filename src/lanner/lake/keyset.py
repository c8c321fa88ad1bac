"""What the lake already holds, for deduplication: event uids per partition, quarantine keys.

Each set is loaded once per ingest run, the first time a batch touches it, and then grown in
memory as batches are published, so the lake is never re-read batch after batch. Membership
tests are Arrow hash lookups over whole columns.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lanner.errors import LakeError, Location
from lanner.lake import layout

# large_string: a partition's uids may exceed the 2 GiB offsets of a plain string array.
_KEY = pa.large_string()


class KeySet:
    """A growing set of string keys with vectorized membership tests."""

    def __init__(self, initial: pa.Array | None = None) -> None:
        self._chunks: list[pa.Array] = []
        self._merged: pa.Array | None = None
        if initial is not None and len(initial):
            self._chunks.append(initial.cast(_KEY))

    def __len__(self) -> int:
        return sum(len(c) for c in self._chunks)

    def is_new(self, keys: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
        """Boolean mask: True where the key is not in the set."""
        if not self._chunks:
            return pa.repeat(pa.scalar(True), len(keys))
        if self._merged is None:
            self._merged = pa.concat_arrays(self._chunks) if len(self._chunks) > 1 else self._chunks[0]
            self._chunks = [self._merged]
        return pc.invert(pc.is_in(keys.cast(_KEY), value_set=self._merged))

    def add(self, keys: pa.Array | pa.ChunkedArray) -> None:
        if len(keys) == 0:
            return
        if isinstance(keys, pa.ChunkedArray):
            keys = keys.combine_chunks()
        self._chunks.append(keys.cast(_KEY))
        self._merged = None


def _read_column(files: list[Path], column: str) -> pa.Array:
    arrays = []
    for f in files:
        try:
            arrays.extend(pq.read_table(f, columns=[column])[column].chunks)
        except (OSError, pa.ArrowInvalid) as exc:
            raise LakeError(f"unreadable lake file ({exc}); move it aside and re-ingest", Location(str(f))) from None
    if not arrays:
        return pa.array([], _KEY)
    return pa.concat_arrays([a.cast(_KEY) for a in arrays])


class UidIndex:
    """Event uids already in the lake, per (source, date), loaded on first touch."""

    def __init__(self, lake: Path) -> None:
        self._lake = lake
        self._parts: dict[tuple[str, dt.date], KeySet] = {}

    def partition(self, source: str, date: dt.date) -> KeySet:
        key = (source, date)
        if key not in self._parts:
            files = layout.part_files(layout.partition_dir(self._lake, source, date))
            self._parts[key] = KeySet(_read_column(files, "uid"))
        return self._parts[key]


_QKEY_SQL = (
    "SELECT concat_ws(chr(31), coalesce(file, ''), coalesce(CAST(position AS VARCHAR), ''), "
    "coalesce(reason, ''), md5(coalesce(raw, ''))) AS k FROM {src}"
)


def _keys(con: duckdb.DuckDBPyConnection, src: str, params: list[object] | None = None) -> pa.Array:
    res = con.sql(_QKEY_SQL.format(src=src), params=params).to_arrow_table()
    return res.column("k").combine_chunks().cast(_KEY)


def quarantine_keys(rows: pa.Table) -> pa.Array:
    """One key per quarantine row: file, position, reason and a hash of the raw text.

    The raw hash keeps apart records that share file/position/reason only because their position
    is unknown (rejected by the lake), while costing 32 bytes per key instead of the raw text.
    """
    con = duckdb.connect()
    try:
        con.register("q", rows)
        return _keys(con, "q")
    finally:
        con.close()


def load_quarantine_keys(lake: Path) -> KeySet:
    """Keys of every quarantined record in the lake, hashed by DuckDB while streaming the files."""
    files = layout.part_files(layout.quarantine_dir(lake))
    if not files:
        return KeySet()
    con = duckdb.connect()
    try:
        return KeySet(_keys(con, "read_parquet(?)", [[str(f) for f in files]]))
    except duckdb.Error as exc:
        raise LakeError(
            f"unreadable quarantine file ({exc}); move it aside and re-ingest", Location(str(files[0].parent))
        ) from None
    finally:
        con.close()
