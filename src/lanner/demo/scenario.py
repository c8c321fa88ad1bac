"""`generate()`: write the demo day's raw logs and return what was written plus the attack's ground truth."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from lanner.demo import attack, aws_day, azure, gcp, k8s, runtime
from lanner.demo.cloudtrail import Principals
from lanner.demo.estate import build_estate
from lanner.demo.files import write_envelope_groups
from lanner.demo.ids import Ids
from lanner.errors import InputError

DEFAULT_DAY = date(2026, 11, 28)


@dataclass(frozen=True)
class Stage:
    """One step of the attack and the events that make it up."""

    name: str
    tactic: str  # ATT&CK v19 tactic short name, e.g. "defense-impairment"
    tactic_uid: str  # e.g. "TA0112"
    techniques: tuple[str, ...]  # e.g. ("T1685.002",)
    description: str
    uids: tuple[str, ...]  # event_key() of every attack event in this stage


@dataclass(frozen=True)
class Scenario:
    out_dir: Path
    seed: int
    day: date
    files: tuple[Path, ...]
    counts: dict[str, int]  # events written per Lanner source name
    stages: tuple[Stage, ...]
    attacker_ip: str

    @property
    def total_events(self) -> int:
        return sum(self.counts.values())

    def attack_uids(self) -> frozenset[str]:
        return frozenset(u for s in self.stages for u in s.uids)

    def stage_of(self, uid: str) -> Stage | None:
        return next((s for s in self.stages if uid in s.uids), None)


def event_key(record: dict[str, Any] | str | bytes) -> str:
    """The native id of a raw record; for Tetragon, which has none, node/type/exec_id/time.

    Works on the verbatim `raw` column of normalized events, so findings can be scored against
    the ground truth whatever uid the normalizer derives.
    """
    r = orjson.loads(record) if isinstance(record, str | bytes) else record
    if "eventID" in r and "eventSource" in r:
        return str(r["eventID"])
    if "insertId" in r:
        return str(r["insertId"])
    if "auditID" in r:
        return str(r["auditID"])
    if "correlationId" in r and "operationName" in r:
        return f"{r['correlationId']}/{r.get('resultType', '')}/{r['time']}"
    for kind in ("process_exec", "process_kprobe"):
        if kind in r:
            body = r[kind]
            return f"{r['node_name']}/{kind}/{body.get('function_name', '')}/{body['process']['exec_id']}/{r['time']}"
    raise ValueError("not a record the demo writes: no native id found")


def generate(out_dir: Path, *, seed: int = 7, day: date = DEFAULT_DAY) -> Scenario:
    """Write one day of multi-cloud logs with the attack woven in; same seed => byte-identical files."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        # Never overwrite or mix with someone's files: old files would silently join the scenario.
        raise InputError("demo output directory is not empty; give a new or empty directory", None)
    ids = Ids(random.Random(seed))
    estate = build_estate(ids)
    principals = Principals(ids)

    aws = aws_day.AwsDay(ids, principals, estate, day)
    aws_events = aws.build()
    gcp_events = gcp.gcp_day(ids, day)
    azure_events = azure.azure_day(ids, day)
    k8s_events = k8s.k8s_day(ids, estate, day)
    tg = runtime.Tetragon(ids, day)
    _, kubelet, mains = runtime.init_procs(tg, estate)
    rt_events = runtime.runtime_day(tg, estate, mains, kubelet)

    plans = attack.weave(ids, aws, tg, estate, mains, day)
    for plan in plans:
        aws_events += plan.aws
        rt_events += plan.runtime

    files: list[Path] = []
    files += write_envelope_groups(out_dir, aws_events, _cloudtrail_path, "Records", gz=True)
    files += gcp.write(out_dir, gcp_events)
    files += azure.write(out_dir, azure_events)
    files += k8s.write(out_dir, k8s_events)
    files += runtime.write(out_dir, rt_events)

    stages = tuple(Stage(p.name, p.tactic, p.tactic_uid, p.techniques, p.description,
                         tuple(event_key(r) for _, r in sorted(p.runtime + p.aws, key=lambda e: e[0]))) for p in plans)
    return Scenario(out_dir, seed, day, tuple(files), _counts(aws_events, gcp_events, azure_events, k8s_events, rt_events),
                    stages, attack.ATTACKER_IP)


def _cloudtrail_path(t: Any, rec: dict[str, Any]) -> str:
    """S3 delivery layout; one object per account, region and hour (CloudTrail names it by delivery time)."""
    acct, region = rec["recipientAccountId"], rec["awsRegion"]
    # The random suffix is derived from the group, so names are stable for a seed yet look like CloudTrail's.
    suffix = format(abs(hash_str(f"{acct}{region}{t:%Y%m%d%H}")), "016X")[:16]
    return (f"AWSLogs/{acct}/CloudTrail/{region}/{t:%Y/%m/%d}/"
            f"{acct}_CloudTrail_{region}_{t:%Y%m%dT%H}55Z_{suffix}.json.gz")


def hash_str(s: str) -> int:
    """A stable string hash (Python's built-in hash() is salted per process)."""
    h = 1469598103934665603
    for b in s.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def _counts(aws_ev: list[Any], gcp_ev: list[Any], az_ev: list[Any], k8s_ev: list[Any], rt_ev: list[Any]) -> dict[str, int]:
    proc = sum(1 for _, r in rt_ev if "process_exec" in r)
    net = sum(1 for _, r in rt_ev if "process_kprobe" in r and r["process_kprobe"]["function_name"] == "tcp_connect")
    return {"aws.cloudtrail": len(aws_ev), "gcp.audit": len(gcp_ev), "azure.activity": len(az_ev), "k8s.audit": len(k8s_ev),
            "runtime.process": proc, "runtime.file": len(rt_ev) - proc - net, "runtime.network": net}
