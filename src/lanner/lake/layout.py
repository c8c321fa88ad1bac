"""Where things live inside a lake directory: one place for paths, globs and file names.

    LAKE/events/source=<source>/date=<YYYY-MM-DD>/part-<id>.parquet   normalized events
    LAKE/quarantine/part-<id>.parquet                                 records that did not normalize
    LAKE/_state/lock                                                  writer lock (fcntl)
    LAKE/_state/ingested.jsonl                                        checkpoint of fully ingested files
    LAKE/_state/tmp/                                                  files being written (never read)

Readers glob only ``part-*.parquet`` under ``events/`` and ``quarantine/``, so a file that is
still being written (it lives in ``_state/tmp/`` under another name) is never visible.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import time
from pathlib import Path

EVENTS = "events"
QUARANTINE = "quarantine"
STATE = "_state"
TMP = "tmp"
LOCK_FILE = "lock"
CHECKPOINT_FILE = "ingested.jsonl"

EVENT_GLOB = f"{EVENTS}/source=*/date=*/part-*.parquet"
QUARANTINE_GLOB = f"{QUARANTINE}/part-*.parquet"

# A source name becomes a directory name, so it must be a plain token (no '/', '..', '=').
_SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_PARTITION_RE = re.compile(r"^source=(?P<source>[^/]+)/date=(?P<date>\d{4}-\d{2}-\d{2})$")

_seq = itertools.count()


def state_dir(lake: Path) -> Path:
    return lake / STATE


def tmp_dir(lake: Path) -> Path:
    return lake / STATE / TMP


def events_dir(lake: Path) -> Path:
    return lake / EVENTS


def quarantine_dir(lake: Path) -> Path:
    return lake / QUARANTINE


def is_valid_source(source: str) -> bool:
    return bool(_SOURCE_RE.match(source)) and ".." not in source


def partition_dir(lake: Path, source: str, date: dt.date) -> Path:
    return lake / EVENTS / f"source={source}" / f"date={date.isoformat()}"


def parse_partition(rel: str) -> tuple[str, dt.date] | None:
    """``source=X/date=Y`` (relative to events/) -> (X, Y), or None if it is not a partition."""
    m = _PARTITION_RE.match(rel)
    if not m:
        return None
    try:
        return m["source"], dt.date.fromisoformat(m["date"])
    except ValueError:
        return None


def new_part_name() -> str:
    """A unique, roughly time-ordered part name: nanosecond clock + pid + per-process sequence.

    Uniqueness matters because two runs may write the same partition; ordering only makes
    directory listings read naturally.
    """
    return f"part-{time.time_ns():020d}-{os.getpid()}-{next(_seq):06d}.parquet"


def part_files(directory: Path) -> list[Path]:
    """Committed part files in one directory (never temp files), sorted by name."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("part-*.parquet") if p.is_file())
