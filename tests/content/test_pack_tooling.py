"""Unit tests of the rule-pack tooling: example runner, content lock, ATT&CK coverage."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lanner.detect.attack import load_attack
from lanner.detect.pack import coverage, lock
from lanner.detect.pack.examples import run_examples
from lanner.detect.pack.folders import rule_folders
from lanner.detect.sigma.loader import load_rules
from lanner.paths import BUNDLED_RULES_DIR

CLOUDTRAIL = BUNDLED_RULES_DIR / "aws" / "cloudtrail"
STOP_LOGGING = CLOUDTRAIL / "aws_cloudtrail_logging_stopped"
DENIED_BURST = CLOUDTRAIL / "aws_access_denied_burst"


def copy_rule(src: Path, root: Path, platform: str = "aws", service: str = "cloudtrail") -> Path:
    dest = root / platform / service / src.name
    shutil.copytree(src, dest)
    return dest


def set_text(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


# ------------------------------------------------------------------------------------------
# Examples


def test_examples_pass_and_fail_per_file(tmp_path: Path) -> None:
    rule = copy_rule(STOP_LOGGING, tmp_path)
    positive = json.loads((rule / "tests" / "positive_1.json").read_text())
    # The same event id as the positive, but benign: attribution must go by file, not by id.
    benign = json.loads((rule / "tests" / "negative_1.json").read_text()) | {"eventID": positive["eventID"]}
    (rule / "tests" / "negative_same_id.json").write_text(json.dumps(benign))
    report = run_examples(rule_folders([tmp_path]))
    assert report.ok, [f.line() for f in report.failures]
    assert (report.rules, report.examples) == (1, 3)

    shutil.copy(rule / "tests" / "positive_1.json", rule / "tests" / "negative_2.json")
    shutil.copy(rule / "tests" / "negative_1.json", rule / "tests" / "positive_2.json")
    lines = [f.line() for f in run_examples(rule_folders([tmp_path])).failures]
    assert any(line.endswith("positive_2.json did not trigger aws_cloudtrail_logging_stopped") for line in lines)
    assert any(line.endswith("negative_2.json triggered aws_cloudtrail_logging_stopped") for line in lines)
    assert len(lines) == 2


def test_correlation_examples_run_alone(tmp_path: Path) -> None:
    """A negative sequence must not borrow events from the positive file to reach the threshold."""
    rule = copy_rule(DENIED_BURST, tmp_path)
    records = json.loads((rule / "tests" / "positive_1.json").read_text())["Records"]
    few = [r | {"eventID": f"{r['eventID']}-few"} for r in records[:3]]
    (rule / "tests" / "negative_too_few.json").write_text(json.dumps({"Records": few}))
    report = run_examples(rule_folders([tmp_path]))
    assert report.ok, [f.line() for f in report.failures]


def test_missing_examples_quarantine_and_load_errors_fail(tmp_path: Path) -> None:
    rule = copy_rule(STOP_LOGGING, tmp_path)
    (rule / "tests" / "negative_1.json").unlink()
    (rule / "tests" / "positive_junk.json").write_text('{"not": "a log record"}')
    broken = copy_rule(DENIED_BURST, tmp_path)
    set_text(broken / "rule.yml", "condition: selection and not filter_aws_service", "condition: selection and nope")
    lines = [f.line() for f in run_examples(rule_folders([tmp_path])).failures]
    assert any("aws_cloudtrail_logging_stopped: has no negative example" in line for line in lines)
    assert any("positive_junk.json was quarantined" in line for line in lines)
    assert any("aws_access_denied_burst: rule does not load" in line for line in lines)


# ------------------------------------------------------------------------------------------
# Content lock


@pytest.fixture()
def pack(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    copy_rule(STOP_LOGGING, root)
    copy_rule(DENIED_BURST, root)
    return root


def entries(root: Path) -> dict[str, lock.LockEntry]:
    return lock.current_entries(rule_folders([root]))


def test_lock_round_trip_and_formatting_needs_no_bump(pack: Path) -> None:
    locked = lock.loads(lock.dumps(entries(pack)))
    assert locked == entries(pack) and lock.check(entries(pack), locked) == []
    rule = pack / "aws" / "cloudtrail" / "aws_cloudtrail_logging_stopped" / "rule.yml"
    rule.write_text("# a comment changes nothing\n" + rule.read_text().replace("level: high", "level:   high"))
    assert lock.check(entries(pack), locked) == []


def test_changed_rule_without_bump_is_refused(pack: Path) -> None:
    locked = entries(pack)
    rule = pack / "aws" / "cloudtrail" / "aws_cloudtrail_logging_stopped" / "rule.yml"
    set_text(rule, "level: high", "level: medium")
    problems = lock.check(entries(pack), locked)
    assert [p.name for p in problems] == ["aws_cloudtrail_logging_stopped"]
    assert "bump lanner.version and run `lanner rules lock`" in problems[0].line()
    result = lock.update(entries(pack), locked)
    assert [p.name for p in result.refused] == ["aws_cloudtrail_logging_stopped"]

    set_text(rule, "  version: 1", "  version: 2")
    result = lock.update(entries(pack), locked)
    assert result.refused == [] and result.updated == ["aws_cloudtrail_logging_stopped"]
    assert result.lock["aws_cloudtrail_logging_stopped"].version == 2
    assert lock.check(entries(pack), result.lock) == []


def test_base_rule_change_counts(pack: Path) -> None:
    """A correlation's base rules are part of its behaviour."""
    locked = entries(pack)
    set_text(pack / "aws" / "cloudtrail" / "aws_access_denied_burst" / "rule.yml", "- AccessDenied\n", "- AccessDenied\n      - Forbidden\n")
    assert [p.name for p in lock.update(entries(pack), locked).refused] == ["aws_access_denied_burst"]


def test_new_and_removed_rules(pack: Path) -> None:
    locked = entries(pack)
    shutil.rmtree(pack / "aws" / "cloudtrail" / "aws_access_denied_burst")
    copy_rule(CLOUDTRAIL / "aws_cloudtrail_trail_deleted", pack)
    check = {p.name: p.message for p in lock.check(entries(pack), locked)}
    assert "is new" in check["aws_cloudtrail_trail_deleted"] and "was removed" in check["aws_access_denied_burst"]
    result = lock.update(entries(pack), locked)
    assert result.refused == []
    assert (result.added, result.removed) == (["aws_cloudtrail_trail_deleted"], ["aws_access_denied_burst"])
    assert sorted(result.lock) == ["aws_cloudtrail_logging_stopped", "aws_cloudtrail_trail_deleted"]


def test_rule_without_version_is_refused(pack: Path) -> None:
    set_text(pack / "aws" / "cloudtrail" / "aws_cloudtrail_logging_stopped" / "rule.yml", "  version: 1\n", "")
    result = lock.update(entries(pack), {})
    assert [p.name for p in result.refused] == ["aws_cloudtrail_logging_stopped"]
    assert "lanner.version" in result.refused[0].message


def test_loader_exposes_the_version() -> None:
    rs = load_rules([STOP_LOGGING])
    assert [r.meta.version for r in rs.rules] == [1]


# ------------------------------------------------------------------------------------------
# Coverage

TINY_PACK = {
    "aws/cloudtrail/aws_a/rule.yml": ("aws", "cloudtrail", None, "stable", ["attack.persistence", "attack.t1098.001"]),
    "aws/cloudtrail/aws_b/rule.yml": ("aws", "cloudtrail", None, "test", ["attack.persistence", "attack.t1098"]),
    "okta/system/okta_c/rule.yml": ("okta", "okta", None, "stable", ["attack.credential-access", "attack.t1110.003"]),
    "linux/process_creation/linux_d/rule.yml": (
        "linux", None, "process_creation", "stable", ["attack.execution", "attack.t1059.004"]
    ),
    "aws/cloudtrail/aws_e/rule.yml": ("aws", "cloudtrail", None, "experimental", ["attack.impact", "attack.t1485"]),
}


def write_tiny_pack(root: Path) -> Path:
    for i, (path, (product, service, category, status, tags)) in enumerate(TINY_PACK.items()):
        logsource = {"product": product} | ({"service": service} if service else {"category": category})
        detection = (
            {"sel": {"Image|endswith": "/bash", "ContainerId|exists": True}, "condition": "sel"}
            if product == "linux"
            else {"sel": {"eventType" if product == "okta" else "eventName": "X"}, "condition": "sel"}
        )
        doc = {
            "title": f"Rule {i}",
            "id": f"00000000-0000-4000-8000-00000000000{i}",
            "name": Path(path).parent.name,
            "status": status,
            "tags": tags,
            "logsource": logsource,
            "detection": detection,
            "level": "high",
        }
        (root / path).parent.mkdir(parents=True)
        (root / path).write_text(json.dumps(doc))  # JSON is YAML
    return root


@pytest.fixture()
def tiny(tmp_path: Path) -> coverage.Coverage:
    rs = load_rules([write_tiny_pack(tmp_path)])
    assert rs.errors == [] and len(rs.rules) == 5
    return coverage.compute(coverage.finding_rules(rs), load_attack())


def test_coverage_counts(tiny: coverage.Coverage) -> None:
    assert len(tiny.rules) == 4  # the experimental rule is left out
    assert tiny.count("persistence", "T1098") == 2  # the sub-technique counts for its parent
    assert tiny.count("credential-access", "T1110") == 1
    assert tiny.count("impact", "T1485") == 0
    assert tiny.covered_techniques == {"T1098", "T1110", "T1059"}
    assert [t.short_name for t in tiny.covered_tactics] == ["execution", "persistence", "credential-access"]
    assert tiny.platform_rules("IaaS") == 2 and tiny.platform_rules("Identity Provider") == 1
    assert tiny.platform_tactic("Containers", "execution") == 1  # keyed on ContainerId
    assert tiny.platform_tactic("Linux", "execution") == 1
    data = tiny.to_dict()
    assert data["rules"] == 4 and data["techniques_covered"] == 3
    assert data["techniques_in_covered_tactics"] == len(tiny.techniques_in_covered_tactics) > 3


def test_coverage_all_statuses(tmp_path: Path) -> None:
    rs = load_rules([write_tiny_pack(tmp_path)])
    cov = coverage.compute(coverage.finding_rules(rs), load_attack(), statuses=None)
    assert len(cov.rules) == 5 and cov.count("impact", "T1485") == 1


def test_platform_mapping() -> None:
    assert coverage.platform_of({"product": "azure", "service": "signinlogs"}) == "Identity Provider"
    assert coverage.platform_of({"product": "azure", "service": "activitylogs"}) == "IaaS"
    assert coverage.platform_of({"product": "gcp", "service": "google_workspace.admin"}) == "Office Suite"
    assert coverage.platform_of({"product": "m365", "service": "audit"}) == "Office Suite"
    assert coverage.platform_of({"product": "github", "service": "audit"}) == "SaaS"
    assert coverage.platform_of({"product": "kubernetes", "service": "audit"}) == "Containers"


def test_svg_and_html(tiny: coverage.Coverage) -> None:
    svg = coverage.svg(tiny)
    root = ET.fromstring(svg)  # well-formed
    ns = "{http://www.w3.org/2000/svg}"
    cells = {
        (g.get("data-tactic"), g.get("data-technique")): g
        for g in root.iter(f"{ns}g")
        if g.get("class") == "technique"
    }
    t1098 = cells[("TA0003", "T1098")]
    assert t1098.get("data-count") == "2"
    title = t1098.find(f"{ns}title")
    assert title is not None and "aws_a" in (title.text or "") and "aws_b" in (title.text or "")
    assert cells[("TA0040", "T1485")].get("data-count") == "0"  # uncovered cells are drawn too
    page = coverage.html(tiny)
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and 'data-technique="T1098"' in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no external assets
    assert "src=" not in page and "<link" not in page
