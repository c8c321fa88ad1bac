"""Rule folders: `<platform>/<service>/<name>/rule.yml` with `tests/positive_*.json` and `tests/negative_*.json`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lanner.errors import InputError, Location

RULE_FILENAMES = ("rule.yml", "rule.yaml")


@dataclass(frozen=True)
class RuleFolder:
    """One rule: its folder (named as the rule), its file and its example files."""

    path: Path
    rule_file: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def positives(self) -> tuple[Path, ...]:
        return tuple(sorted((self.path / "tests").glob("positive_*.json")))

    @property
    def negatives(self) -> tuple[Path, ...]:
        return tuple(sorted((self.path / "tests").glob("negative_*.json")))

    @property
    def examples(self) -> tuple[Path, ...]:
        return self.positives + self.negatives


def rule_folders(paths: Iterable[str | Path]) -> list[RuleFolder]:
    """Rule folders under `paths` (a `rule.yml`, a rule folder, or any folder above them), sorted.

    A path that does not exist is an `InputError`: a typo must not pass as "no rules, no failures".
    """
    found: dict[Path, RuleFolder] = {}
    for p in map(Path, paths):
        if p.is_file():
            files = [p]
        elif p.is_dir():
            files = [f for name in RULE_FILENAMES for f in p.rglob(name) if f.is_file()]
        else:
            raise InputError("no such rule file or directory", Location(str(p)))
        for f in files:
            found.setdefault(f.parent, RuleFolder(f.parent, f))
    return [found[k] for k in sorted(found)]


def display(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
