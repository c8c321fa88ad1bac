"""Rendering findings and summaries: tables on a terminal, JSON when piped. No business logic."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from rich.console import Console
from rich.table import Table

SEVERITY_STYLE = {1: "dim", 2: "cyan", 3: "yellow", 4: "bold red", 5: "bold white on red", 6: "bold white on red"}
OUTPUTS = ("table", "json", "jsonl", "ocsf")


def default_output(stream: IO[str] = sys.stdout) -> str:
    """AWS CLI habit: a table for people, machine-readable lines when piped."""
    return "table" if stream.isatty() else "jsonl"


def fmt_time(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def tactics_of(finding: dict[str, Any]) -> str:
    names: list[str] = []
    for attack in finding.get("finding_info", {}).get("attacks", []):
        name = (attack.get("tactic") or {}).get("name")
        if name and name not in names:
            names.append(name)
    return ", ".join(names)


def techniques_of(finding: dict[str, Any]) -> str:
    ids: list[str] = []
    for attack in finding.get("finding_info", {}).get("attacks", []):
        tid = (attack.get("sub_technique") or attack.get("technique") or {}).get("uid")
        if tid and tid not in ids:
            ids.append(tid)
    return ", ".join(ids)


def write_stream(items: Iterable[dict[str, Any]], fmt: str, out: IO[bytes]) -> int:
    """Stream objects as JSON lines or one JSON array without holding them in memory."""
    return write_json_stream((orjson.dumps(item) for item in items), fmt, out)


def write_json_stream(documents: Iterable[bytes], fmt: str, out: IO[bytes]) -> int:
    """Stream already-serialized JSON documents (one line each) as JSON lines or one array."""
    n = 0
    if fmt == "json":
        out.write(b"[")
    for data in documents:
        if fmt == "json":
            out.write(b",\n" if n else b"\n")
            out.write(data)
        else:
            out.write(data + b"\n")
        n += 1
    if fmt == "json":
        out.write(b"\n]\n" if n else b"]\n")
    out.flush()
    return n


def findings_table(findings: list[dict[str, Any]], *, limit: int, title: str = "Findings") -> Table:
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("tactic")
    table.add_column("rule")
    table.add_column("what happened")
    for f in findings[:limit]:
        sev = f.get("severity_id", 0)
        table.add_row(
            fmt_time(f.get("time")),
            f"[{SEVERITY_STYLE.get(sev, '')}]{f.get('severity', '')}[/]",
            tactics_of(f),
            f["finding_info"]["title"],
            f.get("message", ""),
        )
    return table


def by_time(findings: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return iter(sorted(findings, key=lambda f: (f.get("time") or 0, f["finding_info"]["uid"])))


def print_table(console: Console, findings: list[dict[str, Any]], *, limit: int) -> None:
    findings = list(by_time(findings))
    if not findings:
        console.print("[green]No findings.[/]")
        return
    console.print(findings_table(findings, limit=limit))
    if len(findings) > limit:
        console.print(f"… {len(findings) - limit} more findings; use --limit or --output jsonl to see all.")


# Rich styles for the coverage heatmap, by rule count (1, 2-3, 4-6, 7+), as in pack.coverage.shade.
_HEAT = ((7, "bold white on dark_green"), (4, "black on green3"), (2, "black on pale_green3"), (1, "black on honeydew2"))


def heat(count: int) -> str:
    for low, style in _HEAT:
        if count >= low:
            return style
    return "dim"


# Two short lines per tactic so fifteen kill-chain columns fit a 160-column terminal.
_TACTIC_LABEL = {
    "reconnaissance": "Recon",
    "resource-development": "Resource\nDevelop.",
    "initial-access": "Initial\nAccess",
    "execution": "Execution",
    "persistence": "Persist.",
    "privilege-escalation": "Privilege\nEscal.",
    "stealth": "Stealth",
    "defense-impairment": "Defense\nImpair.",
    "credential-access": "Cred.\nAccess",
    "discovery": "Discovery",
    "lateral-movement": "Lateral\nMovement",
    "collection": "Collect.",
    "command-and-control": "Command &\nControl",
    "exfiltration": "Exfiltr.",
    "impact": "Impact",
}


def coverage_view(cov: Any) -> list[Any]:
    """Terminal rendering of `lanner.detect.pack.coverage.Coverage`: heatmap, platform grid, totals."""
    from rich import box
    from rich.text import Text

    tactics = cov.tactics
    columns = [cov.covered(t.short_name) for t in tactics]
    matrix = Table(
        title=f"ATT&CK v{cov.attack_version}: techniques covered, with rule counts",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        pad_edge=False,
    )
    for t, ids in zip(tactics, columns, strict=True):
        label = _TACTIC_LABEL.get(t.short_name, t.name)
        matrix.add_column(f"{label}\n{len(ids)}/{len(cov.matrix.get(t.short_name, []))}", no_wrap=True, min_width=8)
    for i in range(max((len(c) for c in columns), default=0)):
        row: list[Any] = []
        for t, ids in zip(tactics, columns, strict=True):
            if i < len(ids):
                n = cov.count(t.short_name, ids[i])
                row.append(Text(f"{ids[i]} {n}".ljust(8), style=heat(n)))
            else:
                row.append("")
        matrix.add_row(*row)

    grid = Table(title="Rules by tactic and ATT&CK platform", box=box.SIMPLE_HEAD)
    grid.add_column("tactic", no_wrap=True)
    platforms = cov.platforms
    for p in platforms:
        grid.add_column(p, justify="right")
    for t in tactics:
        cells = [Text(str(n) if (n := cov.platform_tactic(p, t.short_name)) else "", style=heat(n)) for p in platforms]
        grid.add_row(t.name, *cells)
    grid.add_row(Text("all rules", style="bold"), *(Text(str(cov.platform_rules(p)), style="bold") for p in platforms))

    covered, total = len(cov.covered_techniques), len(cov.techniques_in_covered_tactics)
    totals = Text(
        f"{len(cov.rules)} rules; {covered} techniques covered of {total} in the "
        f"{len(cov.covered_tactics)} tactics covered (ATT&CK v{cov.attack_version})"
    )
    untagged = cov.untagged()
    views: list[Any] = [matrix, grid, totals]
    if untagged:
        views.append(Text(f"{len(untagged)} rules with no ATT&CK technique: {', '.join(untagged)}", style="yellow"))
    return views
