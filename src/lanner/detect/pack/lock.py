"""The content lock: `content/rules.lock` records each bundled rule's id, version and content hash.

A rule's behaviour must not change under the same version: users pin, suppress and report on
(rule, version). The hash covers the parsed YAML of the whole rule file (every document, so a
correlation's base rules count) as canonical JSON, minus `lanner.version` itself: comments and
formatting do not need a bump, any change of meaning does.

- `check(entries, lock)` lists what differs (the CI gate and the meta-test).
- `update(entries, lock)` is `lanner rules lock`: records new rules, drops removed ones, records a
  changed rule only when its version went up, and otherwise refuses with one line per rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from lanner.detect.pack.folders import RuleFolder
from lanner.errors import LannerError, Location, RuleError

LOCK_FORMAT = 1
FIX = "bump lanner.version and run `lanner rules lock`"


@dataclass(frozen=True)
class LockEntry:
    name: str
    id: str
    version: int | None  # None: the rule carries no valid `lanner.version`
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


def content_hash(docs: Sequence[Any]) -> str:
    """sha256 of the rule documents as canonical JSON, `lanner.version` left out."""
    stripped = [_without_version(d) for d in docs]
    data = orjson.dumps(stripped, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.sha256(data).hexdigest()


def _without_version(doc: Any) -> Any:
    if not isinstance(doc, dict) or not isinstance(doc.get("lanner"), dict):
        return doc
    lanner = {k: v for k, v in doc["lanner"].items() if k != "version"}
    return {**doc, "lanner": lanner}


def main_document(docs: Sequence[Any], name: str) -> dict[str, Any] | None:
    """The document a folder is named after (the correlation of a multi-document file), else the last."""
    mappings = [d for d in docs if isinstance(d, dict)]
    for d in mappings:
        if d.get("name") == name:
            return d
    return mappings[-1] if mappings else None


def rule_version(doc: Mapping[str, Any] | None) -> int | None:
    lanner = doc.get("lanner") if doc else None
    version = lanner.get("version") if isinstance(lanner, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def read_docs(path: Path) -> list[Any]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"cannot read rule file: {exc}", Location(str(path))) from exc
    except yaml.YAMLError as exc:
        raise RuleError(f"YAML syntax error: {exc}", Location(str(path))) from exc


def entry_for(folder: RuleFolder) -> LockEntry:
    docs = read_docs(folder.rule_file)
    main = main_document(docs, folder.name)
    return LockEntry(folder.name, str((main or {}).get("id", "")), rule_version(main), content_hash(docs))


def current_entries(folders: Sequence[RuleFolder]) -> dict[str, LockEntry]:
    return {e.name: e for e in map(entry_for, folders)}


# ------------------------------------------------------------------------------------------
# Pure comparison


@dataclass(frozen=True)
class LockProblem:
    name: str
    message: str
    refuses_update: bool  # `lanner rules lock` cannot fix it by itself

    def line(self) -> str:
        return f"{self.name}: {self.message}"


def check(entries: Mapping[str, LockEntry], lock: Mapping[str, LockEntry]) -> list[LockProblem]:
    """Every difference between the rules and the lock, sorted by rule name."""
    problems: list[LockProblem] = []
    for name in sorted(set(entries) | set(lock)):
        now, then = entries.get(name), lock.get(name)
        if now is not None and now.version is None:
            problems.append(LockProblem(name, "has no lanner.version (an integer >= 1); add `lanner: {version: 1}`", True))
        elif now is None:
            problems.append(LockProblem(name, "was removed but is still in the lock; run `lanner rules lock`", False))
        elif then is None:
            problems.append(LockProblem(name, "is new and not in the lock; run `lanner rules lock`", False))
        elif now.sha256 != then.sha256:
            if now.version is not None and then.version is not None and now.version > then.version:
                problems.append(
                    LockProblem(name, f"version {now.version} is not in the lock yet; run `lanner rules lock`", False)
                )
            else:
                problems.append(
                    LockProblem(name, f"changed since the lock at version {then.version}: {FIX}", True)
                )
        elif now.version != then.version:
            problems.append(
                LockProblem(name, f"version {now.version} differs from the lock's {then.version}; run `lanner rules lock`", False)
            )
        elif now.id != then.id:  # cannot happen without a hash change; kept for a hand-edited lock
            problems.append(LockProblem(name, "id differs from the lock; run `lanner rules lock`", False))
    return problems


@dataclass(frozen=True)
class LockUpdate:
    lock: dict[str, LockEntry]
    added: list[str]
    updated: list[str]
    removed: list[str]
    refused: list[LockProblem]


def update(entries: Mapping[str, LockEntry], lock: Mapping[str, LockEntry]) -> LockUpdate:
    """The new lock, or the refusals (changed without a version bump, or no version at all)."""
    refused = [p for p in check(entries, lock) if p.refuses_update]
    added = sorted(set(entries) - set(lock))
    removed = sorted(set(lock) - set(entries))
    updated = sorted(n for n in set(entries) & set(lock) if entries[n] != lock[n])
    return LockUpdate({n: entries[n] for n in sorted(entries)}, added, updated, removed, refused)


# ------------------------------------------------------------------------------------------
# The lock file


def dumps(lock: Mapping[str, LockEntry]) -> bytes:
    body = {"format": LOCK_FORMAT, "rules": {n: lock[n].to_dict() for n in sorted(lock)}}
    return orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def loads(data: bytes, where: str = "rules.lock") -> dict[str, LockEntry]:
    try:
        body = orjson.loads(data)
        if body.get("format") != LOCK_FORMAT:
            raise LannerError(f"unknown lock format {body.get('format')!r}", Location(where))
        return {
            name: LockEntry(name, str(e["id"]), e["version"], str(e["sha256"])) for name, e in body["rules"].items()
        }
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise LannerError(f"damaged lock file ({exc}); regenerate it with `lanner rules lock`", Location(where)) from exc


def read_lock(path: Path) -> dict[str, LockEntry]:
    """The lock at `path`; an absent file is an empty lock (the first `lanner rules lock` creates it)."""
    if not path.exists():
        return {}
    return loads(path.read_bytes(), str(path))


def write_lock(path: Path, lock: Mapping[str, LockEntry]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(dumps(lock))
    tmp.replace(path)
