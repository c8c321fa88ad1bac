"""The demo end to end: generated files -> normalizers -> bundled rules, scored against the ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from lanner.demo import Scenario, event_key, generate
from lanner.detect.model import Match
from lanner.detect.sigma.loader import RuleSet, load_rules
from lanner.paths import BUNDLED_RULES_DIR

pytestmark = pytest.mark.slow


@dataclass
class Run:
    scenario: Scenario
    events: pa.Table
    quarantine: pa.Table
    ruleset: RuleSet
    matches: list[Match]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, pipeline: Any) -> Run:
    scenario = generate(Path(tmp_path_factory.mktemp("demo")) / "logs")
    con = duckdb.connect()
    events, quarantine = pipeline.load_events(con, scenario.files)
    ruleset = load_rules([BUNDLED_RULES_DIR])
    return Run(scenario, events, quarantine, ruleset, pipeline.run(con, ruleset))


def _findings(run: Run, pipeline: Any) -> list[Match]:
    """Matches that are findings: Sigma correlation base rules (generate: false) do not report themselves."""
    bases = pipeline.correlation_bases(run.ruleset)
    return [m for m in run.matches if m.rule.name not in bases]


def _keys(m: Match) -> set[str]:
    return {event_key(e["raw"]) for e in m.events}


def test_normalizers_accept_every_file(demo: Run) -> None:
    assert demo.quarantine.num_rows == 0, demo.quarantine.column("reason").to_pylist()[:5]
    counts = demo.events.group_by("source").aggregate([("uid", "count")]).to_pylist()
    assert {c["source"]: c["uid_count"] for c in counts} == demo.scenario.counts


@pytest.mark.parametrize("stage_index", range(6))
def test_every_attack_stage_raises_a_finding(demo: Run, pipeline: Any, stage_index: int) -> None:
    stage = demo.scenario.stages[stage_index]
    truth = set(stage.uids)
    hits = [m for m in _findings(demo, pipeline) if _keys(m) and _keys(m) <= truth]
    assert hits, f"no finding for stage {stage.name!r}"


def test_benign_background_raises_no_findings(demo: Run, pipeline: Any) -> None:
    attack = demo.scenario.attack_uids()
    benign = [m for m in _findings(demo, pipeline) if not (_keys(m) & attack)]
    assert [(m.rule.name, m.events[0]["uid"]) for m in benign] == []


def test_findings_never_mix_attack_and_benign_events(demo: Run, pipeline: Any) -> None:
    attack = demo.scenario.attack_uids()
    mixed = [m.rule.name for m in _findings(demo, pipeline) if (_keys(m) & attack) and not _keys(m) <= attack]
    assert mixed == []


def test_correlation_base_rules_do_not_report_on_their_own(demo: Run, pipeline: Any) -> None:
    bases = pipeline.correlation_bases(demo.ruleset)
    own = sum(1 for m in demo.matches if m.rule.name in bases)
    assert own == 0, f"engine yields {own} matches of correlation base rules; Sigma's default is generate: false"
