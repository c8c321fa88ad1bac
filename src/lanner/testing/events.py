"""Build EVENT_SCHEMA rows for detection tests, filling typed columns as the normalizers do.

Used by the conformance suite and engine tests, and by anyone testing rules against hand-written
records: `load_events(con, "events", event_rows([{"uid": "1", "raw": {...}}]))`.
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
    f"SELECT raw, {', '.join(f'{CLOUDTRAIL.columns[c]} AS {c}' for c in _CLOUDTRAIL_COLUMNS)} "
    f"FROM (SELECT raw, from_json(raw, '{CLOUDTRAIL.structure_json()}') AS r FROM _ct_raws)"
)
_BASE = datetime(2026, 1, 1, tzinfo=UTC)
_con: duckdb.DuckDBPyConnection | None = None
# raw text -> typed columns; filled a whole batch per query (one query per row made a 70k-event
# test take minutes).
_columns: dict[str, dict[str, Any]] = {}


def _prime(raw_texts: list[str]) -> None:
    global _con
    missing = sorted({t for t in raw_texts if t not in _columns})
    if not missing:
        return
    if _con is None:
        _con = duckdb.connect()
    _con.register("_ct_raws", pa.table({"raw": missing}))
    try:
        for raw, *values in _con.execute(_CLOUDTRAIL_SQL).fetchall():
            _columns[raw] = dict(zip(_CLOUDTRAIL_COLUMNS, values, strict=True))
    finally:
        _con.unregister("_ct_raws")


def _cloudtrail_columns(raw_text: str) -> dict[str, Any]:
    if raw_text not in _columns:
        _prime([raw_text])
    return _columns[raw_text]


def event_rows(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`event_row` for many specs, computing CloudTrail columns in one query."""
    _prime([orjson.dumps(s.get("raw", {})).decode() for s in specs if s.get("source", "aws.cloudtrail") == "aws.cloudtrail" and "raw" in s])
    return [event_row(s, i) for i, s in enumerate(specs)]


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
