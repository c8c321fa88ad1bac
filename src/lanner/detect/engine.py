"""Evaluate compiled rules over a DuckDB relation of normalized events, streaming matches.

Each single-event rule is one query restricted to its sources and, when the rule constrains the
operation, to `lower(operation) IN (...)`, so JSON work in `raw` only runs on candidate rows.
`group_query` can evaluate many rules in one scan (a CASE per rule); measured on 500k CloudTrail
rows with SigmaHQ's 57 AWS rules it was 2x slower than per-rule queries in DuckDB 2.0 (5.0 s vs
2.2 s), so `detect` uses one query per rule. Matching rows stream back in Arrow batches; Python
only touches matching rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

from lanner.detect.model import CompiledCorrelation, CompiledRule, Match
from lanner.detect.sigma.loader import RuleSet
from lanner.model.event import EVENT_COLUMNS

__all__ = ["detect", "group_query", "rule_query"]

_BATCH_ROWS = 8192


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _in_list(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(_quote(v) for v in values) + ")"


def rule_query(relation: str, rule: CompiledRule) -> str:
    """The events of `relation` one rule matches (source and operation prefilters first)."""
    where = f"source IN {_in_list(rule.sources)}"
    if rule.operations is not None:
        where += f" AND lower(operation) IN {_in_list(rule.operations)}"
    return f"SELECT {', '.join(EVENT_COLUMNS)} FROM {relation} WHERE {where} AND ({rule.where})"


def group_query(relation: str, rules: list[CompiledRule]) -> str:
    """One scan over the rules' sources returning matching rows plus `__hits` (rule indexes)."""
    sources = rules[0].sources
    cases = []
    for i, r in enumerate(rules):
        hit = f"CASE WHEN ({r.where}) THEN {i} END"
        if r.operations is not None:
            # Nested CASE: the rule's predicate is evaluated only on rows the prefilter selected.
            hit = f"CASE WHEN lower(operation) IN {_in_list(r.operations)} THEN {hit} END"
        cases.append(hit)
    where = f"source IN {_in_list(sources)}"
    if all(r.operations is not None for r in rules):
        ops = sorted({o for r in rules for o in (r.operations or ())})
        where += f" AND lower(operation) IN {_in_list(ops)}"
    cols = ", ".join(EVENT_COLUMNS)
    return (
        f"SELECT * FROM (SELECT {cols}, list_filter([{', '.join(cases)}], lambda x: x IS NOT NULL) AS __hits "
        f"FROM {relation} WHERE {where}) WHERE len(__hits) > 0"
    )


def detect(
    con: duckdb.DuckDBPyConnection, relation: str, ruleset: RuleSet, *, sample_limit: int = 20
) -> Iterator[Match]:
    """Matches of every rule over `relation` (a table/view with EVENT_SCHEMA columns), streamed.

    Single-event rules yield one Match per (triggering event, rule); correlations one per
    firing episode, with up to `sample_limit` of its events as evidence.
    """
    for rule in ruleset.rules:
        reader = con.sql(rule_query(relation, rule)).to_arrow_reader(_BATCH_ROWS)
        for batch in reader:
            for row in batch.to_pylist():
                yield Match(rule=rule.meta, events=(row,), event_count=1, first_time=row["time"], last_time=row["time"])
    for corr in ruleset.correlations:
        yield from _correlation(con, relation, corr, sample_limit)


def _correlation(con: duckdb.DuckDBPyConnection, relation: str, corr: CompiledCorrelation, sample_limit: int) -> Iterator[Match]:
    from lanner.detect.correlation import correlation_match

    # Episodes are few (one per burst, not per event), and the sample lookups below need the
    # connection, so the episode list is fetched whole before sampling.
    episodes = con.sql(corr.sql.format(relation=relation)).to_arrow_table()
    cols = ", ".join(EVENT_COLUMNS)
    for batch in episodes.to_batches(_BATCH_ROWS):
        for row in batch.to_pylist():
            uids = list(row.get("event_uids") or [])[:sample_limit]
            samples: list[dict[str, object]] = []
            if uids:
                samples = (
                    con.sql(f"SELECT {cols} FROM {relation} WHERE uid IN (SELECT unnest($1::VARCHAR[]))", params=[uids])
                    .to_arrow_table()
                    .to_pylist()
                )
            yield correlation_match(row, corr.meta, samples)

