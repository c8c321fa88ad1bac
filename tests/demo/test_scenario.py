"""The scenario generator: deterministic, native layouts, a coherent ground truth."""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

import orjson
import pytest

from lanner.demo import Scenario, event_key, generate
from lanner.detect.attack import load_attack
from lanner.errors import InputError


def _digests(s: Scenario) -> dict[str, str]:
    return {str(p.relative_to(s.out_dir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in s.files}


def _records(path: Path) -> list[dict]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    doc = data.lstrip()
    if doc.startswith(b"{") and b"\n{" not in doc.rstrip():
        obj = orjson.loads(doc)
        return obj.get("Records") or obj.get("records") or [obj]
    return [orjson.loads(line) for line in doc.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return generate(tmp_path_factory.mktemp("demo") / "out")


def test_same_seed_gives_identical_files(scenario: Scenario, tmp_path: Path) -> None:
    again = generate(tmp_path / "again")
    assert _digests(again) == _digests(scenario)
    assert again.stages == scenario.stages
    assert again.counts == scenario.counts


def test_different_seed_gives_different_files(scenario: Scenario, tmp_path: Path) -> None:
    other = generate(tmp_path / "other", seed=8)
    a, b = _digests(scenario), _digests(other)
    changed = [k for k in a.keys() & b.keys() if a[k] != b[k]]
    assert len(changed) > 0.9 * len(a.keys() & b.keys())
    assert other.attack_uids().isdisjoint(scenario.attack_uids())


def test_refuses_a_directory_with_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("someone's file")
    with pytest.raises(InputError, match="not empty"):
        generate(tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "someone's file"


def test_native_layouts(scenario: Scenario) -> None:
    rel = [str(p.relative_to(scenario.out_dir)) for p in scenario.files]
    ct = [r for r in rel if r.startswith("AWSLogs/")]
    # AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHMMZ_<16>.json.gz
    for r in ct:
        parts = r.split("/")
        assert parts[2] == "CloudTrail" and parts[4:7] == ["2026", "11", "28"]
        name = parts[7]
        assert name.startswith(f"{parts[1]}_CloudTrail_{parts[3]}_20261128T") and name.endswith(".json.gz")
        assert len(name.rsplit("_", 1)[1]) == len("0123456789ABCDEF.json.gz")
    assert {r.split("/")[1] for r in ct} == {"418273645091", "552910384776", "730184552019"}
    assert len({r.split("/")[3] for r in ct}) >= 3  # several regions
    assert any(r.startswith("azure/insights-activity-logs/resourceId=/SUBSCRIPTIONS/") and "/y=2026/m=11/d=28/h=" in r for r in rel)
    assert any(r.startswith("gcp/cloudaudit.googleapis.com/activity/2026/11/28/") for r in rel)
    assert any(r.startswith("gcp/cloudaudit.googleapis.com/data_access/2026/11/28/") for r in rel)
    assert any(r.startswith("k8s/") for r in rel) and any(r.startswith("tetragon/") for r in rel)


def test_records_look_like_their_providers(scenario: Scenario) -> None:
    by_top = {str(p.relative_to(scenario.out_dir)).split("/")[0]: p for p in scenario.files}
    ct = _records(by_top["AWSLogs"])[0]
    assert {"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "eventID",
            "recipientAccountId", "eventCategory", "managementEvent"} <= ct.keys()
    gcp = _records(by_top["gcp"])[0]
    assert gcp["protoPayload"]["@type"] == "type.googleapis.com/google.cloud.audit.AuditLog" and "insertId" in gcp
    az = _records(by_top["azure"])[0]
    assert {"time", "resourceId", "operationName", "category", "resultType", "correlationId"} <= az.keys()
    k8s = _records(by_top["k8s"])[0]
    assert k8s["apiVersion"] == "audit.k8s.io/v1" and k8s["kind"] == "Event"
    tg = _records(by_top["tetragon"])
    kinds = Counter(next(iter(k for k in r if k.startswith("process_"))) for r in tg)
    assert kinds["process_exec"] > 0 and kinds["process_kprobe"] > 0
    functions = {r["process_kprobe"]["function_name"] for r in tg if "process_kprobe" in r}
    assert functions == {"security_file_open", "fd_install", "tcp_connect"}


def test_benign_day_is_varied(scenario: Scenario) -> None:
    identities: Counter[str] = Counter()
    agents: set[str] = set()
    hours: Counter[int] = Counter()
    for p in scenario.files:
        if not str(p.relative_to(scenario.out_dir)).startswith("AWSLogs"):
            continue
        for r in _records(p):
            identities[r["userIdentity"]["type"]] += 1
            agents.add(r["userAgent"].split("/")[0])
            hours[int(r["eventTime"][11:13])] += 1
    assert {"AssumedRole", "IAMUser", "AWSService", "Root", "WebIdentityUser"} <= identities.keys()
    assert identities["Root"] < 10
    assert {"aws-cli", "Boto3", "APN", "config.amazonaws.com"} <= agents
    assert hours[15] > hours[3]  # business-hours shape on top of the flat automation


def test_volume_fits_the_demo_budget(scenario: Scenario) -> None:
    assert 30_000 <= scenario.total_events <= 60_000
    assert set(scenario.counts) == {"aws.cloudtrail", "gcp.audit", "azure.activity", "k8s.audit",
                                    "runtime.process", "runtime.file", "runtime.network"}
    assert all(n > 500 for n in scenario.counts.values())


def test_ground_truth(scenario: Scenario) -> None:
    attack = load_attack()
    assert [s.tactic for s in scenario.stages] == [
        "execution", "credential-access", "discovery", "persistence", "defense-impairment", "exfiltration"]
    for stage in scenario.stages:
        assert stage.uids, stage.name
        tactic = attack.tactic(stage.tactic)
        assert tactic is not None and tactic.uid == stage.tactic_uid
        assert all(attack.technique(t) is not None for t in stage.techniques), stage.techniques
    # Every key in the truth is a record that was written, exactly once, and no two records share a key.
    keys: Counter[str] = Counter(event_key(r) for p in scenario.files for r in _records(p))
    assert max(keys.values()) == 1
    assert sum(keys.values()) == scenario.total_events
    assert scenario.attack_uids() <= keys.keys()
    assert len(scenario.attack_uids()) == sum(len(s.uids) for s in scenario.stages)


def test_attack_happens_in_the_afternoon_from_outside(scenario: Scenario) -> None:
    for p in scenario.files:
        for r in _records(p):
            if event_key(r) not in scenario.attack_uids():
                continue
            when = r.get("eventTime") or r.get("time")
            assert "T14:" in when or "T15:" in when, when
            if "eventID" in r:
                assert r["sourceIPAddress"] == scenario.attacker_ip
                assert "vpcEndpointId" not in r


def test_event_key_rejects_unknown_records() -> None:
    with pytest.raises(ValueError, match="no native id"):
        event_key({"hello": "world"})


def test_weekday_has_more_human_activity(tmp_path: Path) -> None:
    saturday = generate(tmp_path / "sat", day=date(2026, 11, 28))
    tuesday = generate(tmp_path / "tue", day=date(2026, 11, 24))
    assert tuesday.counts["gcp.audit"] > saturday.counts["gcp.audit"]
    assert tuesday.stages[0].name == saturday.stages[0].name
