"""ATT&CK coverage of a rule pack: by tactic and technique, and by ATT&CK platform.

`compute` is pure (a RuleSet and the ATT&CK data in, a `Coverage` out); `svg` and `html` render
it as one self-contained document, with no external assets. The terminal rendering lives in the
CLI (`lanner rules coverage`).

A technique sits under the tactics the rule tags that the technique belongs to (a rule tagged
`attack.persistence` + `attack.t1078` covers Valid Accounts *for persistence*), else under all
of its tactics: the same pairing the findings' OCSF `attacks[]` use. Sub-techniques count
towards their parent technique's cell, and are named in the cell's hover title.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape

from lanner.detect.attack import Attack, Tactic, Technique
from lanner.detect.model import CompiledCorrelation, CompiledRule, RuleMeta
from lanner.detect.sigma.loader import RuleSet

# Enterprise kill-chain order; v19 puts Defense Impairment (TA0112) beside Stealth (TA0005).
TACTIC_ORDER = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "stealth",
    "defense-impairment",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
)
PLATFORMS = ("IaaS", "Identity Provider", "Office Suite", "SaaS", "Containers", "Linux", "Other")
COUNTED_STATUSES = ("stable", "test")

# Sigma log source -> ATT&CK platform (matrices of the Enterprise domain).
_IDENTITY_SERVICES = {"signinlogs", "auditlogs", "riskdetection", "pim"}
_BY_PRODUCT = {
    "aws": "IaaS",
    "gcp": "IaaS",
    "azure": "IaaS",
    "okta": "Identity Provider",
    "m365": "Office Suite",
    "google_workspace": "Office Suite",
    "github": "SaaS",
    "kubernetes": "Containers",
    "linux": "Linux",
}


def platform_of(logsource: Mapping[str, str]) -> str:
    product = (logsource.get("product") or "").lower()
    service = (logsource.get("service") or "").lower()
    if product == "azure" and service in _IDENTITY_SERVICES:
        return "Identity Provider"
    if service.startswith("google_workspace"):  # SigmaHQ writes Workspace as product gcp
        return "Office Suite"
    return _BY_PRODUCT.get(product, "Other")


def platforms_of(rule: CompiledRule | CompiledCorrelation) -> tuple[str, ...]:
    """ATT&CK platforms a rule watches; runtime rules that key on the container also cover Containers."""
    bases = rule.rules if isinstance(rule, CompiledCorrelation) else (rule,)
    found: set[str] = set()
    for base in bases:
        found.add(platform_of(base.meta.logsource))
        if platform_of(base.meta.logsource) == "Linux" and "container_id" in base.where:
            found.add("Containers")
    return tuple(p for p in PLATFORMS if p in found)


@dataclass(frozen=True)
class RuleCoverage:
    name: str
    title: str
    status: str
    platforms: tuple[str, ...]
    tactics: tuple[str, ...]  # tactic short names, with or without a technique
    cells: tuple[tuple[str, str], ...]  # (tactic short name, parent technique id)
    techniques: tuple[str, ...]  # the technique / sub-technique ids as tagged


@dataclass
class Coverage:
    attack_version: str
    tactics: list[Tactic]  # kill-chain order
    rules: list[RuleCoverage] = field(default_factory=list)
    # (tactic short name, parent technique id) -> rule names
    cells: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # tactic short name -> parent techniques of that tactic, by id
    matrix: dict[str, list[Technique]] = field(default_factory=dict)
    techniques: dict[str, Technique] = field(default_factory=dict)  # all, by id (for names)

    def count(self, tactic: str, technique: str) -> int:
        return len(self.cells.get((tactic, technique), ()))

    def covered(self, tactic: str) -> list[str]:
        """Covered technique ids of one tactic, most rules first."""
        ids = [tid for (ta, tid) in self.cells if ta == tactic]
        return sorted(ids, key=lambda t: (-self.count(tactic, t), t))

    def platform_tactic(self, platform: str, tactic: str) -> int:
        return sum(1 for r in self.rules if platform in r.platforms and tactic in r.tactics)

    def platform_rules(self, platform: str) -> int:
        return sum(1 for r in self.rules if platform in r.platforms)

    @property
    def platforms(self) -> list[str]:
        return [p for p in PLATFORMS if self.platform_rules(p)]

    @property
    def covered_techniques(self) -> set[str]:
        return {tid for _, tid in self.cells}

    @property
    def covered_tactics(self) -> list[Tactic]:
        return [t for t in self.tactics if any(t.short_name in r.tactics for r in self.rules)]

    @property
    def techniques_in_covered_tactics(self) -> set[str]:
        return {t.uid for ta in self.covered_tactics for t in self.matrix.get(ta.short_name, [])}

    def untagged(self) -> list[str]:
        return [r.name for r in self.rules if not r.cells]

    def to_dict(self) -> dict[str, object]:
        return {
            "attack_version": self.attack_version,
            "rules": len(self.rules),
            "techniques_covered": len(self.covered_techniques),
            "techniques_in_covered_tactics": len(self.techniques_in_covered_tactics),
            "tactics": [
                {
                    "id": t.uid,
                    "name": t.name,
                    "techniques_total": len(self.matrix.get(t.short_name, [])),
                    "techniques": [
                        {
                            "id": tid,
                            "name": self.techniques[tid].name,
                            "rules": sorted(self.cells[(t.short_name, tid)]),
                        }
                        for tid in self.covered(t.short_name)
                    ],
                }
                for t in self.tactics
            ],
            "platforms": {
                p: {t.name: self.platform_tactic(p, t.short_name) for t in self.tactics} | {"rules": self.platform_rules(p)}
                for p in self.platforms
            },
            "untagged_rules": self.untagged(),
        }


def rule_coverage(rule: CompiledRule | CompiledCorrelation, attack: Attack) -> RuleCoverage:
    meta: RuleMeta = rule.meta
    tactics: list[str] = []
    cells: list[tuple[str, str]] = []
    for entry in attack.resolve_tags(meta.tags):
        tactic = attack.tactic(entry["tactic"]["uid"]) if "tactic" in entry else None
        if tactic is None:
            continue
        if tactic.short_name not in tactics:
            tactics.append(tactic.short_name)
        if "technique" in entry and (tactic.short_name, entry["technique"]["uid"]) not in cells:
            cells.append((tactic.short_name, entry["technique"]["uid"]))
    techniques = tuple(t.split(".", 1)[1].upper() for t in meta.tags if t.lower().startswith("attack.t"))
    return RuleCoverage(
        meta.name or meta.id, meta.title, meta.status, platforms_of(rule), tuple(tactics), tuple(cells), techniques
    )


def finding_rules(ruleset: RuleSet) -> list[CompiledRule | CompiledCorrelation]:
    """Rules that raise findings: single rules and correlations, not the bases that only feed them."""
    return [*ruleset.rules, *ruleset.correlations]


def compute(
    rules: Iterable[CompiledRule | CompiledCorrelation], attack: Attack, *, statuses: Iterable[str] | None = COUNTED_STATUSES
) -> Coverage:
    """Coverage of `rules` whose status is in `statuses` (None: every rule)."""
    wanted = set(statuses) if statuses is not None else None
    by_short = {t.short_name: t for t in attack.tactics}
    order = [by_short[s] for s in TACTIC_ORDER if s in by_short] + [
        t for t in attack.tactics if t.short_name not in TACTIC_ORDER
    ]
    cov = Coverage(attack.version, order, techniques=dict(attack.techniques))
    for t in order:
        parents = [x for x in attack.techniques.values() if not x.is_subtechnique and t.short_name in x.tactics]
        cov.matrix[t.short_name] = sorted(parents, key=lambda x: x.uid)
    for rule in rules:
        if wanted is not None and rule.meta.status not in wanted:
            continue
        rc = rule_coverage(rule, attack)
        cov.rules.append(rc)
        for cell in rc.cells:
            cov.cells.setdefault(cell, []).append(rc.name)
    return cov


# ------------------------------------------------------------------------------------------
# SVG / HTML

_CELL_W, _CELL_H, _GAP, _HEAD_H, _PAD = 150, 34, 4, 46, 10
# Light to dark by rule count: 1, 2-3, 4-6, 7+; uncovered cells are pale grey.
_BUCKETS = ((7, "#1b5e20", "#ffffff"), (4, "#43a047", "#ffffff"), (2, "#a5d6a7", "#111111"), (1, "#e3f4d7", "#111111"))
_EMPTY = ("#f2f2f2", "#888888")


def shade(count: int) -> tuple[str, str]:
    """(fill, text colour) for a cell covered by `count` rules."""
    for low, fill, ink in _BUCKETS:
        if count >= low:
            return fill, ink
    return _EMPTY


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def svg(cov: Coverage) -> str:
    """The technique matrix: one column per tactic, one cell per technique, coloured by rule count."""
    columns = []
    for t in cov.tactics:
        covered = cov.covered(t.short_name)
        rest = [x.uid for x in cov.matrix.get(t.short_name, []) if x.uid not in covered]
        columns.append((t, covered + rest))
    height = _HEAD_H + max((len(ids) for _, ids in columns), default=0) * (_CELL_H + _GAP) + 2 * _PAD
    width = len(columns) * (_CELL_W + _GAP) + 2 * _PAD
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="11">',
        f"<title>ATT&amp;CK v{escape(cov.attack_version)} coverage: {len(cov.rules)} rules</title>",
    ]
    for i, (tactic, ids) in enumerate(columns):
        x = _PAD + i * (_CELL_W + _GAP)
        n_cov = len(cov.covered(tactic.short_name))
        parts.append(
            f'<g class="tactic" data-tactic="{tactic.uid}"><title>{escape(tactic.name)} ({tactic.uid}): '
            f"{n_cov} of {len(ids)} techniques covered</title>"
            f'<rect x="{x}" y="{_PAD}" width="{_CELL_W}" height="{_HEAD_H - _GAP}" fill="#263238" rx="3"/>'
            f'<text x="{x + 6}" y="{_PAD + 17}" fill="#ffffff" font-weight="bold">{escape(_clip(tactic.name, 22))}</text>'
            f'<text x="{x + 6}" y="{_PAD + 33}" fill="#cfd8dc">{n_cov}/{len(ids)} techniques</text></g>'
        )
        for j, tid in enumerate(ids):
            y = _PAD + _HEAD_H + j * (_CELL_H + _GAP)
            rules = sorted(cov.cells.get((tactic.short_name, tid), []))
            fill, ink = shade(len(rules))
            name = cov.techniques[tid].name if tid in cov.techniques else tid
            tip = f"{tid} {name}" + (f" ({len(rules)} rules): " + ", ".join(rules) if rules else ": not covered")
            label = f"{tid}" + (f" · {len(rules)}" if rules else "")
            parts.append(
                f'<g class="technique" data-technique="{tid}" data-tactic="{tactic.uid}" data-count="{len(rules)}">'
                f"<title>{escape(tip)}</title>"
                f'<rect x="{x}" y="{y}" width="{_CELL_W}" height="{_CELL_H}" fill="{fill}" rx="2"/>'
                f'<text x="{x + 5}" y="{y + 13}" fill="{ink}" font-weight="bold">{escape(label)}</text>'
                f'<text x="{x + 5}" y="{y + 27}" fill="{ink}">{escape(_clip(name, 25))}</text></g>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def html(cov: Coverage) -> str:
    """One self-contained page: totals, the SVG matrix, the platform x tactic grid, untagged rules."""
    covered, total = len(cov.covered_techniques), len(cov.techniques_in_covered_tactics)
    head = "".join(f"<th>{escape(t.name)}</th>" for t in cov.tactics)
    rows = []
    for p in cov.platforms:
        cells = []
        for t in cov.tactics:
            n = cov.platform_tactic(p, t.short_name)
            fill, ink = shade(n)
            cells.append(f'<td style="background:{fill};color:{ink}">{n or ""}</td>')
        rows.append(f"<tr><th>{escape(p)}</th><td>{cov.platform_rules(p)}</td>{''.join(cells)}</tr>")
    untagged = cov.untagged()
    extra = f"<p>Rules with no ATT&amp;CK technique: {escape(', '.join(untagged))}</p>" if untagged else ""
    legend = " ".join(
        f'<span class="key" style="background:{fill};color:{ink}">{label}</span>'
        for (fill, ink), label in (
            (_EMPTY, "0"), (shade(1), "1 rule"), (shade(2), "2-3"), (shade(4), "4-6"), (shade(7), "7+")
        )
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Lanner rule coverage (ATT&amp;CK v{escape(cov.attack_version)})</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 12px 0; font-size: 12px; }}
th, td {{ border: 1px solid #ddd; padding: 4px 6px; text-align: center; }}
th {{ background: #f7f7f7; }}
.key {{ display: inline-block; padding: 2px 8px; margin-right: 4px; border: 1px solid #ddd; font-size: 12px; }}
.matrix {{ overflow-x: auto; }}
</style></head><body>
<h1>Lanner rule coverage, MITRE ATT&amp;CK v{escape(cov.attack_version)}</h1>
<p>{len(cov.rules)} rules cover {covered} of the {total} techniques in the {len(cov.covered_tactics)} tactics they
touch. Hover a cell for the technique's rules.</p>
<p>{legend}</p>
<div class="matrix">
{svg(cov)}
</div>
<h2>Rules by ATT&amp;CK platform and tactic</h2>
<table><tr><th>Platform</th><th>Rules</th>{head}</tr>
{chr(10).join(rows)}
</table>
{extra}
</body></html>
"""
