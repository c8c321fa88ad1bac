"""The bundled rule pack meets its standard: one test per rule folder, so a failure names the rule.

- metadata, layout and ATT&CK v19 tags (`lanner.detect.pack.meta`);
- examples: positives trigger the rule, negatives do not, nothing quarantines, through the real
  normalizers and engine, with the same code as `lanner rules test` (run once for the whole pack);
- pack-wide: unique ids and names, size, correlations, the content lock.

Run one rule: `pytest tests/content -k <rule name>`; or `lanner rules test content/rules/<...>/<name>`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.detect.attack import load_attack
from lanner.detect.pack import lock
from lanner.detect.pack.examples import ExampleReport, run_examples
from lanner.detect.pack.folders import RuleFolder, rule_folders
from lanner.detect.pack.meta import duplicate_problems, folder_problems
from lanner.detect.sigma.fields import field_sql
from lanner.detect.sigma.loader import RuleSet, load_rules
from lanner.model.event import SOURCES_INGESTED
from lanner.paths import BUNDLED_RULES_DIR, CONTENT_DIR

FOLDERS = rule_folders([BUNDLED_RULES_DIR])
MIN_STABLE_RULES = 300
MIN_CORRELATIONS = 10


def _id(folder: RuleFolder) -> str:
    return folder.name


@pytest.fixture(scope="module")
def examples(request: pytest.FixtureRequest) -> ExampleReport:
    """All selected folders' examples in one batched run (`-k <rule>` runs just that rule's)."""
    selected = {
        item.callspec.params["folder"].name
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_rule_examples" and hasattr(item, "callspec")
    }
    return run_examples([f for f in FOLDERS if f.name in selected] or FOLDERS)


@pytest.mark.parametrize("folder", FOLDERS, ids=_id)
def test_rule_metadata(folder: RuleFolder) -> None:
    problems = folder_problems(folder, BUNDLED_RULES_DIR, load_attack(), SOURCES_INGESTED)
    assert not problems, f"{folder.rule_file}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("folder", FOLDERS, ids=_id)
def test_rule_examples(folder: RuleFolder, examples: ExampleReport) -> None:
    failures = examples.failures_of(folder.name)
    assert not failures, "\n".join(f.line() for f in failures)


def test_ids_and_names_are_unique() -> None:
    assert duplicate_problems(FOLDERS) == []


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules([BUNDLED_RULES_DIR])


def test_pack_loads_without_errors(ruleset: RuleSet) -> None:
    rs = ruleset
    assert [str(e) for e in rs.errors] == [] and rs.unsupported == []
    names = {r.meta.name for r in rs.rules} | {c.meta.name for c in rs.correlations}
    assert {f.name for f in FOLDERS} <= names


def test_pack_size(ruleset: RuleSet) -> None:
    """The pack's promise: at least 300 stable rules and 10 correlations."""
    rs = ruleset
    stable = [r for r in (*rs.rules, *rs.correlations) if r.meta.status == "stable"]
    assert len(stable) >= MIN_STABLE_RULES, f"{len(stable)} stable rules, want >= {MIN_STABLE_RULES}"
    assert len(rs.correlations) >= MIN_CORRELATIONS


def test_content_lock_is_current() -> None:
    problems = lock.check(lock.current_entries(FOLDERS), lock.read_lock(CONTENT_DIR / "rules.lock"))
    assert not problems, "content/rules.lock is stale:\n  " + "\n  ".join(p.line() for p in problems)


def test_container_field_is_a_typed_column() -> None:
    """Runtime rules say "in a container" with the Sigma field `ContainerId` (-> column container_id)."""
    assert "container_id" in field_sql(("runtime.process",), "ContainerId")


def test_every_folder_is_found() -> None:
    """A rule file under another name would silently escape every check above."""
    stray = [
        p
        for p in BUNDLED_RULES_DIR.rglob("*")
        if p.suffix in (".yml", ".yaml") and p.name not in ("rule.yml", "rule.yaml")
    ]
    assert stray == [], f"rule files must be named rule.yml: {stray}"
    assert all(isinstance(f.path, Path) for f in FOLDERS) and FOLDERS
