"""Files in, normalized batches out: framing (Python/Arrow) chained with normalization (DuckDB)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from lanner.model.event import QUARANTINE_SCHEMA
from lanner.normalize.batch import Normalized, normalize_batch
from lanner.sources import frame_file, iter_files


def read_events(
    paths: Iterable[str | Path],
    con: duckdb.DuckDBPyConnection | None = None,
    batch_size: int = 100_000,
) -> Iterator[tuple[Path, Normalized, int]]:
    """Yield (file, normalized batch, bytes read from disk) for every batch of every file.

    Framing quarantine (bad gzip, bad UTF-8, oversized records) is merged into each batch's
    quarantine, so callers see one stream of everything that was not an event.
    A missing path raises `InputError` (a user error), bad content never raises.
    """
    own = con is None
    connection = duckdb.connect() if con is None else con
    try:
        for path in iter_files(paths):
            for framed in frame_file(path, batch_size):
                normalized = normalize_batch(connection, framed.records)
                if framed.quarantine.num_rows:
                    normalized.quarantine = pa.concat_tables(
                        [framed.quarantine.cast(QUARANTINE_SCHEMA), normalized.quarantine]
                    )
                yield path, normalized, framed.bytes_read
    finally:
        if own:
            connection.close()
