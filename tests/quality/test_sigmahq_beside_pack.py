"""SigmaHQ's community rules run beside the bundled pack: one command, both rule sets, no clash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lanner.demo import generate
from lanner.detect.sigma import load_rules
from lanner.paths import BUNDLED_RULES_DIR, SHARED_DATASETS_DIR

SIGMAHQ = SHARED_DATASETS_DIR / "sigmahq"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SIGMAHQ.is_dir(), reason=f"shared SigmaHQ dataset absent at {SIGMAHQ}"),
]


def test_pack_and_sigmahq_load_together_without_id_or_name_clashes() -> None:
    both = load_rules([BUNDLED_RULES_DIR, SIGMAHQ])
    pack = load_rules([BUNDLED_RULES_DIR])
    sigmahq = load_rules([SIGMAHQ])
    assert both.errors == []
    # Nothing is lost or merged when the two are loaded side by side.
    assert len(both.rules) == len(pack.rules) + len(sigmahq.rules)
    assert len(both.correlations) == len(pack.correlations) + len(sigmahq.correlations)
    ids = [r.meta.id for r in both.rules + both.correlation_only] + [c.meta.id for c in both.correlations]
    assert len(ids) == len(set(ids))


def test_detect_cli_runs_sigmahq_beside_the_bundled_pack(tmp_path: Path) -> None:
    scenario = generate(tmp_path / "logs")
    proc = subprocess.run(
        [sys.executable, "-m", "lanner.cli.app", "detect", "--rules", str(SIGMAHQ), "--output", "jsonl", "--quiet",
         str(scenario.out_dir)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    findings = [json.loads(line) for line in proc.stdout.splitlines()]
    titles = {f["finding_info"]["title"] for f in findings}
    pack_titles = {r.meta.title for r in load_rules([BUNDLED_RULES_DIR]).rules} | {
        c.meta.title for c in load_rules([BUNDLED_RULES_DIR]).correlations
    }
    # The attack is still caught by the pack, and SigmaHQ rules contribute findings of their own.
    assert titles & pack_titles
    assert titles - pack_titles
