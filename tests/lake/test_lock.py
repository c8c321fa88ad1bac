"""Only one writer at a time; a killed writer never leaves the lake locked."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from lake_testkit import child_ingest_cmd, cloudtrail_lines, simple_reader, write_lines

from lanner.errors import LakeError
from lanner.lake import ingest, layout
from lanner.lake.ingest import TEST_PAUSE_ENV


def wait_for(cond, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_second_writer_fails_fast_then_lock_is_released_by_kill(tmp_path: Path):
    f = write_lines(tmp_path / "a.json", cloudtrail_lines(range(2000)))
    lake = tmp_path / "lake"
    env = os.environ | {TEST_PAUSE_ENV: "5"}
    child = subprocess.Popen(child_ingest_cmd([f], lake, 100), env=env, stdout=subprocess.PIPE)
    try:
        lock = lake / layout.STATE / layout.LOCK_FILE
        wait_for(lambda: lock.exists() and lock.read_text().strip() == str(child.pid))
        with pytest.raises(LakeError, match=rf"being written by another process \(pid {child.pid}\)"):
            ingest([f], lake, reader=simple_reader)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    s = ingest([f], lake, reader=simple_reader)  # the kernel dropped the dead writer's lock
    assert s.events_written + s.duplicates_skipped == 2000
