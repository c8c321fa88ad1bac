"""Third-party events (panther-analysis rule tests) classify as the right source.

Panther's test events are often trimmed to the fields a rule reads, so not all of them carry
an id and a time; those must be quarantined with the missing field named, never mislabelled.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from lanner.normalize import normalize_batch
from lanner.paths import SHARED_DATASETS_DIR
from lanner.sources import RECORDS_SCHEMA

DATASET = SHARED_DATASETS_DIR / "panther-dev" / "tests.jsonl"
EXPECTED: dict[str, str | tuple[str, ...]] = {
    "AWS.CloudTrail": "aws.cloudtrail",
    "GCP.AuditLog": "gcp.audit",
    "Azure.MonitorActivity": "azure.activity",
    "Amazon.EKS.Audit": "k8s.audit",
    "Okta.SystemLog": "okta.system",
    "GSuite.ActivityEvent": "gworkspace.audit",
    "GitHub.Audit": "github.audit",
    "Microsoft365.Audit.Exchange": "m365.audit",
    "Microsoft365.Audit.AzureActiveDirectory": "m365.audit",
    # Panther files Entra ID sign-in and directory audit records under one log type.
    "Azure.Audit": ("azure.audit", "azure.signin"),
}


@pytest.mark.skipif(not DATASET.exists(), reason=f"shared dataset not present: {DATASET}")
@pytest.mark.parametrize("log_type", sorted(EXPECTED))
def test_panther_events_classify_and_normalize(log_type: str) -> None:
    texts = []
    for line in DATASET.read_text().splitlines():
        case = json.loads(line)
        if case["log_type"] == log_type and isinstance(case["log"], dict):
            log = {k: v for k, v in case["log"].items() if not k.startswith("p_")}  # Panther enrichment
            texts.append(json.dumps(log))
    records = pa.Table.from_pydict(
        {"file": [log_type] * len(texts), "position": list(range(1, len(texts) + 1)), "raw": texts}, schema=RECORDS_SCHEMA
    )
    result = normalize_batch(duckdb.connect(), records)
    want = EXPECTED[log_type]
    wanted = {want} if isinstance(want, str) else set(want)
    quarantine = result.quarantine.to_pylist()
    # Everything is accounted for, and nothing lands in a wrong source.
    assert result.events.num_rows + len(quarantine) == len(texts)
    # (AKS kube-audit records in Azure exports would be unwrapped to k8s.audit by design.)
    assert set(result.counts) <= wanted | {"k8s.audit"} if log_type == "Azure.MonitorActivity" else set(result.counts) <= wanted
    allowed = (
        "missing uid", "missing or unparseable time", "skipped: audit stage", "unrecognised log type",
    )
    assert all(q["reason"].startswith(allowed) for q in quarantine), {q["reason"] for q in quarantine}
    classified = sum(1 for q in quarantine if q["source"] is not None) + result.events.num_rows
    normalized_share = result.events.num_rows / len(texts)
    print(f"{log_type}: {len(texts)} events, {classified / len(texts):.0%} classified, {normalized_share:.0%} normalized")
    assert classified / len(texts) >= 0.9
    assert result.events["uid"].null_count == 0 and result.events["time"].null_count == 0


@pytest.mark.skipif(not DATASET.exists(), reason=f"shared dataset not present: {DATASET}")
def test_fast_route_and_general_route_agree_on_every_record() -> None:
    # A batch of one dominant type plus every other labelled event, shuffled in: the sampled
    # one-parse route must give exactly what the general query gives, row for row.
    texts = []
    for line in DATASET.read_text().splitlines():
        log = json.loads(line)["log"]
        texts.append(json.dumps({k: v for k, v in log.items() if not k.startswith("p_")} if isinstance(log, dict) else log))
    cloudtrail = [t for t in texts if '"eventSource"' in t]
    mixed = [x for pair in zip(cloudtrail * 4, texts, strict=False) for x in pair] + ["not json", "null", "[1]"]
    records = pa.Table.from_pydict(
        {"file": ["mixed"] * len(mixed), "position": list(range(1, len(mixed) + 1)), "raw": mixed}, schema=RECORDS_SCHEMA
    )
    con = duckdb.connect()
    fast = normalize_batch(con, records, fast_min_rows=0)
    general = normalize_batch(con, records, fast_min_rows=len(mixed) + 1)

    def rows(table: pa.Table) -> list[dict]:
        return sorted(table.to_pylist(), key=lambda r: r.get("position") or r["raw"])

    assert fast.counts == general.counts and sum(fast.counts.values()) > len(cloudtrail)
    assert rows(fast.events) == rows(general.events)
    assert rows(fast.quarantine) == rows(general.quarantine)
    assert fast.events.num_rows + fast.quarantine.num_rows == len(mixed)
