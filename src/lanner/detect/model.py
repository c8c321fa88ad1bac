"""Compiled-rule and match types shared by the Sigma compiler, the engine, correlations and findings.

Pure data, no I/O. The compiler (`lanner.detect.sigma`) produces these; the engine
(`lanner.detect.engine`) consumes them; `lanner.detect.findings` turns `Match` into OCSF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

LEVELS = ("informational", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class RuleMeta:
    """What a rule says about itself (Sigma fields plus Lanner's extra keys)."""

    id: str  # Sigma `id` (a UUID)
    title: str
    path: str  # file the rule came from
    name: str | None = None  # Sigma `name`: the slug id of bundled rules, referenced by correlations
    description: str = ""
    level: str = "medium"  # one of LEVELS
    status: str = "experimental"
    tags: tuple[str, ...] = ()  # e.g. ("attack.stealth", "attack.t1562.008")
    references: tuple[str, ...] = ()
    falsepositives: tuple[str, ...] = ()
    logsource: dict[str, str] = field(default_factory=dict)  # product/service/category as written
    extra: dict[str, Any] = field(default_factory=dict)  # custom keys (e.g. `lanner:` triage guidance)
    version: int | None = None  # `lanner: {version: N}`: bumped whenever the rule's content changes


@dataclass(frozen=True)
class CompiledRule:
    """A single-event Sigma rule bound to Lanner sources and compiled to SQL."""

    meta: RuleMeta
    sources: tuple[str, ...]  # Lanner source names the log source binds to (model.event.SOURCES_KNOWN)
    where: str  # DuckDB boolean SQL over EVENT_SCHEMA columns (fields absent from columns read `raw`)
    # Lower-cased operation values the rule requires (any of), or None when it does not constrain
    # the operation: lets the engine prefilter on the cheap `operation` column before touching raw.
    operations: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CompiledCorrelation:
    """A Sigma correlation rule (event_count, value_count, temporal, temporal_ordered)."""

    meta: RuleMeta
    type: str
    # The referenced base rules, in the order the rule lists them; a referenced correlation
    # (chaining) contributes its own base rules in its place.
    rules: tuple[CompiledRule, ...]
    # Sigma field names (or aliases) as written: the per-rule SQL differs when aliases map
    # different fields of different rules onto one group; `sql` holds the mapped expressions.
    group_by: tuple[str, ...]
    timespan_ms: int
    condition: dict[str, Any]  # e.g. {"gte": 10}; for value_count also {"field": <Sigma field>}
    # The rendered DuckDB query, authoritative; `{relation}` is substituted by the engine.
    # Result columns: lanner.detect.correlation.RESULT_COLUMNS.
    sql: str = ""
    # The normalized plan (lanner.detect.correlation_sql.Plan) the SQL was rendered from: a
    # correlation that references this one embeds it.
    plan: Any = field(default=None, compare=False, repr=False)
    chained: tuple[CompiledCorrelation, ...] = ()  # referenced correlations, in listed order


@dataclass(frozen=True)
class Match:
    """One detection: a rule and the event(s) that triggered it."""

    rule: RuleMeta
    events: tuple[dict[str, Any], ...]  # rows with EVENT_COLUMNS; a bounded sample for correlations
    event_count: int  # total events involved (> len(events) when sampled)
    first_time: datetime
    last_time: datetime
    group: dict[str, Any] | None = None  # correlation group-by values
