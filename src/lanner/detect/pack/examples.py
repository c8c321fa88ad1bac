"""Run rule examples: `tests/positive_*.json` must trigger the folder's rule, `negative_*.json` must not.

Examples go through the real normalizers and engine, batched so a pack of hundreds of rules
runs in seconds:

- every example file of every folder is normalized in one pass (`read_events` pools small files);
- single-event rules: all examples are one DuckDB relation and the pack runs over it once;
  each event's `uid` is prefixed with its file's index, so a match names the file it came from
  even when two examples reuse the provider's event id;
- correlations: each example file holds a whole sequence, and sequences of different files must
  not combine into one episode, so each correlation runs over each of its own files alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from lanner.detect.engine import match_batches
from lanner.detect.model import CompiledCorrelation, CompiledRule
from lanner.detect.pack.folders import RuleFolder, display
from lanner.detect.sigma.loader import RuleSet, load_rules
from lanner.model.event import EVENT_SCHEMA
from lanner.normalize import read_events

_SEP = "\x1f"  # between the file index and the event's own uid


@dataclass(frozen=True)
class Failure:
    """One thing wrong with one rule folder (or one of its examples)."""

    folder: str  # as displayed
    name: str  # the rule (folder) name
    example: str | None  # example file name, when the problem is about one
    problem: str

    def line(self) -> str:
        return f"{self.folder}: {self.example} {self.problem}" if self.example else f"{self.folder}: {self.problem}"

    def to_dict(self) -> dict[str, str | None]:
        return {"rule": self.name, "folder": self.folder, "example": self.example, "problem": self.problem}


@dataclass
class ExampleReport:
    rules: int = 0
    examples: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def failures_of(self, name: str) -> list[Failure]:
        return [f for f in self.failures if f.name == name]

    def to_dict(self) -> dict[str, object]:
        failed = {f.name for f in self.failures}
        return {
            "rules": self.rules,
            "rules_failed": len(failed),
            "examples": self.examples,
            "failures": [f.to_dict() for f in self.failures],
        }


@dataclass(frozen=True)
class _Loaded:
    """One example file after normalization."""

    events: pa.Table
    quarantine: list[str]  # reasons


def run_examples(folders: Sequence[RuleFolder]) -> ExampleReport:
    """Load the folders' rules once, run all their examples, and report every failure."""
    report = ExampleReport(rules=len(folders))
    ruleset = load_rules([f.rule_file for f in folders])
    targets = _targets(folders, ruleset, report)
    files = [ex for f in folders for ex in f.examples]
    report.examples = len(files)
    con = duckdb.connect()
    try:
        loaded = _normalize(con, files)
        singles = [t for t in targets.values() if isinstance(t, CompiledRule)]
        hits = _single_hits(con, singles, files, loaded)
        for f in folders:
            target = targets.get(f.name)
            if isinstance(target, CompiledCorrelation):
                hits |= {(f.name, ex) for ex in f.examples if ex in loaded and _correlation_fires(con, target, loaded[ex])}
    finally:
        con.close()
    for f in folders:
        _judge(f, targets.get(f.name), loaded, hits, report)
    return report


def _targets(
    folders: Sequence[RuleFolder], ruleset: RuleSet, report: ExampleReport
) -> dict[str, CompiledRule | CompiledCorrelation]:
    """The rule each folder tests: the one its file defines under the folder's name."""
    by_file: dict[str, RuleFolder] = {str(f.rule_file): f for f in folders}
    problems: dict[str, list[str]] = {}
    for error in ruleset.errors:
        where = error.location.path if error.location else ""
        if where in by_file:
            line = f"line {error.location.line}: " if error.location and error.location.line else ""
            problems.setdefault(by_file[where].name, []).append(f"rule does not load: {line}{error.message}")
    for path, reason in ruleset.unsupported:
        if path in by_file:
            problems.setdefault(by_file[path].name, []).append(f"rule is not supported: {reason}")
    candidates: list[CompiledRule | CompiledCorrelation] = [*ruleset.rules, *ruleset.correlations]
    targets: dict[str, CompiledRule | CompiledCorrelation] = {}
    for c in candidates:
        f = by_file.get(c.meta.path)
        if f is not None and c.meta.name == f.name:
            targets[f.name] = c
    for f in folders:
        for problem in problems.get(f.name, []):
            report.failures.append(Failure(display(f.path), f.name, None, problem))
        if f.name not in targets and f.name not in problems:
            report.failures.append(
                Failure(display(f.path), f.name, None, f"{f.rule_file.name} defines no finding rule named {f.name!r}")
            )
    return targets


def _normalize(con: duckdb.DuckDBPyConnection, files: Iterable[Path]) -> dict[Path, _Loaded]:
    events: dict[Path, list[pa.Table]] = {}
    quarantine: dict[Path, list[str]] = {}
    for path, norm, _nbytes in read_events(list(files), con=con):
        events.setdefault(path, []).append(norm.events)
        quarantine.setdefault(path, []).extend(str(r) for r in norm.quarantine.column("reason").to_pylist())
    out: dict[Path, _Loaded] = {}
    for path in set(events) | set(quarantine):
        tables = events.get(path) or [EVENT_SCHEMA.empty_table()]
        out[path] = _Loaded(pa.concat_tables(tables), quarantine.get(path, []))
    return out


def _single_hits(
    con: duckdb.DuckDBPyConnection, rules: Sequence[CompiledRule], files: Sequence[Path], loaded: dict[Path, _Loaded]
) -> set[tuple[str, Path]]:
    """(rule name, example file) for every single-event rule match, all examples in one relation."""
    tables = []
    for i, path in enumerate(files):
        if path not in loaded or not loaded[path].events.num_rows:
            continue
        ev = loaded[path].events
        uid = pc.binary_join_element_wise(pa.scalar(str(i)), pc.fill_null(ev.column("uid"), ""), _SEP)
        tables.append(ev.set_column(ev.schema.get_field_index("uid"), "uid", uid))
    if not tables or not rules:
        return set()
    con.register("lanner_examples", pa.concat_tables(tables))
    hits: set[tuple[str, Path]] = set()
    for rule, batch in match_batches(con, "lanner_examples", rules):
        for uid in batch.column("uid").to_pylist():
            hits.add((rule.meta.name or "", files[int(str(uid).split(_SEP, 1)[0])]))
    con.unregister("lanner_examples")
    return hits


def _correlation_fires(con: duckdb.DuckDBPyConnection, corr: CompiledCorrelation, loaded: _Loaded) -> bool:
    if not loaded.events.num_rows:
        return False
    con.register("lanner_example", loaded.events)
    try:
        # The episode query alone: whether it fires, without fetching its sample events.
        return bool(con.sql(f"SELECT 1 FROM ({corr.sql.format(relation='lanner_example')}) LIMIT 1").fetchall())
    finally:
        con.unregister("lanner_example")


def _judge(
    f: RuleFolder,
    target: CompiledRule | CompiledCorrelation | None,
    loaded: dict[Path, _Loaded],
    hits: set[tuple[str, Path]],
    report: ExampleReport,
) -> None:
    where = display(f.path)

    def fail(example: str | None, problem: str) -> None:
        report.failures.append(Failure(where, f.name, example, problem))

    if not f.positives:
        fail(None, "has no positive example (tests/positive_*.json)")
    if not f.negatives:
        fail(None, "has no negative example (tests/negative_*.json)")
    for ex in f.examples:
        got = loaded.get(ex)
        if got is None or (not got.events.num_rows and not got.quarantine):
            fail(ex.name, "holds no record")
            continue
        if got.quarantine:
            fail(ex.name, f"was quarantined: {got.quarantine[0]}")
            continue
        if target is None:
            continue  # the load problem is already reported
        fired = (f.name, ex) in hits
        if ex.name.startswith("positive_") and not fired:
            fail(ex.name, f"did not trigger {f.name}")
        elif ex.name.startswith("negative_") and fired:
            fail(ex.name, f"triggered {f.name}")
