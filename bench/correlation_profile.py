"""Time each bundled Sigma correlation over a lake, optionally against another renderer.

    .venv/bin/python bench/correlation_profile.py LAKE                       # time each correlation
    .venv/bin/python bench/correlation_profile.py LAKE --compare OLD.py      # alternate old/new, same results?
    .venv/bin/python bench/correlation_profile.py LAKE --ctes                # cumulative time per CTE
    .venv/bin/python bench/correlation_profile.py LAKE --explain             # EXPLAIN ANALYZE per query

`--compare` takes a copy of an earlier `src/lanner/detect/correlation_sql.py` (any file defining
`render(plan)` over the same `Plan`): the bundled correlations are compiled once with it and once
with the current module, then run alternately (`--repeat` rounds, best kept) so machine load hits
both alike, and their result rows must be identical. Rules: the bundled pack
(`lanner.paths.BUNDLED_RULES_DIR`); `--rules DIR` adds more.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

import lanner.detect.correlation as correlation
from lanner.detect.model import CompiledCorrelation
from lanner.detect.sigma import load_rules
from lanner.lake import open_lake
from lanner.paths import BUNDLED_RULES_DIR


def _correlations(
    rule_dirs: list[Path], render: Callable[[Any], str] | None = None
) -> list[CompiledCorrelation]:
    """Compile the correlations, with `render` swapped in for the module's own when given."""
    own = correlation.render
    if render is not None:
        correlation.render = render  # type: ignore[assignment]  # bench-only swap, restored below
    try:
        rs = load_rules(rule_dirs)
    finally:
        correlation.render = own
    for err in rs.errors:
        print(f"rule error: {err}", file=sys.stderr)
    return list(rs.correlations)


def _load_render(path: Path) -> Callable[[Any], str]:
    spec = importlib.util.spec_from_file_location("_old_correlation_sql", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    render: Callable[[Any], str] = module.render
    return render


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, list[tuple[Any, ...]]]:
    t0 = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return time.perf_counter() - t0, rows


def _cte_times(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Cumulative time to materialize each CTE (count of its rows): where the query spends."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    with_ = tree.args.get("with_") or tree.args.get("with")
    if not isinstance(with_, exp.With):
        print("    (no CTEs)")
        return
    ctes = list(with_.expressions)
    for i, cte in enumerate(ctes):
        head = ",\n".join(c.sql(dialect="duckdb") for c in ctes[: i + 1])
        secs, rows = _run(con, f"WITH {head}\nSELECT count(*) FROM {cte.alias}")
        print(f"    {cte.alias:6s} {secs:7.2f} s  {rows[0][0]:>10,} rows")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lake", type=Path)
    ap.add_argument("--rules", type=Path, action="append", default=[], help="extra rule folder(s)")
    ap.add_argument("--compare", type=Path, help="an earlier correlation_sql.py to time against")
    ap.add_argument("--repeat", type=int, default=1, help="rounds per query (best kept)")
    ap.add_argument("--ctes", action="store_true", help="cumulative time per CTE")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each query")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: DuckDB's own)")
    args = ap.parse_args()

    dirs = [BUNDLED_RULES_DIR, *args.rules]
    new = _correlations(dirs)
    old = _correlations(dirs, _load_render(args.compare)) if args.compare else None
    con = open_lake(args.lake)
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    ((events,),) = con.execute("SELECT count(*) FROM events").fetchall()
    print(
        f"{events:,} events; {len(new)} correlations; threads="
        f"{con.execute('SELECT current_setting(?)', ['threads']).fetchall()[0][0]}"
    )

    header = f"{'correlation':45s} {'new s':>7s} {'hits':>5s}"
    if old is not None:
        header += f" {'old s':>7s} {'speedup':>8s}  same"
    print(header)
    total_new = total_old = 0.0
    differ = 0
    for k, corr in enumerate(new):
        sql = corr.sql.format(relation="events")
        old_sql = old[k].sql.format(relation="events") if old is not None else None
        best_new = best_old = float("inf")
        rows: list[tuple[Any, ...]] = []
        old_rows: list[tuple[Any, ...]] = []
        for _ in range(max(1, args.repeat)):
            if old_sql is not None:  # alternate, old first, so neither always runs on a warm cache
                secs, old_rows = _run(con, old_sql)
                best_old = min(best_old, secs)
            secs, rows = _run(con, sql)
            best_new = min(best_new, secs)
        total_new += best_new
        line = f"{corr.meta.name or corr.meta.title:45s} {best_new:7.2f} {len(rows):5d}"
        if old_sql is not None:
            total_old += best_old
            same = rows == old_rows
            differ += not same
            line += f" {best_old:7.2f} {best_old / best_new:7.1f}x  {'yes' if same else 'NO'}"
        print(line, flush=True)
        if args.ctes:
            _cte_times(con, sql)
        if args.explain:
            print(con.execute("EXPLAIN ANALYZE " + sql).fetchall()[0][1])
    line = f"{'total':45s} {total_new:7.2f}"
    if old is not None:
        line += f" {'':5s} {total_old:7.2f} {total_old / total_new:7.1f}x"
    print(line)
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
