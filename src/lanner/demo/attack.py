"""The attack woven into the demo day, stage by stage, in the same record shapes as benign traffic.

Story: the `web` app (Node.js) has a command-injection bug. An attacker gets a shell in a `web`
pod, reads the EKS node's instance-role credentials from IMDS, and uses them from their own
machine. The node role carries a forgotten over-broad policy (iam:*, s3:*), so they enumerate,
create a backdoor IAM user with AdministratorAccess, switch to it, stop the account trail and try
to disable GuardDuty, then pull the customer exports bucket. The organization trail, run from the
security account, keeps recording, which is why all of it is in the logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from lanner.demo import clock
from lanner.demo.aws_day import AwsDay
from lanner.demo.cloudtrail import DENIED, denied_message, record, s3_object_event
from lanner.demo.estate import NODE_ROLE, PROD, PROD_TRAIL, SENSITIVE_BUCKET, Estate
from lanner.demo.ids import Ids
from lanner.demo.runtime import SA_TOKEN, Proc, Tetragon

ATTACKER_IP = "203.0.113.45"  # RFC 5737 documentation range: not part of the estate
UA_ATTACKER = "aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0-49-generic md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#{cmd}"
BACKDOOR_USER = "svc-observability"
IMDS = "169.254.169.254"

Event = tuple[datetime, dict[str, Any]]


@dataclass
class StagePlan:
    name: str
    tactic: str
    tactic_uid: str
    techniques: tuple[str, ...]
    description: str
    aws: list[Event] = field(default_factory=list)
    runtime: list[Event] = field(default_factory=list)


def weave(ids: Ids, aws: AwsDay, tg: Tetragon, estate: Estate, mains: dict[str, Proc], day: date) -> list[StagePlan]:
    rng = ids.rng
    pod = estate.pods_of("web")[rng.randrange(3)]
    node = pod.node
    app = mains[pod.name]
    t0 = clock.day_start(day) + timedelta(hours=14, minutes=2, seconds=rng.randrange(60))

    # 1. Execution: the app spawns shells (a one-shot probe, then an interactive one).
    s1 = StagePlan("shell in web pod", "execution", "TA0002", ("T1059.004",),
                   f"The web app process in pod {pod.namespace}/{pod.name} spawns /bin/sh: remote code execution.")
    t = t0
    sh1 = tg.proc(node, t, "/bin/sh", "-c \"id; uname -a; cat /etc/os-release\"", pod=pod, parent=app, uid=1000, cwd="/app")
    s1.runtime.append(tg.exec(node, t, sh1, app))
    for binary, args in (("/usr/bin/id", ""), ("/bin/uname", "-a"), ("/bin/cat", "/etc/os-release")):
        t += timedelta(milliseconds=rng.randrange(2, 15))
        s1.runtime.append(tg.exec(node, t, tg.proc(node, t, binary, args, pod=pod, parent=sh1, uid=1000, cwd="/app"), sh1))
    t = t0 + timedelta(seconds=rng.randrange(40, 80))
    sh2 = tg.proc(node, t, "/bin/sh", "-i", pod=pod, parent=app, uid=1000, cwd="/app")
    s1.runtime.append(tg.exec(node, t, sh2, app))

    # 2. Credential access: IMDSv2 token, the role name, then the role's credentials; the SA token too.
    s2 = StagePlan("credentials stolen from IMDS", "credential-access", "TA0006", ("T1552.005", "T1528"),
                   f"From the shell, curl reads the node role {NODE_ROLE} credentials from the instance metadata service.")
    t += timedelta(seconds=rng.randrange(60, 120))
    token = "AQAEA" + ids.lower(51)
    for args in (f"-s -X PUT http://{IMDS}/latest/api/token -H \"X-aws-ec2-metadata-token-ttl-seconds: 21600\"",
                 f"-s -H \"X-aws-ec2-metadata-token: {token}\" http://{IMDS}/latest/meta-data/iam/security-credentials/",
                 f"-s -H \"X-aws-ec2-metadata-token: {token}\" http://{IMDS}/latest/meta-data/iam/security-credentials/{NODE_ROLE}"):
        t += timedelta(seconds=rng.randrange(5, 25))
        curl = tg.proc(node, t, "/usr/bin/curl", args, pod=pod, parent=sh2, uid=1000, cwd="/app")
        s2.runtime.append(tg.exec(node, t, curl, sh2))
        s2.runtime.append(tg.connect(node, t + timedelta(milliseconds=2), curl, sh2, pod.ip, IMDS, 80))
    t += timedelta(seconds=rng.randrange(20, 50))
    cat = tg.proc(node, t, "/bin/cat", SA_TOKEN, pod=pod, parent=sh2, uid=1000, cwd="/app")
    s2.runtime.append(tg.exec(node, t, cat, sh2))
    s2.runtime.append(tg.file_open(node, t + timedelta(milliseconds=1), cat, sh2, SA_TOKEN))

    # 3. Discovery from outside with the node's own access key (same ASIA… id as the node uses).
    s3 = StagePlan("discovery with stolen credentials", "discovery", "TA0007", ("T1087.004", "T1069.003", "T1580", "T1526"),
                   f"The node role's session {node.instance_id} is used from {ATTACKER_IP} to enumerate the account.")
    t = t0 + timedelta(minutes=17, seconds=rng.randrange(60))
    calls: tuple[tuple[str, str, dict[str, Any] | None, bool], ...] = (
        ("sts.amazonaws.com", "GetCallerIdentity", None, False),
        ("s3.amazonaws.com", "ListBuckets", {"Host": "s3.amazonaws.com"}, False),
        ("iam.amazonaws.com", "ListUsers", None, False),
        ("iam.amazonaws.com", "ListRoles", None, False),
        ("iam.amazonaws.com", "ListAttachedRolePolicies", {"roleName": NODE_ROLE}, False),
        ("iam.amazonaws.com", "ListRolePolicies", {"roleName": NODE_ROLE}, False),
        ("secretsmanager.amazonaws.com", "ListSecrets", None, True),
        ("iam.amazonaws.com", "GetAccountAuthorizationDetails", None, False),
        ("ec2.amazonaws.com", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}, False),
        ("rds.amazonaws.com", "DescribeDBInstances", None, True),
        ("lambda.amazonaws.com", "ListFunctions20150331", None, True),
        ("kms.amazonaws.com", "ListKeys", None, True),
        ("guardduty.amazonaws.com", "ListDetectors", None, True),
        ("secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": "acme/prod/db"}, True),
        ("iam.amazonaws.com", "ListAccessKeys", None, False),
    )
    for source, op, req, denied in calls:
        t += timedelta(seconds=rng.randrange(4, 40))
        ident = aws.instance_identity(node.instance_id, NODE_ROLE, t)
        region = "us-east-1"
        err = (DENIED.get(source, "AccessDenied"), denied_message(ident, source, op)) if denied else None
        resp = {"userId": ident["principalId"], "account": PROD.id, "arn": ident["arn"]} if op == "GetCallerIdentity" else None
        s3.aws.append((t, record(ids, t, ident, source, op, region, PROD.id, ATTACKER_IP, UA_ATTACKER.format(cmd=_cmd(op)),
                                 read_only=True, request=req, response=resp, error=err)))

    # 4. Persistence: a backdoor IAM user with a key, a console password and AdministratorAccess.
    s4 = StagePlan("backdoor IAM user", "persistence", "TA0003", ("T1136.003", "T1098.001", "T1098.003"),
                   f"The stolen session creates IAM user {BACKDOOR_USER}, gives it an access key, a password and AdministratorAccess.")
    t += timedelta(minutes=3, seconds=rng.randrange(60))
    user_arn = f"arn:aws:iam::{PROD.id}:user/{BACKDOOR_USER}"
    backdoor_key = ids.access_key("AKIA")
    user_id = aws.p.pid("AIDA", f"{PROD.id}/{BACKDOOR_USER}")
    steps: tuple[tuple[str, dict[str, Any], dict[str, Any] | None], ...] = (
        ("CreateUser", {"userName": BACKDOOR_USER, "tags": [{"key": "team", "value": "observability"}]},
         {"user": {"path": "/", "userName": BACKDOOR_USER, "userId": user_id, "arn": user_arn, "createDate": "—"}}),
        ("CreateAccessKey", {"userName": BACKDOOR_USER},
         {"accessKey": {"userName": BACKDOOR_USER, "accessKeyId": backdoor_key, "status": "Active", "createDate": "—"}}),
        ("AttachUserPolicy", {"userName": BACKDOOR_USER, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, None),
        ("CreateLoginProfile", {"userName": BACKDOOR_USER, "passwordResetRequired": False},
         {"loginProfile": {"userName": BACKDOOR_USER, "createDate": "—", "passwordResetRequired": False}}),
    )
    for op, req, resp in steps:
        t += timedelta(seconds=rng.randrange(6, 30))
        ident = aws.instance_identity(node.instance_id, NODE_ROLE, t)
        if resp:
            resp = _stamp(resp, t)
        s4.aws.append((t, record(ids, t, ident, "iam.amazonaws.com", op, "us-east-1", PROD.id, ATTACKER_IP,
                                 UA_ATTACKER.format(cmd=_cmd(op)), read_only=False, request=req, response=resp)))

    # 5. Defence impairment as the new user: trail selectors emptied, trail stopped, GuardDuty attempted.
    s5 = StagePlan("logging and detection impaired", "defense-impairment", "TA0112", ("T1685.002", "T1685"),
                   f"As {BACKDOOR_USER}, the attacker drops the trail's data events, stops {PROD_TRAIL} and tries to delete GuardDuty.")
    t += timedelta(minutes=4, seconds=rng.randrange(60))
    user = aws.p.iam_user(PROD.id, BACKDOOR_USER, backdoor_key)
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{PROD.id}:trail/{PROD_TRAIL}"
    detector = ids.hex(32)
    steps5: tuple[tuple[str, str, dict[str, Any] | None, bool, tuple[str, str] | None], ...] = (
        ("cloudtrail.amazonaws.com", "DescribeTrails", {"trailNameList": [], "includeShadowTrails": True}, True, None),
        ("cloudtrail.amazonaws.com", "PutEventSelectors", {"trailName": PROD_TRAIL, "eventSelectors": [
            {"readWriteType": "WriteOnly", "includeManagementEvents": True, "dataResources": [], "excludeManagementEventSources": []}]}, False, None),
        ("cloudtrail.amazonaws.com", "StopLogging", {"name": trail_arn}, False, None),
        ("guardduty.amazonaws.com", "ListDetectors", None, True, None),
        ("guardduty.amazonaws.com", "DeleteDetector", {"detectorId": detector}, False,
         ("BadRequestException", "The request is rejected because a member account cannot delete its detector.")),
    )
    for source, op, req, read_only, err in steps5:
        t += timedelta(seconds=rng.randrange(8, 40))
        s5.aws.append((t, record(ids, t, user, source, op, "us-east-1", PROD.id, ATTACKER_IP, UA_ATTACKER.format(cmd=_cmd(op)),
                                 read_only=read_only, request=req, response=None if read_only or err else {}, error=err)))

    # 6. Exfiltration: list, then pull a month of customer exports, from outside, in minutes.
    s6 = StagePlan("customer exports downloaded", "exfiltration", "TA0010", ("T1530",),
                   f"As {BACKDOOR_USER}, the attacker downloads the {SENSITIVE_BUCKET} bucket to {ATTACKER_IP}.")
    t += timedelta(minutes=3, seconds=rng.randrange(60))
    s6.aws.append((t, record(ids, t, user, "s3.amazonaws.com", "ListObjects", "us-east-1", PROD.id, ATTACKER_IP,
                             UA_ATTACKER.format(cmd="s3.sync"), read_only=True, data=True,
                             request={"bucketName": SENSITIVE_BUCKET, "Host": f"{SENSITIVE_BUCKET}.s3.us-east-1.amazonaws.com",
                                      "list-type": "2", "prefix": "exports/"},
                             resources=[{"accountId": PROD.id, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{SENSITIVE_BUCKET}"}])))
    for n in range(rng.randint(160, 200)):
        t += timedelta(milliseconds=rng.randrange(400, 4000))
        key = f"exports/2026-11/customers-{['us', 'eu', 'apac'][n % 3]}-{n // 3:04d}.csv.gz"
        s6.aws.append((t, s3_object_event(ids, t, user, "GetObject", PROD.id, "us-east-1", SENSITIVE_BUCKET, key, ATTACKER_IP,
                                          UA_ATTACKER.format(cmd="s3.sync"), size=rng.randrange(3_000_000, 40_000_000), vpce=None)))
    return [s1, s2, s3, s4, s5, s6]


def _cmd(op: str) -> str:
    """The aws-cli `md/command#` tag for an API name (GetCallerIdentity -> get-caller-identity)."""
    out = "".join("-" + c.lower() if c.isupper() else c for c in op.replace("20150331", "")).lstrip("-")
    return out


def _stamp(resp: dict[str, Any], t: datetime) -> dict[str, Any]:
    stamp = t.strftime("%b %d, %Y, %-I:%M:%S %p")
    return {k: ({kk: (stamp if vv == "—" else vv) for kk, vv in v.items()} if isinstance(v, dict) else v) for k, v in resp.items()}
