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
