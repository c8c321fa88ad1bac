"""MITRE ATT&CK (Enterprise) data, offline: resolve Sigma `attack.*` tags to OCSF `attacks[]`.

The data ships in `lanner/data/attack/` (trimmed from MITRE's STIX bundle by
`tools/update_attack.py`, with MITRE's licence in `LICENSE-ATTACK.txt`). Nothing here touches
the network; `configure_pysigma_offline()` also points pySigma's own ATT&CK loader (used by its
tag validators) at the bundled STIX file, because pySigma otherwise downloads it from GitHub.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from lanner.errors import LannerError, Location
from lanner.paths import DATA_DIR

ATTACK_DIR = DATA_DIR / "attack"

_TECHNIQUE = re.compile(r"^t\d{4}(?:\.\d{3})?$")
_TACTIC_ID = re.compile(r"^ta\d{4}$")
# Groups, software, mitigations, data sources: valid Sigma ATT&CK tags that OCSF `attacks[]`
# has no slot for and the trimmed data does not list, so they are accepted by shape only.
_OTHER_ATTACK_OBJECT = re.compile(r"^(?:g|s|m|ds)\d{4}$")
# Tactics renamed or split by ATT&CK v19; older rules still carry them.
_RENAMED_TACTICS = {
    "defense-evasion": "renamed in ATT&CK v19: use attack.stealth (TA0005) or attack.defense-impairment (TA0112)",
}


@dataclass(frozen=True)
class Tactic:
    uid: str  # TA0005
    short_name: str  # stealth (the Sigma tag name)
    name: str  # Stealth
    url: str


@dataclass(frozen=True)
class Technique:
    uid: str  # T1562.008
    name: str
    tactics: tuple[str, ...]  # tactic short names
    parent: str | None  # T1562 for a sub-technique
    is_subtechnique: bool
    url: str


@dataclass(frozen=True)
class TagIssue:
    """An `attack.*` tag that does not name anything in the loaded ATT&CK version."""

    tag: str
    reason: str


class Attack:
    """One ATT&CK version's tactics and techniques, looked up by id or Sigma tag name."""

    def __init__(self, version: str, tactics: Iterable[Tactic], techniques: Iterable[Technique]) -> None:
        self.version = version
        self.tactics = tuple(tactics)
        self.techniques = {t.uid: t for t in techniques}
        self._tactic_by_key = {t.uid.lower(): t for t in self.tactics} | {
            t.short_name: t for t in self.tactics
        }

    @classmethod
    def from_file(cls, path: Path) -> Attack:
        """Load a table written by tools/update_attack.py; a damaged file is a clear error."""
        where = Location(str(path))
        try:
            data = orjson.loads(path.read_bytes())
            tactics = [Tactic(t["id"], t["short_name"], t["name"], t["url"]) for t in data["tactics"]]
            techniques = [
                Technique(
                    t["id"], t["name"], tuple(t["tactics"]), t["parent"], bool(t["is_subtechnique"]), t["url"]
                )
                for t in data["techniques"]
            ]
            return cls(str(data["version"]), tactics, techniques)
        except OSError as exc:
            raise LannerError(f"cannot read ATT&CK data: {exc.strerror}", where) from exc
        except orjson.JSONDecodeError as exc:
            raise LannerError(
                f"ATT&CK data is not valid JSON: {exc}; rebuild it with tools/update_attack.py", where
            ) from exc
        except (KeyError, TypeError) as exc:
            raise LannerError(
                f"ATT&CK data is missing field {exc}; rebuild it with tools/update_attack.py", where
            ) from exc

    def tactic(self, short_or_id: str) -> Tactic | None:
        """A tactic by Sigma short name (`stealth`) or id (`TA0005`), case-insensitive."""
        return self._tactic_by_key.get(short_or_id.strip().lower())

    def technique(self, tid: str) -> Technique | None:
        """A technique or sub-technique by id (`T1078`, `t1078.004`)."""
        return self.techniques.get(tid.strip().upper())

    def tag_issues(self, tags: Iterable[str]) -> list[TagIssue]:
        """Every `attack.*` tag that names no tactic or technique here, with the reason."""
        issues = []
        for tag in tags:
            name = _attack_name(tag)
            if name is None:
                continue
            if not name:
                issues.append(TagIssue(tag, "empty ATT&CK tag"))
            elif _TECHNIQUE.match(name):
                if self.technique(name) is None:
                    issues.append(
                        TagIssue(
                            tag, f"no technique {name.upper()} in ATT&CK v{self.version} (revoked, or a typo)"
                        )
                    )
            elif (_TACTIC_ID.match(name) or not _OTHER_ATTACK_OBJECT.match(name)) and self.tactic(
                name
            ) is None:
                reason = _RENAMED_TACTICS.get(name, f"no tactic {name!r} in ATT&CK v{self.version}")
                issues.append(TagIssue(tag, reason))
        return issues

    def invalid_tags(self, tags: Iterable[str]) -> list[str]:
        """The `attack.*` tags that do not resolve (see `tag_issues` for why)."""
        return [i.tag for i in self.tag_issues(tags)]

    def resolve_tags(self, tags: Iterable[str]) -> list[dict[str, Any]]:
        """OCSF `attacks[]` entries for a rule's tags.

        A technique is paired with the tactics the rule itself tags that the technique belongs
        to (a rule tagged `attack.persistence` + `attack.t1078` means Valid Accounts *for
        persistence*), else with all of the technique's tactics. A tagged sub-technique carries
        its parent as `technique`. A tactic tag no technique used becomes a tactic-only entry.
        Unknown tags are skipped here and reported by `tag_issues`.
        """
        rule_tactics: list[Tactic] = []
        tagged: list[Technique] = []
        for tag in tags:
            name = _attack_name(tag)
            if not name:
                continue
            if _TECHNIQUE.match(name):
                tech = self.technique(name)
                if tech is not None and tech not in tagged:
                    tagged.append(tech)
            elif (tactic := self.tactic(name)) is not None and tactic not in rule_tactics:
                rule_tactics.append(tactic)
        # A parent tagged alongside one of its sub-techniques is described by the sub-technique entry.
        subs_parents = {t.parent for t in tagged if t.parent}
        techniques = [t for t in tagged if t.uid not in subs_parents]

        entries: list[dict[str, Any]] = []
        used: set[str] = set()
        for tech in techniques:
            own = [self._tactic_by_key[s] for s in tech.tactics if s in self._tactic_by_key]
            chosen = [t for t in rule_tactics if t.short_name in tech.tactics] or own
            for tactic in chosen:
                used.add(tactic.uid)
                entries.append(self._entry(tactic, tech))
            if not chosen:  # data lists no tactic for it: still report the technique
                entries.append(self._entry(None, tech))
        entries += [self._entry(t, None) for t in rule_tactics if t.uid not in used]
        return entries

    def _entry(self, tactic: Tactic | None, tech: Technique | None) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        if tactic is not None:
            entry["tactic"] = {"uid": tactic.uid, "name": tactic.name}
        if tech is not None:
            parent = self.techniques.get(tech.parent) if tech.parent else None
            if parent is not None:
                entry["technique"] = {"uid": parent.uid, "name": parent.name}
                entry["sub_technique"] = {"uid": tech.uid, "name": tech.name}
            else:
                entry["technique"] = {"uid": tech.uid, "name": tech.name}
        entry["version"] = self.version
        return entry


def _attack_name(tag: str) -> str | None:
    """The part after `attack.` (lower-cased), or None for tags of other namespaces."""
    tag = tag.strip().lower()
    return tag[len("attack.") :] if tag.startswith("attack.") else None


def _version_key(path: Path) -> tuple[int, ...]:
    digits = re.findall(r"\d+", path.name.removeprefix("enterprise-attack-v"))
    return tuple(int(d) for d in digits)


def data_files(directory: Path = ATTACK_DIR) -> tuple[Path, Path]:
    """The newest bundled (table, STIX bundle) pair."""
    tables = [p for p in directory.glob("enterprise-attack-v*.json") if not p.name.endswith(".stix.json")]
    if not tables:
        raise LannerError(
            "no ATT&CK data found (expected enterprise-attack-v*.json); reinstall Lanner",
            Location(str(directory)),
        )
    table = max(tables, key=_version_key)
    return table, table.with_name(table.name.removesuffix(".json") + ".stix.json")


@functools.cache
def load_attack() -> Attack:
    """The bundled ATT&CK data (loaded once per process)."""
    return Attack.from_file(data_files()[0])


_pysigma_configured: tuple[str, str] | None = None


def _default_cache_dir(version: str) -> Path:
    # A Lanner-owned folder: set_url() clears the cache it points at, and pySigma's shared
    # default (~/.cache/pysigma) may hold a different ATT&CK version fetched online.
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    for candidate in (
        base / "lanner" / f"pysigma-attack-v{version}",
        Path(tempfile.gettempdir()) / f"lanner-pysigma-attack-v{version}-{os.getuid()}",
    ):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            if os.access(candidate, os.W_OK):
                return candidate
        except OSError:
            continue
    raise LannerError(
        "no writable cache folder for pySigma's ATT&CK data; set XDG_CACHE_HOME", Location(str(base))
    )


def configure_pysigma_offline(cache_dir: Path | None = None) -> Path:
    """Make pySigma read ATT&CK from the bundled STIX file instead of GitHub.

    Call before anything asks pySigma for ATT&CK data (e.g. `ATTACKTagValidator`). Idempotent;
    returns the bundle path. pySigma keeps parsed data in a diskcache, so it gets a private
    cache folder, which `set_url` clears so stale data from another version is never served.
    """
    global _pysigma_configured
    from sigma.data import mitre_attack  # imported here: pySigma is only needed by callers of this

    _, bundle = data_files()
    if not bundle.is_file():
        raise LannerError(
            "the ATT&CK STIX bundle is missing; rebuild it with tools/update_attack.py", Location(str(bundle))
        )
    cache = cache_dir or _default_cache_dir(load_attack().version)
    key = (str(bundle), str(cache))
    if _pysigma_configured != key:
        mitre_attack.set_cache_dir(str(cache))
        mitre_attack.set_url(str(bundle))
        _pysigma_configured = key
    return bundle
