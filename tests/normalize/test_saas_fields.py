"""Sigma field names of the SaaS / identity sources, run end to end: record -> normalizer -> rule.

Each case is a small Sigma rule over the contract's field names (typed columns, computed
`Parameters.<Name>` / `parameters.<NAME>`, either key spelling) and the records it must and must
not match, normalized by the real normalizers.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from lanner.detect.engine import detect
from lanner.detect.sigma import load_rules
from lanner.normalize import normalize_batch
from lanner.sources import RECORDS_SCHEMA

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _records(texts: list[str]) -> pa.Table:
    return pa.Table.from_pydict(
        {"file": ["t"] * len(texts), "position": list(range(1, len(texts) + 1)), "raw": texts}, schema=RECORDS_SCHEMA
    )


def matches(tmp_path: Path, logsource: str, detection: str, records: list[dict[str, Any]]) -> list[str]:
    """uids of the records the rule matches (every record must normalize)."""
    rule = (
        f"title: t\nid: {uuid.uuid4()}\nname: t_rule\nstatus: test\nlogsource: {logsource}\n"
        f"detection:\n{detection}\nlevel: low\n"
    )
    (tmp_path / "rule.yml").write_text(rule)
    rs = load_rules([tmp_path])
    assert rs.errors == [] and rs.unsupported == [] and len(rs.rules) == 1, (rs.errors, rs.unsupported)
    con = duckdb.connect()
    result = normalize_batch(con, _records([json.dumps(r) for r in records]))
    assert result.quarantine.num_rows == 0, result.quarantine.to_pylist()
    con.register("events", result.events)
    return sorted(row["uid"] for m in detect(con, "events", rs) for row in m.events)


def sample(path: str) -> list[dict[str, Any]]:
    text = (SAMPLES / path).read_text()
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --- Okta -----------------------------------------------------------------------------------


def test_okta_native_names_and_lower_cased_keys(tmp_path: Path) -> None:
    events = sample("okta.system/systemlog.jsonl")
    # Panther-style lower-cased top-level keys: same event, other spelling.
    lowered = {k.lower(): v for k, v in events[1].items()} | {"uuid": "lower-1"}
    det = (
        "  sel:\n    eventType: user.account.privilege.grant\n"
        "    debugContext.debugData.privilegeGranted|contains: administrator\n"
        "    target.alternateId: devon.kim@example.com\n    outcome.result: SUCCESS\n"
        "  condition: sel"
    )
    assert matches(tmp_path, "{product: okta, service: okta}", det, [*events, lowered]) == [
        "6c2a1d8f-2d3a-11ef-9a41-0b7c5e2d1a02", "lower-1"]
    det = "  sel:\n    securityContext.isProxy: 'true'\n    client.ipAddress|cidr: 203.0.113.0/24\n  condition: sel"
    assert matches(tmp_path, "{product: okta, service: okta}", det, events) == ["7d3b2e90-2d3a-11ef-9a41-0b7c5e2d1a03"]


# --- GitHub ---------------------------------------------------------------------------------


def test_github_fields(tmp_path: Path) -> None:
    events = sample("github.audit/audit.json")
    det = "  sel:\n    action: repo.access\n    visibility: public\n    actor_location.country_code: PT\n  condition: sel"
    assert matches(tmp_path, "{product: github, service: audit}", det, events) == ["Qk3t9XbV2mPq7Lr1sWc0ZA"]
    det = "  sel:\n    actor|endswith: '[bot]'\n  condition: sel"
    assert matches(tmp_path, "{product: github, service: audit}", det, events) == ["Sm5v1ZdX4oRs9Nt3uYe2BC"]


# --- Google Workspace -------------------------------------------------------------------------


def test_gworkspace_every_event_and_both_shapes(tmp_path: Path) -> None:
    events = sample("gworkspace.audit/activities.jsonl")
    ls = "{product: google_workspace, service: drive}"
    # The second event of the first record: eventName and parameters test every event.
    det = "  sel:\n    eventName: change_document_visibility\n    parameters.visibility: people_with_link\n  condition: sel"
    assert matches(tmp_path, ls, det, events) == ["drive/2024-06-03T10:01:15.482Z/-4179853291467013371"]
    det = "  sel:\n    parameters.new_value: can_view\n  condition: sel"  # multiValue elements
    assert matches(tmp_path, ls, det, events) == ["drive/2024-06-03T10:01:15.482Z/-4179853291467013371"]
    det = (
        "  sel:\n    id.applicationName: admin\n    eventName: CHANGE_APPLICATION_SETTING\n"
        "    parameters.SETTING_NAME|contains: Two Step Verification\n    parameters.NEW_VALUE: 'false'\n  condition: sel"
    )
    assert matches(tmp_path, "{product: google_workspace, service: admin}", det, events) == [
        "admin/2024-06-03T10:05:40.117Z/8830412290175562210"]
    # Flattened one-event shape: top-level name / type / parameters object.
    det = "  sel:\n    eventName: ASSIGN_ROLE\n    eventType: DELEGATED_ADMIN_SETTINGS\n    parameters.ROLE_NAME: _SEED_ADMIN_ROLE\n  condition: sel"
    assert matches(tmp_path, "{product: google_workspace, service: admin}", det, events) == [
        "admin/2024-06-03 10:09:31.250000000/-6120094478123309947/ASSIGN_ROLE"]
    det = "  sel:\n    eventName: login_failure\n    parameters.is_suspicious: 'false'\n    actor.email: devon.kim@example.com\n  condition: sel"
    assert matches(tmp_path, "{product: google_workspace, service: login}", det, events) == [
        "login/2024-06-03T10:07:02.900Z/2219984433091827716"]
    det = "  sel:\n    eventService: login.googleapis.com\n  condition: sel"
    assert len(matches(tmp_path, "{product: gcp, service: google_workspace.login}", det, events)) == 1


@pytest.mark.parametrize("name", ["eventName", "parameters.X"])
def test_gworkspace_fields_absent_do_not_match_or_fail(tmp_path: Path, name: str) -> None:
    events = sample("gworkspace.audit/activities.jsonl")
    det = f"  sel:\n    {name}|exists: false\n  condition: sel"
    got = matches(tmp_path, "{product: google_workspace, service: admin}", det, events)
    assert got == ([] if name == "eventName" else sorted(e for e in _uids(events)))


def _uids(events: list[dict[str, Any]]) -> list[str]:
    con = duckdb.connect()
    return normalize_batch(con, _records([json.dumps(e) for e in events])).events["uid"].to_pylist()


# --- Microsoft 365 ----------------------------------------------------------------------------


def test_m365_computed_lists_and_either_spelling(tmp_path: Path) -> None:
    events = sample("m365.audit/content.json")
    # Panther-style: top-level keys lower-cased, list elements keep Name/Value.
    lowered = {k.lower(): v for k, v in events[0].items()} | {"id": "lower-1"}
    ls = "{product: m365, service: exchange}"
    det = (
        "  sel:\n    Operation: Set-Mailbox\n    Parameters.ForwardingSmtpAddress|contains: '@'\n"
        "    parameters.delivertomailboxandforward: 'True'\n    ResultStatus: 'True'\n    Workload: Exchange\n"
        "    OrganizationName|endswith: .onmicrosoft.com\n  condition: sel"
    )
    assert matches(tmp_path, ls, det, [*events, lowered]) == ["4e1c9a52-7b3d-4c8e-9f10-2a3b4c5d6e01", "lower-1"]
    det = "  sel:\n    ModifiedProperties.StrongAuthenticationMethod: '[]'\n    Operation: Update user.\n  condition: sel"
    assert matches(tmp_path, "{product: m365, service: audit}", det, events) == ["6a3e1c74-9d5f-4ea0-b132-4c5d6e7f8003"]
    det = "  sel:\n    ExtendedProperties.RequestType: 'Login:login'\n    LogonError: InvalidUserNameOrPassword\n  condition: sel"
    assert matches(tmp_path, "{product: m365, service: audit}", det, events) == ["5f2d0b63-8c4e-4d9f-a021-3b4c5d6e7f02"]
    # SigmaHQ's ECS-style names.
    det = "  sel:\n    eventSource: Exchange\n    eventName: Set-Mailbox\n    status: 'True'\n  condition: sel"
    assert matches(tmp_path, "{product: m365, service: exchange}", det, events) == ["4e1c9a52-7b3d-4c8e-9f10-2a3b4c5d6e01"]
    det = "  sel:\n    Parameters.NoSuchParameter|exists: true\n  condition: sel"
    assert matches(tmp_path, "{product: m365, service: audit}", det, events) == []


# --- Entra ID -------------------------------------------------------------------------------


def _records_of(path: str) -> list[dict[str, Any]]:
    return json.loads((SAMPLES / path).read_text())["records"]


def test_entra_signin_fields(tmp_path: Path) -> None:
    events = _records_of("azure.signin/PT1H.json")
    det = (
        "  sel:\n    ResultType: '50126'\n    properties.authenticationProtocol: ropc\n"
        "    properties.authenticationDetails.authenticationMethod: Password\n    userAgent|startswith: python-requests\n"
        "  condition: sel"
    )
    assert matches(tmp_path, "{product: azure, service: signinlogs}", det, events) == ["0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"]
    det = "  sel:\n    category: ServicePrincipalSignInLogs\n    properties.status.errorCode: 0\n  condition: sel"
    assert matches(tmp_path, "{product: azure, service: signinlogs}", det, events) == ["1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"]


def test_entra_audit_fields(tmp_path: Path) -> None:
    events = _records_of("azure.audit/PT1H.json")
    ls = "{product: azure, service: auditlogs}"
    det = (
        "  sel:\n    properties.message: Add member to role\n    properties.targetResources.type: User\n"
        "    properties.targetResources.modifiedProperties.newValue|contains: Global Administrator\n"
        "    initiatedBy.app.displayName|exists: false\n  condition: sel"
    )
    # `initiatedBy` lives under properties: the unprefixed name is absent, so |exists: false holds.
    assert matches(tmp_path, ls, det, events) == ["Directory_6f7a8b9c-0d1e-4f2a-9b3c-4d5e6f7a8b9c_E3N7P_99812030"]
    det = (
        "  sel:\n    operationName: Add service principal credentials\n    LoggedByService: Core Directory\n"
        "    properties.result: success\n    properties.initiatedBy.user.userPrincipalName|endswith: '@example.com'\n  condition: sel"
    )
    assert matches(tmp_path, ls, det, events) == ["Directory_5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b_TQ2WR_21457655"]


def _set_mailbox(uid: str, user: str, forward: str | None, identity: str | None = None) -> dict[str, Any]:
    params = [{"Name": "Identity", "Value": identity or user}]
    if forward is not None:
        params.append({"Name": "ForwardingSmtpAddress", "Value": forward})
    return {"Id": uid, "CreationTime": "2026-11-20T15:04:05", "Workload": "Exchange", "Operation": "Set-Mailbox",
            "RecordType": 1, "ResultStatus": "True", "UserId": user, "Parameters": params}


def test_m365_forwards_outside_owner_domain(tmp_path: Path) -> None:
    records = [
        _set_mailbox("out", "ana@contoso.com", "smtp:ana@gmail.com"),
        _set_mailbox("same", "ana@contoso.com", "smtp:payroll@contoso.com"),
        _set_mailbox("sub", "ana@contoso.com", "SMTP:archive@eu.contoso.com"),
        # A look-alike domain is outside: the suffix test is on a label boundary.
        _set_mailbox("lookalike", "ana@contoso.com", "smtp:ana@notcontoso.com"),
        # An admin sets forwarding on someone else's mailbox: the target mailbox's domain counts.
        _set_mailbox("admin", "admin@contoso.onmicrosoft.com", "smtp:x@fabrikam.com", identity="bo@fabrikam.com"),
        _set_mailbox("none", "ana@contoso.com", None),
    ]
    outside = matches(tmp_path, "{product: m365, service: audit}", "  s:\n    ForwardsOutsideOwnerDomain: 'true'\n  condition: s", records)
    inside = matches(tmp_path, "{product: m365, service: audit}", "  s:\n    ForwardsOutsideOwnerDomain: 'false'\n  condition: s", records)
    assert outside == ["lookalike", "out"]
    assert inside == ["admin", "same", "sub"]
