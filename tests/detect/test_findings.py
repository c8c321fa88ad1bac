"""OCSF Detection Finding output and the plain-language explanation, on realistic matches."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from lanner import __version__
from lanner.detect.explain import explain, template_problems
from lanner.detect.findings import finding_json, finding_to_json, finding_uid, to_finding
from lanner.detect.model import Match, RuleMeta
from lanner.errors import RuleError
from lanner.model.event import EVENT_COLUMNS
from lanner.paths import REPO_DIR, SHARED_DATASETS_DIR

T0 = datetime(2026, 8, 3, 14, 2, 11, 250000, tzinfo=UTC)
T0_MS = 1785765731250  # date -u -d 2026-08-03T14:02:11Z +%s, then .250


def row(raw_text: str, **columns: Any) -> dict[str, Any]:
    """A normalized event row: every EVENT_COLUMNS key, NULL unless given, raw verbatim."""
    event: dict[str, Any] = dict.fromkeys(EVENT_COLUMNS)
    event.update(columns, raw=raw_text)
    return event


# Verbatim source records, formatted the way the sources write them (spacing is kept as-is).
STOP_LOGGING_RAW = """{"eventVersion": "1.09", "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEALICE0001",
"arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLEKEY00001",
"userName": "alice"}, "eventTime": "2026-08-03T14:02:11Z", "eventSource": "cloudtrail.amazonaws.com",
"eventName": "StopLogging", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7",
"userAgent": "aws-cli/2.17.0 Python/3.11.8 Linux/6.1", "requestParameters": {"name": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"},
"responseElements": null, "requestID": "8c7a4f3e-1b2d-4e5f-9a8b-7c6d5e4f3a2b", "eventID": "5f0c9e2a-7d41-4b8e-a3c6-0e1f2d3c4b5a",
"readOnly": false, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "111122223333", "eventCategory": "Management"}"""

K8S_EXEC_RAW = json.dumps(
    {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Request",
        "auditID": "3b6f1c2d-9e8a-4f7b-8c5d-2a1e0f9d8c7b",
        "stage": "ResponseStarted",
        "requestURI": "/api/v1/namespaces/shop/pods/web-7c9d/exec?command=sh&container=web&stdin=true&tty=true",
        "verb": "create",
        "user": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
        "sourceIPs": ["198.51.100.23"],
        "userAgent": "kubectl/v1.30.2 (linux/amd64) kubernetes/39683505",
        "objectRef": {
            "resource": "pods",
            "namespace": "shop",
            "name": "web-7c9d",
            "apiVersion": "v1",
            "subresource": "exec",
        },
        "responseStatus": {"metadata": {}, "code": 101},
        "requestReceivedTimestamp": "2026-08-03T14:05:00.120000Z",
        "stageTimestamp": "2026-08-03T14:05:00.180000Z",
    },
    indent=2,
)

TETRAGON_EXEC_RAW = json.dumps(
    {
        "process_exec": {
            "process": {
                "exec_id": "bm9kZS1hOjEyMzQ1Njc4OTo0MjQy",
                "pid": 4242,
                "uid": 0,
                "cwd": "/",
                "binary": "/bin/bash",
                "arguments": "-i",
                "flags": "execve clone",
                "start_time": "2026-08-03T14:06:30.000000001Z",
                "auid": 4294967295,
                "pod": {
                    "namespace": "shop",
                    "name": "web-7c9d",
                    "container": {
                        "id": "containerd://9f8e7d6c5b4a39281706f5e4d3c2b1a0",
                        "name": "web",
                        "image": {
                            "id": "docker.io/library/nginx@sha256:0a1b",
                            "name": "docker.io/library/nginx:1.25",
                        },
                    },
                },
                "parent_exec_id": "bm9kZS1hOjEyMzQ1MDAwOjQyMDA=",
            },
            "parent": {"pid": 4200, "binary": "/usr/sbin/nginx", "arguments": "-g daemon off;"},
        },
        "node_name": "node-a",
        "time": "2026-08-03T14:06:30.000000001Z",
    }
)

FAILED_LOGIN_RAW = [
    json.dumps(
        {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": f"AIDAEXAMPLE{n:09d}",
                "accountId": "111122223333",
                "userName": user,
            },
            "eventTime": f"2026-08-03T15:00:{n:02d}Z",
            "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.50",
            "errorMessage": "Failed authentication",
            "responseElements": {"ConsoleLogin": "Failure"},
            "eventID": f"e1d2c3b4-0000-4000-8000-0000000000{n:02d}",
            "eventType": "AwsConsoleSignIn",
        }
    )
    for n, user in enumerate(["admin", "root-ops", "backup"])
]


def rule(**kw: Any) -> RuleMeta:
    base: dict[str, Any] = {
        "id": "a4a1c6ff-5d2e-4a0b-9d63-8e3c2f1b0a91",
        "title": "CloudTrail logging stopped or deleted",
        "path": "content/rules/aws/cloudtrail_logging_stopped.yml",
        "name": "aws_cloudtrail_logging_stopped",
        "description": "Someone stopped, changed or deleted a CloudTrail trail, which blinds audit logging.",
        "level": "high",
        "status": "stable",
        "tags": ("attack.defense-impairment", "attack.t1685.002"),
        "logsource": {"product": "aws", "service": "cloudtrail"},
    }
    base.update(kw)
    return RuleMeta(**base)


def stop_logging_event(**over: Any) -> dict[str, Any]:
    columns: dict[str, Any] = {
        "uid": "5f0c9e2a-7d41-4b8e-a3c6-0e1f2d3c4b5a",
        "time": T0,
        "source": "aws.cloudtrail",
        "class_uid": 6003,
        "cloud": "aws",
        "account": "111122223333",
        "region": "us-east-1",
        "actor_id": "arn:aws:iam::111122223333:user/alice",
        "actor_name": "alice",
        "actor_type": "IAMUser",
        "actor_session": "AKIAEXAMPLEKEY00001",
        "src_ip": "203.0.113.7",
        "user_agent": "aws-cli/2.17.0 Python/3.11.8 Linux/6.1",
        "service": "cloudtrail.amazonaws.com",
        "operation": "StopLogging",
        "outcome": "success",
        "resources": ["arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"],
    }
    columns.update(over)
    return row(STOP_LOGGING_RAW, **columns)


def single(meta: RuleMeta, event: dict[str, Any]) -> Match:
    return Match(rule=meta, events=(event,), event_count=1, first_time=event["time"], last_time=event["time"])


@pytest.fixture
def stop_logging() -> Match:
    return single(rule(), stop_logging_event())


@pytest.fixture
def k8s_exec() -> Match:
    event = row(
        K8S_EXEC_RAW,
        uid="3b6f1c2d-9e8a-4f7b-8c5d-2a1e0f9d8c7b",
        time=T0 + timedelta(minutes=3),
        source="k8s.audit",
        class_uid=6003,
        cloud="k8s",
        account="prod-eks",
        actor_id="kubernetes-admin",
        actor_name="kubernetes-admin",
        actor_type="User",
        src_ip="198.51.100.23",
        user_agent="kubectl/v1.30.2 (linux/amd64) kubernetes/39683505",
        service="pods/exec",
        operation="create",
        outcome="success",
        resources=["shop/pods/web-7c9d"],
        namespace="shop",
        pod="web-7c9d",
    )
    meta = rule(
        id="c2f0d3e1-8b7a-4c6d-9e5f-1a2b3c4d5e6f",
        title="Interactive exec into a pod",
        name="k8s_pod_exec",
        description="A user opened a shell inside a running pod.",
        level="medium",
        status="test",
        tags=("attack.execution", "attack.t1609"),
        logsource={"product": "kubernetes", "service": "audit"},
    )
    return single(meta, event)


@pytest.fixture
def shell_in_container() -> Match:
    event = row(
        TETRAGON_EXEC_RAW,
        uid="bm9kZS1hOjEyMzQ1Njc4OTo0MjQy:2026-08-03T14:06:30.000000001Z",
        time=T0 + timedelta(minutes=4, seconds=19),
        source="runtime.process",
        class_uid=1007,
        cloud="host",
        operation="exec",
        host="node-a",
        container_id="9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        pod="web-7c9d",
        namespace="shop",
        image="docker.io/library/nginx:1.25",
        pid=4242,
        exe="/bin/bash",
        cmdline="/bin/bash -i",
        user="0",
        parent_pid=4200,
        parent_exe="/usr/sbin/nginx",
        parent_cmdline="/usr/sbin/nginx -g daemon off;",
    )
    meta = rule(
        id="7e6d5c4b-3a29-4187-9605-f4e3d2c1b0a9",
        title="Shell spawned by a web server in a container",
        name="runtime_webserver_shell",
        description="A web server process started an interactive shell.",
        level="critical",
        status="experimental",
        tags=("attack.execution", "attack.t1059.004"),
        logsource={"product": "linux", "category": "process_creation"},
    )
    return single(meta, event)


@pytest.fixture
def brute_force() -> Match:
    events = tuple(
        row(
            raw,
            uid=json.loads(raw)["eventID"],
            time=T0 + timedelta(hours=1, seconds=n),
            source="aws.cloudtrail",
            class_uid=3002,
            cloud="aws",
            account="111122223333",
            region="us-east-1",
            actor_id=f"arn:aws:iam::111122223333:user/{json.loads(raw)['userIdentity']['userName']}",
            actor_name=json.loads(raw)["userIdentity"]["userName"],
            actor_type="IAMUser",
            src_ip="203.0.113.50",
            service="signin.amazonaws.com",
            operation="ConsoleLogin",
            outcome="failure",
            error="Failed authentication",
        )
        for n, raw in enumerate(FAILED_LOGIN_RAW)
    )
    meta = rule(
        id="0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d",
        title="Many failed console logins from one IP",
        name="aws_console_login_bruteforce",
        description="At least 10 failed console logins from the same source IP within 5 minutes.",
        level="medium",
        status="test",
        tags=("attack.credential-access", "attack.t1110"),
    )
    return Match(
        rule=meta,
        events=events,  # a bounded sample of the 12
        event_count=12,
        first_time=T0 + timedelta(hours=1),
        last_time=T0 + timedelta(hours=1, minutes=4, seconds=2),
        group={"src_ip": "203.0.113.50"},
    )


# --- a focused OCSF 1.7.0 Detection Finding schema check ------------------------------------------

# Attributes of detection_finding in OCSF 1.7.0 (base_event + finding + detection_finding),
# plus those its profiles add: cloud -> cloud, api; host -> actor, device.
DETECTION_FINDING_ATTRIBUTES = {
    "activity_id", "activity_name", "category_name", "category_uid", "class_name", "class_uid", "count",
    "duration", "end_time", "enrichments", "message", "metadata", "observables", "raw_data", "raw_data_hash",
    "raw_data_size", "severity", "severity_id", "start_time", "status", "status_code", "status_detail",
    "status_id", "time", "timezone_offset", "type_name", "type_uid", "unmapped", "comment", "confidence",
    "confidence_id", "confidence_score", "device", "finding_info", "vendor_attributes", "anomaly_analyses",
    "evidences", "impact", "impact_id", "impact_score", "is_alert", "malware", "malware_scan_info",
    "remediation", "resources", "risk_details", "risk_level", "risk_level_id", "risk_score", "vulnerabilities",
}  # fmt: skip
PROFILE_ATTRIBUTES = {"cloud": {"cloud", "api"}, "host": {"actor", "device"}}
FINDING_INFO_ATTRIBUTES = {
    "analytic", "attack_graph", "attacks", "created_time", "data_sources", "desc", "first_seen_time",
    "kill_chain", "last_seen_time", "modified_time", "product", "product_uid", "related_analytics",
    "related_events", "related_events_count", "src_url", "tags", "title", "traits", "types", "uid", "uid_alt",
}  # fmt: skip
EVIDENCE_ATTRIBUTES = {
    "name", "uid", "actor", "api", "connection_info", "container", "data", "database", "databucket", "device",
    "dst_endpoint", "email", "file", "http_request", "http_response", "ja4_fingerprint_list", "job", "process",
    "query", "resources", "script", "src_endpoint", "tls", "url", "user", "verdict", "verdict_id",
}  # fmt: skip
SEVERITY_CAPTIONS = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal"}


def check_ocsf_detection_finding(f: dict[str, Any]) -> None:
    """Required/recommended keys, types and enums of OCSF 1.7.0 class 2004 (no pydantic-ocsf needed)."""
    profiles = f["metadata"]["profiles"]
    allowed = DETECTION_FINDING_ATTRIBUTES.union(
        *(PROFILE_ATTRIBUTES[p] for p in profiles if p in PROFILE_ATTRIBUTES)
    )
    assert set(f) <= allowed, f"not OCSF 1.7 detection_finding attributes: {set(f) - allowed}"
    # required (base event + finding)
    assert f["class_uid"] == 2004 and f["category_uid"] == 2
    assert f["activity_id"] == 1 and f["activity_name"] == "Create"
    assert f["type_uid"] == f["class_uid"] * 100 + f["activity_id"]
    assert isinstance(f["time"], int) and f["time"] > 0
    assert f["severity_id"] in SEVERITY_CAPTIONS and f["severity"] == SEVERITY_CAPTIONS[f["severity_id"]]
    meta = f["metadata"]
    assert (
        meta["version"] == "1.7.0"
        and isinstance(meta["product"], dict)
        and meta["product"]["name"] == "Lanner"
    )
    info = f["finding_info"]
    assert set(info) <= FINDING_INFO_ATTRIBUTES
    assert isinstance(info["uid"], str) and info["uid"]
    # recommended
    assert f["is_alert"] is True and f["status_id"] == 1 and f["status"] == "New"
    assert isinstance(info["title"], str) and info["title"]
    assert info["analytic"]["type_id"] == 1 and info["analytic"]["type"] == "Rule"
    assert isinstance(f["evidences"], list) and f["evidences"]
    for ev in f["evidences"]:
        assert set(ev) <= EVIDENCE_ATTRIBUTES
        assert set(ev) - {"name", "uid"}, "OCSF: at least one evidence artifact"
        assert isinstance(ev.get("data", {}), dict)
        for file in [ev.get("file"), ev.get("process", {}).get("file")]:
            if file:
                assert isinstance(file["name"], str) and isinstance(file["type_id"], int)
        if image := ev.get("container", {}).get("image"):
            assert isinstance(image["uid"], str)
        if "api" in ev:
            assert isinstance(ev["api"]["operation"], str)
    for attack in info["attacks"]:
        assert set(attack) <= {"tactic", "technique", "sub_technique", "version"} and attack["version"]
        if "tactic" in attack:
            assert re.fullmatch(r"TA\d{4}", attack["tactic"]["uid"]) and attack["tactic"]["name"]
        if "technique" in attack:
            assert re.fullmatch(r"T\d{4}", attack["technique"]["uid"]) and attack["technique"]["name"]
        if "sub_technique" in attack:
            assert attack["sub_technique"]["uid"].startswith(attack["technique"]["uid"] + ".")
    for rel in info["related_events"]:
        assert set(rel) <= {"uid", "type", "created_time"} and isinstance(rel["uid"], str)
    for key in ("first_seen_time", "last_seen_time"):
        assert isinstance(info[key], int)
    if "confidence_id" in f:
        assert f["confidence_id"] in (1, 2, 3, 99)
    for obs in f.get("observables", []):
        assert isinstance(obs["type_id"], int) and isinstance(obs["value"], str) and obs["name"]
    for res in f.get("resources", []):
        assert res.get("uid") or res.get("name")
    if "cloud" in f:
        assert "cloud" in profiles and isinstance(f["cloud"]["provider"], str)
    if "actor" in f or "device" in f:
        assert "host" in profiles
    if "device" in f:
        assert isinstance(f["device"]["type_id"], int)
    assert f["count"] >= 1
    assert isinstance(f["message"], str) and "\n" not in f["message"]


# --- findings ---------------------------------------------------------------------------------


def test_single_event_cloudtrail_finding(stop_logging: Match) -> None:
    f = to_finding(stop_logging)
    check_ocsf_detection_finding(f)
    assert f["time"] == f["start_time"] == f["end_time"] == T0_MS
    assert (f["severity_id"], f["severity"]) == (4, "High")
    assert (f["confidence_id"], f["confidence"]) == (3, "High")  # status stable
    assert f["count"] == 1
    info = f["finding_info"]
    assert info["title"] == "CloudTrail logging stopped or deleted"
    assert info["desc"].startswith("Someone stopped")
    assert info["analytic"] == {
        "uid": "a4a1c6ff-5d2e-4a0b-9d63-8e3c2f1b0a91",
        "name": "aws_cloudtrail_logging_stopped",
        "type_id": 1,
        "type": "Rule",
    }
    assert info["attacks"] == [
        {
            "tactic": {"uid": "TA0112", "name": "Defense Impairment"},
            "technique": {"uid": "T1685", "name": "Disable or Modify Tools"},
            "sub_technique": {"uid": "T1685.002", "name": "Disable or Modify Cloud Log"},
            "version": "19",
        }
    ]
    assert info["related_events"] == [
        {"uid": "5f0c9e2a-7d41-4b8e-a3c6-0e1f2d3c4b5a", "type": "aws.cloudtrail", "created_time": T0_MS}
    ]
    assert info["first_seen_time"] == info["last_seen_time"] == T0_MS
    assert info["types"] == info["data_sources"] == ["aws.cloudtrail"]
    # The verbatim record, parsed: exactly what CloudTrail wrote.
    (evidence,) = f["evidences"]
    assert evidence["data"] == json.loads(STOP_LOGGING_RAW)
    assert evidence["api"] == {"operation": "StopLogging", "service": {"name": "cloudtrail.amazonaws.com"}}
    assert evidence["src_endpoint"] == {"ip": "203.0.113.7"}
    assert evidence["http_request"]["user_agent"].startswith("aws-cli/2.17.0")
    assert f["metadata"] == {
        "uid": info["uid"],
        "version": "1.7.0",
        "product": {"name": "Lanner", "vendor_name": "Lanner", "version": __version__},
        "profiles": ["cloud", "host"],
    }
    assert f["cloud"] == {"provider": "AWS", "region": "us-east-1", "account": {"uid": "111122223333"}}
    assert f["actor"] == {
        "user": {
            "uid": "arn:aws:iam::111122223333:user/alice",
            "name": "alice",
            "credential_uid": "AKIAEXAMPLEKEY00001",
            "type_id": 1,
            "type": "User",
        }
    }
    assert f["resources"] == [
        {
            "uid": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail",
            "type": "cloudtrail:trail",
            "name": "org-trail",
            "region": "us-east-1",
        }
    ]
    assert f["observables"] == [
        {"name": "src_endpoint.ip", "type_id": 2, "type": "IP Address", "value": "203.0.113.7"},
        {
            "name": "actor.user.uid",
            "type_id": 31,
            "type": "User UID",
            "value": "arn:aws:iam::111122223333:user/alice",
        },
        {"name": "actor.user.name", "type_id": 4, "type": "User Name", "value": "alice"},
        {
            "name": "actor.user.credential_uid",
            "type_id": 19,
            "type": "User Credential ID",
            "value": "AKIAEXAMPLEKEY00001",
        },
        {
            "name": "resources.uid",
            "type_id": 10,
            "type": "Resource UID",
            "value": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail",
        },
    ]
    assert "unmapped" not in f
    assert f["message"] == (
        "CloudTrail logging stopped or deleted: arn:aws:iam::111122223333:user/alice (IAMUser) called "
        "StopLogging (cloudtrail.amazonaws.com) on arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail "
        "from 203.0.113.7 (aws us-east-1, account 111122223333)"
    )


def test_kubernetes_finding_keeps_the_cluster_and_pod(k8s_exec: Match) -> None:
    f = to_finding(k8s_exec)
    check_ocsf_detection_finding(f)
    assert "cloud" not in f  # k8s is not a cloud provider; the cluster goes to unmapped
    assert f["unmapped"] == {"k8s_account": "prod-eks"}
    assert f["metadata"]["profiles"] == ["host"]
    assert (f["severity_id"], f["confidence_id"]) == (3, 2)
    assert f["resources"] == [
        {"uid": "shop/pods/web-7c9d"},
        {"type": "pod", "name": "web-7c9d", "uid": "shop/web-7c9d", "namespace": "shop"},
    ]
    assert f["evidences"][0]["data"]["objectRef"]["subresource"] == "exec"
    assert f["evidences"][0]["data"] == json.loads(K8S_EXEC_RAW)
    assert f["finding_info"]["attacks"] == [
        {
            "tactic": {"uid": "TA0002", "name": "Execution"},
            "technique": {"uid": "T1609", "name": "Container Administration Command"},
            "version": "19",
        }
    ]
    assert f["message"] == (
        "Interactive exec into a pod: kubernetes-admin (User) called create (pods/exec) on shop/pods/web-7c9d "
        "from 198.51.100.23 (k8s, cluster prod-eks)"
    )


def test_runtime_finding_has_process_container_and_device(shell_in_container: Match) -> None:
    f = to_finding(shell_in_container)
    check_ocsf_detection_finding(f)
    assert (f["severity_id"], f["severity"], f["confidence_id"]) == (5, "Critical", 1)
    assert f["metadata"]["profiles"] == ["host", "container"]
    assert f["device"] == {"hostname": "node-a", "name": "node-a", "type_id": 0, "type": "Unknown"}
    assert "actor" not in f and "cloud" not in f
    (ev,) = f["evidences"]
    assert ev["data"] == json.loads(TETRAGON_EXEC_RAW)
    assert ev["process"]["pid"] == 4242 and ev["process"]["name"] == "bash"
    assert ev["process"]["cmd_line"] == "/bin/bash -i"
    assert ev["process"]["file"] == {"path": "/bin/bash", "name": "bash", "type_id": 0}
    assert ev["process"]["user"] == {"name": "0"}
    assert ev["process"]["parent_process"]["pid"] == 4200
    assert ev["process"]["parent_process"]["cmd_line"] == "/usr/sbin/nginx -g daemon off;"
    assert ev["container"] == {
        "uid": "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "image": {"name": "docker.io/library/nginx:1.25", "uid": "docker.io/library/nginx:1.25"},
        "orchestrator": "Kubernetes",
    }
    assert ev["process"]["container"] == ev["container"]
    assert {"type": "pod", "name": "web-7c9d", "uid": "shop/web-7c9d", "namespace": "shop"} in f["resources"]
    assert f["message"] == (
        "Shell spawned by a web server in a container: process /bin/bash (/bin/bash -i) as user 0 "
        "(parent /usr/sbin/nginx) (exec) in container 9f8e7d6c5b4a (pod web-7c9d, namespace shop, "
        "image docker.io/library/nginx:1.25) on host node-a"
    )


def test_correlation_finding(brute_force: Match) -> None:
    f = to_finding(brute_force)
    check_ocsf_detection_finding(f)
    assert f["count"] == 12 and f["finding_info"]["related_events_count"] == 12
    assert f["time"] == f["finding_info"]["last_seen_time"] == T0_MS + (3600 + 242) * 1000
    assert f["start_time"] == f["finding_info"]["first_seen_time"] == T0_MS + 3600 * 1000
    assert [e["uid"] for e in f["finding_info"]["related_events"]] == [
        f"e1d2c3b4-0000-4000-8000-0000000000{n:02d}" for n in range(3)
    ]
    # The bounded sample, verbatim, one evidence each.
    assert [e["data"] for e in f["evidences"]] == [json.loads(r) for r in FAILED_LOGIN_RAW]
    assert f["unmapped"] == {"group_by": {"src_ip": "203.0.113.50"}}
    # Shared context is lifted to the finding; per-event actors stay in the evidences.
    assert f["cloud"] == {"provider": "AWS", "region": "us-east-1", "account": {"uid": "111122223333"}}
    assert "actor" not in f
    assert [e["actor"]["user"]["name"] for e in f["evidences"]] == ["admin", "root-ops", "backup"]
    assert f["evidences"][0]["api"]["response"] == {"error": "Failed authentication"}
    # Pivots across the sample: the one source IP once, every targeted user name.
    values = [(o["name"], o["value"]) for o in f["observables"]]
    assert values.count(("src_endpoint.ip", "203.0.113.50")) == 1
    assert [v for n, v in values if n == "actor.user.name"] == ["admin", "root-ops", "backup"]
    assert f["message"] == (
        "Many failed console logins from one IP: 12 matching events for src_ip=203.0.113.50 between "
        "2026-08-03T15:02:11Z and 2026-08-03T15:06:13Z; first: arn:aws:iam::111122223333:user/admin (IAMUser) "
        "called ConsoleLogin (signin.amazonaws.com) from 203.0.113.50 (aws us-east-1, account 111122223333), "
        "which failed (Failed authentication)"
    )


def test_finding_uid_is_deterministic_and_identifies_the_match(
    stop_logging: Match, brute_force: Match
) -> None:
    uid = finding_uid(stop_logging)
    assert uid == to_finding(stop_logging)["finding_info"]["uid"]
    # Same match, rebuilt from scratch (another run, another engine): same uid.
    rebuilt = single(rule(), stop_logging_event())
    assert finding_uid(rebuilt) == uid
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uid)
    # Different event, different rule, different group: different uid.
    other_event = single(rule(), stop_logging_event(uid="0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a"))
    assert finding_uid(other_event) != uid
    assert finding_uid(single(rule(id="11111111-2222-4333-8444-555555555555"), stop_logging_event())) != uid
    # Event order does not matter (engines may return rows in any order); group values do.
    shuffled = replace(brute_force, events=tuple(reversed(brute_force.events)))
    assert finding_uid(shuffled) == finding_uid(brute_force)
    regrouped = replace(brute_force, group={"src_ip": "203.0.113.51"})
    assert finding_uid(regrouped) != finding_uid(brute_force)


def test_output_is_pure_and_serializes_identically(brute_force: Match) -> None:
    first = finding_to_json(to_finding(brute_force), sort_keys=True)
    second = finding_to_json(to_finding(brute_force), sort_keys=True)
    assert first == second
    assert orjson.loads(first) == to_finding(brute_force)
    line = finding_to_json(to_finding(brute_force), newline=True)
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # one JSON-lines record


@pytest.mark.parametrize(
    ("level", "expected"),
    [("informational", (1, "Informational")), ("low", (2, "Low")), ("medium", (3, "Medium")),
     ("high", (4, "High")), ("critical", (5, "Critical")), ("HIGH", (4, "High"))],
)  # fmt: skip
def test_severity_mapping(level: str, expected: tuple[int, str]) -> None:
    f = to_finding(single(rule(level=level), stop_logging_event()))
    assert (f["severity_id"], f["severity"]) == expected


def test_unknown_level_is_a_rule_error_with_location() -> None:
    with pytest.raises(RuleError, match=r"cloudtrail_logging_stopped.yml: .*level 'severe'"):
        to_finding(single(rule(level="severe"), stop_logging_event()))


def test_unresolved_attack_tags_are_reported_in_unmapped() -> None:
    meta = rule(
        tags=("attack.defense-impairment", "attack.t1685.002", "attack.t1562.008", "attack.defense-evasion")
    )
    f = to_finding(single(meta, stop_logging_event()))
    assert f["unmapped"]["unresolved_attack_tags"] == ["attack.t1562.008", "attack.defense-evasion"]
    assert [a["sub_technique"]["uid"] for a in f["finding_info"]["attacks"]] == ["T1685.002"]


def test_evidence_that_is_not_json_is_kept_as_text() -> None:
    event = stop_logging_event()
    event["raw"] = "Aug  3 14:02:11 node-a sshd[811]: Accepted publickey for root"
    f = to_finding(single(rule(), event))
    data = f["evidences"][0]["data"]
    assert data["raw"] == event["raw"] and "parse_error" in data


def test_rule_without_name_uses_title_and_no_status_confidence() -> None:
    f = to_finding(single(rule(name=None, status="deprecated"), stop_logging_event()))
    assert f["finding_info"]["analytic"]["name"] == "CloudTrail logging stopped or deleted"
    assert "confidence_id" not in f


# --- explanations -------------------------------------------------------------------------------


def test_explanation_from_rule_template(stop_logging: Match) -> None:
    meta = rule(
        extra={
            "lanner": {
                "summary": "{actor_id} ({actor_type}) stopped CloudTrail logging on trail {resources} "
                "from {src_ip} ({cloud} {region}, account {account})"
            }
        }
    )
    m = replace(stop_logging, rule=meta)
    assert explain(m) == (
        "arn:aws:iam::111122223333:user/alice (IAMUser) stopped CloudTrail logging on trail "
        "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail from 203.0.113.7 (aws us-east-1, account 111122223333)"
    )
    assert to_finding(m)["message"] == explain(m)


def test_template_with_missing_values_count_and_group(brute_force: Match) -> None:
    meta = replace(
        brute_force.rule,
        extra={
            "lanner": {
                "summary": "{count:,} failed logins from {group[src_ip]} ({group}); agent {user_agent}, title {title}"
            }
        },
    )
    text = explain(replace(brute_force, rule=meta, event_count=1200))
    assert text == (
        "1,200 failed logins from 203.0.113.50 (src_ip=203.0.113.50); agent unknown user agent, "
        "title Many failed console logins from one IP"
    )
    assert "None" not in text


def test_invalid_templates_are_reported_and_fall_back_to_the_generic_line(stop_logging: Match) -> None:
    assert template_problems("{actor_name} from {src_ip}") == []
    assert template_problems("{rule.__class__}") and template_problems("{nope}")
    assert template_problems("{actor_name!r}") and template_problems("{actor_name[0]}")
    assert template_problems("{unclosed")
    bad = replace(stop_logging, rule=rule(extra={"lanner": {"summary": "{actor_name.__class__.__init__}"}}))
    assert explain(bad) == explain(stop_logging)


def test_generic_explanation_with_missing_fields_never_prints_none() -> None:
    sparse = row(
        '{"eventName": "GetCallerIdentity"}',
        uid="x-1",
        time=T0,
        source="aws.cloudtrail",
        cloud="aws",
        operation="GetCallerIdentity",
    )
    text = explain(single(rule(title="Recon call"), sparse))
    assert text == "Recon call: an unknown identity called GetCallerIdentity (aws)"
    assert "None" not in text
    empty = row("{}", uid="x-2", time=T0)
    assert explain(single(rule(title="Odd event"), empty)) == "Odd event: an unknown identity"


def test_explanation_neutralises_control_characters_from_logs(stop_logging: Match) -> None:
    event = stop_logging_event(actor_id="alice\nCRITICAL: all clear\x1b[0m", actor_type=None)
    text = explain(single(rule(), event))
    assert "\n" not in text and "\x1b" not in text
    assert "alice\\nCRITICAL: all clear\\x1b[0m called StopLogging" in text


def test_failed_assumed_role_call_mentions_the_original_identity() -> None:
    event = stop_logging_event(
        actor_id="arn:aws:sts::111122223333:assumed-role/ci-deploy/session-42",
        actor_type="AssumedRole",
        actor_original="arn:aws:iam::111122223333:role/ci-deploy",
        outcome="failure",
        error="AccessDenied",
        resources=[],
    )
    text = explain(single(rule(), event))
    assert text == (
        "CloudTrail logging stopped or deleted: arn:aws:sts::111122223333:assumed-role/ci-deploy/session-42 "
        "(AssumedRole, on behalf of arn:aws:iam::111122223333:role/ci-deploy) called StopLogging "
        "(cloudtrail.amazonaws.com) from 203.0.113.7 (aws us-east-1, account 111122223333), which failed (AccessDenied)"
    )
    f = to_finding(single(rule(), event))
    assert f["actor"]["session"] == {"issuer": "arn:aws:iam::111122223333:role/ci-deploy"}
    assert f["actor"]["user"]["type_id"] == 99 and f["actor"]["user"]["type"] == "AssumedRole"


def test_template_reads_fields_of_the_original_record(stop_logging: Match) -> None:
    meta = rule(
        extra={
            "lanner": {"summary": "{actor_name} stopped {raw[requestParameters.name]}; {raw[nope.deeper]}"}
        }
    )
    assert template_problems(meta.extra["lanner"]["summary"]) == []
    text = explain(replace(stop_logging, rule=meta))
    assert text.endswith("stopped arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail; unknown deeper")
    assert template_problems("{raw}") and template_problems("{actor_name[x]}")


# --- golden findings: the exact output bytes, pinned -----------------------------------------------
#
# Generated from the builder before it was optimized; any change to the output format shows up as a
# diff here. After an intended format change, regenerate with
#   LANNER_UPDATE_GOLDEN=1 .venv/bin/pytest tests/detect/test_findings.py -k golden
# and review the diff of tests/detect/golden/.

GOLDEN_DIR = Path(__file__).parent / "golden"
ZONE_UTC = ZoneInfo("Etc/UTC")  # what DuckDB hands back for TIMESTAMPTZ columns

ASSUMED_ROLE_RAW = (
    '{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROATRQKSO0TG36K9MFPY:'
    '5dda1ac631efa2f88cda91ab5c0e6657","arn":"arn:aws:sts::260046639365:assumed-role/orders-ecs-task-role/'
    '5dda1ac631efa2f88cda91ab5c0e6657","accountId":"260046639365","accessKeyId":"ASIAPKBKHG1Z48UUVOC1",'
    '"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROATRQKSO0TG36K9MFPY","arn":'
    '"arn:aws:iam::260046639365:role/orders-ecs-task-role","accountId":"260046639365","userName":'
    '"orders-ecs-task-role"},"webIdFederationData":{},"attributes":{"creationDate":"2026-03-01T21:35:21Z",'
    '"mfaAuthenticated":"false"}}},"eventTime":"2026-03-02T00:00:00Z","eventSource":"dynamodb.amazonaws.com",'
    '"eventName":"PutItem","awsRegion":"us-east-1","sourceIPAddress":"3.86.218.156","userAgent":'
    '"aws-sdk-nodejs/2.1580.0 linux/v18.19.1 exec-env/AWS_Lambda_nodejs18.x promise","errorCode":'
    '"ProvisionedThroughputExceededException","errorMessage":"Rate exceeded","requestParameters":'
    '{"tableName":"prod-payments","key":{"pk":"HIDDEN_DUE_TO_SECURITY_REASONS","sk":'
    '"HIDDEN_DUE_TO_SECURITY_REASONS"},"returnValues":"NONE"},"responseElements":null,"resources":'
    '[{"accountId":"260046639365","type":"AWS::DynamoDB::Table","ARN":'
    '"arn:aws:dynamodb:us-east-1:260046639365:table/prod-payments"}],"requestID":'
    '"fa4070e4-db83-4476-9d92-4e8339dd3c2a","eventID":"bbf528ed-cffd-4eda-b41c-01ef849e885b","readOnly":false,'
    '"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"260046639365","eventCategory":'
    '"Data","note":"caf\\u00e9 \u00e9t\u00e9 \U0001f600","big":12345678901234567890123}'
)


def assumed_role_misuse() -> Match:
    """The shape of SigmaHQ's aws_sts_assumerole_misuse hits (most of a CloudTrail log)."""
    when = datetime(2026, 3, 2, 0, 0, tzinfo=ZONE_UTC)
    event = row(
        ASSUMED_ROLE_RAW,
        uid="bbf528ed-cffd-4eda-b41c-01ef849e885b",
        time=when,
        source="aws.cloudtrail",
        class_uid=6003,
        cloud="aws",
        account="260046639365",
        region="us-east-1",
        actor_id="arn:aws:sts::260046639365:assumed-role/orders-ecs-task-role/5dda1ac631efa2f88cda91ab5c0e6657",
        actor_name="5dda1ac631efa2f88cda91ab5c0e6657",
        actor_type="AssumedRole",
        actor_session="ASIAPKBKHG1Z48UUVOC1",
        actor_original="arn:aws:iam::260046639365:role/orders-ecs-task-role",
        src_ip="3.86.218.156",
        user_agent="aws-sdk-nodejs/2.1580.0 linux/v18.19.1 exec-env/AWS_Lambda_nodejs18.x promise",
        service="dynamodb.amazonaws.com",
        operation="PutItem",
        outcome="failure",
        error="ProvisionedThroughputExceededException: Rate exceeded",
        resources=["arn:aws:dynamodb:us-east-1:260046639365:table/prod-payments", "arn:aws:s3:::bucket-x"],
    )
    meta = rule(
        id="905d389b-b853-46d0-9d3d-dea0d3a3cd49",
        title="AWS STS AssumeRole Misuse",
        name=None,
        description="Identifies the suspicious use of AssumeRole.\nAttackers could move laterally.",
        level="low",
        status="test",
        tags=(
            "attack.lateral-movement",
            "attack.privilege-escalation",
            "attack.t1548",
            "attack.t1550",
            "attack.t1550.001",
        ),
    )
    return Match(rule=meta, events=(event,), event_count=1, first_time=when, last_time=when)


def odd_inputs() -> Match:
    """What the builder must survive: no uid, non-JSON and non-object raws, mixed time types,
    a template with format specs and raw paths, unresolved tags, group values that are not strings."""
    no_uid = row(
        "Aug  3 14:02:11 node-a sshd[811]: Accepted publickey for root\x1b[0m",
        time=datetime(2026, 8, 3, 14, 2, 11, 999999),  # naive = UTC
        source="runtime.process",
        cloud="host",
        host="node-a",
        exe="/usr/sbin/sshd",
        pid="811",
        user="root",
        file_path="/root/.ssh/authorized_keys",
        dst_ip="10.0.0.9",
        dst_port=22,
        resources=[""],
    )
    scalar_raw = row("[1, 2, 3]", uid=7, time="2026-08-03T14:03:00.5Z", source="gcp.audit", cloud="GCP",
                     account="proj-1", actor_name="bob@example.com", actor_type="serviceAccount",
                     operation="storage.objects.get", src_ip="192.0.2.1")  # fmt: skip
    number_time = row('{"a": NaN}', uid="u-3", time=1785765800123, source="gcp.audit", cloud="gcp",
                      account="proj-1", actor_name="bob@example.com", error={"code": 7}, operation="x")  # fmt: skip
    meta = rule(
        id="e0e0e0e0-1111-4222-8333-444444444444",
        title="Odd\ninputs",
        status="unsupported",
        tags=("attack.stealth", "attack.t1562", "attack.g0016", "cve.2024-1234", "attack.defense-evasion"),
        extra={
            "lanner": {
                "summary": "{count:,} odd events, {group[user]} {group} {raw[a.b]} {exe} {pid:>6} {time} {resources}"
            }
        },
    )
    return Match(
        rule=meta,
        events=(no_uid, scalar_raw, number_time),
        event_count=123456,
        first_time=datetime(2026, 8, 3, 14, 2, 11, 999999),
        last_time=datetime(2026, 8, 3, 16, 2, 11, tzinfo=timezone(timedelta(hours=2))),
        group={"user": "one", "when": datetime(2026, 8, 3, tzinfo=UTC), "none": None},
    )


GOLDEN_CASES = {
    "cloudtrail_stop_logging": lambda request: request.getfixturevalue("stop_logging"),
    "k8s_exec": lambda request: request.getfixturevalue("k8s_exec"),
    "tetragon_shell": lambda request: request.getfixturevalue("shell_in_container"),
    "correlation_brute_force": lambda request: request.getfixturevalue("brute_force"),
    "cloudtrail_assumed_role": lambda request: assumed_role_misuse(),
    "odd_inputs": lambda request: odd_inputs(),
}


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_golden_findings_are_byte_identical(case: str, request: pytest.FixtureRequest) -> None:
    match = GOLDEN_CASES[case](request)
    line = finding_to_json(to_finding(match), newline=True)
    path = GOLDEN_DIR / f"{case}.json"
    if os.environ.get("LANNER_UPDATE_GOLDEN"):
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_bytes(line)
    golden = path.read_bytes()
    assert line == golden, f"{case}: finding bytes differ from {path.name}"
    assert orjson.loads(line) == orjson.loads(golden)


# --- the streaming path (finding_json) and what the speed-ups must not change ----------------------


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_finding_json_is_the_golden_finding(case: str, request: pytest.FixtureRequest) -> None:
    match = GOLDEN_CASES[case](request)
    line = finding_json(match, newline=True)
    golden = (GOLDEN_DIR / f"{case}.json").read_bytes()
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # one JSON line, whatever the record
    assert orjson.loads(line) == orjson.loads(golden)
    for event, evidence in zip(match.events, orjson.loads(line)["evidences"], strict=True):
        raw = event["raw"]
        embeddable = (
            "\n" not in raw and raw.lstrip().startswith("{") and "parse_error" not in evidence["data"]
        )
        if embeddable:
            assert raw.encode() in line  # the record's own text, not a re-serialization


def test_finding_json_is_byte_identical_for_compact_records(stop_logging: Match) -> None:
    # Records that span lines (STOP_LOGGING_RAW) are re-serialized, exactly as to_finding does.
    assert finding_json(stop_logging) == finding_to_json(to_finding(stop_logging))
    compact = single(rule(), stop_logging_event())
    compact.events[0]["raw"] = orjson.dumps(orjson.loads(STOP_LOGGING_RAW)).decode()
    assert finding_json(compact) == finding_to_json(to_finding(compact))


@pytest.mark.parametrize(
    "raw",
    ['{"a": NaN}', '{"a": 1,}', '{"a": Infinity}', '{"a": 1} trailing', "not json", '{"a": "\x01"}', "[1]"],
)
def test_finding_json_never_embeds_text_that_is_not_a_json_object(raw: str) -> None:
    # DuckDB's reader accepts NaN and trailing commas; the output must stay strict JSON.
    event = stop_logging_event()
    event["raw"] = raw
    match = single(rule(), event)
    line = finding_json(match)
    assert orjson.loads(line) == to_finding(match)
    assert json.loads(line)["evidences"][0]["data"] == to_finding(match)["evidences"][0]["data"]


def test_finding_uid_recipe_is_uuid5_of_the_sorted_identity(brute_force: Match) -> None:
    namespace = uuid.UUID("3c9b0d2e-5a41-4f7e-8d3b-2a6c1e9f4b70")
    uids = sorted(e["uid"] for e in brute_force.events)
    key = json.dumps([brute_force.rule.id, uids, {"src_ip": "203.0.113.50"}], separators=(",", ":"))
    assert finding_uid(brute_force) == str(uuid.uuid5(namespace, key))
    event = stop_logging_event(uid="évènement-ü-😀")  # non-ASCII ids hash their UTF-8 bytes
    meta = rule()
    expected = str(
        uuid.uuid5(
            namespace, json.dumps([meta.id, [event["uid"]], {}], separators=(",", ":"), ensure_ascii=False)
        )
    )
    assert finding_uid(single(meta, event)) == expected
    assert to_finding(single(meta, event))["finding_info"]["uid"] == expected


def test_findings_do_not_share_objects_with_each_other(brute_force: Match, stop_logging: Match) -> None:
    # Per-rule parts are cached; each finding must still own its objects.
    first = to_finding(stop_logging)
    first["finding_info"]["attacks"][0]["tactic"]["name"] = "changed"
    first["finding_info"]["analytic"]["name"] = "changed"
    first["resources"][0]["name"] = "changed"
    first["metadata"]["product"]["name"] = "changed"
    again = to_finding(stop_logging)
    assert again["finding_info"]["attacks"][0]["tactic"]["name"] == "Defense Impairment"
    assert again["finding_info"]["analytic"]["name"] == "aws_cloudtrail_logging_stopped"
    assert again["resources"][0]["name"] == "org-trail" and again["metadata"]["product"]["name"] == "Lanner"
    assert again["evidences"][0]["resources"] is not again["resources"]
    assert again["evidences"][0]["actor"] is not again["actor"]
    correlated = to_finding(brute_force)
    correlated["unmapped"]["group_by"]["src_ip"] = "changed"
    assert brute_force.group == {"src_ip": "203.0.113.50"}


def test_rule_cache_follows_the_rule_object(stop_logging: Match) -> None:
    # Same id, other content (a reloaded, edited rule): the finding follows the new rule.
    edited = replace(stop_logging.rule, level="low", tags=("attack.execution",), status="test")
    f = to_finding(replace(stop_logging, rule=edited))
    assert (f["severity_id"], f["confidence_id"]) == (2, 2)
    assert f["finding_info"]["attacks"] == [
        {"tactic": {"uid": "TA0002", "name": "Execution"}, "version": "19"}
    ]
    assert to_finding(stop_logging)["severity_id"] == 4


def test_single_event_with_empty_context_values() -> None:
    # "", [] and () are absent values, like None: no empty cloud/actor/resources objects.
    event = stop_logging_event(
        cloud="", account="", region="", actor_id="", actor_name=[], actor_session=(), actor_type="",
        actor_original="", resources=[], src_ip="", user_agent="", operation="", host="",
    )  # fmt: skip
    f = to_finding(single(rule(), event))
    for key in ("cloud", "actor", "device", "resources", "observables", "unmapped"):
        assert key not in f
    assert f["metadata"]["profiles"] == []
    assert set(f["evidences"][0]) == {"uid", "name", "data"}
    assert orjson.loads(finding_json(single(rule(), event))) == f


def test_finding_json_on_engine_matches_of_generated_cloudtrail(tmp_path: Path) -> None:
    """Real matches (SigmaHQ AWS rules over generated CloudTrail): both paths agree."""
    rules_dir = SHARED_DATASETS_DIR / "sigmahq" / "rules" / "cloud" / "aws"
    if not rules_dir.is_dir():
        pytest.skip(f"SigmaHQ rules not found at {rules_dir} (shared datasets absent)")
    from lanner import service

    logs = tmp_path / "cloudtrail.jsonl"
    generator = REPO_DIR / "bench" / "gen_cloudtrail.py"
    subprocess.run([sys.executable, str(generator), str(logs), "--n", "400"], check=True, capture_output=True)
    matches = list(service.detect_paths([logs], rule_dirs=[rules_dir], include_bundled=False))
    assert len(matches) > 100  # aws_sts_assumerole_misuse matches most of this traffic
    for m in matches:
        line = finding_json(m, newline=True)
        assert line.count(b"\n") == 1
        assert orjson.loads(line) == orjson.loads(finding_to_json(to_finding(m)))


def test_finding_to_json_still_writes_dicts_with_other_key_types() -> None:
    # The fast mode is for text keys; any other key falls back to orjson's non-string-key mode.
    assert (
        finding_to_json({"a": {1: "x", 2.5: T0}})
        == b'{"a":{"1":"x","2.5":"2026-08-03T14:02:11.250000+00:00"}}'
    )
    assert finding_to_json({"b": 1}, newline=True, sort_keys=True) == b'{"b":1}\n'
