"""Every SigmaHQ rule in the shared dataset compiles or is unsupported for a specific reason,
and every compiled rule's SQL runs on DuckDB."""

from __future__ import annotations

from collections import Counter

import duckdb
import pyarrow as pa
import pytest

from lanner.detect.engine import rule_query
from lanner.detect.sigma import load_rules
from lanner.model.event import EVENT_SCHEMA
from lanner.paths import SHARED_DATASETS_DIR

SIGMAHQ = SHARED_DATASETS_DIR / "sigmahq"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SIGMAHQ.is_dir(), reason=f"shared SigmaHQ dataset absent at {SIGMAHQ}"),
]

EXPECTED_SOURCES = {
    ("runtime.process",): 124,
    ("azure.audit",): 70,
    ("aws.cloudtrail",): 57,
    ("azure.activity",): 35,
    ("okta.system",): 22,
    ("m365.audit",): 21,
    ("azure.signin",): 19,
    ("k8s.audit",): 16,
    ("gcp.audit",): 16,
    ("github.audit",): 15,
    ("gworkspace.audit",): 10,
    ("runtime.file",): 10,
    ("runtime.network",): 5,
}
EXPECTED_UNSUPPORTED = {
    "log source product=linux service=auditd: Lanner does not ingest Linux auditd logs yet": 53,
    "log source product=linux: Lanner does not ingest Linux logs without a category (syslog keyword rules) yet": 15,
    "log source product=linux service=syslog: Lanner does not ingest Linux syslog logs yet": 2,
    "log source product=onelogin service=onelogin.events: no Lanner source for this log source": 2,
    "log source product=cisco service=duo: no Lanner source for this log source": 1,
    "log source product=linux service=clamav: Lanner does not ingest Linux clamav logs yet": 1,
    "log source product=linux service=cron: Lanner does not ingest Linux cron logs yet": 1,
    "log source product=linux service=guacamole: Lanner does not ingest Linux guacamole logs yet": 1,
    "log source product=linux service=sshd: Lanner does not ingest Linux sshd logs yet": 1,
    "log source product=linux service=vsftpd: Lanner does not ingest Linux vsftpd logs yet": 1,
}


def test_sigmahq_counts_and_sql_runs() -> None:
    rs = load_rules([SIGMAHQ])
    assert rs.errors == []
    assert Counter(r.sources for r in rs.rules) == EXPECTED_SOURCES
    assert Counter(reason for _, reason in rs.unsupported) == EXPECTED_UNSUPPORTED
    assert len(rs.rules) + len(rs.unsupported) == 498
    # 163 rules constrain the operation, so the engine prefilters them on the operation column.
    assert sum(1 for r in rs.rules if r.operations) == 163
    con = duckdb.connect()
    con.register("empty", pa.Table.from_pylist([], schema=EVENT_SCHEMA))
    con.execute("CREATE TABLE events AS SELECT * FROM empty")
    for rule in rs.rules:
        assert con.sql(rule_query("events", rule)).fetchall() == [], rule.meta.path
