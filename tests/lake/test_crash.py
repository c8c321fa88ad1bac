"""SIGKILL the writer at random moments; a re-run must equal one clean ingest exactly."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lake_testkit import READERS, START, child_ingest_cmd, cloudtrail_record, write_lines

from lanner.lake import ingest, layout, open_lake
from lanner.lake.ingest import TEST_PAUSE_ENV

# Many small batches so kills land between and inside them; the real normalizer has a fixed
# per-batch cost, so it gets bigger ones to keep the test's run time sane.
BATCHES = {"stand-in": 1500, "read_events": 4000}
BROKEN = range(250, 40_000, 997)  # record indices written as truncated JSON


def make_inputs(tmp: Path) -> list[Path]:
    rng = random.Random(11)
    recs = [json.dumps(cloudtrail_record(i, start=START, step_s=6, rng=rng)) for i in range(40_000)]
    for k in BROKEN:
        recs[k] = "{truncated"
    a = write_lines(tmp / "a.json", recs[:30_000])
    # the second file overlaps the first and is gzipped: dedup must work across files too
    b = write_lines(tmp / "b.json.gz", recs[25_000:])
    return [a, b]


def snapshot(lake: Path) -> tuple[list[str], list[tuple]]:
    con = open_lake(lake)
    uids = [r[0] for r in con.sql("SELECT uid FROM events ORDER BY uid").fetchall()]
    q = con.sql("SELECT file, position, reason, raw FROM quarantine ORDER BY file, position").fetchall()
    return uids, q


def assert_only_whole_files_visible(lake: Path) -> None:
    for p in (lake / "events").rglob("*"):
        if p.is_file():
            assert p.name.startswith("part-") and p.suffix == ".parquet", p
            pq.read_metadata(p)  # a torn file would fail here (no footer)
    for p in (lake / "quarantine").glob("*"):
        pq.read_metadata(p)


def kill_at(cmd: list[str], delay: float, env: dict[str, str]) -> bool:
    """Run cmd, SIGKILL it after delay seconds; True if it was still running (killed)."""
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        child.wait(timeout=delay)
        assert child.returncode == 0, child.stderr.read().decode() if child.stderr else ""
        return False
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()
        return True


def parts(lake: Path) -> set[Path]:
    return set(lake.glob("*/**/part-*.parquet"))


def kill_after_new_part(cmd: list[str], lake: Path, env: dict[str, str], extra: float) -> bool:
    """Run cmd until it has published a part file, wait ``extra`` s more, SIGKILL it.

    Returns whether it was killed (False if it finished first: nothing was left to do).
    """
    before = parts(lake)
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < end and not (parts(lake) - before):
            time.sleep(0.01)
        time.sleep(extra)
        killed = child.poll() is None
        child.send_signal(signal.SIGKILL)
        return killed
    finally:
        child.wait()


@pytest.mark.slow
@pytest.mark.parametrize("reader_name", ["stand-in", "read_events"])
def test_sigkill_at_random_points_then_rerun_equals_clean_ingest(tmp_path: Path, reader_name: str):
    reader, batch = READERS[reader_name](), BATCHES[reader_name]
    inputs = make_inputs(tmp_path)
    ref = ingest(inputs, tmp_path / "ref", reader=reader, batch_size=batch)
    # broken lines in the overlap are quarantined once per file they appear in
    assert ref.events_written == 40_000 - len(BROKEN) and ref.quarantined == 45
    want = snapshot(tmp_path / "ref")
    assert len(want[0]) == len(set(want[0])) == ref.events_written

    # a child run costs about the in-process run plus interpreter start-up
    clean_child = ref.seconds + 0.5

    # Now crash repeatedly into a fresh lake, each run resuming the previous one's work.
    lake = tmp_path / "crashed"
    cmd = child_ingest_cmd(inputs, lake, batch, reader_name)
    rng = random.Random(int(os.environ.get("LANNER_CRASH_SEED", "5")))
    env = dict(os.environ)
    paused = env | {TEST_PAUSE_ENV: "0.3"}
    kills = 0
    # between batches, right after a part file was published (the writer pauses there) ...
    for _ in range(2):
        kills += kill_after_new_part(cmd, lake, paused, extra=rng.uniform(0.0, 0.4))
        assert_only_whole_files_visible(lake)
    # ... at a random instant from start-up on ...
    kills += kill_at(cmd, rng.uniform(0.1, 0.6) * clean_child, env)
    assert_only_whole_files_visible(lake)
    # ... and at random instants while it publishes (mid-write, mid-rename, mid-checkpoint).
    for _ in range(3):
        kills += kill_after_new_part(cmd, lake, env, extra=rng.uniform(0.0, 0.15) * clean_child)
        assert_only_whole_files_visible(lake)
    assert kills >= 3

    final = ingest(inputs, lake, reader=reader, batch_size=batch)
    assert final.records_seen == final.events_written + final.duplicates_skipped + final.quarantined
    got = snapshot(lake)
    assert got[0] == want[0]  # same uids, each exactly once
    assert got[1] == want[1]  # same quarantine rows, each exactly once
    assert not list((lake / layout.STATE / layout.TMP).iterdir())
    again = ingest(inputs, lake, reader=reader, batch_size=batch)
    assert (again.files_skipped, again.events_written) == (2, 0)
