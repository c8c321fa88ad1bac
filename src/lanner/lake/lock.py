"""One writer per lake: an exclusive, non-blocking ``flock`` on ``_state/lock``.

``flock`` locks die with the process (including SIGKILL), so a crashed writer never leaves a
stale lock behind and there is nothing to clean up by hand. A second writer fails fast with the
holder's pid rather than waiting: ingest runs can take minutes, and a silent hang is worse than
a clear message the user can act on.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from lanner.errors import LakeError, Location
from lanner.lake import layout
from lanner.lake.commit import ensure_dir


@contextlib.contextmanager
def writer_lock(lake: Path) -> Iterator[None]:
    state = layout.state_dir(lake)
    try:
        ensure_dir(state)
        fd = os.open(state / layout.LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LakeError(f"cannot create lake: {exc.strerror}", Location(str(lake))) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise LakeError(f"cannot lock lake: {exc.strerror}", Location(str(lake))) from None
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise LakeError(
                f"lake is being written by another process (pid {holder}); wait for it to finish",
                Location(str(lake)),
            ) from None
        # The pid is informational only (for the message above); the lock itself is the flock.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
