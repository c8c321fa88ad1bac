"""Checkpoint of fully ingested input files, so a re-run skips them without reading them.

Correctness never depends on this file: dedup on event uid makes re-reading any file harmless.
The checkpoint only saves time. A file is skipped when its absolute path, size, mtime (ns) and
the SHA-256 of its first and last MiB all match an entry; a file rewritten in place (log
rotation, appended to) changes at least one of these and is read again, and dedup then keeps
only its new events.

The file is append-only JSON lines, fsynced after each entry. A crash can at worst leave a torn
last line, which is ignored on load (that file is then simply read again).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from lanner.errors import InputError, Location
from lanner.lake import layout

_EDGE = 1 << 20  # bytes hashed at each end of the file


@dataclass(frozen=True)
class Fingerprint:
    path: str
    size: int
    mtime_ns: int
    edges_sha256: str


def fingerprint(path: Path) -> Fingerprint:
    try:
        st = path.stat()
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            h.update(fh.read(_EDGE))
            if st.st_size > 2 * _EDGE:
                fh.seek(st.st_size - _EDGE)
                h.update(fh.read(_EDGE))
            elif st.st_size > _EDGE:
                h.update(fh.read())
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", Location(str(path))) from None
    return Fingerprint(str(path), st.st_size, st.st_mtime_ns, h.hexdigest())


class Checkpoint:
    """The set of fingerprints already ingested into one lake."""

    def __init__(self, lake: Path) -> None:
        self._file = layout.state_dir(lake) / layout.CHECKPOINT_FILE
        self._done: set[Fingerprint] = set()
        data = self._file.read_bytes() if self._file.exists() else b""
        # After a torn write the next entry must start on a fresh line or it would be torn too.
        self._needs_newline = bool(data) and not data.endswith(b"\n")
        if data:
            for line in data.splitlines():
                try:
                    self._done.add(Fingerprint(**orjson.loads(line)))
                except (orjson.JSONDecodeError, TypeError):
                    continue  # torn last line after a crash: that file will just be re-read

    def __len__(self) -> int:
        return len(self._done)

    def __contains__(self, fp: Fingerprint) -> bool:
        return fp in self._done

    def record(self, fp: Fingerprint) -> None:
        # Only called after every event and quarantine record of the file is published.
        with open(self._file, "ab") as fh:
            if self._needs_newline:
                fh.write(b"\n")
                self._needs_newline = False
            fh.write(orjson.dumps(asdict(fp)) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._done.add(fp)
