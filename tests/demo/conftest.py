"""Shared plumbing for the demo tests: raw files -> normalized events in DuckDB -> matches."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from lanner.detect.engine import detect
from lanner.detect.model import Match
from lanner.detect.sigma.loader import RuleSet
from lanner.model.event import EVENT_SCHEMA, QUARANTINE_SCHEMA
from lanner.normalize import read_events


def load_events(con: duckdb.DuckDBPyConnection, paths: Iterable[Path], relation: str = "events") -> tuple[pa.Table, pa.Table]:
    """Normalize `paths` and register the events as `relation`; returns (events, quarantine)."""
    events, quarantine = [], []
    for _path, norm, _nbytes in read_events(sorted(paths), con=con):
        events.append(norm.events)
        quarantine.append(norm.quarantine)
    ev = pa.concat_tables(events) if events else EVENT_SCHEMA.empty_table()
    q = pa.concat_tables(quarantine) if quarantine else QUARANTINE_SCHEMA.empty_table()
    con.register(relation, ev)
    return ev, q


def run(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, relation: str = "events") -> list[Match]:
    return list(detect(con, relation, ruleset))


def correlation_bases(ruleset: RuleSet) -> set[str]:
    """Names of rules that only exist to feed correlations (Sigma `generate: false`, the default)."""
    return {b.meta.name or b.meta.id for c in ruleset.correlations for b in c.rules}


class Pipeline:
    """The helpers above, handed to tests as a fixture (tests run with --import-mode=importlib)."""

    load_events = staticmethod(load_events)
    run = staticmethod(run)
    correlation_bases = staticmethod(correlation_bases)


@pytest.fixture(scope="session")
def pipeline() -> type[Pipeline]:
    return Pipeline
