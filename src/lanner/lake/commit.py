"""Atomic, durable publication of a Parquet file into the lake.

The file is written under ``_state/tmp/`` with a name readers never glob, flushed and fsynced,
then moved into place with ``os.replace`` (atomic on POSIX within one filesystem, and the tmp
directory is inside the lake so it is the same filesystem), and the target directory is fsynced
so the rename itself survives a power cut. A reader therefore sees either no file or the whole
file, never a prefix.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# ~64 Ki rows per row group: big enough for DuckDB to scan efficiently and prune by min/max
# time statistics, small enough that a batch of raw CloudTrail JSON stays a few tens of MB.
ROW_GROUP_ROWS = 65_536
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(directory: Path) -> None:
    """mkdir -p, fsyncing each parent whose entry we created so the directory is durable."""
    missing = []
    d = directory
    while not d.exists():
        missing.append(d)
        d = d.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        fsync_dir(new.parent)


def publish_parquet(
    table: pa.Table,
    dest: Path,
    tmp_dir: Path,
    *,
    sorting_column: str | None = None,
) -> int:
    """Write ``table`` to ``dest`` atomically; returns the file size in bytes."""
    ensure_dir(dest.parent)
    tmp = tmp_dir / (dest.name + ".tmp")
    sorting = None
    if sorting_column is not None:
        sorting = [pq.SortingColumn(table.schema.get_field_index(sorting_column))]
    with open(tmp, "wb") as fh:
        pq.write_table(
            table,
            fh,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            row_group_size=ROW_GROUP_ROWS,
            sorting_columns=sorting,
        )
        fh.flush()
        os.fsync(fh.fileno())
    size = tmp.stat().st_size
    os.replace(tmp, dest)
    fsync_dir(dest.parent)
    return size


def clean_tmp(tmp_dir: Path) -> int:
    """Remove leftovers of a crashed writer; only call while holding the lake lock."""
    removed = 0
    if tmp_dir.is_dir():
        for p in tmp_dir.iterdir():
            if p.is_file():
                p.unlink()
                removed += 1
    return removed
