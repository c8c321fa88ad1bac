"""Test helpers for the lake: synthetic CloudTrail JSON lines and a small stand-in reader.

The stand-in reader has read_events' signature and output contract (EVENT_SCHEMA events,
QUARANTINE_SCHEMA quarantine, bytes read) so the lake can be tested on its own; the end-to-end
tests use the real lanner.normalize.read_events.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa

from lanner.model.event import EVENT_SCHEMA, QUARANTINE_SCHEMA

START = dt.datetime(2024, 3, 1, 22, 0, tzinfo=dt.UTC)
NAMES = ["GetObject", "ListBuckets", "AssumeRole", "DescribeInstances", "PutObject", "ConsoleLogin"]


def cloudtrail_record(i: int, *, start: dt.datetime = START, step_s: float = 7.0, rng: random.Random) -> dict:
    t = start + dt.timedelta(seconds=i * step_s)
    return {
        "eventVersion": "1.08",
        "eventID": f"00000000-0000-4000-8000-{i:012d}",
        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventName": rng.choice(NAMES),
        "eventSource": "s3.amazonaws.com",
        "awsRegion": rng.choice(["us-east-1", "eu-west-1"]),
        "recipientAccountId": "111122223333",
        "sourceIPAddress": f"10.0.{i % 250}.{rng.randrange(1, 250)}",
        "userIdentity": {"type": "IAMUser", "userName": f"user{i % 17}"},
    }


def write_lines(path: Path, lines: list[str]) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def cloudtrail_lines(ids: range, *, bad_every: int = 0, seed: int = 7) -> list[str]:
    """JSON lines of CloudTrail records with the given indices; every bad_every-th line broken."""
    rng = random.Random(seed)
    out = []
    for n, i in enumerate(ids, 1):
        if bad_every and n % bad_every == 0:
            out.append('{"eventID": "broken", "eventTime": ')
        else:
            out.append(json.dumps(cloudtrail_record(i, rng=rng)))
    return out


@dataclass
class Norm:
    events: pa.Table
    quarantine: pa.Table
    counts: dict[str, int] = field(default_factory=dict)


def _parse_time(s: str) -> dt.datetime:
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _build(path: Path, chunk: list[tuple[int, str]]) -> Norm:
    cols: dict[str, list] = {name: [] for name in EVENT_SCHEMA.names}
    q: dict[str, list] = {name: [] for name in QUARANTINE_SCHEMA.names}
    for lineno, line in chunk:
        try:
            rec = orjson.loads(line)
            time = _parse_time(rec["eventTime"])
        except (orjson.JSONDecodeError, KeyError, ValueError) as exc:
            for k, v in zip(
                QUARANTINE_SCHEMA.names, (str(path), lineno, "aws.cloudtrail", f"invalid record: {exc}", line), strict=True
            ):
                q[k].append(v)
            continue
        row = dict.fromkeys(EVENT_SCHEMA.names)
        row.update(
            uid=rec.get("eventID"),
            time=time,
            source="aws.cloudtrail",
            class_uid=6003,
            cloud="aws",
            account=rec.get("recipientAccountId"),
            region=rec.get("awsRegion"),
            actor_name=rec.get("userIdentity", {}).get("userName"),
            actor_type=rec.get("userIdentity", {}).get("type"),
            src_ip=rec.get("sourceIPAddress"),
            service=rec.get("eventSource"),
            operation=rec.get("eventName"),
            outcome="success",
            resources=[],
            raw=line,
        )
        for k in EVENT_SCHEMA.names:
            cols[k].append(row[k])
    return Norm(pa.table(cols, schema=EVENT_SCHEMA), pa.table(q, schema=QUARANTINE_SCHEMA), {})


def simple_reader(paths, con=None, batch_size: int = 100_000) -> Iterator[tuple[Path, Norm, int]]:
    """read_events stand-in for CloudTrail-shaped JSON lines (plain or .gz)."""
    for p in paths:
        p = Path(p)
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rt", encoding="utf-8") as fh:
            chunk: list[tuple[int, str]] = []
            nbytes = 0
            for lineno, line in enumerate(fh, 1):
                nbytes += len(line)
                line = line.rstrip("\n")
                if not line.strip():
                    continue
                chunk.append((lineno, line))
                if len(chunk) >= batch_size:
                    yield p, _build(p, chunk), nbytes
                    chunk, nbytes = [], 0
            if chunk:
                yield p, _build(p, chunk), nbytes


def all_uids(con) -> list[str]:
    return [r[0] for r in con.sql("SELECT uid FROM events ORDER BY uid").fetchall()]


def one(con, sql: str) -> tuple:
    """The single row of a query (DuckDB 2 relations have no fetchone)."""
    [row] = con.sql(sql).fetchall()
    return row


CHILD = """
import sys
sys.path.insert(0, {testdir!r})
from lake_testkit import READERS
from lanner.lake import ingest
s = ingest({paths!r}, {lake!r}, batch_size={batch_size}, reader=READERS[{reader!r}]())
print(s.events_written, s.duplicates_skipped, s.quarantined)
"""


def real_reader():
    from lanner.normalize import read_events

    return read_events


READERS = {"stand-in": lambda: simple_reader, "read_events": real_reader}


def child_ingest_cmd(paths: list[Path], lake: Path, batch_size: int, reader: str = "stand-in") -> list[str]:
    """argv for a separate Python process running ingest (for crash and lock tests)."""
    import sys

    code = CHILD.format(
        testdir=str(Path(__file__).parent), paths=[str(p) for p in paths], lake=str(lake), batch_size=batch_size, reader=reader
    )
    return [sys.executable, "-c", code]
