"""Build EVENT_SCHEMA rows for detection tests, filling typed columns as the normalizers do.

Loaded by path from the tests (pytest runs with --import-mode=importlib, tests are not a package).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from lanner.model.event import EVENT_SCHEMA

_CLOUDTRAIL_COLUMNS = {
    "eventName": "operation",
    "eventSource": "service",
    "sourceIPAddress": "src_ip",
    "awsRegion": "region",
    "userAgent": "user_agent",
    "recipientAccountId": "account",
}
_BASE = datetime(2026, 1, 1, tzinfo=UTC)


def event_row(spec: dict[str, Any], index: int = 0) -> dict[str, Any]:
    source = spec.get("source")
    raw = spec.get("raw", {})
    cols = dict(spec.get("cols", {}))
    if source is None:
        source = "aws.cloudtrail" if "raw" in spec else "runtime.process"
    row: dict[str, Any] = {name: None for name in EVENT_SCHEMA.names}
    if source == "aws.cloudtrail":
        for k, col in _CLOUDTRAIL_COLUMNS.items():
            if k in raw:
                row[col] = raw[k]
    row.update(cols)
    row["uid"] = spec["uid"]
    row["source"] = source
    row["time"] = _BASE + timedelta(seconds=index)
    row["raw"] = orjson.dumps(raw).decode()
    return row


def load_events(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)
    con.register(f"{name}_arrow", table)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
