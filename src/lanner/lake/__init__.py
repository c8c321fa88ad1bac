"""The lake: normalized events as hive-partitioned, zstd Parquet, queried through DuckDB views.

    ingest(paths, lake)  -> IngestSummary   idempotent, crash-safe, one writer at a time
    open_lake(lake)      -> DuckDB connection with views `events` and `quarantine`
    lake_stats(lake)     -> dict of counts per source/date, files, bytes, quarantine
"""

from lanner.lake.ingest import IngestSummary, expand_inputs, ingest
from lanner.lake.views import EVENT_VIEW_COLUMNS, lake_stats, open_lake

__all__ = ["EVENT_VIEW_COLUMNS", "IngestSummary", "expand_inputs", "ingest", "lake_stats", "open_lake"]
