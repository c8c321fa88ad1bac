"""Loader: discovery, metadata, located errors, unsupported reasons, correlations."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.detect.sigma import load_rules

GOOD = """\
title: Good
id: 0b5d6d39-2a3f-4b0b-9a0b-3f6a5e3c0001
name: good_rule
level: high
tags: [attack.stealth, attack.t1562.008]
logsource: {product: aws, service: cloudtrail}
lanner:
  triage: Check who stopped the trail.
detection:
  sel: {eventName: [StopLogging, DeleteTrail]}
  condition: sel
"""



def test_metadata_extra_and_operations(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(GOOD)
    rs = load_rules([tmp_path])
    assert not rs.errors and len(rs.rules) == 1
    r = rs.rules[0]
    assert r.meta.name == "good_rule" and r.meta.level == "high"
    assert r.meta.tags == ("attack.stealth", "attack.t1562.008")
    assert r.meta.extra == {"lanner": {"triage": "Check who stopped the trail."}}
    assert r.sources == ("aws.cloudtrail",)
    assert r.operations == ("deletetrail", "stoplogging")


@pytest.mark.parametrize(
    ("mutation", "line", "needle"),
    [
        (("  sel: {eventName: [StopLogging, DeleteTrail]}", "  sel: {eventName|foo: x}"), 10, "Unknown modifier 'foo'"),
        (("  condition: sel", "  condition: sel and ("), 11, "invalid condition"),
        (("id: 0b5d6d39-2a3f-4b0b-9a0b-3f6a5e3c0001", "id: not-a-uuid"), 2, "UUID"),
        (("level: high", "level: bogus"), 4, "bogus"),
        (("  condition: sel", "  condition: sel\n  bad: [unclosed"), 12, "YAML syntax error"),
    ],
)
def test_bad_rule_is_located_and_others_still_load(tmp_path: Path, mutation: tuple[str, str], line: int, needle: str) -> None:
    (tmp_path / "a_good.yml").write_text(GOOD)
    bad = GOOD.replace(*mutation).replace("0001", "0009")
    assert bad != GOOD
    (tmp_path / "b_bad.yaml").write_text(bad)
    rs = load_rules([tmp_path])
    assert len(rs.rules) == 1
    assert len(rs.errors) == 1, rs.errors
    err = rs.errors[0]
    assert err.location is not None and err.location.path.endswith("b_bad.yaml")
    assert err.location.line == line, str(err)
    assert needle in str(err)


def test_unsupported_logsource_reason(tmp_path: Path) -> None:
    (tmp_path / "w.yml").write_text(GOOD.replace("{product: aws, service: cloudtrail}", "{product: windows, category: process_creation}"))
    rs = load_rules([tmp_path])
    assert rs.rules == [] and rs.errors == []
    assert rs.unsupported == [
        (str(tmp_path / "w.yml"), "log source product=windows category=process_creation: Lanner does not ingest Windows events yet")
    ]


def test_missing_path_and_multi_document(tmp_path: Path) -> None:
    second = GOOD.replace("0001", "0003").replace("good_rule", "second")
    (tmp_path / "multi.yml").write_text(GOOD + "---\n" + second)
    rs = load_rules([tmp_path / "multi.yml", tmp_path / "nope"])
    assert [r.meta.name for r in rs.rules] == ["good_rule", "second"]
    assert [str(e) for e in rs.errors] == [f"{tmp_path / 'nope'}: no such rule file or directory"]


def test_unsupported_regex_syntax_is_reported(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(GOOD.replace("sel: {eventName: [StopLogging, DeleteTrail]}", "sel: {userAgent|re: '(?<=a)b'}"))
    rs = load_rules([tmp_path])
    assert rs.rules == [] and len(rs.unsupported) == 1
    assert "not valid RE2" in rs.unsupported[0][1]


def test_correlation_references_resolve_across_files(tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text(GOOD)
    (tmp_path / "corr.yml").write_text(
        "title: Many\nid: 0b5d6d39-2a3f-4b0b-9a0b-3f6a5e3c0005\ncorrelation:\n  type: event_count\n"
        "  rules: [good_rule]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition: {gte: 3}\n"
    )
    rs = load_rules([tmp_path])
    assert not rs.errors, rs.errors
    assert len(rs.correlations) == 1
    corr = rs.correlations[0]
    assert corr.rules[0].meta.name == "good_rule"
    assert "{relation}" in corr.sql
    # Sigma's default `generate: false`: the base rule feeds the correlation only.
    assert [r.meta.name for r in rs.correlation_only] == ["good_rule"]
    assert rs.rules == []


def test_generate_true_keeps_base_rule_findings(tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text(GOOD)
    (tmp_path / "corr.yml").write_text(
        "title: Many\nid: 0b5d6d39-2a3f-4b0b-9a0b-3f6a5e3c0006\ncorrelation:\n  type: event_count\n"
        "  rules: [good_rule]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition: {gte: 3}\n"
        "  generate: true\n"
    )
    rs = load_rules([tmp_path])
    assert [r.meta.name for r in rs.rules] == ["good_rule"] and rs.correlation_only == []
