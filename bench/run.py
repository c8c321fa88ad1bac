"""The benchmark: ingest and detection throughput on synthetic CloudTrail, against DuckDB's bare scan.

    .venv/bin/python bench/run.py                 # 1 M events (≈1.6 GB JSON lines)
    .venv/bin/python bench/run.py --n 20000       # quick run
    .venv/bin/python bench/run.py --keep          # reuse/keep bench/out/cloudtrail-<n>-s<seed>.jsonl

Every stage runs in its own Python process so its peak RSS (ru_maxrss, which DuckDB's memory is
part of) and its timings are its own, and so a stage whose code is missing or broken is reported
("not available: …" / "failed: …") without stopping the others. A stage times only its work;
interpreter start-up and imports are reported apart as `process_s`.

Stages:
  scan_count      DuckDB bare scan: count(*) over read_json(file, newline_delimited)   (reference)
  scan_columns    DuckDB reading only eventName/eventSource, with a group-by            (reference)
  ingest          lanner.lake.ingest([file], fresh lake)
  detect_lake     every SigmaHQ AWS rule + the bundled rules over the lake, matches counted
  detect_lake_ocsf  the same, also writing every match as OCSF JSON lines (output cost)
  detect_json     lanner.service.detect_paths([file]) straight from the JSON file
  match_sql_lake  diagnostic: the engine's rule SQL over the lake, hits counted in DuckDB only

Results: a table on the terminal and bench/out/results.json (or --out-dir).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))  # gen_cloudtrail sits beside this file, not in the package

STAGES = ("scan_count", "scan_columns", "ingest", "detect_lake", "detect_lake_ocsf", "detect_json", "match_sql_lake")
NEEDS_LAKE = ("detect_lake", "detect_lake_ocsf", "match_sql_lake")


# --------------------------------------------------------------------------------------------
# Child side: one stage, one process, one JSON object on stdout


class Unavailable(Exception):
    """The code a stage needs is not there (yet): reported, not a failure of the benchmark."""


def _import(what: str) -> Any:
    import importlib

    module, _, attr = what.partition(":")
    try:
        mod = importlib.import_module(module)
        return getattr(mod, attr) if attr else mod
    except (ImportError, AttributeError) as exc:
        raise Unavailable(f"{what} ({type(exc).__name__}: {exc})") from None


def sigma_aws_rule_files() -> tuple[list[Path], str | None]:
    """SigmaHQ rule files whose logsource product is aws, or a reason they cannot be had."""
    import yaml

    paths = _import("lanner.paths")
    root = Path(paths.SHARED_DATASETS_DIR) / "sigmahq"
    if not root.is_dir():
        return [], f"SigmaHQ rules not found at {root}"
    out = []
    for f in sorted(root.rglob("*.yml")):
        try:
            docs = list(yaml.safe_load_all(f.read_text(encoding="utf-8")))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue  # the rule loader reports unreadable rules; here we only select by product
        if any(isinstance(d, dict) and (d.get("logsource") or {}).get("product") == "aws" for d in docs):
            out.append(f)
    return out, None


def _load_ruleset() -> tuple[Any, dict[str, Any]]:
    load_rules = _import("lanner.detect.sigma:load_rules")
    paths = _import("lanner.paths")
    files, reason = sigma_aws_rule_files()
    sources: list[Path] = list(files)
    bundled = Path(paths.BUNDLED_RULES_DIR)
    if bundled.is_dir():
        sources.append(bundled)
    if not sources:
        raise Unavailable(reason or "no rules")
    t0 = time.perf_counter()
    rs = load_rules(sources)
    secs = time.perf_counter() - t0
    info = {
        "sigmahq_aws_files": len(files),
        "sigmahq_note": reason,
        "bundled_dir": str(bundled) if bundled.is_dir() else None,
        "rules_compiled": len(rs.rules),
        "correlations": len(rs.correlations),
        "rule_errors": len(rs.errors),
        "rules_unsupported": len(rs.unsupported),
        "rules_load_s": round(secs, 3),
    }
    return rs, info


def _consume(matches: Any, sink: Callable[[Any], None] | None = None) -> dict[str, Any]:
    per_rule: Counter[str] = Counter()
    n = 0
    for m in matches:
        n += 1
        per_rule[m.rule.title] += 1
        if sink is not None:
            sink(m)
    return {"matches": n, "rules_firing": len(per_rule), "top_rules": per_rule.most_common(8)}


def stage_scan_count(file: Path, lake: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    count = _one(con, "SELECT count(*) FROM read_json(?, format='newline_delimited')", [str(file)])
    return {"seconds": time.perf_counter() - t0, "events": count}


def stage_scan_columns(file: Path, lake: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    rows = con.execute(
        "SELECT eventSource, eventName, count(*) FROM read_json(?, format='newline_delimited', "
        "columns={eventName: 'VARCHAR', eventSource: 'VARCHAR'}) GROUP BY ALL",
        [str(file)],
    ).fetchall()
    return {"seconds": time.perf_counter() - t0, "events": sum(r[2] for r in rows), "groups": len(rows)}


def _one(con: Any, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None


def _dir_bytes(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


def stage_ingest(file: Path, lake: Path) -> dict[str, Any]:
    ingest = _import("lanner.lake:ingest")
    if lake.exists():
        shutil.rmtree(lake)
    t0 = time.perf_counter()
    summary = ingest([file], lake)
    secs = time.perf_counter() - t0
    s = summary.to_dict() if hasattr(summary, "to_dict") else vars(summary)
    return {
        "seconds": secs,
        "events": s.get("events_written"),
        "quarantined": s.get("quarantined"),
        "duplicates_skipped": s.get("duplicates_skipped"),
        "lake_bytes": _dir_bytes(lake),
    }


def _lake_detect(file: Path, lake: Path, ocsf: bool) -> dict[str, Any]:
    open_lake = _import("lanner.lake:open_lake")
    detect = _import("lanner.detect.engine:detect")
    sink = None
    out_path = lake.parent / "findings.ocsf.jsonl"
    if ocsf:
        finding_json = _import("lanner.detect.findings:finding_json")
    if not lake.is_dir():
        raise Unavailable(f"no lake at {lake} (the ingest stage did not run or failed)")
    rs, info = _load_ruleset()
    con = open_lake(lake)
    with out_path.open("wb") as out:
        if ocsf:
            write = out.write

            def sink(m: Any) -> None:
                write(finding_json(m, newline=True))

        t0 = time.perf_counter()
        res = _consume(detect(con, "events", rs), sink)
        secs = time.perf_counter() - t0
    res.update(info, seconds=secs)
    events = _one(con, "SELECT count(*) FROM events")
    res["events"] = events
    if ocsf:
        res["output_bytes"] = out_path.stat().st_size
    out_path.unlink(missing_ok=True)
    return res


def stage_detect_lake(file: Path, lake: Path) -> dict[str, Any]:
    return _lake_detect(file, lake, ocsf=False)


def stage_detect_lake_ocsf(file: Path, lake: Path) -> dict[str, Any]:
    return _lake_detect(file, lake, ocsf=True)


def stage_match_sql_lake(file: Path, lake: Path) -> dict[str, Any]:
    """Diagnostic: the engine's rule SQL over the lake, hits counted inside DuckDB (no Python rows).

    Set against detect_lake it splits matching cost from turning hits into Python `Match`es.
    """
    open_lake = _import("lanner.lake:open_lake")
    group_query = _import("lanner.detect.engine:group_query")
    if not lake.is_dir():
        raise Unavailable(f"no lake at {lake} (the ingest stage did not run or failed)")
    rs, info = _load_ruleset()
    con = open_lake(lake)
    ordered = sorted(rs.rules, key=lambda r: r.sources)
    groups: dict[tuple[str, ...], list[Any]] = {}
    for r in ordered:
        groups.setdefault(r.sources, []).append(r)
    t0 = time.perf_counter()
    hits = 0
    for rules in groups.values():
        q = group_query("events", rules)
        # The engine's query shape is its own business: one row per event with a `__hits` list,
        # or one row per (event, rule). Count matches either way.
        cols = [d[0] for d in con.execute(f"DESCRIBE {q}").fetchall()]
        agg = "coalesce(sum(len(__hits)), 0)" if "__hits" in cols else "count(*)"
        hits += int(_one(con, f"SELECT {agg} FROM ({q})"))
    secs = time.perf_counter() - t0
    events = _one(con, "SELECT count(*) FROM events")
    return {**info, "seconds": secs, "matches": hits, "events": events, "note": "correlations not included"}


def stage_detect_json(file: Path, lake: Path) -> dict[str, Any]:
    import inspect

    detect_paths = _import("lanner.service:detect_paths")
    rs, info = _load_ruleset()
    params = inspect.signature(detect_paths).parameters
    t0 = time.perf_counter()
    if "ruleset" in params and "stats" in params:
        # The ruleset is compiled once above and timed apart (rules_load_s), like the lake stages.
        stats = _import("lanner.service:InputStats")()
        res = _consume(detect_paths([file], ruleset=rs, stats=stats))
        res["events"] = stats.events
        res["quarantined"] = stats.quarantined
    else:
        rules = sigma_aws_rule_files()[0]
        res = _consume(detect_paths([file], rule_dirs=rules, include_bundled=True))
        res["events"] = None
    res.update(info, seconds=time.perf_counter() - t0)
    return res


STAGE_FUNCS: dict[str, Callable[[Path, Path], dict[str, Any]]] = {
    "scan_count": stage_scan_count,
    "scan_columns": stage_scan_columns,
    "ingest": stage_ingest,
    "detect_lake": stage_detect_lake,
    "detect_lake_ocsf": stage_detect_lake_ocsf,
    "detect_json": stage_detect_json,
    "match_sql_lake": stage_match_sql_lake,
}


def run_child(stage: str, file: Path, lake: Path) -> int:
    try:
        res: dict[str, Any] = {"status": "ok", **STAGE_FUNCS[stage](file, lake)}
    except Unavailable as exc:
        res = {"status": "not available", "reason": str(exc)}
    except ImportError as exc:  # a lazy import inside the code under test: a piece not written yet
        res = {"status": "not available", "reason": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:  # report any failure of the code under test as a result, not a crash
        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "?"
        res = {"status": "failed", "reason": f"{type(exc).__name__}: {exc} (at {where})"}
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print("@@RESULT " + json.dumps(res, default=str))
    return 0


# --------------------------------------------------------------------------------------------
# Parent side


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),  # other work on the box skews figures
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_total_gb"] = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        import duckdb

        info["duckdb"] = duckdb.__version__
    except ImportError:
        pass
    return info


def run_stage(stage: str, file: Path, lake: Path, timeout: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--stage", stage, "--file", str(file), "--lake", str(lake)],
            capture_output=True, text=True, timeout=timeout, cwd=REPO_DIR,
        )
    except subprocess.TimeoutExpired:
        return {"stage": stage, "status": "failed", "reason": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@RESULT ")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"stage": stage, "status": "failed", "reason": f"exit {proc.returncode}: {tail}", "process_s": round(wall, 2)}
    res = json.loads(lines[-1][len("@@RESULT "):])
    res["stage"] = stage
    res["process_s"] = round(wall, 2)
    return res


def derive(res: dict[str, Any], n: int, file_bytes: int) -> None:
    """Throughput figures, relative to the JSON input (the same yardstick for every stage)."""
    secs = res.get("seconds")
    if res.get("status") == "ok" and secs:
        res["seconds"] = round(secs, 3)
        res["events_per_s"] = round(n / secs)
        res["json_mb_per_s"] = round(file_bytes / 1e6 / secs, 1)


def ratios(by: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def secs(stage: str) -> float | None:
        r = by.get(stage, {})
        return r.get("seconds") if r.get("status") == "ok" else None

    out: dict[str, Any] = {}
    scan, dj, dl, dlo = secs("scan_count"), secs("detect_json"), secs("detect_lake"), secs("detect_lake_ocsf")
    if scan and dj:
        out["detect_json_over_scan"] = round(dj / scan, 2)
        out["detect_json_over_scan_target"] = 2.0
    if dl:
        out["detect_lake_events_per_s"] = by["detect_lake"]["events_per_s"]
        out["detect_lake_events_per_s_target"] = 1_000_000
    if dl and dlo:
        out["ocsf_output_s"] = round(dlo - dl, 3)
    return out


def print_table(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=max(Console().width, 130))  # piped output would otherwise wrap at 80
    t = Table(title=f"Lanner benchmark: {results['n']:,} CloudTrail events, {results['file_bytes'] / 1e6:,.0f} MB JSON lines")
    for col, just in (("stage", "left"), ("wall s", "right"), ("events/s", "right"), ("JSON MB/s", "right"),
                      ("peak RSS MB", "right"), ("notes", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in results["stages"]:
        if r.get("status") != "ok":
            t.add_row(r["stage"], "", "", "", "", f"[yellow]{r['status']}[/] (below)")
            continue
        notes = []
        if "matches" in r:
            notes.append(f"{r['matches']:,} matches from {r.get('rules_firing', '?')} rules; "
                         f"{r.get('rules_compiled')} rules compiled ({r.get('rules_load_s')} s)")
        if "output_bytes" in r:
            notes.append(f"{r['output_bytes'] / 1e6:,.0f} MB OCSF")
        if "lake_bytes" in r:
            notes.append(f"lake {r['lake_bytes'] / 1e6:,.0f} MB, quarantined {r.get('quarantined')}")
        if r.get("events") not in (None, results["n"]):
            notes.append(f"[red]saw {r['events']:,} events[/]")
        t.add_row(r["stage"], f"{r['seconds']:.2f}", f"{r['events_per_s']:,}", f"{r['json_mb_per_s']:,.0f}",
                  f"{r['peak_rss_mb']:,.0f}", "; ".join(notes))
    con.print(t)
    for r in results["stages"]:
        if r.get("status") != "ok":
            con.print(f"  [yellow]{r['stage']}: {r['status']}:[/] {r.get('reason')}", soft_wrap=True)
    for k, v in results["ratios"].items():
        con.print(f"  {k}: {v:,}" if isinstance(v, int) else f"  {k}: {v}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="events to generate (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="reuse the generated file if present, and keep it and the lake")
    ap.add_argument("--out-dir", type=Path, default=BENCH_DIR / "out")
    ap.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {', '.join(STAGES)}")
    ap.add_argument("--repeat", type=int, default=1, help="runs per stage, best kept (scans always run at least 3)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds allowed per stage")
    # Internal: run one stage in this process (the parent starts one child per stage).
    ap.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    ap.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.stage:
        return run_child(a.stage, a.file, a.lake)

    stages = [s.strip() for s in a.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        ap.error(f"unknown stage(s): {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    if a.n < 1:
        ap.error("--n must be at least 1")
    if a.repeat < 1:
        ap.error("--repeat must be at least 1")

    from gen_cloudtrail import generate

    out_dir: Path = a.out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    data = out_dir / f"cloudtrail-{a.n}-s{a.seed}.jsonl"
    lake = out_dir / f"lake-{a.n}-s{a.seed}"
    gen: dict[str, Any]
    if a.keep and data.is_file():
        gen = {"reused": True, "seconds": None}
    else:
        info = generate(data, a.n, a.seed)
        gen = {"reused": False, "seconds": round(info.seconds, 2), "workers": info.workers, "principals": info.principals}
        print(f"generated {a.n:,} events ({info.bytes / 1e6:,.0f} MB) in {info.seconds:.1f} s", file=sys.stderr)
    file_bytes = data.stat().st_size

    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "n": a.n,
        "seed": a.seed,
        "file_bytes": file_bytes,
        "avg_record_bytes": round(file_bytes / a.n),
        "generate": gen,
        "stages": [],
    }
    by: dict[str, dict[str, Any]] = {}
    try:
        for stage in stages:
            print(f"running {stage} …", file=sys.stderr)
            if stage in NEEDS_LAKE and by.get("ingest", {}).get("status", "ok") != "ok":
                res = {"stage": stage, "status": "not available", "reason": "ingest stage did not succeed"}
            else:
                # Best of several runs: the machine may be shared, and the scans are the yardstick.
                runs = [run_stage(stage, data, lake, a.timeout)
                        for _ in range(max(a.repeat, 3) if stage.startswith("scan_") else a.repeat)]
                ok = [r for r in runs if r.get("status") == "ok"]
                res = min(ok, key=lambda r: r["seconds"]) if ok else runs[-1]
                if len(runs) > 1:
                    res["runs_s"] = [round(r["seconds"], 3) for r in ok]
            derive(res, a.n, file_bytes)
            by[stage] = res
            results["stages"].append(res)
    finally:
        if not a.keep:
            data.unlink(missing_ok=True)
            shutil.rmtree(lake, ignore_errors=True)
    results["ratios"] = ratios(by)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_table(results)
    print(f"results: {out_dir / 'results.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
