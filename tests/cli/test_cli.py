"""The `lanner` command end to end, as a user runs it: real process, exit codes, stdout/stderr."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lanner.paths import BUNDLED_RULES_DIR

RULE_DIR = BUNDLED_RULES_DIR / "aws" / "cloudtrail" / "aws_cloudtrail_logging_stopped"
STOP_LOGGING = json.loads((RULE_DIR / "tests" / "positive_1.json").read_text())
BENIGN = json.loads((RULE_DIR / "tests" / "negative_1.json").read_text())


def lanner(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lanner.cli.app", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def record(base: dict, event_id: str) -> dict:
    return {**base, "eventID": event_id}


@pytest.fixture()
def logs(tmp_path: Path) -> Path:
    """An S3-delivery CloudTrail file (gzip) with one StopLogging among benign calls, plus junk."""
    folder = tmp_path / "logs"
    folder.mkdir()
    records = [record(BENIGN, f"benign-{i}") for i in range(5)] + [record(STOP_LOGGING, "attack-1")]
    with gzip.open(folder / "111122223333_CloudTrail_us-east-1_20261128T1400Z_x.json.gz", "wt") as f:
        json.dump({"Records": records}, f)
    (folder / "junk.jsonl").write_text('{"eventID": "broken", \nnot json at all\n{"hello": "world"}\n')
    return folder


def test_detect_on_files_prints_ocsf_findings_and_counts_quarantine(logs: Path) -> None:
    res = lanner("detect", logs, "-o", "jsonl")
    assert res.returncode == 0, res.stderr
    findings = [json.loads(line) for line in res.stdout.splitlines()]
    assert [f["finding_info"]["analytic"]["name"] for f in findings] == ["aws_cloudtrail_logging_stopped"]
    f = findings[0]
    assert f["class_uid"] == 2004 and f["severity_id"] == 4
    assert [e["uid"] for e in f["finding_info"]["related_events"]] == ["attack-1"]
    assert f["evidences"][0]["data"] == record(STOP_LOGGING, "attack-1")
    assert "Traceback" not in res.stderr
    # 3 lines of junk: two malformed JSON lines and one record of no known log type.
    assert "3 records quarantined" in res.stderr


def test_fail_on_findings_exits_3_only_when_something_is_found(logs: Path, tmp_path: Path) -> None:
    assert lanner("detect", logs, "-o", "jsonl", "--fail-on-findings", "-q").returncode == 3
    quiet = tmp_path / "quiet.jsonl"
    quiet.write_text(json.dumps(record(BENIGN, "benign-x")) + "\n")
    res = lanner("detect", quiet, "-o", "jsonl", "--fail-on-findings", "-q")
    assert res.returncode == 0 and res.stdout == ""


def test_json_output_is_one_array(logs: Path) -> None:
    res = lanner("detect", logs, "-o", "json", "-q")
    assert res.returncode == 0
    assert len(json.loads(res.stdout)) == 1


def test_ingest_is_idempotent_and_lake_detection_equals_file_detection(logs: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = lanner("ingest", logs, "--lake", lake, "-o", "json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)[0]
    assert summary["events_written"] == 6 and summary["quarantined"] == 3
    again = json.loads(lanner("ingest", logs, "--lake", lake, "-o", "json").stdout)[0]
    assert again["events_written"] == 0
    from_lake = lanner("detect", "--lake", lake, "-o", "jsonl", "-q")
    from_files = lanner("detect", logs, "-o", "jsonl", "-q")
    uids = [json.loads(line)["finding_info"]["uid"] for line in from_lake.stdout.splitlines()]
    assert uids == [json.loads(line)["finding_info"]["uid"] for line in from_files.stdout.splitlines()]
    assert len(uids) == 1


def test_extra_rules_load_beside_the_bundled_pack_and_a_bad_rule_is_located(logs: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "mine.yml").write_text(
        "title: Any CloudTrail call from aws-cli\nid: 5f0d3e57-8f8a-4f55-9d1e-0a4b8d6f0a11\nstatus: test\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel:\n    eventName: DescribeInstances\n  condition: sel\nlevel: low\n"
    )
    (rules / "broken.yml").write_text(
        "title: Broken\nid: 5f0d3e57-8f8a-4f55-9d1e-0a4b8d6f0a12\nlogsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel:\n    eventName|nosuchmodifier: X\n  condition: sel\n"
    )
    res = lanner("detect", logs, "--rules", rules, "-o", "jsonl")
    assert res.returncode == 0, res.stderr
    assert f"{rules / 'broken.yml'}:6:" in res.stderr
    names = {json.loads(line)["finding_info"]["title"] for line in res.stdout.splitlines()}
    assert "CloudTrail Logging Stopped" in names
    validate = lanner("rules", "validate", rules)
    assert validate.returncode == 1 and f"{rules / 'broken.yml'}:6:" in validate.stderr


def test_rules_list_and_validate_the_bundled_pack() -> None:
    res = lanner("rules", "list", "-o", "json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert any(r["name"] == "aws_cloudtrail_logging_stopped" for r in rows)
    assert {r["kind"] for r in rows} == {"rule", "correlation", "correlation base"}
    assert lanner("rules", "validate").returncode == 0


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("detect", "/nonexistent/logs"), 1, "/nonexistent/logs"),
        (("detect",), 2, "give log PATHs or --lake"),
        (("detect", "--lake", "/nonexistent/lake"), 1, "no lake at"),
        (("detect", ".", "-o", "yaml"), 2, "unknown --output"),
        (("ingest", "/nonexistent/logs", "--lake", "/tmp/x-lake-never"), 1, "/nonexistent/logs"),
    ],
)
def test_errors_are_one_line_and_non_zero(args: tuple[str, ...], code: int, needle: str, tmp_path: Path) -> None:
    res = lanner(*args, cwd=tmp_path)
    assert res.returncode == code
    assert needle in res.stderr
    assert "Traceback" not in res.stderr
    assert len([line for line in res.stderr.splitlines() if line.strip()]) == 1, res.stderr


def test_validate_reports_attack_tags_unknown_to_v19(tmp_path: Path) -> None:
    rule = tmp_path / "old_tags.yml"
    rule.write_text(
        "title: Old tags\nid: 5f0d3e57-8f8a-4f55-9d1e-0a4b8d6f0a13\nstatus: test\n"
        "tags:\n  - attack.defense-evasion\n  - attack.t1562.008\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel:\n    eventName: StopLogging\n  condition: sel\nlevel: high\n"
    )
    res = lanner("rules", "validate", rule)
    assert res.returncode == 1
    # v19 renamed Defense Evasion and revoked T1562; both are reported at their lines.
    assert f"{rule}:5: attack.defense-evasion" in res.stderr
    assert f"{rule}:6: attack.t1562.008" in res.stderr
