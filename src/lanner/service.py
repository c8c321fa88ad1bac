"""Application facade: what the CLI (and later the web console) call. No UI code here.

Each function wires stages together; the stages themselves stay independent
(sources -> normalize -> lake -> detect).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from lanner.detect.model import Match
from lanner.detect.sigma.loader import RuleSet
from lanner.model.event import EVENT_SCHEMA
from lanner.paths import BUNDLED_RULES_DIR

Progress = Callable[[int, int], None]


def rule_paths(rule_dirs: Iterable[str | Path] = (), *, include_bundled: bool = True) -> list[Path]:
    """The rule folders a run loads: the bundled pack first, then the user's."""
    paths = [BUNDLED_RULES_DIR] if include_bundled and BUNDLED_RULES_DIR.is_dir() else []
    return paths + [Path(p) for p in rule_dirs]


def load_ruleset(rule_dirs: Iterable[str | Path] = (), *, include_bundled: bool = True) -> RuleSet:
    from lanner.detect.sigma import load_rules

    return load_rules(rule_paths(rule_dirs, include_bundled=include_bundled))


@dataclass
class InputStats:
    """What reading input files produced; filled while a detection generator runs."""

    files: int = 0
    bytes: int = 0
    events: int = 0
    quarantined: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    per_source: Counter[str] = field(default_factory=Counter)


def total_bytes(paths: Iterable[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def load_files(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | Path],
    *,
    table: str = "events",
    stats: InputStats | None = None,
    progress: Progress | None = None,
) -> InputStats:
    """Normalize files and expose them to `con` as a relation with the event schema.

    Detection straight from files goes through the same normalizers and the same SQL engine
    as the lake, so a rule behaves identically on both paths. The normalized Arrow batches are
    registered as they are (DuckDB scans Arrow in place), not copied into a DuckDB table:
    the raw text is the bulk of the data and is held once.
    """
    from lanner.normalize import read_events
    from lanner.sources import iter_files

    stats = stats if stats is not None else InputStats()
    files = list(iter_files(paths))
    grand_total = total_bytes(files)
    batches: list[pa.Table] = []
    seen: set[Path] = set()
    done = 0
    for path, normalized, nbytes in read_events(files, con=con):
        if path not in seen:
            seen.add(path)
            stats.files += 1
        if normalized.events.num_rows:
            batches.append(normalized.events)
        stats.events += normalized.events.num_rows
        stats.quarantined += normalized.quarantine.num_rows
        if normalized.quarantine.num_rows:
            stats.reasons.update(normalized.quarantine.column("reason").to_pylist())
        stats.per_source.update(normalized.counts)
        stats.bytes += nbytes
        done += nbytes
        if progress:
            progress(done, grand_total)
    events = pa.concat_tables(batches) if batches else EVENT_SCHEMA.empty_table()
    con.register(table, events)
    return stats


def detect_paths(
    paths: Iterable[str | Path],
    *,
    rule_dirs: Iterable[str | Path] = (),
    include_bundled: bool = True,
    ruleset: RuleSet | None = None,
    stats: InputStats | None = None,
    progress: Progress | None = None,
) -> Iterator[Match]:
    """Detect directly on log files or folders (any supported type, auto-detected)."""
    from lanner.detect.engine import detect

    ruleset = ruleset if ruleset is not None else load_ruleset(rule_dirs, include_bundled=include_bundled)
    con = duckdb.connect()
    load_files(con, paths, stats=stats, progress=progress)
    yield from detect(con, "events", ruleset)


def detect_lake(
    lake: str | Path,
    *,
    rule_dirs: Iterable[str | Path] = (),
    include_bundled: bool = True,
    ruleset: RuleSet | None = None,
) -> Iterator[Match]:
    """Detect over an ingested lake (the `events` view)."""
    from lanner.detect.engine import detect
    from lanner.lake import open_lake

    ruleset = ruleset if ruleset is not None else load_ruleset(rule_dirs, include_bundled=include_bundled)
    con = open_lake(Path(lake))
    yield from detect(con, "events", ruleset)
