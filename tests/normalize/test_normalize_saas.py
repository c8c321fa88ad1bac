"""SaaS and identity sources: Okta, GitHub, Google Workspace, Microsoft 365, Entra ID sign-in/audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from lanner.normalize import ENVELOPES, FORMATS, Normalized, normalize_batch, read_events
from lanner.normalize.sql import detection_keys
from lanner.sources import RECORDS_SCHEMA

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
SAAS = ("okta.system", "github.audit", "gworkspace.audit", "m365.audit", "azure.signin", "azure.audit")


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def lines(con: duckdb.DuckDBPyConnection, *records: dict[str, Any] | str, fast_min_rows: int | None = None) -> Normalized:
    texts = [r if isinstance(r, str) else json.dumps(r) for r in records]
    table = pa.Table.from_pydict(
        {"file": ["t.jsonl"] * len(texts), "position": list(range(1, len(texts) + 1)), "raw": texts}, schema=RECORDS_SCHEMA
    )
    if fast_min_rows is None:
        return normalize_batch(con, table)
    return normalize_batch(con, table, fast_min_rows=fast_min_rows)


def rows(path: str) -> dict[str, dict[str, Any]]:
    out = {}
    for _, batch, _ in read_events([SAMPLES / path]):
        assert batch.quarantine.num_rows == 0, batch.quarantine.to_pylist()
        out.update({r["uid"]: r for r in batch.events.to_pylist()})
    return out


def pick(row: dict[str, Any], *cols: str) -> dict[str, Any]:
    return {c: row[c] for c in cols}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sample_records(path: str) -> list[dict[str, Any]]:
    text = (SAMPLES / path).read_text()
    doc = json.loads(text) if text.lstrip()[0] in "[{" and not path.endswith(".jsonl") else None
    if doc is None:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return doc["records"] if isinstance(doc, dict) else doc


SAMPLE_FILES = {
    "okta.system": "okta.system/systemlog.jsonl",
    "github.audit": "github.audit/audit.json",
    "gworkspace.audit": "gworkspace.audit/activities.jsonl",
    "m365.audit": "m365.audit/content.json",
    "azure.signin": "azure.signin/PT1H.json",
    "azure.audit": "azure.audit/PT1H.json",
}


# --- Declarations that must hold for the shared presence struct --------------------------------


def test_no_key_differs_from_another_only_in_case() -> None:
    # DuckDB struct names are case-insensitive: a presence struct (or a format's structure widened
    # with presence keys on the fast route) holding `Id` and `id` would fail to bind.
    keys = detection_keys(FORMATS.values(), ENVELOPES)
    assert len({k.lower() for k in keys}) == len(keys), keys
    for fmt in FORMATS.values():
        clash = {k for k in fmt.structure if k.lower() in {d.lower() for d in keys} and k not in keys}
        assert not clash, (fmt.name, clash)


# --- Field by field -------------------------------------------------------------------------


def test_okta_fields() -> None:
    r = rows("okta.system/systemlog.jsonl")
    grant = r["6c2a1d8f-2d3a-11ef-9a41-0b7c5e2d1a02"]
    assert pick(grant, "time", "source", "class_uid", "cloud", "account", "actor_id", "actor_name", "actor_type",
                "actor_session", "src_ip", "service", "operation", "outcome", "error", "resources") == {
        "time": at("2024-06-03T08:20:05.911"),
        "source": "okta.system",
        "class_uid": 3001,
        "cloud": "okta",
        "account": None,
        "actor_id": "maria.lopez@example.com",
        "actor_name": "Maria Lopez",
        "actor_type": "User",
        "actor_session": "102Xk9pQ7rLSuGm3oDf5nEw1A",
        "src_ip": "198.51.100.14",
        "service": "user",
        "operation": "user.account.privilege.grant",
        "outcome": "success",
        "error": None,
        "resources": ["devon.kim@example.com"],
    }
    failed = r["7d3b2e90-2d3a-11ef-9a41-0b7c5e2d1a03"]
    assert pick(failed, "class_uid", "outcome", "error", "actor_name", "actor_session", "user_agent", "resources") == {
        "class_uid": 3002, "outcome": "failure", "error": "VERIFICATION_ERROR", "actor_name": "j.doe@example.com",
        "actor_session": None, "user_agent": "python-requests/2.31.0", "resources": None,
    }
    # "unknown" alternateIds fall back to the target's display name.
    assert r["5b1f0c7e-2d3a-11ef-9a41-0b7c5e2d1a01"]["resources"] == ["Okta Verify"]


def test_okta_lower_cased_keys(con: duckdb.DuckDBPyConnection) -> None:
    native = sample_records("okta.system/systemlog.jsonl")[1]
    lowered = {k.lower(): v for k, v in native.items()}
    (row,) = lines(con, lowered).events.to_pylist()
    assert pick(row, "source", "operation", "service", "class_uid", "actor_session") == (
        {"source": "okta.system", "operation": "user.account.privilege.grant", "service": "user", "class_uid": 3001,
         "actor_session": "102Xk9pQ7rLSuGm3oDf5nEw1A"})


def test_github_fields_and_timestamps(con: duckdb.DuckDBPyConnection) -> None:
    r = rows("github.audit/audit.json")
    access = r["Qk3t9XbV2mPq7Lr1sWc0ZA"]
    assert pick(access, "time", "class_uid", "cloud", "account", "actor_id", "actor_type", "src_ip", "service",
                "operation", "outcome", "resources") == {
        "time": at("2024-06-03T08:00:00.123"),  # @timestamp, epoch ms
        "class_uid": 6003,
        "cloud": "github",
        "account": "acme-eng",
        "actor_id": "octo-maria",
        "actor_type": "User",
        "src_ip": "198.51.100.21",
        "service": "repo",
        "operation": "repo.access",
        "outcome": "success",
        "resources": ["acme-eng/payments-service"],
    }
    assert pick(r["Rl4u0YcW3nQr8Ms2tXd1AB"], "class_uid", "resources") == {"class_uid": 3001, "resources": ["devon-kim"]}
    bot = r["Sm5v1ZdX4oRs9Nt3uYe2BC"]
    assert (bot["time"], bot["account"], bot["actor_type"]) == (at("2024-06-03T09:45:12.789"), "acme-enterprise", "Bot")
    base = {"action": "repo.create", "actor": "a", "org": "o"}
    result = lines(
        con,
        base | {"_document_id": "ms", "created_at": 1717401600123},
        base | {"_document_id": "s", "created_at": 1717401600},  # seconds
        base | {"_document_id": "iso", "created_at": "2024-06-03 08:00:00.123"},
        base | {"created_at": 1717401600123},  # no _document_id
        base | {"_document_id": "x"},  # no time
    )
    assert dict(zip(result.events["uid"].to_pylist(), result.events["time"].to_pylist(), strict=True)) == {
        "ms": at("2024-06-03T08:00:00.123"), "s": at("2024-06-03T08:00:00"), "iso": at("2024-06-03T08:00:00.123")}
    assert sorted((q["position"], q["reason"], q["source"]) for q in result.quarantine.to_pylist()) == [
        (4, "missing uid (_document_id)", "github.audit"),
        (5, "missing or unparseable time (created_at)", "github.audit"),
    ]


def test_gworkspace_fields() -> None:
    r = rows("gworkspace.audit/activities.jsonl")
    drive = r["drive/2024-06-03T10:01:15.482Z/-4179853291467013371"]
    assert pick(drive, "time", "class_uid", "cloud", "account", "actor_id", "actor_name", "actor_type", "src_ip",
                "service", "operation", "outcome", "resources") == {
        "time": at("2024-06-03T10:01:15.482"),
        "class_uid": 6003,
        "cloud": "gworkspace",
        "account": "C03az79cb",
        "actor_id": "maria.lopez@example.com",
        "actor_name": "maria.lopez",
        "actor_type": "USER",
        "src_ip": "198.51.100.14",
        "service": "drive",
        "operation": "change_user_access",  # the first of the record's two events
        "outcome": "success",
        "resources": ["Q3 pipeline"],
    }
    login = r["login/2024-06-03T10:07:02.900Z/2219984433091827716"]
    assert pick(login, "class_uid", "outcome", "error") == {
        "class_uid": 3002, "outcome": "failure", "error": "login_failure_invalid_password"}
    flat = r["admin/2024-06-03 10:09:31.250000000/-6120094478123309947/ASSIGN_ROLE"]
    assert pick(flat, "time", "class_uid", "operation", "resources") == {
        "time": at("2024-06-03T10:09:31.250"), "class_uid": 3001, "operation": "ASSIGN_ROLE",
        "resources": ["devon.kim@example.com", "_SEED_ADMIN_ROLE"]}


def test_m365_fields() -> None:
    r = rows("m365.audit/content.json")
    fwd = r["4e1c9a52-7b3d-4c8e-9f10-2a3b4c5d6e01"]
    assert pick(fwd, "time", "class_uid", "cloud", "account", "actor_id", "actor_name", "actor_type", "actor_session",
                "src_ip", "service", "operation", "outcome", "resources") == {
        "time": at("2024-06-03T11:02:14"),
        "class_uid": 6003,
        "cloud": "m365",
        "account": "8f2a1c3d-4b5e-4f60-9a7b-1c2d3e4f5a6b",
        "actor_id": "it.admin@example.com",
        "actor_name": "it.admin",
        "actor_type": "Admin",
        "actor_session": "b7d1e2f3-0a4b-4c5d-8e6f-7a8b9c0d1e2f",
        "src_ip": "198.51.100.31",  # port removed
        "service": "Exchange",
        "operation": "Set-Mailbox",
        "outcome": "success",
        "resources": ["finance-approvals"],
    }
    failed = r["5f2d0b63-8c4e-4d9f-a021-3b4c5d6e7f02"]
    # ResultStatus says Success (the log write); the operation and LogonError say failure.
    assert pick(failed, "class_uid", "outcome", "error", "src_ip", "user_agent", "actor_type") == {
        "class_uid": 3002, "outcome": "failure", "error": "InvalidUserNameOrPassword", "src_ip": "2001:db8::7",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
        "actor_type": "Regular"}
    assert pick(r["6a3e1c74-9d5f-4ea0-b132-4c5d6e7f8003"], "class_uid", "actor_type") == {"class_uid": 3001, "actor_type": "System"}


def test_m365_lower_cased_keys_and_bracketed_ipv6(con: duckdb.DuckDBPyConnection) -> None:
    native = sample_records("m365.audit/content.json")[0]
    lowered = {k.lower(): v for k, v in native.items()} | {"clientip": "[2001:db8::9]:443"}
    (row,) = lines(con, lowered).events.to_pylist()
    assert pick(row, "uid", "time", "operation", "service", "actor_type", "src_ip", "outcome") == {
        "uid": "4e1c9a52-7b3d-4c8e-9f10-2a3b4c5d6e01", "time": at("2024-06-03T11:02:14"), "operation": "Set-Mailbox",
        "service": "Exchange", "actor_type": "Admin", "src_ip": "2001:db8::9", "outcome": "success"}
    result = lines(con, {k: v for k, v in lowered.items() if k != "id"})
    assert [q["reason"] for q in result.quarantine.to_pylist()] == ["missing uid (Id)"]


def test_entra_signin_fields() -> None:
    r = rows("azure.signin/PT1H.json")
    user = r["0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"]
    assert pick(user, "time", "source", "class_uid", "cloud", "account", "actor_id", "actor_name", "actor_type",
                "actor_session", "src_ip", "user_agent", "service", "operation", "outcome", "error", "resources") == {
        "time": at("2024-06-03T12:01:07.441"),
        "source": "azure.signin",
        "class_uid": 3002,
        "cloud": "azure",
        "account": "8f2a1c3d-4b5e-4f60-9a7b-1c2d3e4f5a6b",
        "actor_id": "maria.lopez@example.com",
        "actor_name": "Maria Lopez",
        "actor_type": "User",
        "actor_session": None,
        "src_ip": "203.0.113.77",
        "user_agent": "python-requests/2.31.0",
        "service": "Windows Azure Service Management API",
        "operation": "Sign-in activity",
        "outcome": "failure",
        "error": "50126: Error validating credentials due to invalid username or password.",
        "resources": ["Microsoft Azure CLI"],
    }
    sp = r["1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"]
    assert pick(sp, "actor_id", "actor_name", "actor_type", "outcome", "error") == {
        "actor_id": "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "actor_name": "ci-deployer",
        "actor_type": "ServicePrincipal", "outcome": "success", "error": None}


def test_entra_audit_fields() -> None:
    r = rows("azure.audit/PT1H.json")
    creds = r["Directory_5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b_TQ2WR_21457655"]
    assert pick(creds, "time", "source", "class_uid", "account", "actor_id", "actor_type", "src_ip", "service",
                "operation", "outcome", "resources") == {
        "time": at("2024-06-03T12:10:15.555"),
        "source": "azure.audit",
        "class_uid": 6003,
        "account": "8f2a1c3d-4b5e-4f60-9a7b-1c2d3e4f5a6b",
        "actor_id": "maria.lopez@example.com",
        "actor_type": "User",
        "src_ip": "198.51.100.14",
        "service": "Core Directory",
        "operation": "Add service principal credentials",
        "outcome": "success",
        "resources": ["ci-deployer"],
    }
    role = r["Directory_6f7a8b9c-0d1e-4f2a-9b3c-4d5e6f7a8b9c_E3N7P_99812030"]
    assert pick(role, "class_uid", "actor_id", "actor_name", "actor_type", "src_ip", "outcome", "error", "resources") == {
        "class_uid": 3001, "actor_id": "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "actor_name": "ci-deployer",
        "actor_type": "ServicePrincipal", "src_ip": None, "outcome": "failure",
        "error": "Insufficient privileges to complete the operation.", "resources": ["devon.kim@example.com"]}


# --- Classification boundaries ----------------------------------------------------------------


def test_entra_and_activity_records_are_told_apart(con: duckdb.DuckDBPyConnection) -> None:
    envelope = {"time": "2024-06-03T12:00:00Z", "correlationId": "c", "properties": {"id": "p"}}
    tenant = "/tenants/8f2a1c3d-4b5e-4f60-9a7b-1c2d3e4f5a6b/providers/Microsoft.aadiam"
    cases = {
        # An audit record whose category was replaced by the audit category ("Policy").
        "audit-by-scope": ({"resourceId": tenant, "operationName": "Update policy", "category": "Policy"}, "azure.audit"),
        "signin-no-category": ({"resourceId": tenant, "operationName": "Sign-in activity"}, "azure.signin"),
        "risk": ({"resourceId": tenant, "operationName": "User Risk Detection", "category": "UserRiskEvents"}, "azure.audit"),
        # Tenant-level activity record about Entra diagnostic settings: an activity operation.
        "activity-on-aadiam": ({"resourceId": tenant + "/diagnosticSettings/to-sentinel",
                                "operationName": "Microsoft.aadiam/diagnosticSettings/write", "category": "Administrative",
                                "eventDataId": "e1"}, "azure.activity"),
        "activity-policy": ({"resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
                             "operationName": "Microsoft.Authorization/policies/audit/action", "category": "Policy",
                             "eventDataId": "e2"}, "azure.activity"),
    }
    records = [envelope | rec | {"properties": {"id": name}} for name, (rec, _) in cases.items()]
    result = lines(con, *records)
    got = dict(zip(result.events["uid"].to_pylist(), result.events["source"].to_pylist(), strict=True))
    want = {name if src != "azure.activity" else f"c:{rec['eventDataId']}": src for name, (rec, src) in cases.items()}
    assert got == want
    # Intune's diagnostic export shares category AuditLogs; it is not Entra ID.
    intune = {"category": "AuditLogs", "operationName": "assignDeviceManagementScript DeviceManagementScript",
              "time": "2024-06-03T12:00:00Z", "properties": {"AuditEventId": "a", "Actor": {"UPN": "x@example.com"}}}
    assert [q["reason"] for q in lines(con, intune).quarantine.to_pylist()] == ["unrecognised log type"]


def test_look_alikes_stay_unrecognised(con: duckdb.DuckDBPyConnection) -> None:
    look_alikes = [
        {"action": "opened", "sender": {"login": "a"}, "repository": {"full_name": "o/r"}},  # GitHub webhook
        {"action": "repo.create", "actor": {"login": "a"}, "org": "o"},  # actor is not a login
        {"eventType": "AwsApiCall", "eventTime": "2024-01-01T00:00:00Z"},  # trimmed CloudTrail
        {"id": {"time": "2024-01-01T00:00:00Z"}, "kind": "drive#file", "name": "x"},  # other Google API object
        {"operation": "upload", "creationtime": 5},  # lower-case look-alike with a non-text time
        {"Operation": "x"},  # bare key
    ]
    result = lines(con, *look_alikes)
    assert result.events.num_rows == 0
    assert [q["reason"] for q in result.quarantine.to_pylist()] == ["unrecognised log type"] * len(look_alikes)


def test_samples_of_other_sources_are_not_taken() -> None:
    # Every pre-existing sample keeps its source with the new formats registered.
    seen = set()
    for path, batch, _ in read_events([SAMPLES]):
        folder = Path(path).parent.name
        for source in batch.events["source"].to_pylist():
            assert source == folder or (folder.startswith("runtime.") and source.startswith("runtime.")), (path, source)
            seen.add(source)
    assert set(SAAS) <= seen


@pytest.mark.parametrize("source", SAAS)
def test_fast_route_agrees_with_general_route(con: duckdb.DuckDBPyConnection, source: str) -> None:
    records = sample_records(SAMPLE_FILES[source])
    # Enough copies with distinct text for the sampled one-parse route, plus noise it must leave alone.
    texts = [json.dumps(records[i % len(records)] | {"_copy": i}) for i in range(600)]
    texts += ['{"hello": 1}', "not json", json.dumps({"eventVersion": "1.08", "eventSource": "s3.amazonaws.com",
                                                      "eventName": "GetObject", "eventID": "ct", "eventTime": "2024-01-01T00:00:00Z"})]
    fast = lines(con, *texts, fast_min_rows=0)
    general = lines(con, *texts, fast_min_rows=len(texts) + 1)
    assert fast.counts == general.counts == {source: 600, "aws.cloudtrail": 1}

    def key(t: pa.Table) -> list[dict[str, Any]]:
        return sorted(t.to_pylist(), key=lambda r: r["raw"])

    assert key(fast.events) == key(general.events)
    assert key(fast.quarantine) == key(general.quarantine)
