"""Unit tests of the pure batch shaping (no disk)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from lanner.errors import LakeError
from lanner.lake.prepare import (
    DERIVED_UID_PREFIX,
    REASON_NO_TIME,
    UNKNOWN_POSITION,
    arange,
    conform,
    drop_batch_duplicates,
    prepare,
    split_partitions,
)
from lanner.model.event import EVENT_SCHEMA

T0 = dt.datetime(2024, 1, 1, 23, 59, 58, tzinfo=dt.UTC)


def events(rows: list[dict]) -> pa.Table:
    full = [dict.fromkeys(EVENT_SCHEMA.names) | {"source": "aws.cloudtrail", "raw": "{}"} | r for r in rows]
    return pa.Table.from_pylist(full, schema=EVENT_SCHEMA)


def test_arange():
    assert arange(0).to_pylist() == []
    assert arange(5).to_pylist() == [0, 1, 2, 3, 4]


def test_batch_duplicates_keep_first_per_source_and_uid():
    t = events(
        [
            {"uid": "a", "time": T0, "operation": "first"},
            {"uid": "b", "time": T0},
            {"uid": "a", "time": T0, "operation": "second"},
            {"uid": "a", "time": T0, "source": "gcp.audit"},  # same uid, other source: kept
        ]
    )
    out, dups = drop_batch_duplicates(t)
    assert dups == 1
    assert out.select(["uid", "source", "operation"]).to_pylist() == [
        {"uid": "a", "source": "aws.cloudtrail", "operation": "first"},
        {"uid": "b", "source": "aws.cloudtrail", "operation": None},
        {"uid": "a", "source": "gcp.audit", "operation": None},
    ]


def test_split_partitions_by_source_and_utc_date_sorted_by_time():
    later = T0 + dt.timedelta(seconds=5)  # next UTC day
    t = events(
        [
            {"uid": "3", "time": later},
            {"uid": "2", "time": T0 + dt.timedelta(seconds=1)},
            {"uid": "1", "time": T0},
            {"uid": "4", "time": T0, "source": "k8s.audit"},
        ]
    )
    parts = split_partitions(t)
    assert [(p.source, p.date.isoformat(), p.table["uid"].to_pylist()) for p in parts] == [
        ("aws.cloudtrail", "2024-01-01", ["1", "2"]),
        ("aws.cloudtrail", "2024-01-02", ["3"]),
        ("k8s.audit", "2024-01-01", ["4"]),
    ]
    assert all(p.table.schema.equals(EVENT_SCHEMA) for p in parts)


def test_prepare_rejects_events_without_time_and_derives_missing_uids():
    t = events(
        [
            {"uid": "a", "time": None, "raw": '{"x": 1}'},
            {"uid": None, "time": T0, "raw": '{"y": 2}'},
            {"uid": None, "time": T0, "raw": '{"y": 2}'},  # same raw: same derived uid, a duplicate
            {"uid": None, "time": T0, "raw": None},
        ]
    )
    prep = prepare(t, "/logs/x.json")
    assert prep.uids_derived == 2
    assert prep.batch_duplicates == 1
    [part] = prep.partitions
    [uid] = part.table["uid"].to_pylist()
    assert uid.startswith(DERIVED_UID_PREFIX) and len(uid) == len(DERIVED_UID_PREFIX) + 64
    rej = prep.rejected.to_pylist()
    assert [(r["file"], r["position"], r["reason"]) for r in rej][0] == ("/logs/x.json", UNKNOWN_POSITION, REASON_NO_TIME)
    assert len(rej) == 2 and rej[1]["reason"].startswith("normalized event has neither uid nor raw")


def test_conform_reports_schema_mismatch():
    with pytest.raises(LakeError, match="differ from EVENT_SCHEMA"):
        conform(pa.table({"uid": ["a"]}))


def test_invalid_source_name_is_an_error():
    with pytest.raises(LakeError, match="invalid source name"):
        prepare(events([{"uid": "a", "time": T0, "source": "../etc"}]), "f")
