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
from lanner.normalize.aws_cloudtrail import CLOUDTRAIL

# The typed columns the CloudTrail normalizer fills from the record, computed with its own SQL so
# that the field mappings and implied prefilters (detect/sigma/fields/aws.py) are tested against
# exactly what ingestion produces; uid/time/source/raw are set by the builder itself.
_CLOUDTRAIL_COLUMNS = [c for c in CLOUDTRAIL.columns if c not in ("uid", "time", "source", "raw")]
_CLOUDTRAIL_SQL = (
    f"SELECT {', '.join(f'{CLOUDTRAIL.columns[c]} AS {c}' for c in _CLOUDTRAIL_COLUMNS)} "
    f"FROM (SELECT from_json($raw, '{CLOUDTRAIL.structure_json()}') AS r)"
)
_BASE = datetime(2026, 1, 1, tzinfo=UTC)
_con: duckdb.DuckDBPyConnection | None = None


def _cloudtrail_columns(raw_text: str) -> dict[str, Any]:
    global _con
    if _con is None:
        _con = duckdb.connect()
    cur = _con.execute(_CLOUDTRAIL_SQL, {"raw": raw_text})
    values = cur.fetchone()
    assert values is not None
    return dict(zip(_CLOUDTRAIL_COLUMNS, values, strict=True))


def event_row(spec: dict[str, Any], index: int = 0) -> dict[str, Any]:
    source = spec.get("source")
    raw = spec.get("raw", {})
    cols = dict(spec.get("cols", {}))
    if source is None:
        source = "aws.cloudtrail" if "raw" in spec else "runtime.process"
    row: dict[str, Any] = {name: None for name in EVENT_SCHEMA.names}
    raw_text = orjson.dumps(raw).decode()
    if source == "aws.cloudtrail":
        row.update(_cloudtrail_columns(raw_text))
    row.update(cols)
    row["uid"] = spec["uid"]
    row["source"] = source
    row["time"] = _BASE + timedelta(seconds=index)
    row["raw"] = raw_text
    return row


def load_events(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)
    con.register(f"{name}_arrow", table)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
