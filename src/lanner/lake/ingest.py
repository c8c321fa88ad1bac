"""Ingest log files into the lake: normalize, deduplicate, publish atomically, checkpoint.

Commit protocol (why a crash at any instant loses nothing and duplicates nothing):

1. One writer at a time: an exclusive ``flock`` on ``_state/lock`` (released by the kernel even
   on SIGKILL). Holding it, the writer deletes stale files in ``_state/tmp/`` left by a crash.
2. Each normalized batch is split by (source, date). For each partition the events whose
   (source, uid) the lake already holds are dropped: the partition's existing uids are read once
   per run on first touch and then kept in memory, growing as batches are accepted (that memory
   dies with the process, so it can never claim an unpublished event); duplicates inside the
   batch are dropped first. Events without a uid get ``sha256:<hash of raw>``; events without a
   time cannot be placed in a partition and are quarantined. Quarantine rows are deduplicated the same way on
   (file, position, reason, hash of raw).
3. What remains is written as a new Parquet file in ``_state/tmp/``, fsynced, and moved into the
   partition with ``os.replace`` (atomic), then the directory is fsynced. Readers only glob
   ``part-*.parquet`` inside ``events/`` and ``quarantine/``, so they see whole files or nothing.
   New rows are buffered across batches and small files up to about ``batch_size`` rows before
   being published, so part files stay well sized.
4. When every row of an input file is published, the file's fingerprint is appended to the
   checkpoint ``_state/ingested.jsonl``.

After a crash the lake holds only whole part files, each a set of events that is correct on its
own. Re-running the same ingest re-reads the files not checkpointed; step 2 drops every event
already published, and publishes the rest. So dedup-on-uid plus atomic rename is sufficient for
exactly-once content; the checkpoint adds speed only (fully ingested files are skipped without
being parsed), never correctness. The one assumption is that an event's uid and time are stable
across reads, which holds because both come from the record itself. The dedup scope is the
(source, date) partition: a record with a known uid but a time on another day is a different
record and is kept.

Test hook: when the environment variable ``LANNER_LAKE_TEST_PAUSE`` is set to a number of
seconds, the writer sleeps that long after each flush that published files, so crash tests can
SIGKILL it at known points. It has no other effect and is not meant for users.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from lanner.errors import InputError, LakeError, Location
from lanner.lake import layout
from lanner.lake.checkpoint import Checkpoint, Fingerprint, fingerprint
from lanner.lake.commit import clean_tmp, ensure_dir, publish_parquet
from lanner.lake.keyset import KeySet, UidIndex, load_quarantine_keys, quarantine_keys
from lanner.lake.lock import writer_lock
from lanner.lake.prepare import arange, prepare, sort_by_time
from lanner.model.event import QUARANTINE_SCHEMA
from lanner.sources import iter_files

ProgressFn = Callable[[int, int], None]
TEST_PAUSE_ENV = "LANNER_LAKE_TEST_PAUSE"


class NormalizedBatch(Protocol):
    events: pa.Table
    quarantine: pa.Table


Reader = Callable[..., Iterable[tuple[Path, NormalizedBatch, int]]]


@dataclass
class IngestSummary:
    """What one ingest run did. records_seen = events_written + duplicates_skipped + quarantined."""

    lake: str
    files: int = 0  # input files read in this run
    files_skipped: int = 0  # already fully ingested (checkpoint), not read again
    bytes: int = 0  # size on disk of all input files, read or skipped
    records_seen: int = 0
    events_written: int = 0
    duplicates_skipped: int = 0  # events already in the lake or repeated within the input
    quarantined: int = 0  # records of this input that went to quarantine
    quarantine_written: int = 0  # of those, the ones not already in the lake's quarantine
    uids_derived: int = 0  # events without a native id, given a hash of their raw record
    parts_written: int = 0  # Parquet files published (events and quarantine)
    per_source: dict[str, int] = field(default_factory=dict)  # events written per source
    quarantine_reasons: dict[str, int] = field(default_factory=dict)  # quarantined records per reason
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.records_seen / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expand_inputs(paths: Iterable[str | Path], lake: Path) -> list[Path]:
    """Absolute paths of the files to ingest, as ``lanner.sources.iter_files`` finds them.

    Anything inside the lake itself is left out, so ``ingest . --lake ./lake`` does not eat its
    own Parquet files; a file named twice is read once.
    """
    given = [Path(p).absolute() for p in paths]
    out: list[Path] = []
    seen: set[Path] = set()
    for f in iter_files(given):
        if f.is_relative_to(lake) or f in seen:
            continue
        seen.add(f)
        out.append(f)
    if not out:
        raise InputError("no input files found", Location(", ".join(str(p) for p in given) or "(none)"))
    return out


class _Writer:
    """Deduplicates normalized batches against the lake and publishes them in whole files.

    New rows are buffered per partition until about ``flush_rows`` are pending, so a folder of
    thousands of small log files (CloudTrail delivers one per account, region and 5 minutes)
    becomes a few well-sized Parquet files rather than thousands of tiny ones. An input file is
    checkpointed only by the flush that publishes its last rows; a crash before that loses only
    in-memory work, which the next run redoes.
    """

    def __init__(self, lake: Path, summary: IngestSummary, checkpoint: Checkpoint, flush_rows: int) -> None:
        self.lake = lake
        self.tmp = layout.tmp_dir(lake)
        self.summary = summary
        self.checkpoint = checkpoint
        self.flush_rows = flush_rows
        self.uids = UidIndex(lake)
        self._qkeys: KeySet | None = None
        self.per_source: Counter[str] = Counter()
        self.quarantine_reasons: Counter[str] = Counter()
        self._pending: dict[tuple[str, dt.date], list[pa.Table]] = {}
        self._pending_rows = 0
        self._pending_q: list[pa.Table] = []
        self._pending_files: list[Fingerprint] = []

    def add(self, path: Path, events: pa.Table, quarantine: pa.Table) -> int:
        """Take one batch; returns the number of part files this call published."""
        s = self.summary
        s.records_seen += events.num_rows + quarantine.num_rows
        prep = prepare(events, str(path))
        s.duplicates_skipped += prep.batch_duplicates
        s.uids_derived += prep.uids_derived
        for pb in prep.partitions:
            known = self.uids.partition(pb.source, pb.date)
            fresh = known.is_new(pb.table["uid"])
            # filtering copies every column (raw included): skip it in the common all-new case
            new = pb.table if pc.all(fresh).as_py() else pb.table.filter(fresh)
            s.duplicates_skipped += pb.table.num_rows - new.num_rows
            if new.num_rows:
                # Known from now on, so later batches of this run dedup against pending rows too.
                known.add(new["uid"])
                self._pending.setdefault((pb.source, pb.date), []).append(new)
                self._pending_rows += new.num_rows
        self._add_quarantine(quarantine, prep.rejected)
        return self.flush() if self._pending_rows >= self.flush_rows else 0

    def file_done(self, fp: Fingerprint) -> int:
        self._pending_files.append(fp)
        if self._pending_rows >= self.flush_rows or not (self._pending or self._pending_q):
            return self.flush()
        return 0

    def _add_quarantine(self, from_normalizer: pa.Table, rejected: pa.Table) -> None:
        parts = [t for t in (from_normalizer, rejected) if t.num_rows]
        if not parts:
            return
        try:
            rows = pa.concat_tables([t.select(QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA) for t in parts])
        except (KeyError, pa.ArrowInvalid) as exc:
            raise LakeError(f"normalizer produced a quarantine table unlike QUARANTINE_SCHEMA: {exc}") from None
        self.summary.quarantined += rows.num_rows
        for item in pc.value_counts(rows["reason"]).to_pylist():
            self.quarantine_reasons[str(item["values"])] += item["counts"]
        if self._qkeys is None:
            self._qkeys = load_quarantine_keys(self.lake)
        keys = quarantine_keys(rows)
        # first occurrence of each key within the batch, then only keys the lake lacks
        if pc.count_distinct(keys).as_py() != len(keys):
            first = (
                pa.table({"k": keys, "_i": arange(len(keys))})
                .group_by(["k"], use_threads=False)
                .aggregate([("_i", "min")])["_i_min"]
            )
            first = pc.take(first, pc.sort_indices(first))
            rows, keys = rows.take(first), keys.take(first)
        mask = self._qkeys.is_new(keys)
        rows, keys = rows.filter(mask), keys.filter(mask)
        if rows.num_rows:
            self._qkeys.add(keys)
            self._pending_q.append(rows)
            self._pending_rows += rows.num_rows

    def flush(self) -> int:
        """Publish everything pending, then checkpoint the files it completes."""
        s = self.summary
        published = 0
        for (source, date), tables in sorted(self._pending.items()):
            table = sort_by_time(pa.concat_tables(tables)) if len(tables) > 1 else tables[0]
            dest = layout.partition_dir(self.lake, source, date) / layout.new_part_name()
            # source is the partition directory; storing it again in every row would be redundant.
            publish_parquet(table.drop_columns(["source"]), dest, self.tmp, sorting_column="time")
            published += 1
            s.events_written += table.num_rows
            self.per_source[source] += table.num_rows
        if self._pending_q:
            rows = pa.concat_tables(self._pending_q)
            publish_parquet(rows, layout.quarantine_dir(self.lake) / layout.new_part_name(), self.tmp)
            published += 1
            s.quarantine_written += rows.num_rows
        for fp in self._pending_files:
            self.checkpoint.record(fp)
        s.parts_written += published
        self._pending, self._pending_q, self._pending_files, self._pending_rows = {}, [], [], 0
        return published

    def finish(self) -> None:
        self.flush()
        self.summary.per_source = dict(sorted(self.per_source.items()))
        self.summary.quarantine_reasons = dict(self.quarantine_reasons.most_common())


def _default_reader() -> Reader:
    # Imported late: lake/ must import without pulling in every normalizer at start-up.
    from lanner.normalize import read_events

    return read_events


def _test_pause() -> None:
    delay = os.environ.get(TEST_PAUSE_ENV)
    if delay:
        time.sleep(float(delay))


def _batches(reader: Reader, files: list[Path], batch_size: int) -> Iterator[tuple[Path, NormalizedBatch, int]]:
    try:
        yield from reader(files, batch_size=batch_size)
    except OSError as exc:
        where = Location(exc.filename) if getattr(exc, "filename", None) else None
        raise InputError(f"cannot read: {exc.strerror or exc}", where) from None


def ingest(
    paths: Iterable[str | Path],
    lake: str | Path,
    *,
    progress: ProgressFn | None = None,
    batch_size: int = 100_000,
    reader: Reader | None = None,
) -> IngestSummary:
    """Normalize ``paths`` (files or directories, plain or gzip) into the lake at ``lake``.

    Idempotent and crash-safe (see the module docstring). ``progress(bytes_done, bytes_total)``
    is called after each batch. ``reader`` replaces ``lanner.normalize.read_events`` (same
    signature), for other input channels and tests.
    """
    t0 = time.perf_counter()
    lake = Path(lake).absolute()
    if lake.exists() and not lake.is_dir():
        raise LakeError("exists and is not a directory", Location(str(lake)))
    if batch_size < 1:
        raise LakeError(f"batch_size must be positive, got {batch_size}")
    paths = list(paths)
    files = expand_inputs(paths, lake)
    read = reader or _default_reader()
    summary = IngestSummary(lake=str(lake))
    sizes = {}
    for f in files:
        try:
            sizes[f] = f.stat().st_size
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", Location(str(f))) from None
    total = sum(sizes.values())
    summary.bytes = total

    with writer_lock(lake):
        clean_tmp(layout.tmp_dir(lake))
        for d in (layout.tmp_dir(lake), layout.events_dir(lake), layout.quarantine_dir(lake)):
            ensure_dir(d)
        checkpoint = Checkpoint(lake)
        writer = _Writer(lake, summary, checkpoint, flush_rows=batch_size)
        done = 0
        todo: list[tuple[Path, Fingerprint]] = []
        for f in files:
            fp = fingerprint(f)
            if fp in checkpoint:
                summary.files_skipped += 1
                done += sizes[f]
            else:
                todo.append((f, fp))
        if progress and done:
            progress(done, total)
        # One reader over all files (not one per file): the normalizer pools small files into
        # one query, which is what makes thousands of 5-minute CloudTrail files cheap.
        # Files come back in order; a file is complete when the reader moves past it.
        position = 0  # todo[:position] are complete
        read_in_file = 0

        def complete_until(stop: int) -> None:
            nonlocal position, done, read_in_file
            while position < stop:
                f, fp = todo[position]
                if writer.file_done(fp):
                    _test_pause()
                summary.files += 1
                done += sizes[f]
                position += 1
                read_in_file = 0
                if progress:
                    progress(done, total)

        index = {f: i for i, (f, _) in enumerate(todo)}
        try:
            for path, norm, nbytes in _batches(read, [f for f, _ in todo], batch_size):
                at = index.get(Path(path), position)
                complete_until(at)
                published = writer.add(path, norm.events, norm.quarantine)
                read_in_file = min(read_in_file + max(nbytes, 0), sizes[todo[at][0]] if at < len(todo) else 0)
                if progress:
                    progress(done + read_in_file, total)
                if published:
                    _test_pause()
            complete_until(len(todo))
        except InputError as exc:
            # An unreadable input stops the run, but what was read before it is good: keep it,
            # and checkpoint the files before the one that failed (they were read whole).
            failed = index.get(Path(exc.location.path)) if exc.location else None
            if failed is not None:
                complete_until(failed)
            writer.flush()
            raise
        writer.finish()
    summary.seconds = time.perf_counter() - t0
    return summary
