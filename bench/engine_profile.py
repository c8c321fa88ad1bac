"""Profile the detection engine over a lake: where does detection time go?

    .venv/bin/python bench/engine_profile.py LAKE                 # grouped scan + detect
    .venv/bin/python bench/engine_profile.py LAKE --per-rule      # also the per-rule reference
    .venv/bin/python bench/engine_profile.py LAKE --explain       # EXPLAIN ANALYZE of each scan

Rules: every SigmaHQ AWS rule (shared dataset) plus the bundled rules, as bench/run.py loads
them. Stages, each timed on its own:

  per_rule_count   one query per rule, matches counted inside DuckDB (the previous engine's SQL)
  grouped_count    one scan per source group, matches counted inside DuckDB (no rows out)
  match_batches    matching rows materialized as Arrow batches (EVENT_COLUMNS), split per rule
  detect           the same, turned into `Match` objects (rows as Python dicts)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from lanner.detect.engine import detect, group_query, match_batches, rule_groups, rule_query  # noqa: E402
from lanner.lake import open_lake  # noqa: E402
from run import _load_ruleset  # noqa: E402  (bench/ is not a package)


def _timed(label: str, fn: Any, events: int) -> Any:
    t0 = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t0
    print(f"{label:16s} {secs:7.2f} s  {events / secs:12,.0f} events/s  -> {out}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lake", type=Path)
    ap.add_argument("--per-rule", action="store_true", help="also time the per-rule reference queries (slow)")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each group scan")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: DuckDB's own)")
    args = ap.parse_args()

    rs, info = _load_ruleset()
    con = open_lake(args.lake)
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    ((events,),) = con.execute("SELECT count(*) FROM events").fetchall()
    groups = rule_groups(rs.rules)
    print(f"{events:,} events; {info['rules_compiled']} rules in {len(groups)} source groups; "
          f"threads={con.execute('SELECT current_setting(?)', ['threads']).fetchall()[0][0]}")

    if args.per_rule:
        def per_rule() -> int:
            return sum(con.execute(f"SELECT count(*) FROM ({rule_query('events', r)})").fetchall()[0][0] for r in rs.rules)
        _timed("per_rule_count", per_rule, events)

    def grouped() -> int:
        return sum(
            con.execute(f"SELECT count(*) FROM ({group_query('events', g)})").fetchall()[0][0]
            for g in groups
        )
    _timed("grouped_count", grouped, events)

    def batches() -> int:
        n = 0
        for _rule, batch in match_batches(con, "events", rs):
            n += batch.num_rows
        return n
    _timed("match_batches", batches, events)

    def objects() -> str:
        per_rule: Counter[str] = Counter(m.rule.title for m in detect(con, "events", rs))
        return f"{sum(per_rule.values())} matches, top {per_rule.most_common(3)}"
    _timed("detect", objects, events)

    if args.explain:
        for g in groups:
            plan = con.execute(f"EXPLAIN ANALYZE SELECT count(*) FROM ({group_query('events', g)})").fetchall()
            print(plan[0][1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
