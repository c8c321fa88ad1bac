"""Azure resource logs (Key Vault AuditEvent, Storage) name their caller in other places than
Activity records; the actor and source address must still be filled."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from lanner.normalize import normalize_batch
from lanner.sources import RECORDS_SCHEMA

UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
KEYVAULT = {
    "time": "2026-11-28T10:00:00Z", "category": "AuditEvent", "operationName": "SecretGet", "resultType": "Success",
    "resourceId": "/SUBSCRIPTIONS/0F0E/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV1",
    "callerIpAddress": "203.0.113.5", "identity": {"claim": {UPN: "ana@example.com", "appid": "app-9"}},
}
STORAGE = {
    "time": "2026-11-28T10:00:01Z", "category": "StorageDelete", "operationName": "DeleteBlob", "statusText": "Success",
    "resourceId": "/subscriptions/0f0e/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa1/blobServices/default",
    "callerIpAddress": "198.51.100.7:50211", "identity": {"type": "OAuth", "requester": {"appId": "app-7", "objectId": "oid-7"}},
}


@pytest.mark.parametrize(("record", "actor", "ip"), [
    (KEYVAULT, "ana@example.com", "203.0.113.5"),
    (STORAGE, "app-7", "198.51.100.7"),
    ({**STORAGE, "callerIpAddress": "2001:db8::7"}, "app-7", "2001:db8::7"),
])
def test_resource_log_actor_and_address(record: dict, actor: str, ip: str) -> None:
    records = pa.Table.from_pydict({"file": ["f"], "position": [1], "raw": [json.dumps(record)]}, schema=RECORDS_SCHEMA)
    result = normalize_batch(duckdb.connect(), records, fast_min_rows=10**9)
    assert result.quarantine.num_rows == 0
    row = result.events.to_pylist()[0]
    assert (row["source"], row["actor_id"], row["actor_name"], row["src_ip"]) == ("azure.activity", actor, actor, ip)
