"""Every bundled rule: well-formed Lanner metadata, and its examples match (positive) or not (negative)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from lanner.detect.attack import load_attack
from lanner.detect.explain import template_problems
from lanner.detect.sigma.fields import field_sql
from lanner.detect.sigma.loader import load_rules
from lanner.paths import BUNDLED_RULES_DIR

RULE_FILES = sorted(BUNDLED_RULES_DIR.rglob("rule.yml"))
EXAMPLES = [(rule, ex) for rule in RULE_FILES for ex in sorted((rule.parent / "tests").glob("*.json"))]
LOGSOURCES = {
    ("aws", "cloudtrail", None), ("gcp", "gcp.audit", None), ("azure", "activitylogs", None), ("kubernetes", "audit", None),
    ("linux", None, "process_creation"), ("linux", None, "file_event"), ("linux", None, "network_connection"),
}


def test_container_field_is_a_typed_column() -> None:
    """Runtime rules say "in a container" with the Sigma field `ContainerId` (-> column container_id)."""
    assert "container_id" in field_sql(("runtime.process",), "ContainerId")


def _id(p: Path) -> str:
    return str(p.relative_to(BUNDLED_RULES_DIR))


def test_rule_pack_size_and_layout() -> None:
    assert 25 <= len(RULE_FILES) <= 40
    for rule in RULE_FILES:
        platform, _service, slug = rule.parent.relative_to(BUNDLED_RULES_DIR).parts
        assert platform in {"aws", "gcp", "azure", "kubernetes", "linux"}
        assert slug.startswith(("aws_", "gcp_", "azure_", "k8s_", "linux_"))


def test_all_rules_load_without_errors() -> None:
    rs = load_rules([BUNDLED_RULES_DIR])
    assert rs.errors == [] and rs.unsupported == []
    names = {r.meta.name for r in rs.rules} | {c.meta.name for c in rs.correlations}
    assert {r.parent.name for r in RULE_FILES} <= names
    assert len(rs.correlations) >= 3


@pytest.mark.parametrize("rule", RULE_FILES, ids=_id)
def test_rule_metadata(rule: Path) -> None:
    docs = list(yaml.safe_load_all(rule.read_text()))
    main = docs[-1]  # the correlation document, or the only rule
    assert main["name"] == rule.parent.name
    attack = load_attack()
    for doc in docs:
        assert doc["author"] == "Lanner" and doc["status"] in {"experimental", "test", "stable"}
        assert "id" in doc and "date" in doc and doc.get("level") in {"informational", "low", "medium", "high", "critical"}
    assert main["description"].strip() and main["falsepositives"] and main["references"]
    tags = main["tags"]
    assert any(t.startswith("attack.t") for t in tags) and attack.invalid_tags(tags) == []
    assert "attack.defense-evasion" not in tags  # ATT&CK v19 split it into stealth / defense-impairment
    base = docs[0]
    ls = base["logsource"]
    assert (ls.get("product"), ls.get("service"), ls.get("category")) in LOGSOURCES
    guide = main["lanner"]
    assert template_problems(guide["summary"]) == []
    triage = guide["triage"]
    assert triage["what"].strip() and triage["why"].strip() and triage["check"] and triage["contain"]


@pytest.mark.parametrize("rule", RULE_FILES, ids=_id)
def test_rule_has_positive_and_negative_examples(rule: Path) -> None:
    names = [p.name for p in (rule.parent / "tests").glob("*.json")]
    assert any(n.startswith("positive_") for n in names) and any(n.startswith("negative_") for n in names)


@pytest.mark.parametrize(("rule", "example"), EXAMPLES, ids=[f"{_id(r)}:{e.name}" for r, e in EXAMPLES])
def test_rule_example(rule: Path, example: Path, pipeline: Any) -> None:
    con = duckdb.connect()
    events, quarantine = pipeline.load_events(con, [example])
    assert quarantine.num_rows == 0 and events.num_rows >= 1
    hits = [m for m in pipeline.run(con, load_rules([rule])) if m.rule.name == rule.parent.name]
    if example.name.startswith("positive_"):
        assert hits, f"{example.name} should trigger {rule.parent.name}"
    else:
        assert not hits, f"{example.name} should not trigger {rule.parent.name}"
