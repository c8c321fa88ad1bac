"""The whole rule pack stays quiet on benign synthetic CloudTrail (the benchmark's generator).

The budget in docs/detections.md is at most 1 finding per 100,000 benign events; the demo's
benign background is checked by tests/demo/test_end_to_end.py, the benchmark's 1 M events by
`tools/eval_noise.py --lake` (recorded in docs/detections.md).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from lanner.detect.engine import detect
from lanner.service import load_files, load_ruleset

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import gen_cloudtrail  # noqa: E402  (bench/ is scripts, not a package)

N = 30_000


@pytest.mark.slow
def test_pack_raises_nothing_on_benign_synthetic_cloudtrail(tmp_path: Path) -> None:
    # A seed the benchmark does not use, so the pack is not tuned to one sample.
    path = tmp_path / "benign.jsonl"
    gen_cloudtrail.generate(path, n=N, seed=11, workers=1)
    con = duckdb.connect()
    load_files(con, [path])
    assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == N
    per_rule = Counter(m.rule.name for m in detect(con, "events", load_ruleset()))
    assert per_rule == Counter()
