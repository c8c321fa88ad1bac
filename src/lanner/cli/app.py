"""Entry point: `lanner ingest|detect|rules|demo`.

Errors are one readable line on stderr and a non-zero exit (1 runtime, 2 usage); findings
present exit 0 unless --fail-on-findings (then 3, as Prowler does) so CI can gate on it.
Set LANNER_DEBUG=1 to get the Python traceback of an unexpected failure.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from lanner.cli import render
from lanner.detect.model import CompiledRule, RuleMeta
from lanner.errors import LannerError

EXIT_ERROR = 1
EXIT_FINDINGS = 3

app = typer.Typer(
    name="lanner",
    help="Lanner: cloud detection and response. Cloud and runtime logs -> lake -> Sigma -> OCSF findings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="Rule content tooling.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

# Piped output (CI logs, `| less`) gets a readable fixed width instead of rich's 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", help="table | json | jsonl | ocsf (default: table on a terminal, jsonl when piped)"),
]
RulesOpt = Annotated[
    list[Path] | None, typer.Option("--rules", "-r", help="Extra Sigma rule folders or files (repeatable).")
]


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def check_output(fmt: str | None) -> str:
    fmt = fmt or render.default_output()
    if fmt not in render.OUTPUTS:
        raise fail(f"unknown --output {fmt!r}; use one of {', '.join(render.OUTPUTS)}", 2)
    return fmt


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Any]:
    """A byte progress bar on stderr, only on a terminal (clean output when piped)."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def report_rule_problems(ruleset: Any, *, verbose: bool) -> None:
    for problem in ruleset.errors:
        err.print(f"[yellow]rule error:[/] {problem}", highlight=False, soft_wrap=True)
    if verbose:
        for path, reason in ruleset.unsupported:
            err.print(f"[dim]skipped {path}: {reason}[/]", highlight=False, soft_wrap=True)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Log files or folders (plain or gzip; type auto-detected).")],
    lake: Annotated[Path, typer.Option("--lake", "-l", help="Lake directory (created if missing).")],
    output: OutputOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Normalize logs into the Parquet lake. Idempotent: re-ingesting adds nothing."""
    from lanner.lake import ingest as lake_ingest

    fmt = check_output(output)
    with progress_bar("ingesting", not quiet) as update:
        summary = lake_ingest(paths, lake, progress=update)
    data = summary_dict(summary)
    if fmt == "table":
        table = Table(title=f"Ingested into {lake}", show_header=False)
        for key in ("files", "bytes", "records_seen", "events_written", "duplicates_skipped", "quarantined"):
            table.add_row(key.replace("_", " "), f"{data.get(key, 0):,}")
        for source, count in sorted(data.get("per_source", {}).items()):
            table.add_row(f"  {source}", f"{count:,}")
        for reason, count in sorted(data.get("quarantine_reasons", {}).items()):
            table.add_row(f"  quarantined: {reason}", f"{count:,}")
        table.add_row("seconds", f"{data.get('seconds', 0):.2f}")
        out.print(table)
    else:
        render.write_stream([data], "jsonl" if fmt != "json" else "json", sys.stdout.buffer)


def summary_dict(summary: Any) -> dict[str, Any]:
    data: dict[str, Any] = summary.to_dict()
    return {k: (dict(v) if isinstance(v, Counter) else v) for k, v in data.items()}


@app.command()
def detect(
    paths: Annotated[list[Path] | None, typer.Argument(help="Log files or folders to detect on directly.")] = None,
    lake: Annotated[Path | None, typer.Option("--lake", "-l", help="Detect over an ingested lake instead.")] = None,
    rules: RulesOpt = None,
    no_bundled: Annotated[bool, typer.Option("--no-bundled", help="Do not load the bundled rule pack.")] = False,
    output: OutputOpt = None,
    limit: Annotated[int, typer.Option(help="Rows shown in table output.")] = 200,
    fail_on_findings: Annotated[
        bool, typer.Option("--fail-on-findings", help="Exit 3 when anything is found (for CI gates).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary on stderr.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List rules skipped as unsupported.")] = False,
) -> None:
    """Run the bundled rules (plus --rules) over log files, or over a lake with --lake."""
    fmt = check_output(output)
    if bool(paths) == bool(lake):
        raise fail("give log PATHs or --lake DIR (exactly one of them)", 2)
    from lanner import service
    from lanner.detect.findings import finding_json, to_finding

    ruleset = service.load_ruleset(rules or [], include_bundled=not no_bundled)
    report_rule_problems(ruleset, verbose=verbose)
    if not ruleset.rules and not ruleset.correlations:
        raise fail("no rules loaded: check --rules paths, or drop --no-bundled")
    stats = service.InputStats()
    with progress_bar("reading logs", not quiet) as update:
        if lake:
            matches = service.detect_lake(lake, ruleset=ruleset)
        else:
            matches = service.detect_paths(paths or [], ruleset=ruleset, stats=stats, progress=update)
        if fmt == "table":
            collected = [to_finding(m) for m in matches]
            count = len(collected)
        else:
            # Straight from match to JSON bytes: output volume, not matching, dominates big runs.
            count = render.write_json_stream((finding_json(m) for m in matches), fmt, sys.stdout.buffer)
    if fmt == "table":
        render.print_table(out, collected, limit=limit)
    if not quiet:
        where = f"lake {lake}" if lake else f"{stats.events:,} events from {stats.files} file(s)"
        quarantine = f", {stats.quarantined:,} records quarantined" if stats.quarantined else ""
        err.print(
            f"{count:,} findings; {len(ruleset.rules) + len(ruleset.correlations)} rules over {where}{quarantine}",
            highlight=False,
        )
        for reason, n in stats.reasons.most_common():
            err.print(f"  quarantined {n:,}: {reason}", highlight=False)
    if fail_on_findings and count:
        raise typer.Exit(EXIT_FINDINGS)


@rules_app.command("list")
def rules_list(
    rules: RulesOpt = None,
    no_bundled: Annotated[bool, typer.Option("--no-bundled")] = False,
    output: OutputOpt = None,
) -> None:
    """List the rules that load (bundled pack plus --rules)."""
    from lanner import service

    fmt = check_output(output)
    ruleset = service.load_ruleset(rules or [], include_bundled=not no_bundled)
    report_rule_problems(ruleset, verbose=False)
    entries: list[tuple[str, RuleMeta, tuple[CompiledRule, ...]]] = [
        *(("rule", r.meta, (r,)) for r in ruleset.rules),
        *(("correlation base", r.meta, (r,)) for r in ruleset.correlation_only),
        *(("correlation", c.meta, c.rules) for c in ruleset.correlations),
    ]
    rows: list[dict[str, Any]] = [
        {
            "id": meta.id,
            "name": meta.name,
            "title": meta.title,
            "level": meta.level,
            "status": meta.status,
            "version": meta.version,
            "kind": kind,
            "sources": sorted({s for b in bases for s in b.sources}),
            "tags": list(meta.tags),
            "path": meta.path,
        }
        for kind, meta, bases in entries
    ]
    if fmt == "table":
        table = Table(title=f"{len(rows)} rules")
        for col in ("name", "title", "level", "kind", "sources"):
            table.add_column(col)
        for row in rows:
            table.add_row(row["name"] or row["id"], row["title"], row["level"], row["kind"], ", ".join(row["sources"]))
        out.print(table)
    else:
        render.write_stream(rows, fmt, sys.stdout.buffer)


@rules_app.command("validate")
def rules_validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rule files or folders (default: the bundled pack).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List rules skipped as unsupported.")] = False,
) -> None:
    """Check that rules parse and compile and that their ATT&CK tags exist in ATT&CK v19.

    Each problem is reported as path:line: what is wrong.
    """
    from lanner.detect.attack import load_attack
    from lanner.detect.sigma import load_rules
    from lanner.paths import BUNDLED_RULES_DIR

    ruleset = load_rules(paths or [BUNDLED_RULES_DIR])
    report_rule_problems(ruleset, verbose=verbose)
    attack = load_attack()
    tag_problems = 0
    metas = [r.meta for r in (*ruleset.rules, *ruleset.correlation_only)] + [c.meta for c in ruleset.correlations]
    for meta in metas:
        for issue in attack.tag_issues(meta.tags):
            tag_problems += 1
            line = find_line_in_file(meta.path, issue.tag)
            where = f"{meta.path}:{line}" if line else meta.path
            err.print(f"[yellow]rule error:[/] {where}: {issue.tag}: {issue.reason}", highlight=False, soft_wrap=True)
    compiled = len(ruleset.rules) + len(ruleset.correlation_only) + len(ruleset.correlations)
    err.print(
        f"{compiled} rules compiled, {len(ruleset.unsupported)} unsupported log sources, "
        f"{len(ruleset.errors)} errors, {tag_problems} unknown ATT&CK tags (ATT&CK v{attack.version})",
        highlight=False,
    )
    if ruleset.errors or tag_problems:
        raise typer.Exit(EXIT_ERROR)


RulePathsArg = Annotated[
    list[Path] | None, typer.Argument(help="Rule folders or rule.yml files (default: the bundled pack).")
]


@rules_app.command("test")
def rules_test(
    paths: RulePathsArg = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json")] = "table",
) -> None:
    """Run every rule folder's examples: tests/positive_*.json must trigger the rule, negative_*.json must not.

    Exit 1 when an example fails, is quarantined, or a rule lacks a positive or a negative example.
    """
    import time

    from lanner.detect.pack.examples import run_examples
    from lanner.detect.pack.folders import rule_folders
    from lanner.paths import BUNDLED_RULES_DIR

    if fmt not in ("table", "json"):
        raise fail(f"unknown --format {fmt!r}; use table or json", 2)
    folders = rule_folders(paths or [BUNDLED_RULES_DIR])
    if not folders:
        raise fail("no rule folders (<name>/rule.yml) found under the given paths")
    started = time.perf_counter()
    report = run_examples(folders)
    seconds = time.perf_counter() - started
    if fmt == "json":
        render.write_stream([{**report.to_dict(), "seconds": round(seconds, 2)}], "json", sys.stdout.buffer)
    else:
        for failure in report.failures:
            out.print(failure.line(), highlight=False, soft_wrap=True, markup=False)
        failed = len({f.name for f in report.failures})
        status = "[green]ok[/]" if report.ok else f"[bold red]{len(report.failures)} failures[/]"
        out.print(
            f"{report.rules} rules, {report.examples} examples, {failed} rules failing: {status} ({seconds:.1f} s)",
            highlight=False,
        )
    if not report.ok:
        raise typer.Exit(EXIT_ERROR)


@rules_app.command("lock")
def rules_lock(
    check: Annotated[bool, typer.Option("--check", help="Only compare the rules with the lock; exit 1 if they differ.")] = False,
    rules_dir: Annotated[Path | None, typer.Option("--rules-dir", help="Rule pack (default: the bundled pack).")] = None,
    lock_file: Annotated[
        Path | None, typer.Option("--lock-file", help="Lock file (default: rules.lock beside the rule pack).")
    ] = None,
) -> None:
    """Record each rule's id, version and content hash in content/rules.lock.

    A rule whose content changed must get a higher `lanner.version` first; new rules are added and
    removed rules dropped. With --check nothing is written: any difference is an error.
    """
    from lanner.detect.pack import lock
    from lanner.detect.pack.folders import display, rule_folders
    from lanner.paths import BUNDLED_RULES_DIR

    root = rules_dir or BUNDLED_RULES_DIR
    target = lock_file or root.parent / "rules.lock"
    entries = lock.current_entries(rule_folders([root]))
    locked = lock.read_lock(target)
    if check:
        problems = lock.check(entries, locked)
        for p in problems:
            err.print(f"[bold red]error:[/] {p.line()}", highlight=False, soft_wrap=True)
        if problems:
            raise typer.Exit(EXIT_ERROR)
        out.print(f"{display(target)}: {len(entries)} rules match the lock", highlight=False)
        return
    result = lock.update(entries, locked)
    if result.refused:
        for p in result.refused:
            err.print(f"[bold red]error:[/] {p.line()}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR)
    if result.added or result.updated or result.removed or not target.exists():
        lock.write_lock(target, result.lock)
    unchanged = len(result.lock) - len(result.added) - len(result.updated)
    out.print(
        f"{display(target)}: {len(result.added)} added, {len(result.updated)} updated, "
        f"{len(result.removed)} removed, {unchanged} unchanged",
        highlight=False,
    )


@rules_app.command("coverage")
def rules_coverage(
    paths: RulePathsArg = None,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML report here.")] = None,
    svg: Annotated[Path | None, typer.Option("--svg", help="Also write the technique matrix as SVG here.")] = None,
    all_rules: Annotated[bool, typer.Option("--all", help="Count experimental rules too (default: stable and test).")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json")] = "table",
) -> None:
    """ATT&CK v19 coverage by tactic, technique and platform (stable and test rules unless --all)."""
    from lanner.detect.attack import load_attack
    from lanner.detect.pack import coverage
    from lanner.detect.sigma import load_rules
    from lanner.paths import BUNDLED_RULES_DIR

    if fmt not in ("table", "json"):
        raise fail(f"unknown --format {fmt!r}; use table or json", 2)
    ruleset = load_rules(paths or [BUNDLED_RULES_DIR])
    report_rule_problems(ruleset, verbose=False)
    statuses = None if all_rules else coverage.COUNTED_STATUSES
    cov = coverage.compute(coverage.finding_rules(ruleset), load_attack(), statuses=statuses)
    if fmt == "json":
        render.write_stream([cov.to_dict()], "json", sys.stdout.buffer)
    else:
        for view in render.coverage_view(cov):
            out.print(view)
    for target, text in ((html, coverage.html), (svg, coverage.svg)):
        if target is not None:
            try:
                target.write_text(text(cov), encoding="utf-8")
            except OSError as exc:
                raise fail(f"cannot write {target}: {exc.strerror}") from exc
            err.print(f"wrote {target}", highlight=False)


def find_line_in_file(path: str, needle: str) -> int | None:
    """The line of `needle` in a rule file (best effort: a location is a help, not a must)."""
    import yaml

    from lanner.detect.sigma.locate import find_line

    try:
        for node in yaml.compose_all(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader):
            line = find_line(node, needle)
            if line:
                return int(line)
    except (OSError, yaml.YAMLError):
        return None
    return None


@app.command()
def demo(
    workdir: Annotated[
        Path | None, typer.Option(help="Where to write the scenario logs and the lake (default: a temp dir).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Scenario seed; the same seed gives the same day.")] = 7,
    output: Annotated[str, typer.Option("--output", "-o", help="table | json | jsonl | ocsf")] = "table",
) -> None:
    """Generate a realistic multi-cloud day with an attack woven in, ingest it, detect, and explain."""
    from lanner.cli.demo import run_demo

    fmt = check_output(output)
    run_demo(workdir=workdir, seed=seed, fmt=fmt, out=out, err=err)


def main() -> None:
    """Console-script entry: turn every failure into one line and an exit code."""
    try:
        app()
    except LannerError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        # `lanner detect … | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a one-line error
        if os.environ.get("LANNER_DEBUG"):
            raise
        err.print(
            f"[bold red]error:[/] {type(exc).__name__}: {exc} (set LANNER_DEBUG=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
