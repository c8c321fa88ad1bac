"""`lanner demo`: the whole pipeline on the bundled scenario, printed for a person."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from lanner.cli import render
from lanner.errors import LannerError


def stage_coverage(scenario: Any, findings: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """For each attack stage of the ground truth, the rules whose findings cite its events.

    Scored on the evidence records' native keys (`event_key`), not the lake uid, because
    Tetragon has no event id and the normalizer derives one of its own.
    """
    from lanner.demo.scenario import event_key

    cited = [
        (f["finding_info"]["title"], {event_key(e["data"]) for e in f.get("evidences", []) if "data" in e})
        for f in findings
    ]
    rows = []
    for stage in scenario.stages:
        uids = set(stage.uids)
        rows.append((stage.name, stage.tactic, sorted({title for title, keys in cited if uids & keys})))
    return rows


def run_demo(*, workdir: Path | None, seed: int, fmt: str, out: Console, err: Console) -> None:
    from lanner import service
    from lanner.demo.scenario import generate
    from lanner.detect.findings import to_finding
    from lanner.lake import ingest

    cleanup = workdir is None
    root = Path(tempfile.mkdtemp(prefix="lanner-demo-")) if workdir is None else workdir
    logs, lake = root / "logs", root / "lake"
    if lake.exists():
        shutil.rmtree(lake)  # the demo always starts from an empty lake
    try:
        t0 = time.perf_counter()
        scenario = generate(logs, seed=seed)
        t1 = time.perf_counter()
        summary = ingest([logs], lake)
        t2 = time.perf_counter()
        ruleset = service.load_ruleset()
        findings = [to_finding(m) for m in service.detect_lake(lake, ruleset=ruleset)]
        findings = list(render.by_time(findings))
        t3 = time.perf_counter()
        if fmt != "table":
            render.write_stream(findings, fmt, sys.stdout.buffer)
            return
        per_source = ", ".join(f"{s} {n:,}" for s, n in sorted(summary.per_source.items()))
        out.print(f"[bold]Lanner demo[/] — one day of multi-cloud activity (seed {seed})")
        out.print(f"Generated {sum(scenario.counts.values()):,} events in {t1 - t0:.1f}s; ingested {summary.events_written:,} "
                  f"({per_source}) in {t2 - t1:.1f}s; {summary.quarantined} quarantined.")
        out.print(f"Ran {len(ruleset.rules) + len(ruleset.correlations)} rules in {t3 - t2:.1f}s: "
                  f"{len(findings)} findings.\n")
        table = Table(title="Findings in time order", show_lines=False)
        table.add_column("time (UTC)", no_wrap=True)
        table.add_column("sev", no_wrap=True)
        table.add_column("ATT&CK tactic")
        table.add_column("finding")
        for f in findings:
            table.add_row(
                render.fmt_time(f.get("time")),
                f"[{render.SEVERITY_STYLE.get(f.get('severity_id', 0), '')}]{f.get('severity', '')}[/]",
                render.tactics_of(f),
                f"[bold]{f['finding_info']['title']}[/]\n{f.get('message', '')}",
            )
        out.print(table)
        cov = Table(title="Attack stages (ground truth) and what caught them")
        cov.add_column("stage")
        cov.add_column("tactic")
        cov.add_column("detected by")
        coverage = stage_coverage(scenario, findings)
        for name, tactic, rules in coverage:
            cov.add_row(name, tactic, "\n".join(rules) if rules else "[bold red]MISSED[/]")
        out.print(cov)
        if not cleanup:
            out.print(f"Logs in {logs}; lake in {lake} (try: lanner detect --lake {lake} -o jsonl)")
        missed = [name for name, _, rules in coverage if not rules]
        if missed:
            # The demo doubles as a self-check of the whole pipeline (CI runs it).
            raise LannerError(f"demo self-check failed: no finding for attack stage(s) {', '.join(missed)}")
    finally:
        if cleanup:
            shutil.rmtree(root, ignore_errors=True)
