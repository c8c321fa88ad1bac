"""Load Sigma rule files: parse with pySigma, bind log sources, compile; collect problems with locations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from lanner.detect.model import CompiledCorrelation, CompiledRule, RuleMeta
from lanner.detect.sigma.compiler import Unsupported, compile_rule
from lanner.detect.sigma.fields import bind_logsource, field_sql
from lanner.detect.sigma.locate import error_line, find_line
from lanner.errors import Location, RuleError

__all__ = ["RuleSet", "load_rules", "rule_files"]

_SUFFIXES = (".yml", ".yaml")


@dataclass
class RuleSet:
    rules: list[CompiledRule] = field(default_factory=list)
    correlations: list[CompiledCorrelation] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # Base rules that only feed correlations declaring `generate: false` (Sigma's default):
    # compiled and used by those correlations, but their single events are not findings.
    correlation_only: list[CompiledRule] = field(default_factory=list)


@dataclass
class _Doc:
    path: str
    data: dict[str, Any]
    node: yaml.Node | None


def rule_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[RuleError]]:
    """`*.yml`/`*.yaml` files under the given paths (recursively, sorted), plus missing-path errors."""
    files: list[Path] = []
    errors: list[RuleError] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix in _SUFFIXES and f.is_file())
        elif p.is_file():
            files.append(p)
        else:
            errors.append(RuleError("no such rule file or directory", Location(str(p))))
    return files, errors


def load_rules(paths: Iterable[str | Path]) -> RuleSet:
    files, errors = rule_files(paths)
    out = RuleSet(errors=errors)
    rule_docs: list[_Doc] = []
    corr_docs: list[_Doc] = []
    for f in files:
        for doc in _read_docs(f, out):
            (corr_docs if "correlation" in doc.data else rule_docs).append(doc)

    parsed: list[tuple[_Doc, SigmaRule]] = []
    for doc in rule_docs:
        rule = _parse(doc, out, SigmaRule.from_dict)
        if isinstance(rule, SigmaRule):
            parsed.append((doc, rule))
    compiled: dict[str, CompiledRule] = {}  # by rule id
    for doc, rule in parsed:
        c = _compile(doc, rule, out)
        if c is not None:
            compiled[c.meta.id] = c
            out.rules.append(c)
    if corr_docs:
        _load_correlations(corr_docs, [r for _, r in parsed], compiled, out)
    return out


def _withhold_correlation_only(out: RuleSet, generating: dict[str, bool]) -> None:
    """Move base rules referenced only by non-generating correlations out of `out.rules`."""
    hidden = {rid for rid, generate in generating.items() if not generate}
    out.correlation_only = [r for r in out.rules if r.meta.id in hidden]
    out.rules = [r for r in out.rules if r.meta.id not in hidden]


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_docs(path: Path, out: RuleSet) -> list[_Doc]:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        out.errors.append(RuleError(f"cannot read rule file: {e}", Location(where)))
        return []
    try:
        # One parse (libyaml when present) gives the nodes, whose marks locate errors, and
        # the data is built from those nodes: the pack's ~600 documents load 4x faster.
        nodes = list(yaml.compose_all(text, Loader=_YAML_LOADER))
        datas = [yaml.constructor.SafeConstructor().construct_document(n) if n is not None else None for n in nodes]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        if e.context_mark is not None and (mark is None or mark.index >= len(text)):
            # Hit the end of the file: the construct left open (where it started) is the culprit.
            mark = e.context_mark
        line = mark.line + 1 if mark else None
        out.errors.append(RuleError(f"YAML syntax error: {e.problem or e}", Location(where, line)))
        return []
    docs = []
    for node, data in zip(nodes, datas, strict=True):
        if data is None:
            continue
        line = node.start_mark.line + 1 if node is not None else None
        if not isinstance(data, dict):
            out.errors.append(RuleError("a Sigma rule must be a YAML mapping", Location(where, line)))
        elif "action" in data:
            out.unsupported.append((where, f"line {line}: Sigma `action` (global/repeat) documents are not supported; write complete rules"))
        else:
            docs.append(_Doc(where, data, node))
    return docs


def _parse(doc: _Doc, out: RuleSet, parse: Any) -> Any:
    try:
        return parse(doc.data)
    except SigmaError as e:
        out.errors.append(RuleError(_message(e), Location(doc.path, error_line(doc.node, e))))
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        # pySigma assumes well-typed input; a wrongly shaped rule surfaces as these.
        out.errors.append(RuleError(f"malformed rule: {e}", Location(doc.path, doc.node.start_mark.line + 1 if doc.node else None)))
    return None


def _message(e: SigmaError) -> str:
    text = str(e)
    if type(e).__name__ == "SigmaConditionError":
        text = f"invalid condition: {text}"
    # pySigma appends its own location (usually None here); ours is more precise.
    return text.split(" in ", 1)[0] if text.endswith("None") else text


def _meta(doc: _Doc, rule: SigmaRule | SigmaCorrelationRule) -> RuleMeta:
    logsource: dict[str, str] = {}
    ls = getattr(rule, "logsource", None)
    if ls is not None:
        logsource = {k: getattr(ls, k) for k in ("product", "service", "category") if getattr(ls, k)}
    return RuleMeta(
        id=str(rule.id) if rule.id else "",
        title=rule.title,
        path=doc.path,
        name=rule.name,
        description=rule.description or "",
        level=rule.level.name.lower() if rule.level else "medium",
        status=rule.status.name.lower() if rule.status else "experimental",
        tags=tuple(f"{t.namespace}.{t.name}" for t in rule.tags),
        references=tuple(rule.references or ()),
        falsepositives=tuple(rule.falsepositives or ()),
        logsource=logsource,
        extra=dict(rule.custom_attributes or {}),
        version=_lanner_version(rule.custom_attributes),
    )


def _lanner_version(custom: dict[str, Any] | None) -> int | None:
    """`lanner: {version: N}` (the content lock's version), when it is a positive integer."""
    lanner = (custom or {}).get("lanner")
    version = lanner.get("version") if isinstance(lanner, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) and version >= 1 else None


def _compile(doc: _Doc, rule: SigmaRule, out: RuleSet) -> CompiledRule | None:
    ls = rule.logsource
    bound = bind_logsource(ls.product, ls.service, ls.category)
    if isinstance(bound, str):
        out.unsupported.append((doc.path, bound))
        return None
    if not rule.id:
        out.errors.append(RuleError("rule has no `id` (a UUID)", Location(doc.path, doc.node.start_mark.line + 1 if doc.node else None)))
        return None
    try:
        return compile_rule(rule, _meta(doc, rule), bound)
    except SigmaError as e:
        out.errors.append(RuleError(_message(e), Location(doc.path, error_line(doc.node, e))))
    except Unsupported as e:
        out.unsupported.append((doc.path, str(e)))
    return None


def _load_correlations(
    docs: list[_Doc], base: list[SigmaRule], compiled: dict[str, CompiledRule], out: RuleSet
) -> None:
    try:
        from lanner.detect.correlation import compile_correlation
    except ImportError:
        for d in docs:
            out.unsupported.append((d.path, "correlation rules need lanner.detect.correlation, which is not installed"))
        return
    parsed: list[tuple[_Doc, SigmaCorrelationRule]] = []
    for doc in docs:
        corr = _parse(doc, out, SigmaCorrelationRule.from_dict)
        if isinstance(corr, SigmaCorrelationRule):
            parsed.append((doc, corr))
    collection = SigmaCollection([*base, *(c for _, c in parsed)])
    generating: dict[str, bool] = {}  # base rule id -> does any correlation keep its own findings
    pending: list[tuple[_Doc, SigmaCorrelationRule]] = []
    for doc, corr in parsed:
        try:
            corr.resolve_rule_references(collection)
        except SigmaError as e:
            named = str(e).split("'")[1] if "'" in str(e) else ""
            out.errors.append(RuleError(_message(e), Location(doc.path, find_line(doc.node, named))))
            continue
        pending.append((doc, corr))
    # Chaining: a correlation may reference correlations, compiled first (keys: id() of the parsed rule).
    done: dict[int, CompiledCorrelation] = {}
    chained_generating: dict[int, bool] = {}
    while pending:
        waiting = {id(c) for _, c in pending}
        later = [(d, c) for d, c in pending if any(id(r.rule) in waiting for r in c.rules or [])]
        ready = [(d, c) for d, c in pending if not any(id(r.rule) in waiting for r in c.rules or [])]
        if not ready:  # every remaining correlation waits on another: a reference cycle
            for doc, _ in later:
                out.unsupported.append((doc.path, "correlations reference each other in a cycle"))
            break
        pending = later
        for doc, corr in ready:
            bases: list[CompiledRule | CompiledCorrelation] = []
            for ref in corr.rules or []:
                target: CompiledRule | CompiledCorrelation | None
                if isinstance(ref.rule, SigmaRule):
                    target = compiled.get(str(ref.rule.id))
                else:
                    target = done.get(id(ref.rule))
                if target is None:
                    name = ref.reference
                    out.unsupported.append((doc.path, f"correlation references rule {name!r}, which did not compile"))
                    break
                bases.append(target)
            else:
                for b in bases:
                    if isinstance(b, CompiledRule):
                        generating[b.meta.id] = generating.get(b.meta.id, False) or bool(corr.generate)
                try:
                    c = compile_correlation(corr, _meta(doc, corr), bases, field_sql)
                    done[id(corr)] = c
                    out.correlations.append(c)
                    for ref in corr.rules or []:
                        if isinstance(ref.rule, SigmaCorrelationRule):
                            key = id(ref.rule)
                            chained_generating[key] = chained_generating.get(key, False) or bool(corr.generate)
                except RuleError as e:
                    out.errors.append(e)
                except Unsupported as e:
                    out.unsupported.append((doc.path, str(e)))
                except SigmaError as e:
                    out.errors.append(RuleError(_message(e), Location(doc.path, error_line(doc.node, e))))
    # Sigma's `generate: false`: a correlation referenced only by such correlations is no finding itself.
    hidden = {id(done[k]) for k, generate in chained_generating.items() if not generate and k in done}
    out.correlations = [c for c in out.correlations if id(c) not in hidden]
    _withhold_correlation_only(out, generating)
