"""The standard a bundled rule meets: layout, required keys, ATT&CK v19 tags, triage guidance.

Pure checks over parsed YAML (`folder_problems`, `duplicate_problems`); the meta-tests in
`tests/content/` run them per rule folder so a failure names the rule and says what to fix.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lanner.detect.attack import Attack
from lanner.detect.explain import template_problems
from lanner.detect.pack.folders import RuleFolder
from lanner.detect.pack.lock import main_document, read_docs, rule_version
from lanner.detect.sigma.fields import bind_logsource

# Platform folder -> rule-name prefix.
PLATFORM_PREFIX = {
    "aws": "aws_",
    "azure": "azure_",
    "gcp": "gcp_",
    "kubernetes": "k8s_",
    "linux": "linux_",
    "okta": "okta_",
    "m365": "m365_",
    "google_workspace": "gworkspace_",
    "github": "github_",
}
STATUSES = ("stable", "test", "experimental")
LEVELS = ("informational", "low", "medium", "high", "critical")
_SNAKE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
_TECHNIQUE_TAG = re.compile(r"^attack\.t\d{4}(?:\.\d{3})?$")
_TRIAGE_TEXT = ("what", "why")
_TRIAGE_LISTS = ("check", "contain")


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _text_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_text(v) for v in value)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def layout_problems(folder: RuleFolder, root: Path) -> list[str]:
    try:
        parts = folder.path.relative_to(root).parts
    except ValueError:
        return [f"not under {root}"]
    if len(parts) != 3:
        return [f"folder must be <platform>/<service>/<name>, not {'/'.join(parts)}"]
    platform, _service, name = parts
    problems = []
    prefix = PLATFORM_PREFIX.get(platform)
    if prefix is None:
        problems.append(f"unknown platform folder {platform!r} (one of {', '.join(PLATFORM_PREFIX)})")
    elif not name.startswith(prefix):
        problems.append(f"rules under {platform}/ are named {prefix}*, not {name}")
    if not _SNAKE.match(name):
        problems.append(f"name {name!r} is not snake_case")
    return problems


def document_problems(doc: Mapping[str, Any], *, main: bool) -> list[str]:
    """Keys every document needs; `main` is the document the folder is named after."""
    label = doc.get("name") or doc.get("title") or "document"
    problems = []
    for key in ("title", "name", "description", "author", "date"):
        if not doc.get(key) or (isinstance(doc.get(key), str) and not doc[key].strip()):
            problems.append(f"{label}: `{key}` is missing or empty")
    if not _is_uuid(doc.get("id")):
        problems.append(f"{label}: `id` must be a UUID, not {doc.get('id')!r}")
    if doc.get("status") not in STATUSES:
        problems.append(f"{label}: `status` must be one of {', '.join(STATUSES)}, not {doc.get('status')!r}")
    if doc.get("level") not in LEVELS:
        problems.append(f"{label}: `level` must be one of {', '.join(LEVELS)}, not {doc.get('level')!r}")
    if "correlation" not in doc:
        ls = doc.get("logsource")
        if not isinstance(ls, dict) or not ls:
            problems.append(f"{label}: `logsource` is missing")
    if main:
        for key in ("references", "falsepositives"):
            if not _text_list(doc.get(key)):
                problems.append(f"{label}: `{key}` must be a non-empty list of texts")
    return problems


def tag_problems(tags: Any, attack: Attack) -> list[str]:
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return ["`tags` must list an ATT&CK tactic and technique (attack.<tactic>, attack.tNNNN)"]
    problems = [f"tag {i.tag}: {i.reason}" for i in attack.tag_issues(tags)]
    tactics = {t.short_name for tag in tags if (t := attack.tactic(tag.lower().removeprefix("attack."))) is not None}
    techniques = [tag.lower() for tag in tags if _TECHNIQUE_TAG.match(tag.lower())]
    if not tactics:
        problems.append(f"no ATT&CK v{attack.version} tactic tag (e.g. attack.persistence)")
    if not techniques:
        problems.append(f"no ATT&CK v{attack.version} technique tag (e.g. attack.t1098)")
    for tag in techniques:
        tech = attack.technique(tag.removeprefix("attack."))
        if tech is not None and tactics and not tactics & set(tech.tactics):
            problems.append(
                f"tag {tag}: {tech.uid} belongs to {', '.join(tech.tactics)}, none of which the rule tags"
            )
    return problems


def guidance_problems(lanner: Any) -> list[str]:
    if not isinstance(lanner, dict):
        return ["`lanner:` block (version, summary, triage) is missing"]
    problems = []
    version = rule_version({"lanner": lanner})
    if version is None or version < 1:
        problems.append(f"`lanner.version` must be an integer >= 1, not {lanner.get('version')!r}")
    summary = lanner.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        problems.append("`lanner.summary` is missing")
    else:
        problems += [f"lanner.summary: {p}" for p in template_problems(summary)]
    triage = lanner.get("triage")
    if not isinstance(triage, dict):
        return [*problems, "`lanner.triage` (what, why, check, contain) is missing"]
    problems += [f"`lanner.triage.{k}` must be a non-empty text" for k in _TRIAGE_TEXT if not _text(triage.get(k))]
    problems += [f"`lanner.triage.{k}` must be a non-empty list" for k in _TRIAGE_LISTS if not _text_list(triage.get(k))]
    return problems


def logsource_problems(doc: Mapping[str, Any], ingested: Iterable[str]) -> list[str]:
    ls = doc.get("logsource")
    if "correlation" in doc or not isinstance(ls, dict):
        return []
    bound = bind_logsource(ls.get("product"), ls.get("service"), ls.get("category"))
    if isinstance(bound, str):
        return [bound]
    missing = sorted(set(bound) - set(ingested))
    return [f"logsource binds to {', '.join(missing)}, which Lanner does not ingest"] if missing else []


def folder_problems(folder: RuleFolder, root: Path, attack: Attack, ingested: Iterable[str]) -> list[str]:
    """Everything wrong with one rule folder's layout and metadata (empty: it meets the standard)."""
    problems = layout_problems(folder, root)
    docs = read_docs(folder.rule_file)
    if not docs or not all(isinstance(d, dict) for d in docs):
        return [*problems, "rule file must hold one or more YAML mappings"]
    main = main_document(docs, folder.name)
    if main is None or main.get("name") != folder.name:
        return [*problems, f"no document is named {folder.name!r} (the folder's name)"]
    ingested = tuple(ingested)
    for doc in docs:
        problems += document_problems(doc, main=doc is main)
        problems += logsource_problems(doc, ingested)
        if doc is not main and doc.get("status") != main.get("status"):
            problems.append(f"{doc.get('name')}: status {doc.get('status')!r} differs from the rule's {main.get('status')!r}")
    problems += tag_problems(main.get("tags"), attack)
    problems += guidance_problems(main.get("lanner"))
    return problems


def duplicate_problems(folders: Sequence[RuleFolder]) -> list[str]:
    """Ids and names used by more than one document anywhere in the pack (base rules included)."""
    where: dict[tuple[str, str], list[str]] = {}
    for f in folders:
        for doc in read_docs(f.rule_file):
            if isinstance(doc, dict):
                for key in ("id", "name"):
                    if doc.get(key):
                        where.setdefault((key, str(doc[key])), []).append(str(f.rule_file))
    return [
        f"{key} {value} is used by {len(files)} documents: {', '.join(sorted(set(files)))}"
        for (key, value), files in sorted(where.items())
        if len(files) > 1
    ]
