"""Files in, normalized batches out: framing (Python/Arrow) chained with normalization (DuckDB).

Small files are coalesced: a query costs tens of milliseconds to plan whatever its input size,
and real exports are often thousands of small files (CloudTrail writes one per account, region
and 5 minutes). Framed records of consecutive files are pooled up to `batch_size`, normalized
in one query, and the result split back per file, so callers still see each file's events
under its own path, in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from lanner.model.event import QUARANTINE_SCHEMA
from lanner.normalize.batch import Normalized, normalize_batch
from lanner.sources import frame_file, iter_files
from lanner.sources.framing import Framed


@dataclass
class _Pooled:
    path: Path
    framed: Framed


def read_events(
    paths: Iterable[str | Path],
    con: duckdb.DuckDBPyConnection | None = None,
    batch_size: int = 100_000,
) -> Iterator[tuple[Path, Normalized, int]]:
    """Yield (file, normalized batch, bytes read from disk), files in order, batches in order.

    Framing quarantine (bad gzip, bad UTF-8, oversized records) is merged into each batch's
    quarantine, so callers see one stream of everything that was not an event. An empty file
    yields nothing. A missing path raises `InputError` (a user error); bad content never raises.
    """
    own = con is None
    connection = duckdb.connect() if con is None else con
    pool: list[_Pooled] = []
    pooled_rows = 0
    try:
        for path in iter_files(paths):
            for framed in frame_file(path, batch_size):
                if framed.records.num_rows >= batch_size // 2:
                    # A big batch goes alone; flush the pool first to keep file order.
                    yield from _flush(connection, pool)
                    pool, pooled_rows = [], 0
                    yield path, _normalize(connection, framed), framed.bytes_read
                    continue
                pool.append(_Pooled(path, framed))
                pooled_rows += framed.records.num_rows
                if pooled_rows >= batch_size:
                    yield from _flush(connection, pool)
                    pool, pooled_rows = [], 0
        yield from _flush(connection, pool)
    finally:
        if own:
            connection.close()


def _normalize(con: duckdb.DuckDBPyConnection, framed: Framed) -> Normalized:
    normalized = normalize_batch(con, framed.records)
    if framed.quarantine.num_rows:
        normalized.quarantine = pa.concat_tables([framed.quarantine.cast(QUARANTINE_SCHEMA), normalized.quarantine])
    return normalized


def _flush(con: duckdb.DuckDBPyConnection, pool: list[_Pooled]) -> Iterator[tuple[Path, Normalized, int]]:
    if not pool:
        return
    if len(pool) == 1:
        yield pool[0].path, _normalize(con, pool[0].framed), pool[0].framed.bytes_read
        return
    records = pa.concat_tables([p.framed.records for p in pool])
    together = normalize_batch(con, records)
    files = together.files if together.files is not None else pa.chunked_array([], pa.string())
    by_path: dict[Path, list[Framed]] = {}
    for p in pool:  # dicts keep insertion order: files come out in the order they were read
        by_path.setdefault(p.path, []).append(p.framed)
    for path, framed in by_path.items():
        name = str(path)
        mine = pc.equal(files, name)
        events = together.events.filter(mine)
        quarantine = together.quarantine.filter(pc.equal(together.quarantine["file"], name))
        early = [f.quarantine.cast(QUARANTINE_SCHEMA) for f in framed if f.quarantine.num_rows]
        if early:
            quarantine = pa.concat_tables([*early, quarantine])
        counts = {r["values"]: r["counts"] for r in pc.value_counts(events["source"]).to_pylist()}
        yield path, Normalized(events, quarantine, counts, files=files.filter(mine)), sum(f.bytes_read for f in framed)
