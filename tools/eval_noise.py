"""Findings the rule pack raises on benign data: the demo's background and synthetic CloudTrail.

    python tools/eval_noise.py                 # demo background + 100k synthetic CloudTrail
    python tools/eval_noise.py --lake bench/out/lake-1000000-s1   # plus the benchmark's lake
    python tools/eval_noise.py --rules content/rules/linux --no-bundled

The budget (docs/detections.md) is at most 1 finding per 100,000 benign events. Prints the
findings per rule for each corpus; exits 1 when over budget.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from lanner.demo import event_key, generate  # noqa: E402
from lanner.detect.engine import detect  # noqa: E402
from lanner.detect.sigma.loader import RuleSet  # noqa: E402
from lanner.service import load_files, load_ruleset  # noqa: E402

BUDGET_PER_100K = 1.0


def _count(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, skip_keys: frozenset[str] = frozenset()) -> tuple[int, collections.Counter[str]]:
    n = con.execute("SELECT count(*) FROM events").fetchall()[0][0]  # fetchone would leave the result open
    per_rule: collections.Counter[str] = collections.Counter()
    for m in detect(con, "events", ruleset):
        if skip_keys and any(event_key(e["raw"]) in skip_keys for e in m.events):
            continue  # a finding on the woven-in attack, not noise
        per_rule[m.rule.name or m.rule.id] += 1
    return n, per_rule


def demo_background(ruleset: RuleSet) -> tuple[int, collections.Counter[str]]:
    with tempfile.TemporaryDirectory(prefix="lanner-noise-") as tmp:
        scenario = generate(Path(tmp) / "logs")
        con = duckdb.connect()
        load_files(con, [scenario.out_dir])
        n, per_rule = _count(con, ruleset, scenario.attack_uids())
    return n - len(scenario.attack_uids()), per_rule


def synthetic_cloudtrail(ruleset: RuleSet, n: int, cache: Path) -> tuple[int, collections.Counter[str]]:
    import gen_cloudtrail

    path = cache / f"benign-cloudtrail-{n}.jsonl"
    if not path.exists():
        gen_cloudtrail.generate(path, n=n)
    con = duckdb.connect()
    load_files(con, [path])
    return _count(con, ruleset)


def lake_corpus(ruleset: RuleSet, lake: Path) -> tuple[int, collections.Counter[str]]:
    from lanner.lake import open_lake

    return _count(open_lake(lake), ruleset)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", action="append", default=[], type=Path, help="extra rule folder (repeatable)")
    ap.add_argument("--no-bundled", action="store_true", help="only the --rules folders")
    ap.add_argument("--n", type=int, default=100_000, help="synthetic CloudTrail events (default 100,000)")
    ap.add_argument("--cache", type=Path, default=ROOT / "bench" / "out", help="where generated corpora are kept")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--lake", type=Path, help="also score an ingested lake of benign events (e.g. the benchmark's 1 M)")
    args = ap.parse_args(argv)
    ruleset = load_ruleset(args.rules, include_bundled=not args.no_bundled)
    print(f"{len(ruleset.rules)} rules, {len(ruleset.correlations)} correlations, {len(ruleset.errors)} rule errors")
    over = False
    corpora = [] if args.skip_demo else [("demo background", lambda: demo_background(ruleset))]
    corpora.append((f"synthetic CloudTrail ({args.n:,})", lambda: synthetic_cloudtrail(ruleset, args.n, args.cache)))
    if args.lake:
        corpora.append((f"lake {args.lake}", lambda: lake_corpus(ruleset, args.lake)))
    for name, run in corpora:
        t0 = time.perf_counter()
        n, per_rule = run()
        total = sum(per_rule.values())
        rate = total / n * 100_000 if n else 0.0
        over |= rate > BUDGET_PER_100K
        print(f"{name}: {n:,} benign events, {total} findings ({rate:.2f} per 100k) in {time.perf_counter() - t0:.1f}s")
        for rule, c in per_rule.most_common():
            print(f"    {c:>7}  {rule}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
