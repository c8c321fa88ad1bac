"""The DuckDB views over the lake, and lake_stats."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from lake_testkit import cloudtrail_lines, one, simple_reader, write_lines

from lanner.errors import LakeError
from lanner.lake import EVENT_VIEW_COLUMNS, ingest, lake_stats, open_lake
from lanner.lake.views import duckdb_types
from lanner.model.event import EVENT_COLUMNS, EVENT_SCHEMA, QUARANTINE_SCHEMA

# What each EVENT_SCHEMA Arrow type must look like to SQL users and rules.
EXPECTED_EVENT_TYPES = {
    "uid": "VARCHAR",
    "time": "TIMESTAMP WITH TIME ZONE",
    "class_uid": "INTEGER",
    "resources": "VARCHAR[]",
    "pid": "BIGINT",
    "parent_pid": "BIGINT",
    "dst_port": "INTEGER",
    "raw": "VARCHAR",
    "date": "DATE",
    "source": "VARCHAR",
}


def describe(con: duckdb.DuckDBPyConnection, view: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.sql(f"DESCRIBE {view}").fetchall()]


@pytest.fixture()
def lake(tmp_path: Path) -> Path:
    lines = cloudtrail_lines(range(400), bad_every=40)
    ingest([write_lines(tmp_path / "a.json", lines)], tmp_path / "lake", reader=simple_reader, batch_size=150)
    return tmp_path / "lake"


def test_events_view_has_exactly_the_schema_plus_date_typed(lake: Path):
    cols = describe(open_lake(lake), "events")
    assert tuple(c for c, _ in cols) == EVENT_VIEW_COLUMNS == (*EVENT_COLUMNS, "date")
    types = dict(cols)
    for name, typ in EXPECTED_EVENT_TYPES.items():
        assert types[name] == typ, name
    assert types == duckdb_types(EVENT_SCHEMA, duckdb.connect()) | {"date": "DATE"}


def test_quarantine_view_schema(lake: Path):
    con = open_lake(lake)
    assert describe(con, "quarantine") == list(duckdb_types(QUARANTINE_SCHEMA, con).items())
    assert one(con, "SELECT count(*) FROM quarantine") == (10,)


def test_events_are_queryable_with_partition_pruning_columns(lake: Path):
    con = open_lake(lake)
    row = one(
        con,
        "SELECT count(*), min(time), count(DISTINCT uid) FROM events "
        "WHERE source = 'aws.cloudtrail' AND date = DATE '2024-03-01' AND region IS NOT NULL",
    )
    assert row[0] == row[2] == 390
    assert str(row[1].astimezone(__import__("datetime").UTC)) == "2024-03-01 22:00:00+00:00"


def test_open_lake_on_given_connection_and_reopen(lake: Path):
    con = duckdb.connect()
    assert open_lake(lake, con) is con
    open_lake(lake, con)  # views are replaced, not duplicated
    assert one(con, "SELECT count(*) FROM events") == (390,)


def test_missing_lake_is_a_clear_error(tmp_path: Path):
    with pytest.raises(LakeError, match=r"no lake at .*: run `lanner ingest PATH\.\.\. --lake .*` first"):
        open_lake(tmp_path / "nope")
    (tmp_path / "plain_dir").mkdir()
    with pytest.raises(LakeError, match="no lake at"):
        lake_stats(tmp_path / "plain_dir")


def test_lake_without_events_gives_empty_typed_views(tmp_path: Path):
    f = write_lines(tmp_path / "bad.json", ["garbage", "more garbage"])
    s = ingest([f], tmp_path / "lake", reader=simple_reader)
    assert (s.events_written, s.quarantined) == (0, 2)
    con = open_lake(tmp_path / "lake")
    assert describe(con, "events") == list((duckdb_types(EVENT_SCHEMA, con) | {"date": "DATE"}).items())
    assert one(con, "SELECT count(*) FROM events") == (0,)
    assert one(con, "SELECT count(*) FROM quarantine") == (2,)
    stats = lake_stats(tmp_path / "lake")
    assert (stats["events"], stats["partitions"], stats["quarantined"]) == (0, [], 2)


def test_lake_stats_matches_sql(lake: Path):
    stats = lake_stats(lake)
    con = open_lake(lake)
    per = {
        (s, d): n
        for s, d, n in con.sql("SELECT source, strftime(date, '%Y-%m-%d'), count(*) FROM events GROUP BY ALL").fetchall()
    }
    assert {(p["source"], p["date"]): p["events"] for p in stats["partitions"]} == per
    assert stats["per_source"] == {"aws.cloudtrail": 390}
    assert stats["event_files"] == len(list((lake / "events").rglob("part-*.parquet")))
    assert (stats["first_date"], stats["last_date"]) == ("2024-03-01", "2024-03-01")
