"""Ingest into a real Parquet lake and read it back through DuckDB (stand-in reader)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lake_testkit import START, all_uids, cloudtrail_lines, cloudtrail_record, one, simple_reader, write_lines

from lanner.errors import InputError, LakeError, Location
from lanner.lake import ingest, lake_stats, layout, open_lake


def run(paths, lake, **kw):
    kw.setdefault("reader", simple_reader)
    return ingest(paths, lake, **kw)


def invariant(s) -> None:
    # nothing silently dropped: every record read is written, a known duplicate, or quarantined
    assert s.records_seen == s.events_written + s.duplicates_skipped + s.quarantined


def test_first_ingest_counts_and_partitions(tmp_path: Path):
    # 3 000 records 90 s apart from 22:00 on 2024-03-01 (five UTC dates), 30 of them broken
    rng = random.Random(1)
    lines = [json.dumps(cloudtrail_record(i, step_s=90, start=START, rng=rng)) for i in range(3000)]
    lines[10::100] = ['{"eventID": broken'] * len(lines[10::100])
    f = write_lines(tmp_path / "ct.json", lines)

    s = run([f], tmp_path / "lake", batch_size=700)
    invariant(s)
    assert (s.files, s.records_seen, s.events_written, s.quarantined, s.duplicates_skipped) == (1, 3000, 2970, 30, 0)
    assert s.per_source == {"aws.cloudtrail": 2970}
    assert sum(s.quarantine_reasons.values()) == 30
    assert s.bytes == f.stat().st_size

    con = open_lake(tmp_path / "lake")
    got = dict(con.sql("SELECT strftime(date, '%Y-%m-%d'), count(*) FROM events GROUP BY 1").fetchall())
    # expected per UTC day, computed from the input independently of the lake
    expected: dict[str, int] = {}
    for line in lines:
        if "broken" not in line:
            day = json.loads(line)["eventTime"][:10]
            expected[day] = expected.get(day, 0) + 1
    assert got == expected and len(expected) == 5
    stats = lake_stats(tmp_path / "lake")
    assert {p["date"]: p["events"] for p in stats["partitions"]} == expected
    assert stats["events"] == 2970 and stats["quarantined"] == 30
    assert stats["files"] == stats["event_files"] + stats["quarantine_files"]
    assert stats["bytes"] == sum(p.stat().st_size for p in (tmp_path / "lake").rglob("part-*.parquet"))
    assert stats["ingested_inputs"] == 1


def test_same_file_twice_adds_nothing_even_without_checkpoint(tmp_path: Path):
    f = write_lines(tmp_path / "a.json", cloudtrail_lines(range(1000), bad_every=50))
    lake = tmp_path / "lake"
    first = run([f], lake, batch_size=256)
    again = run([f], lake, batch_size=256)
    assert (again.files, again.files_skipped, again.records_seen, again.events_written) == (0, 1, 0, 0)
    (lake / layout.STATE / layout.CHECKPOINT_FILE).unlink()  # force a full re-read
    third = run([f], lake, batch_size=333)
    invariant(third)
    assert (third.files, third.events_written, third.duplicates_skipped) == (1, 0, first.events_written)
    assert (third.quarantined, third.quarantine_written) == (20, 0)
    con = open_lake(lake)
    assert one(con, "SELECT count(*), count(DISTINCT uid) FROM events") == (980, 980)
    assert one(con, "SELECT count(*) FROM quarantine") == (20,)


def test_same_events_in_two_files_and_overlap(tmp_path: Path):
    a = write_lines(tmp_path / "a.json", cloudtrail_lines(range(0, 600)))
    b = write_lines(tmp_path / "b.json", cloudtrail_lines(range(400, 1000)))  # 200 shared
    copy = write_lines(tmp_path / "copy.json", cloudtrail_lines(range(0, 600)))
    lake = tmp_path / "lake"
    s = run([a, b, copy], lake, batch_size=128)
    invariant(s)
    assert (s.events_written, s.duplicates_skipped) == (1000, 800)
    assert all_uids(open_lake(lake)) == sorted(f"00000000-0000-4000-8000-{i:012d}" for i in range(1000))


def test_gzip_and_plain_of_same_content(tmp_path: Path):
    lines = cloudtrail_lines(range(500))
    plain = write_lines(tmp_path / "x.json", lines)
    gz = write_lines(tmp_path / "x.json.gz", lines)
    lake = tmp_path / "lake"
    assert run([gz], lake).events_written == 500
    s = run([plain], lake)
    assert (s.events_written, s.duplicates_skipped) == (0, 500)


def test_duplicates_within_one_batch(tmp_path: Path):
    lines = cloudtrail_lines(range(100))
    f = write_lines(tmp_path / "d.json", lines + lines[:30])
    s = run([f], tmp_path / "lake", batch_size=10_000)
    invariant(s)
    assert (s.events_written, s.duplicates_skipped) == (100, 30)


def test_appended_file_is_reread_and_only_new_events_added(tmp_path: Path):
    f = tmp_path / "grow.json"
    write_lines(f, cloudtrail_lines(range(300)))
    lake = tmp_path / "lake"
    run([f], lake)
    write_lines(f, cloudtrail_lines(range(450)))  # same path, grown (log still being written)
    s = run([f], lake)
    assert (s.files, s.files_skipped, s.events_written, s.duplicates_skipped) == (1, 0, 150, 300)


def test_quarantine_contents(tmp_path: Path):
    lines = cloudtrail_lines(range(20))
    lines[4] = "not json at all"
    lines[11] = '{"eventID": "x"}'  # valid JSON, no eventTime
    f = write_lines(tmp_path / "q.json", lines)
    lake = tmp_path / "lake"
    s = run([f], lake)
    assert s.quarantined == 2 and s.quarantine_written == 2
    rows = open_lake(lake).sql("SELECT file, position, source, reason, raw FROM quarantine ORDER BY position").fetchall()
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
        (str(f), 5, "aws.cloudtrail", "not json at all"),
        (str(f), 12, "aws.cloudtrail", '{"eventID": "x"}'),
    ]
    assert all(r[3].startswith("invalid record") for r in rows)
    assert s.quarantine_reasons == {r[3]: 1 for r in rows}


def test_part_files_are_zstd_sorted_and_hold_no_source_column(tmp_path: Path):
    rng = random.Random(3)
    recs = [json.dumps(cloudtrail_record(i, start=START, step_s=1, rng=rng)) for i in range(2000)]
    rng.shuffle(recs)
    f = write_lines(tmp_path / "shuffled.json", recs)
    lake = tmp_path / "lake"
    run([f], lake, batch_size=500)
    parts = list((lake / "events").rglob("part-*.parquet"))
    assert len(parts) == 4
    for p in parts:
        meta = pq.ParquetFile(p).metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"
        t = pq.read_table(p)
        assert "source" not in t.column_names
        times = t["time"].to_pylist()
        assert times == sorted(times)


def test_progress_reports_bytes_up_to_total(tmp_path: Path):
    a = write_lines(tmp_path / "a.json", cloudtrail_lines(range(1000)))
    b = write_lines(tmp_path / "b.json.gz", cloudtrail_lines(range(1000, 1500)))
    calls: list[tuple[int, int]] = []
    run([a, b], tmp_path / "lake", batch_size=100, progress=lambda d, t: calls.append((d, t)))
    total = a.stat().st_size + b.stat().st_size
    assert len(calls) > 10 and {t for _, t in calls} == {total}
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == total


def test_directory_input_skips_hidden_files_and_the_lake_itself(tmp_path: Path):
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    write_lines(logs / "sub" / "a.json", cloudtrail_lines(range(10)))
    write_lines(logs / ".hidden.json", cloudtrail_lines(range(10, 20)))
    lake = logs / "lake"  # the lake inside the input folder
    run([logs], lake)
    s = run([logs], lake)  # the lake's own files must not be read as input
    assert (s.files + s.files_skipped, s.records_seen) == (1, 0)
    assert one(open_lake(lake), "SELECT count(*) FROM events") == (10,)


def test_input_errors_are_one_line(tmp_path: Path):
    with pytest.raises(InputError, match="no such file or folder"):
        run([tmp_path / "missing.json"], tmp_path / "lake")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no input files"):
        run([tmp_path / "empty"], tmp_path / "lake")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    f = write_lines(tmp_path / "a.json", cloudtrail_lines(range(3)))
    with pytest.raises(LakeError, match="not a directory"):
        run([f], not_a_dir)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_is_an_input_error(tmp_path: Path):
    f = write_lines(tmp_path / "secret.json", cloudtrail_lines(range(3)))
    f.chmod(0)
    with pytest.raises(InputError, match="cannot read"):
        run([f], tmp_path / "lake")


def test_torn_checkpoint_line_is_ignored(tmp_path: Path):
    a = write_lines(tmp_path / "a.json", cloudtrail_lines(range(50)))
    b = write_lines(tmp_path / "b.json", cloudtrail_lines(range(50, 80)))
    lake = tmp_path / "lake"
    run([a], lake)
    ck = lake / layout.STATE / layout.CHECKPOINT_FILE
    ck.write_bytes(ck.read_bytes() + b'{"path": "/x", "si')  # crash mid-append
    s = run([a, b], lake)
    assert (s.files_skipped, s.files, s.events_written) == (1, 1, 30)
    s = run([a, b], lake)
    assert (s.files_skipped, s.files) == (2, 0)


def test_stale_temp_files_are_removed_and_never_visible(tmp_path: Path):
    lake = tmp_path / "lake"
    f = write_lines(tmp_path / "a.json", cloudtrail_lines(range(10)))
    run([f], lake)
    stale = lake / layout.STATE / layout.TMP / "part-123.parquet.tmp"
    stale.write_bytes(b"PAR1 half written")
    con = open_lake(lake)
    assert one(con, "SELECT count(*) FROM events") == (10,)  # reader ignores it
    run([write_lines(tmp_path / "b.json", cloudtrail_lines(range(10, 12)))], lake)
    assert not stale.exists()
    assert one(con, "SELECT count(*) FROM events") == (12,)  # view sees new files


def test_many_small_files_become_few_part_files(tmp_path: Path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for k in range(40):  # like CloudTrail's one-object-per-5-minutes delivery
        write_lines(logs / f"ct-{k:03d}.json", cloudtrail_lines(range(k * 25, k * 25 + 25), bad_every=20))
    lake = tmp_path / "lake"
    s = run([logs], lake, batch_size=10_000)
    invariant(s)
    assert (s.files, s.events_written, s.quarantined) == (40, 960, 40)
    assert s.parts_written == 2  # one events part (one partition) + one quarantine part
    assert lake_stats(lake)["ingested_inputs"] == 40
    s = run([logs], lake, batch_size=300)  # every file checkpointed: nothing read
    assert (s.files_skipped, s.records_seen) == (40, 0)


def test_input_error_midway_keeps_what_was_read_before(tmp_path: Path):
    good = write_lines(tmp_path / "a.json", cloudtrail_lines(range(100)))
    bad = write_lines(tmp_path / "b.json", cloudtrail_lines(range(100, 200)))

    def reader(paths, con=None, batch_size=100_000):
        for p in paths:
            if Path(p).name == "b.json":
                raise InputError("not a supported log format", Location(str(p)))
            yield from simple_reader([p], batch_size=batch_size)

    lake = tmp_path / "lake"
    with pytest.raises(InputError, match="b.json: not a supported log format"):
        ingest([good, bad], lake, reader=reader, batch_size=10_000)
    assert one(open_lake(lake), "SELECT count(*) FROM events") == (100,)
    s = ingest([good, bad], lake, reader=simple_reader)
    assert (s.files_skipped, s.events_written) == (1, 100)
