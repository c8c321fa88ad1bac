"""Writing events to files deterministically: same events in, byte-identical files out."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

Event = tuple[datetime, dict[str, Any]]


def _grouped(events: list[Event], group: Callable[[datetime, dict[str, Any]], str]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    # A stable sort on time keeps equal-time events in generation order, which the seed fixes.
    for t, rec in sorted(events, key=lambda e: e[0]):
        out.setdefault(group(t, rec), []).append((t, rec))
    return out


def _write(path: Path, data: bytes, gz: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 and no file name in the gzip header: the bytes depend only on the content.
    path.write_bytes(gzip.compress(data, compresslevel=6, mtime=0) if gz else data)
    return path


def write_jsonl_groups(out_dir: Path, events: list[Event], group: Callable[[datetime, dict[str, Any]], str],
                       gz: bool = False) -> list[Path]:
    """One JSON object per line, files named by `group` (a path relative to out_dir)."""
    paths = []
    for rel, items in sorted(_grouped(events, group).items()):
        data = b"".join(orjson.dumps(rec) + b"\n" for _, rec in items)
        paths.append(_write(out_dir / rel, data, gz))
    return paths


def write_envelope_groups(out_dir: Path, events: list[Event], group: Callable[[datetime, dict[str, Any]], str],
                          key: str, gz: bool) -> list[Path]:
    """Files holding `{key: [records]}`, as CloudTrail (`Records`) and Azure exports (`records`) write them."""
    paths = []
    for rel, items in sorted(_grouped(events, group).items()):
        data = orjson.dumps({key: [rec for _, rec in items]})
        paths.append(_write(out_dir / rel, data, gz))
    return paths
