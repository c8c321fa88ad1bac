"""Sigma semantics conformance: every case in conformance/cases.yml on real DuckDB (and the
Spark rendering of each compiled rule must parse)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
import yaml

import lanner.testing.events as _events
from lanner.detect.engine import detect
from lanner.detect.sigma import load_rules

event_row = _events.event_row
load_events = _events.load_events


CASES = yaml.safe_load((Path(__file__).parent / "conformance" / "cases.yml").read_text())


def _write_rule(tmp_path: Path, case: dict[str, Any]) -> Path:
    rule = {
        "title": case["name"],
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, case["name"])),
        "logsource": case["logsource"],
        "detection": case["detection"],
    }
    path = tmp_path / "rule.yml"
    path.write_text(yaml.safe_dump(rule))
    return path


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(tmp_path: Path, case: dict[str, Any]) -> None:
    ruleset = load_rules([_write_rule(tmp_path, case)])
    assert not ruleset.errors and not ruleset.unsupported, (ruleset.errors, ruleset.unsupported)
    assert len(ruleset.rules) == 1
    con = duckdb.connect()
    load_events(con, "events", [event_row(e, i) for i, e in enumerate(case["events"])])
    got = sorted(e["uid"] for m in detect(con, "events", ruleset) for e in m.events)
    assert got == sorted(case["expect"])
    # Engine-neutral: the same rule renders to Spark SQL that parses back.
    spark = sqlglot.transpile(ruleset.rules[0].where, read="duckdb", write="spark")[0]
    assert sqlglot.parse_one(spark, read="spark") is not None


def test_cases_cover_every_modifier() -> None:
    text = (Path(__file__).parent / "conformance" / "cases.yml").read_text()
    for modifier in ("contains", "startswith", "endswith", "all", "re", "cidr", "exists", "base64", "base64offset",
                     "gte", "lt", "cased", "fieldref", "|i", "|m", "|s"):
        assert f"|{modifier.lstrip('|')}" in text, modifier
