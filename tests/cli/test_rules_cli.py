"""`lanner rules test|lock|coverage` as a user runs them: real process, exit codes, readable lines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from lanner.paths import BUNDLED_RULES_DIR

STOP_LOGGING = BUNDLED_RULES_DIR / "aws" / "cloudtrail" / "aws_cloudtrail_logging_stopped"


def lanner(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lanner.cli.app", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def pack(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(STOP_LOGGING, root / "aws" / "cloudtrail" / STOP_LOGGING.name)
    return root


def test_rules_test_passes_and_fails(tmp_path: Path) -> None:
    root = pack(tmp_path)
    ok = lanner("rules", "test", root, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "1 rules, 2 examples, 0 rules failing" in ok.stdout

    tests = root / "aws" / "cloudtrail" / STOP_LOGGING.name / "tests"
    shutil.copy(tests / "negative_1.json", tests / "positive_2.json")
    bad = lanner("rules", "test", root, cwd=tmp_path)
    assert bad.returncode == 1
    assert (
        "rules/aws/cloudtrail/aws_cloudtrail_logging_stopped: positive_2.json did not trigger "
        "aws_cloudtrail_logging_stopped"
    ) in bad.stdout.splitlines()

    as_json = lanner("rules", "test", root, "--format", "json", cwd=tmp_path)
    assert as_json.returncode == 1
    (report,) = json.loads(as_json.stdout)
    assert report["rules_failed"] == 1 and report["failures"][0]["example"] == "positive_2.json"


def test_rules_test_missing_path_is_an_error(tmp_path: Path) -> None:
    result = lanner("rules", "test", tmp_path / "nope")
    assert result.returncode == 1 and "no such rule file or directory" in result.stderr


def test_rules_lock_refuses_change_without_bump(tmp_path: Path) -> None:
    root = pack(tmp_path)
    lock_file = tmp_path / "rules.lock"
    args = ("rules", "lock", "--rules-dir", root, "--lock-file", lock_file)
    first = lanner(*args)
    assert first.returncode == 0 and "1 added" in first.stdout and lock_file.exists()
    assert lanner(*args, "--check").returncode == 0

    rule = root / "aws" / "cloudtrail" / STOP_LOGGING.name / "rule.yml"
    rule.write_text(rule.read_text().replace("level: high", "level: low"))
    check = lanner(*args, "--check")
    assert check.returncode == 1 and "bump lanner.version and run `lanner rules lock`" in check.stderr
    refused = lanner(*args)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "aws_cloudtrail_logging_stopped: changed since the lock at version 1" in refused.stderr

    rule.write_text(rule.read_text().replace("  version: 1", "  version: 2"))
    bumped = lanner(*args)
    assert bumped.returncode == 0 and "1 updated" in bumped.stdout
    assert json.loads(lock_file.read_text())["rules"][STOP_LOGGING.name]["version"] == 2


def test_rules_coverage_writes_html_and_svg(tmp_path: Path) -> None:
    root = pack(tmp_path)
    html, svg = tmp_path / "cov.html", tmp_path / "cov.svg"
    result = lanner("rules", "coverage", root, "--html", html, "--svg", svg)
    assert result.returncode == 0, result.stderr
    assert "1 rules; 1 techniques covered" in result.stdout
    assert 'data-technique="T1685"' in html.read_text() and svg.read_text().startswith("<svg")
    as_json = lanner("rules", "coverage", root, "--format", "json")
    (data,) = json.loads(as_json.stdout)
    assert data["platforms"]["IaaS"]["rules"] == 1
