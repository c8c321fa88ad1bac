"""Through the real normalizer: sample logs of every source -> lake -> DuckDB views."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from lake_testkit import cloudtrail_lines, one, write_lines

from lanner.lake import ingest, lake_stats, open_lake

normalize = pytest.importorskip("lanner.normalize", reason="lanner.normalize.read_events not available yet")
read_events = normalize.read_events

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def direct_counts(paths: list[Path]) -> tuple[Counter[str], int]:
    """What the normalizer alone yields, to compare the lake with."""
    per_source: Counter[str] = Counter()
    quarantined = 0
    for _, norm, _ in read_events(paths):
        per_source.update(norm.events["source"].to_pylist())
        quarantined += norm.quarantine.num_rows
    return per_source, quarantined


@pytest.mark.skipif(not any(SAMPLES.rglob("*")), reason=f"no sample logs in {SAMPLES}")
def test_samples_of_every_source_land_in_their_partitions(tmp_path: Path):
    lake = tmp_path / "lake"
    want_sources, want_q = direct_counts([SAMPLES])
    s = ingest([SAMPLES], lake)
    assert s.records_seen == s.events_written + s.duplicates_skipped + s.quarantined
    assert s.quarantined == want_q
    # a sample set may repeat an event id on purpose; the lake keeps each (source, uid) once
    con = open_lake(lake)
    got = dict(con.sql("SELECT source, count(*) FROM events GROUP BY source").fetchall())
    assert set(got) == set(want_sources)
    assert sum(got.values()) == s.events_written == sum(want_sources.values()) - s.duplicates_skipped
    assert one(con, "SELECT count(*) - count(DISTINCT (source, uid)) FROM events") == (0,)
    assert one(con, "SELECT count(*) FROM events WHERE time IS NULL OR date <> CAST(time AT TIME ZONE 'UTC' AS DATE)") == (0,)
    assert one(con, "SELECT count(*) FROM quarantine") == (want_q,)
    assert lake_stats(lake)["per_source"] == got
    again = ingest([SAMPLES], lake)
    assert (again.files, again.events_written) == (0, 0)


def test_cloudtrail_multi_batch_plain_then_gzip(tmp_path: Path):
    lines = cloudtrail_lines(range(2000), bad_every=100)
    plain = write_lines(tmp_path / "ct.json", lines)
    gz = write_lines(tmp_path / "ct.json.gz", lines)
    lake = tmp_path / "lake"
    first = ingest([plain], lake, batch_size=600)
    assert (first.events_written, first.quarantined) == (1980, 20)
    second = ingest([gz, plain], lake, batch_size=700)  # plain is skipped by the checkpoint
    assert (second.files, second.files_skipped, second.events_written, second.duplicates_skipped) == (1, 1, 0, 1980)
    assert second.quarantine_written == 20  # same lines, but another file: recorded under its name
    con = open_lake(lake)
    assert one(con, "SELECT count(*), count(DISTINCT uid) FROM events") == (1980, 1980)
    assert one(con, "SELECT count(DISTINCT file) FROM quarantine") == (2,)
