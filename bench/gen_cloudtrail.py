"""Synthetic, benign, realistic AWS CloudTrail records (JSON lines) for the benchmark.

The shape follows real trails of a mid-size AWS Organization: 10 accounts, 8 regions, ~300
principals of which workload roles (Lambda, EKS nodes, ECS tasks, CI, scanners) make most of
the traffic, so ~3/4 of events carry an AssumedRole identity; humans come in through IAM
Identity Center (SSO) roles and a few legacy IAM users; AWS services assume roles and call KMS
for others; Root is rare. Records carry what real ones carry (userIdentity with sessionContext,
requestParameters/responseElements/resources per call, tlsDetails, S3/Lambda data events with
additionalEventData, ~5% errors), which makes them ~1.4 KB on average like real trails.

Only benign traffic is produced, no attack stages: the same file measures false positives per
100k benign events.

Speed: numpy is not available, so records are assembled from pre-serialized JSON fragments
(identities, user agents, TLS details, per-call static parts) with a few random draws each.
Work is cut into fixed chunks, each seeded from (seed, chunk index), so the bytes depend only
on (n, seed), never on how many worker processes produced them.

CLI: python bench/gen_cloudtrail.py OUT.jsonl --n 1000000 --seed 1
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import string
import sys
import time
from bisect import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 20_000  # events per chunk: fixes the random streams, independent of worker count
T0 = 1_772_409_600  # 2026-03-02T00:00:00Z, start of the synthetic day
SPAN_S = 86_400  # events spread evenly over one day
ERROR_RATE = 0.05

REGIONS = (
    ("us-east-1", 38),
    ("us-west-2", 16),
    ("eu-west-1", 14),
    ("eu-central-1", 10),
    ("us-east-2", 8),
    ("ap-southeast-1", 6),
    ("ap-northeast-1", 5),
    ("sa-east-1", 3),
)
ACCOUNT_NAMES = (
    "management", "security", "log-archive", "shared-services", "network",
    "prod", "staging", "dev", "data", "sandbox",
)
FIRST = ("alice", "bob", "carol", "dan", "erin", "frank", "grace", "heidi", "ivan", "judy", "ken",
         "laura", "mallory", "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "uma",
         "victor", "wendy", "xavier", "yara", "zoe", "amir", "bea", "chen", "dara")
LAST = ("smith", "jones", "garcia", "mueller", "rossi", "tanaka", "kowalski", "novak", "silva",
        "dubois", "larsen", "okafor", "patel", "kim", "nguyen")
APPS = ("orders", "payments", "catalog", "search", "notifications", "billing", "auth", "reports",
        "ingest", "thumbnails", "inventory", "checkout")

_ALNUM_UP = string.ascii_uppercase + string.digits
_B64 = string.ascii_letters + string.digits + "+/"


# --------------------------------------------------------------------------------------------
# Random helpers (all take the caller's Random so streams stay deterministic)


def _uuid(r: random.Random) -> str:
    h = f"{r.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[r.getrandbits(2)]}{h[17:20]}-{h[20:]}"


def _hex(r: random.Random, n: int) -> str:
    return format(r.getrandbits(4 * n), f"0{n}x")


def _key_id(r: random.Random, prefix: str) -> str:
    return prefix + "".join(r.choices(_ALNUM_UP, k=16))


def _public_ip(r: random.Random, first_octets: tuple[int, ...] | None = None) -> str:
    while True:
        a = r.choice(first_octets) if first_octets else r.randint(1, 223)
        # Skip private, loopback, link-local, CGNAT and multicast space: these are internet clients.
        if a in (10, 127, 0, 100, 169, 172, 192, 198, 203):
            continue
        return f"{a}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# --------------------------------------------------------------------------------------------
# User agents, grouped by the kind of client that sends them

UA: dict[str, tuple[str, ...]] = {
    "browser": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.80",
        "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Safari/605.1.15",
    ),
    "console": ("AWS Internal", "console.amazonaws.com", "console.ec2.amazonaws.com", "s3.console.amazonaws.com"),
    "cli": (
        "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#s3.ls",
        "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1016-aws md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython exe/x86_64.ubuntu.22 prompt/off command/sts.get-caller-identity",
        "aws-cli/2.13.25 Python/3.11.5 Darwin/22.6.0 exe/x86_64 prompt/off command/ec2.describe-instances",
        "aws-cli/1.32.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.9.16 md/pyimpl#CPython cfg/retry-mode#legacy botocore/1.34.69",
    ),
    "boto3": (
        "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
        "Boto3/1.33.13 md/Botocore#1.33.13 ua/2.0 os/linux#5.15.0-1055-aws md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.33.13",
        "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.10.209-198.858.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.51",
    ),
    "terraform": (
        "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/iam#1.31.3",
        "APN/1.0 HashiCorp/1.0 Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-aws/5.31.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.49.13 (go1.21.5; linux; amd64)",
    ),
    "go": (
        "aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.141.0",
        "aws-sdk-go/1.50.30 (go1.21.8; linux; amd64)",
        "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/ecr#1.27.1",
    ),
    "java": (
        "aws-sdk-java/2.25.16 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
        "aws-sdk-java/1.12.681 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/11.0.22+7-LTS java/11.0.22 vendor/Amazon.com_Inc. cfg/retry-mode/standard",
    ),
    "node": (
        "aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10.212-220.855.amzn2.x86_64 lang/js md/nodejs#20.11.1 api/dynamodb#3.540.0 exec-env/AWS_Lambda_nodejs20.x",
        "aws-sdk-nodejs/2.1580.0 linux/v18.19.1 exec-env/AWS_Lambda_nodejs18.x promise",
    ),
}
# TLS negotiated by client family (console and in-AWS service calls carry none).
TLS_BY_FAMILY = {
    "browser": ("TLSv1.3", "TLS_AES_128_GCM_SHA256"),
    "cli": ("TLSv1.3", "TLS_AES_128_GCM_SHA256"),
    "boto3": ("TLSv1.3", "TLS_AES_128_GCM_SHA256"),
    "terraform": ("TLSv1.3", "TLS_AES_128_GCM_SHA256"),
    "go": ("TLSv1.3", "TLS_AES_128_GCM_SHA256"),
    "java": ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"),
    "node": ("TLSv1.3", "TLS_AES_256_GCM_SHA384"),
}


# --------------------------------------------------------------------------------------------
# The estate: accounts and their resources


@dataclass
class Account:
    id: str
    name: str
    buckets: list[str]
    functions: list[str]
    tables: list[str]
    kms_keys: list[str]
    secrets: list[str]
    instances: list[str]
    enis: list[str]
    log_groups: list[str]
    queues: list[str]
    roles: list[str]
    clusters: list[str]
    repos: list[str]
    nat_ips: list[str]
    vpce: str
    home_region: str


def _build_accounts(r: random.Random) -> list[Account]:
    accounts = []
    for i, name in enumerate(ACCOUNT_NAMES):
        acct = str(r.randint(100_000_000_000, 999_999_999_999))
        apps = r.sample(APPS, 4)
        accounts.append(
            Account(
                id=acct,
                name=name,
                buckets=[f"{name}-{a}-{acct}" for a in apps] + [f"aws-cloudtrail-logs-{acct}-{_hex(r, 8)}", f"{name}-artifacts-{_hex(r, 6)}"],
                functions=[f"{a}-{fn}" for a in apps for fn in ("api", "worker")],
                tables=[f"{name}-{a}" for a in apps],
                kms_keys=[_uuid(r) for _ in range(3)],
                secrets=[f"{name}/{a}/db-credentials-{''.join(r.choices(string.ascii_letters, k=6))}" for a in apps],
                instances=["i-0" + _hex(r, 16) for _ in range(12)],
                enis=["eni-0" + _hex(r, 16) for _ in range(12)],
                log_groups=[f"/aws/lambda/{a}-api" for a in apps] + [f"/aws/eks/{name}/cluster", "/ecs/" + apps[0]],
                queues=[f"{a}-events" for a in apps],
                roles=[f"{a}-lambda-role" for a in apps],
                clusters=[f"{name}-eks"],
                repos=[f"{name}/{a}" for a in apps],
                nat_ips=[_public_ip(r, (3, 18, 34, 52, 54)) for _ in range(2)],
                vpce="vpce-0" + _hex(r, 16),
                home_region=REGIONS[0][0] if i % 3 else r.choice(REGIONS[:4])[0],
            )
        )
    return accounts


# --------------------------------------------------------------------------------------------
# API calls: static facts and a builder for the varying parts


@dataclass(frozen=True)
class Ctx:
    r: random.Random
    acct: Account
    region: str
    session: str  # role session / user name of the caller, for request parameters that name it


# Builder returns (requestParameters, responseElements, extra fields incl. leading comma) as JSON.
Builder = Callable[[Ctx], tuple[str, str, str]]


@dataclass(frozen=True)
class Call:
    source: str  # eventSource prefix (iam, s3, ...)
    name: str
    read_only: bool
    build: Builder
    data: bool = False  # data event (S3 objects, Lambda Invoke, DynamoDB items)
    global_region: bool = False  # logged in us-east-1 whatever the caller's region
    errors: tuple[str, ...] = ("AccessDenied",)
    event_type: str = "AwsApiCall"
    api_version: str | None = None


def _static(req: str = "null", resp: str = "null") -> Builder:
    def build(c: Ctx) -> tuple[str, str, str]:
        return req, resp, ""

    return build


def _res(kind: str, arn: str, acct: str) -> str:
    return f'{{"accountId":"{acct}","type":"{kind}","ARN":"{arn}"}}'


_OBJ_PREFIXES = ("data/year=2026/month=03/", "uploads/", "exports/daily/", "thumbnails/", "raw/events/",
                 "static/assets/", "reports/", "tmp/", "models/", "backups/pg/")
_OBJ_SUFFIX = (".json.gz", ".parquet", ".csv", ".jpg", ".png", ".tar.gz", ".js", ".json")


def _s3_object(c: Ctx, write: bool) -> tuple[str, str, str]:
    r = c.r
    bucket = r.choice(c.acct.buckets)
    key = f"{r.choice(_OBJ_PREFIXES)}{_hex(r, 12)}{r.choice(_OBJ_SUFFIX)}"
    host = f"{bucket}.s3.{c.region}.amazonaws.com"
    req = f'{{"bucketName":"{bucket}","Host":"{host}","key":"{key}"'
    if write:
        req += ',"x-amz-server-side-encryption":"aws:kms"}'
        kms = f"arn:aws:kms:{c.region}:{c.acct.id}:key/{c.acct.kms_keys[0]}"
        resp = (f'{{"x-amz-server-side-encryption-aws-kms-key-id":"{kms}","x-amz-server-side-encryption":"aws:kms",'
                f'"x-amz-server-side-encryption-bucket-key-enabled":"true","x-amz-version-id":"{"".join(r.choices(_B64[:62], k=32))}"}}')
        inb, outb = r.randint(200, 5_000_000), 0
    else:
        req += "}"
        resp = "null"
        inb, outb = 0, r.randint(200, 20_000_000)
    extra = (
        f',"additionalEventData":{{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":{inb},'
        f'"SSEApplied":"SSE_KMS","AuthenticationMethod":"AuthHeader","x-amz-id-2":"{"".join(r.choices(_B64, k=76))}","bytesTransferredOut":{outb}}}'
        f',"resources":[{{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::{bucket}/{key}"}},{_res("AWS::S3::Bucket", "arn:aws:s3:::" + bucket, c.acct.id)}]'
    )
    return req, resp, extra


def _s3_bucket(what: str) -> Builder:
    def build(c: Ctx) -> tuple[str, str, str]:
        bucket = c.r.choice(c.acct.buckets)
        req = f'{{"bucketName":"{bucket}","Host":"{bucket}.s3.{c.region}.amazonaws.com","{what}":""}}'
        extra = (f',"additionalEventData":{{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,'
                 f'"AuthenticationMethod":"AuthHeader","x-amz-id-2":"{"".join(c.r.choices(_B64, k=76))}","bytesTransferredOut":0}}'
                 f',"resources":[{_res("AWS::S3::Bucket", "arn:aws:s3:::" + bucket, c.acct.id)}]')
        return req, "null", extra

    return build


def _s3_list_buckets(c: Ctx) -> tuple[str, str, str]:
    return f'{{"Host":"s3.{c.region}.amazonaws.com"}}', "null", ""


def _s3_list_objects(c: Ctx) -> tuple[str, str, str]:
    bucket = c.r.choice(c.acct.buckets)
    req = (f'{{"list-type":"2","bucketName":"{bucket}","encoding-type":"url","prefix":"{c.r.choice(_OBJ_PREFIXES)}",'
           f'"delimiter":"/","Host":"{bucket}.s3.{c.region}.amazonaws.com"}}')
    extra = (f',"additionalEventData":{{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,'
             f'"AuthenticationMethod":"AuthHeader","x-amz-id-2":"{"".join(c.r.choices(_B64, k=76))}","bytesTransferredOut":{c.r.randint(300, 90_000)}}}'
             f',"resources":[{_res("AWS::S3::Bucket", "arn:aws:s3:::" + bucket, c.acct.id)}]')
    return req, "null", extra


def _fn_arn(c: Ctx, fn: str) -> str:
    return f"arn:aws:lambda:{c.region}:{c.acct.id}:function:{fn}"


def _lambda_invoke(c: Ctx) -> tuple[str, str, str]:
    fn = c.r.choice(c.acct.functions)
    arn = _fn_arn(c, fn)
    inv = "Event" if c.r.random() < 0.3 else "RequestResponse"
    req = f'{{"functionName":"{arn}","invocationType":"{inv}","logType":"None","qualifier":"$LATEST"}}'
    return req, "null", f',"resources":[{_res("AWS::Lambda::Function", arn, c.acct.id)}]'


def _lambda_fn(c: Ctx) -> tuple[str, str, str]:
    fn = c.r.choice(c.acct.functions)
    return f'{{"functionName":"{fn}"}}', "null", ""


def _lambda_update_code(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    fn = r.choice(c.acct.functions)
    req = f'{{"functionName":"{fn}","publish":true,"dryRun":false,"s3Bucket":"{c.acct.buckets[-1]}","s3Key":"lambda/{fn}/{_hex(r, 40)}.zip"}}'
    resp = (f'{{"functionName":"{fn}","functionArn":"{_fn_arn(c, fn)}","runtime":"python3.12","role":"arn:aws:iam::{c.acct.id}:role/{fn.split("-")[0]}-lambda-role",'
            f'"handler":"app.handler","codeSize":{r.randint(10_000, 9_000_000)},"description":"","timeout":30,"memorySize":512,'
            f'"lastModified":"2026-03-02T10:00:00.000+0000","codeSha256":"{"".join(r.choices(_B64, k=43))}=","version":"{r.randint(2, 400)}",'
            f'"tracingConfig":{{"mode":"PassThrough"}},"revisionId":"{_uuid(r)}","state":"Pending","lastUpdateStatus":"InProgress","packageType":"Zip","architectures":["arm64"]}}')
    return req, resp, ""


def _kms_decrypt(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    key = f"arn:aws:kms:{c.region}:{c.acct.id}:key/{r.choice(c.acct.kms_keys)}"
    u = r.random()
    if u < 0.4:
        ctx = f'{{"aws:lambda:FunctionArn":"{_fn_arn(c, r.choice(c.acct.functions))}"}}'
    elif u < 0.7:
        ctx = f'{{"SecretARN":"arn:aws:secretsmanager:{c.region}:{c.acct.id}:secret:{r.choice(c.acct.secrets)}","SecretVersionId":"{_uuid(r)}"}}'
    else:
        ctx = f'{{"aws:s3:arn":"arn:aws:s3:::{r.choice(c.acct.buckets)}"}}'
    req = f'{{"encryptionContext":{ctx},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}}'
    return req, "null", f',"resources":[{_res("AWS::KMS::Key", key, c.acct.id)}]'


def _kms_gdk(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    key = f"arn:aws:kms:{c.region}:{c.acct.id}:key/{r.choice(c.acct.kms_keys)}"
    req = f'{{"keyId":"{key}","encryptionContext":{{"aws:s3:arn":"arn:aws:s3:::{r.choice(c.acct.buckets)}"}},"keySpec":"AES_256"}}'
    return req, "null", f',"resources":[{_res("AWS::KMS::Key", key, c.acct.id)}]'


_TOKEN_POOL = "".join(random.Random(7).choices(_B64, k=8192))


def _sts_assume_role(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    role = r.choice(c.acct.roles)
    role_arn = f"arn:aws:iam::{c.acct.id}:role/{role}"
    sess = c.session
    off = r.randint(0, len(_TOKEN_POOL) - 700)
    token = "IQoJb3JpZ2luX2VjE" + _TOKEN_POOL[off : off + r.randint(300, 420)]
    role_id = "AROA" + "".join(r.choices(_ALNUM_UP, k=17))
    req = f'{{"roleArn":"{role_arn}","roleSessionName":"{sess}","durationSeconds":3600}}'
    resp = (f'{{"credentials":{{"accessKeyId":"{_key_id(r, "ASIA")}","sessionToken":"{token}","expiration":"Mar 2, 2026, 11:59:59 PM"}},'
            f'"assumedRoleUser":{{"assumedRoleId":"{role_id}:{sess}","arn":"arn:aws:sts::{c.acct.id}:assumed-role/{role}/{sess}"}}}}')
    extra = f',"resources":[{_res("AWS::IAM::Role", role_arn, c.acct.id)}]'
    return req, resp, extra


def _sts_caller(c: Ctx) -> tuple[str, str, str]:
    return "null", "null", ""


def _ec2_describe_instances(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    if r.random() < 0.5:
        ids = ",".join(f'{{"instanceId":"{i}"}}' for i in r.sample(c.acct.instances, r.randint(1, 3)))
        return f'{{"instancesSet":{{"items":[{ids}]}},"filterSet":{{}},"includeAllInstances":false}}', "null", ""
    cl = c.acct.clusters[0]
    return (f'{{"instancesSet":{{}},"filterSet":{{"items":[{{"name":"tag:eks:cluster-name","valueSet":{{"items":[{{"value":"{cl}"}}]}}}},'
            f'{{"name":"instance-state-name","valueSet":{{"items":[{{"value":"running"}},{{"value":"pending"}}]}}}}]}}}}'), "null", ""


def _ec2_describe_enis(c: Ctx) -> tuple[str, str, str]:
    eni = c.r.choice(c.acct.enis)
    return f'{{"networkInterfaceIdSet":{{"items":[{{"networkInterfaceId":"{eni}"}}]}},"filterSet":{{}}}}', "null", ""


def _ec2_filter(name: str) -> Builder:
    def build(c: Ctx) -> tuple[str, str, str]:
        return f'{{"{name}":{{}},"filterSet":{{}}}}', "null", ""

    return build


def _ec2_assign_ips(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    eni = r.choice(c.acct.enis)
    ips = ",".join(f'{{"privateIpAddress":"10.{r.randint(0, 63)}.{r.randint(0, 255)}.{r.randint(1, 254)}"}}' for _ in range(r.randint(1, 4)))
    req = f'{{"networkInterfaceId":"{eni}","secondaryPrivateIpAddressCount":{ips.count("{")}}}'
    resp = f'{{"requestId":"{_uuid(r)}","networkInterfaceId":"{eni}","assignedPrivateIpAddressesSet":{{"assignedPrivateIpAddressSet":[{ips}]}},"_return":true}}'
    return req, resp, ""


def _ec2_create_tags(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    inst = r.choice(c.acct.instances)
    req = (f'{{"resourcesSet":{{"items":[{{"resourceId":"{inst}"}}]}},"tagSet":{{"items":[{{"key":"karpenter.sh/nodeclaim","value":"default-{_hex(r, 5)}"}},'
           f'{{"key":"Name","value":"{c.acct.clusters[0]}-node"}}]}}}}')
    return req, f'{{"requestId":"{_uuid(r)}","_return":true}}', ""


def _ecr_auth(c: Ctx) -> tuple[str, str, str]:
    return '{"registryIds":["' + c.acct.id + '"]}', "null", ""


def _ecr_image(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    repo = r.choice(c.acct.repos)
    req = (f'{{"imageIds":[{{"imageTag":"v1.{r.randint(0, 60)}.{r.randint(0, 9)}"}}],"acceptedMediaTypes":["application/vnd.docker.distribution.manifest.v2+json",'
           f'"application/vnd.oci.image.manifest.v1+json"],"repositoryName":"{repo}","registryId":"{c.acct.id}"}}')
    arn = f"arn:aws:ecr:{c.region}:{c.acct.id}:repository/{repo}"
    return req, "null", f',"resources":[{_res("AWS::ECR::Repository", arn, c.acct.id)}]'


def _ecr_layer(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    repo = r.choice(c.acct.repos)
    req = f'{{"repositoryName":"{repo}","registryId":"{c.acct.id}","layerDigest":"sha256:{_hex(r, 64)}"}}'
    arn = f"arn:aws:ecr:{c.region}:{c.acct.id}:repository/{repo}"
    return req, "null", f',"resources":[{_res("AWS::ECR::Repository", arn, c.acct.id)}]'


def _ddb_item(write: bool) -> Builder:
    def build(c: Ctx) -> tuple[str, str, str]:
        r = c.r
        table = r.choice(c.acct.tables)
        arn = f"arn:aws:dynamodb:{c.region}:{c.acct.id}:table/{table}"
        req = f'{{"tableName":"{table}","key":{{"pk":"HIDDEN_DUE_TO_SECURITY_REASONS","sk":"HIDDEN_DUE_TO_SECURITY_REASONS"}}'
        req += ',"returnValues":"NONE"}' if write else ',"consistentRead":false}'
        return req, "null", f',"resources":[{_res("AWS::DynamoDB::Table", arn, c.acct.id)}]'

    return build


def _ddb_query(c: Ctx) -> tuple[str, str, str]:
    table = c.r.choice(c.acct.tables)
    arn = f"arn:aws:dynamodb:{c.region}:{c.acct.id}:table/{table}"
    req = (f'{{"tableName":"{table}","indexName":"gsi1","keyConditionExpression":"#pk = :pk","expressionAttributeNames":{{"#pk":"gsi1pk"}},'
           f'"expressionAttributeValues":{{":pk":"HIDDEN_DUE_TO_SECURITY_REASONS"}},"limit":{c.r.choice((25, 50, 100))}}}')
    return req, "null", f',"resources":[{_res("AWS::DynamoDB::Table", arn, c.acct.id)}]'


def _secret(c: Ctx) -> tuple[str, str, str]:
    sid = f"arn:aws:secretsmanager:{c.region}:{c.acct.id}:secret:{c.r.choice(c.acct.secrets)}"
    return f'{{"secretId":"{sid}"}}', "null", ""


def _ssm_param(c: Ctx) -> tuple[str, str, str]:
    app = c.r.choice(APPS)
    return f'{{"names":["/{c.acct.name}/{app}/config","/{c.acct.name}/{app}/feature-flags"],"withDecryption":true}}', "null", ""


def _ssm_update_info(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    inst = r.choice(c.acct.instances)
    req = (f'{{"instanceId":"{inst}","agentVersion":"3.3.131.0","agentName":"amazon-ssm-agent","platformType":"Linux","platformName":"Amazon Linux",'
           f'"platformVersion":"2023","iPAddress":"10.{r.randint(0, 63)}.{r.randint(0, 255)}.{r.randint(1, 254)}","computerName":"ip-10-0-{r.randint(0, 255)}-{r.randint(1, 254)}.ec2.internal",'
           f'"agentStatus":"Active","availabilityZone":"{c.region}a","availabilityZoneId":"use1-az4"}}')
    return req, "null", ""


def _logs_stream(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    lg = r.choice(c.acct.log_groups)
    return f'{{"logGroupName":"{lg}","logStreamName":"2026/03/02/[$LATEST]{_hex(r, 32)}"}}', "null", ""


def _logs_filter(c: Ctx) -> tuple[str, str, str]:
    lg = c.r.choice(c.acct.log_groups)
    return (f'{{"logGroupName":"{lg}","startTime":1772409600000,"endTime":1772496000000,"filterPattern":"ERROR","interleaved":true}}',
            "null", "")


def _cw_metric_data(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    q = ",".join(
        f'{{"id":"m{i}","metricStat":{{"metric":{{"namespace":"AWS/Lambda","metricName":"Errors","dimensions":[{{"name":"FunctionName","value":"{fn}"}}]}},"period":60,"stat":"Sum"}},"returnData":true}}'
        for i, fn in enumerate(r.sample(c.acct.functions, 2))
    )
    return f'{{"metricDataQueries":[{q}],"startTime":"Mar 2, 2026, 10:00:00 AM","endTime":"Mar 2, 2026, 10:10:00 AM"}}', "null", ""


def _cw_put_metric(c: Ctx) -> tuple[str, str, str]:
    return f'{{"namespace":"ContainerInsights","metricData":"HIDDEN_DUE_TO_SECURITY_REASONS","region":"{c.region}"}}', "null", ""


def _iam_role(c: Ctx) -> tuple[str, str, str]:
    return f'{{"roleName":"{c.r.choice(c.acct.roles)}"}}', "null", ""


def _iam_list(c: Ctx) -> tuple[str, str, str]:
    return '{"maxItems":1000}', "null", ""


def _iam_user_access_key_last_used(c: Ctx) -> tuple[str, str, str]:
    return f'{{"accessKeyId":"{_key_id(c.r, "AKIA")}"}}', "null", ""


def _ecs_describe_tasks(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    cl = f"arn:aws:ecs:{c.region}:{c.acct.id}:cluster/{c.acct.name}-ecs"
    return f'{{"cluster":"{cl}","tasks":["{_hex(r, 32)}"],"include":["TAGS"]}}', "null", ""


def _sqs_send(c: Ctx) -> tuple[str, str, str]:
    q = f"https://sqs.{c.region}.amazonaws.com/{c.acct.id}/{c.r.choice(c.acct.queues)}"
    return f'{{"queueUrl":"{q}","messageBody":"HIDDEN_DUE_TO_SECURITY_REASONS"}}', "null", ""


def _sqs_attrs(c: Ctx) -> tuple[str, str, str]:
    q = f"https://sqs.{c.region}.amazonaws.com/{c.acct.id}/{c.r.choice(c.acct.queues)}"
    return f'{{"queueUrl":"{q}","attributeNames":["All"]}}', "null", ""


def _cfn_stack(c: Ctx) -> tuple[str, str, str]:
    stack = f"arn:aws:cloudformation:{c.region}:{c.acct.id}:stack/{c.acct.name}-{c.r.choice(APPS)}/{_uuid(c.r)}"
    return f'{{"stackName":"{stack}"}}', "null", ""


def _eks_cluster(c: Ctx) -> tuple[str, str, str]:
    return f'{{"name":"{c.acct.clusters[0]}"}}', "null", ""


def _rds_describe(c: Ctx) -> tuple[str, str, str]:
    return f'{{"dBInstanceIdentifier":"{c.acct.name}-{c.r.choice(APPS)}-db"}}', "null", ""


def _athena_start(c: Ctx) -> tuple[str, str, str]:
    r = c.r
    req = (f'{{"queryString":"SELECT * FROM {c.acct.name}_events WHERE dt = \'2026-03-02\' LIMIT 100","queryExecutionContext":{{"database":"{c.acct.name}"}},'
           f'"resultConfiguration":{{"outputLocation":"s3://{c.acct.buckets[0]}/athena/"}},"workGroup":"primary"}}')
    return req, f'{{"queryExecutionId":"{_uuid(r)}"}}', ""


def _athena_get(c: Ctx) -> tuple[str, str, str]:
    return f'{{"queryExecutionId":"{_uuid(c.r)}"}}', "null", ""


def _glue_table(c: Ctx) -> tuple[str, str, str]:
    return f'{{"databaseName":"{c.acct.name}","name":"{c.r.choice(APPS)}_events","catalogId":"{c.acct.id}"}}', "null", ""


def _events_put(c: Ctx) -> tuple[str, str, str]:
    return '{"entries":"HIDDEN_DUE_TO_SECURITY_REASONS"}', f'{{"failedEntryCount":0,"entries":[{{"eventId":"{_uuid(c.r)}"}}]}}', ""


def _states_start(c: Ctx) -> tuple[str, str, str]:
    sm = f"arn:aws:states:{c.region}:{c.acct.id}:stateMachine:{c.r.choice(APPS)}-workflow"
    return (f'{{"stateMachineArn":"{sm}","name":"{_uuid(c.r)}","input":"HIDDEN_DUE_TO_SECURITY_REASONS"}}',
            f'{{"executionArn":"{sm.replace("stateMachine", "execution")}:{_uuid(c.r)}","startDate":"Mar 2, 2026, 10:00:00 AM"}}', "")


def _tagging(c: Ctx) -> tuple[str, str, str]:
    return '{"paginationToken":"","resourcesPerPage":100,"resourceTypeFilters":["ec2:instance","rds:db","lambda:function"]}', "null", ""


def _console_login(c: Ctx) -> tuple[str, str, str]:
    mfa = "Yes"
    return ("null", '{"ConsoleLogin":"Success"}',
            f',"additionalEventData":{{"LoginTo":"https://console.aws.amazon.com/console/home?region={c.region}","MobileVersion":"No","MFAUsed":"{mfa}"}}')


def _sso_role_creds(c: Ctx) -> tuple[str, str, str]:
    return f'{{"accountId":"{c.acct.id}","roleName":"AWSReservedSSO_ReadOnly"}}', "null", ""


def _guardduty_list(c: Ctx) -> tuple[str, str, str]:
    return f'{{"detectorId":"{_hex(c.r, 32)}","maxResults":50,"sortCriteria":{{"attributeName":"updatedAt","orderBy":"DESC"}}}}', "null", ""


def _securityhub(c: Ctx) -> tuple[str, str, str]:
    return '{"filters":{"workflowStatus":[{"value":"NEW","comparison":"EQUALS"}],"recordState":[{"value":"ACTIVE","comparison":"EQUALS"}]},"maxResults":100}', "null", ""


def _cloudtrail_lookup(c: Ctx) -> tuple[str, str, str]:
    return '{"lookupAttributes":[{"attributeKey":"EventName","attributeValue":"ConsoleLogin"}],"maxResults":50}', "null", ""


def _organizations(c: Ctx) -> tuple[str, str, str]:
    return f'{{"accountId":"{c.acct.id}"}}', "null", ""


def _elb_describe(c: Ctx) -> tuple[str, str, str]:
    return '{"pageSize":400}', "null", ""


def _asg_describe(c: Ctx) -> tuple[str, str, str]:
    return f'{{"autoScalingGroupNames":["eks-{c.acct.clusters[0]}-default-{_hex(c.r, 8)}"]}}', "null", ""


def _route53(c: Ctx) -> tuple[str, str, str]:
    return '{"hostedZoneId":"Z' + "".join(c.r.choices(_ALNUM_UP, k=20)) + '","maxItems":"300"}', "null", ""


def _config_put_eval(c: Ctx) -> tuple[str, str, str]:
    return '{"evaluations":"HIDDEN_DUE_TO_SECURITY_REASONS","resultToken":"HIDDEN_DUE_TO_SECURITY_REASONS","testMode":false}', "null", ""


def _backup(c: Ctx) -> tuple[str, str, str]:
    return '{"byState":"RUNNING","maxResults":100}', "null", ""


def _acm(c: Ctx) -> tuple[str, str, str]:
    return f'{{"certificateArn":"arn:aws:acm:{c.region}:{c.acct.id}:certificate/{_uuid(c.r)}"}}', "null", ""


def _apigw(c: Ctx) -> tuple[str, str, str]:
    return '{"restApiId":"' + _hex(c.r, 10) + '","limit":500}', "null", ""


def _c(source: str, name: str, ro: bool, build: Builder | None = None, **kw: object) -> Call:
    return Call(source, name, ro, build or _static(), **kw)  # type: ignore[arg-type]


_THROTTLE = ("ThrottlingException", "AccessDenied")
CALLS: dict[str, Call] = {
    f"{c.source}:{c.name}": c
    for c in (
        # STS
        _c("sts", "AssumeRole", True, _sts_assume_role, errors=("AccessDenied",)),
        _c("sts", "GetCallerIdentity", True, _sts_caller),
        _c("sts", "AssumeRoleWithWebIdentity", True, _sts_assume_role, errors=("InvalidIdentityToken", "AccessDenied")),
        # S3 data + management
        _c("s3", "GetObject", True, lambda c: _s3_object(c, False), data=True, errors=("NoSuchKey", "AccessDenied", "NoSuchBucket")),
        _c("s3", "PutObject", False, lambda c: _s3_object(c, True), data=True, errors=("AccessDenied", "NoSuchBucket")),
        _c("s3", "HeadObject", True, lambda c: _s3_object(c, False), data=True, errors=("NoSuchKey", "AccessDenied")),
        _c("s3", "ListObjects", True, _s3_list_objects, data=True, errors=("AccessDenied", "NoSuchBucket")),
        _c("s3", "ListBuckets", True, _s3_list_buckets),
        _c("s3", "GetBucketPolicy", True, _s3_bucket("policy"), errors=("NoSuchBucketPolicy", "AccessDenied")),
        _c("s3", "GetBucketAcl", True, _s3_bucket("acl")),
        _c("s3", "GetBucketEncryption", True, _s3_bucket("encryption"), errors=("ServerSideEncryptionConfigurationNotFoundError",)),
        _c("s3", "GetBucketVersioning", True, _s3_bucket("versioning")),
        _c("s3", "GetBucketPublicAccessBlock", True, _s3_bucket("publicAccessBlock"), errors=("NoSuchPublicAccessBlockConfiguration",)),
        _c("s3", "GetBucketLocation", True, _s3_bucket("location"), errors=("NoSuchBucket",)),
        # EC2
        _c("ec2", "DescribeInstances", True, _ec2_describe_instances, errors=("Client.RequestLimitExceeded", "Client.UnauthorizedOperation")),
        _c("ec2", "DescribeNetworkInterfaces", True, _ec2_describe_enis, errors=("Client.RequestLimitExceeded",)),
        _c("ec2", "DescribeSecurityGroups", True, _ec2_filter("securityGroupSet"), errors=("Client.RequestLimitExceeded",)),
        _c("ec2", "DescribeSubnets", True, _ec2_filter("subnetSet")),
        _c("ec2", "DescribeVpcs", True, _ec2_filter("vpcSet")),
        _c("ec2", "DescribeVolumes", True, _ec2_filter("volumeSet"), errors=("Client.RequestLimitExceeded",)),
        _c("ec2", "DescribeInstanceStatus", True, _ec2_filter("instancesSet")),
        _c("ec2", "DescribeImages", True, _ec2_filter("imagesSet")),
        _c("ec2", "DescribeLaunchTemplateVersions", True, _ec2_filter("launchTemplateVersionSet")),
        _c("ec2", "DescribeRegions", True, _ec2_filter("regionSet")),
        _c("ec2", "DescribeAvailabilityZones", True, _ec2_filter("availabilityZoneSet")),
        _c("ec2", "DescribeSnapshots", True, _ec2_filter("snapshotSet")),
        _c("ec2", "AssignPrivateIpAddresses", False, _ec2_assign_ips, errors=("Client.RequestLimitExceeded",)),
        _c("ec2", "UnassignPrivateIpAddresses", False, _ec2_assign_ips),
        _c("ec2", "CreateTags", False, _ec2_create_tags, errors=("Client.UnauthorizedOperation",)),
        # Lambda
        _c("lambda", "Invoke", False, _lambda_invoke, data=True, errors=("ResourceNotFoundException", "TooManyRequestsException")),
        _c("lambda", "GetFunction", True, _lambda_fn, errors=("ResourceNotFoundException",), api_version="2015-03-31"),
        _c("lambda", "ListFunctions20150331", True, _static('{"functionVersion":"ALL"}'), api_version="2015-03-31"),
        _c("lambda", "GetFunctionConfiguration20150331v2", True, _lambda_fn, api_version="2015-03-31"),
        _c("lambda", "UpdateFunctionCode20150331v2", False, _lambda_update_code, api_version="2015-03-31"),
        # KMS
        _c("kms", "Decrypt", True, _kms_decrypt, errors=("AccessDenied", "InvalidCiphertextException")),
        _c("kms", "GenerateDataKey", True, _kms_gdk),
        _c("kms", "DescribeKey", True, _kms_gdk),
        _c("kms", "ListAliases", True),
        # CloudWatch / Logs
        _c("monitoring", "GetMetricData", True, _cw_metric_data, errors=_THROTTLE),
        _c("monitoring", "PutMetricData", False, _cw_put_metric, errors=_THROTTLE),
        _c("monitoring", "DescribeAlarms", True, _static('{"maxRecords":100}'), errors=_THROTTLE),
        _c("monitoring", "ListMetrics", True, _static('{"namespace":"AWS/EC2"}'), errors=_THROTTLE),
        _c("logs", "CreateLogStream", False, _logs_stream, errors=("ResourceAlreadyExistsException",)),
        _c("logs", "DescribeLogGroups", True, _static('{"limit":50}'), errors=_THROTTLE),
        _c("logs", "FilterLogEvents", True, _logs_filter, errors=_THROTTLE),
        # SSM / Secrets
        _c("ssm", "GetParameters", True, _ssm_param, errors=("AccessDeniedException", "ThrottlingException")),
        _c("ssm", "UpdateInstanceInformation", False, _ssm_update_info, errors=("ThrottlingException",)),
        _c("ssm", "ListInstanceAssociations", True, _static('{"maxResults":50}')),
        _c("ssm", "DescribeInstanceInformation", True, _static('{"maxResults":50}')),
        _c("secretsmanager", "GetSecretValue", True, _secret, errors=("AccessDeniedException", "ResourceNotFoundException")),
        _c("secretsmanager", "DescribeSecret", True, _secret),
        _c("secretsmanager", "ListSecrets", True, _static('{"maxResults":100}')),
        # DynamoDB (data events for items)
        _c("dynamodb", "GetItem", True, _ddb_item(False), data=True, errors=("ResourceNotFoundException", "ProvisionedThroughputExceededException")),
        _c("dynamodb", "PutItem", False, _ddb_item(True), data=True, errors=("ConditionalCheckFailedException", "ProvisionedThroughputExceededException")),
        _c("dynamodb", "Query", True, _ddb_query, data=True, errors=("ProvisionedThroughputExceededException",)),
        _c("dynamodb", "DescribeTable", True, _static('{"tableName":"sessions"}'), errors=("ResourceNotFoundException",)),
        _c("dynamodb", "ListTables", True, _static('{"limit":100}')),
        # Containers
        _c("ecr", "GetAuthorizationToken", True, _ecr_auth),
        _c("ecr", "BatchGetImage", True, _ecr_image, errors=("RepositoryNotFoundException", "AccessDenied")),
        _c("ecr", "GetDownloadUrlForLayer", True, _ecr_layer, errors=("LayerInaccessibleException",)),
        _c("ecr", "DescribeRepositories", True, _static('{"maxResults":1000}')),
        _c("ecr", "PutImage", False, _ecr_image, errors=("ImageAlreadyExistsException",)),
        _c("eks", "DescribeCluster", True, _eks_cluster, errors=("ResourceNotFoundException", "AccessDeniedException")),
        _c("eks", "ListClusters", True),
        _c("eks", "ListNodegroups", True, _eks_cluster),
        _c("ecs", "DescribeTasks", True, _ecs_describe_tasks),
        _c("ecs", "ListClusters", True),
        # Databases / analytics
        _c("rds", "DescribeDBInstances", True, _rds_describe, errors=("DBInstanceNotFound", "AccessDenied")),
        _c("rds", "DescribeDBClusters", True),
        _c("rds", "DescribeDBSnapshots", True),
        _c("athena", "StartQueryExecution", False, _athena_start, errors=("InvalidRequestException",)),
        _c("athena", "GetQueryExecution", True, _athena_get),
        _c("glue", "GetTable", True, _glue_table, errors=("EntityNotFoundException",)),
        _c("glue", "GetDatabases", True),
        # Messaging / orchestration
        _c("sqs", "SendMessage", False, _sqs_send, data=True, errors=("AWS.SimpleQueueService.NonExistentQueue",)),
        _c("sqs", "GetQueueAttributes", True, _sqs_attrs),
        _c("sns", "ListTopics", True),
        _c("events", "PutEvents", False, _events_put),
        _c("states", "StartExecution", False, _states_start, errors=("ExecutionAlreadyExists",)),
        # Identity and governance (IAM/Organizations log to us-east-1)
        _c("iam", "GetRole", True, _iam_role, global_region=True, errors=("NoSuchEntity", "AccessDenied")),
        _c("iam", "ListRoles", True, _iam_list, global_region=True),
        _c("iam", "ListPolicies", True, _static('{"scope":"Local","onlyAttached":false,"maxItems":1000}'), global_region=True),
        _c("iam", "ListAttachedRolePolicies", True, _iam_role, global_region=True),
        _c("iam", "GetRolePolicy", True, _iam_role, global_region=True, errors=("NoSuchEntity",)),
        _c("iam", "ListUsers", True, _iam_list, global_region=True),
        _c("iam", "GetAccountSummary", True, global_region=True),
        _c("iam", "GetAccessKeyLastUsed", True, _iam_user_access_key_last_used, global_region=True),
        _c("iam", "GenerateCredentialReport", True, global_region=True),
        _c("organizations", "DescribeAccount", True, _organizations, global_region=True, errors=("AccessDeniedException",)),
        _c("organizations", "ListAccounts", True, global_region=True, errors=("AccessDeniedException", "TooManyRequestsException")),
        _c("signin", "ConsoleLogin", False, _console_login, global_region=True, event_type="AwsConsoleSignIn", errors=()),
        _c("sso", "GetRoleCredentials", True, _sso_role_creds),
        _c("cloudformation", "DescribeStacks", True, _cfn_stack, errors=("ValidationError", "Throttling")),
        _c("cloudformation", "DescribeStackEvents", True, _cfn_stack, errors=("Throttling",)),
        _c("cloudtrail", "LookupEvents", True, _cloudtrail_lookup, errors=("ThrottlingException",)),
        _c("cloudtrail", "DescribeTrails", True),
        _c("config", "PutEvaluations", False, _config_put_eval),
        _c("config", "DescribeConfigRules", True),
        _c("guardduty", "ListFindings", True, _guardduty_list),
        _c("guardduty", "ListDetectors", True),
        _c("securityhub", "GetFindings", True, _securityhub, errors=("TooManyRequestsException",)),
        _c("access-analyzer", "ListAnalyzers", True),
        _c("health", "DescribeEvents", True, global_region=True),
        _c("tagging", "GetResources", True, _tagging, errors=("ThrottlingException",)),
        _c("elasticloadbalancing", "DescribeLoadBalancers", True, _elb_describe),
        _c("elasticloadbalancing", "DescribeTargetHealth", True, _elb_describe),
        _c("autoscaling", "DescribeAutoScalingGroups", True, _asg_describe),
        _c("route53", "ListResourceRecordSets", True, _route53, global_region=True),
        _c("backup", "ListBackupJobs", True, _backup),
        _c("acm", "DescribeCertificate", True, _acm),
        _c("apigateway", "GetResources", True, _apigw),
        _c("elasticache", "DescribeCacheClusters", True),
        _c("cloudfront", "ListDistributions", True, global_region=True),
        _c("wafv2", "ListWebACLs", True, _static('{"scope":"REGIONAL","limit":100}')),
    )
}

# --------------------------------------------------------------------------------------------
# Profiles: what each kind of principal calls (weights), which clients it uses, where from

PROFILES: dict[str, list[tuple[str, float]]] = {
    "lambda_app": [("dynamodb:GetItem", 16), ("dynamodb:Query", 10), ("dynamodb:PutItem", 7), ("s3:GetObject", 12),
                   ("s3:PutObject", 6), ("kms:Decrypt", 6), ("secretsmanager:GetSecretValue", 2), ("sqs:SendMessage", 5),
                   ("events:PutEvents", 2), ("ssm:GetParameters", 2), ("lambda:Invoke", 2), ("s3:HeadObject", 2),
                   ("states:StartExecution", 0.5), ("sts:GetCallerIdentity", 0.3)],
    "eks_node": [("ec2:DescribeInstances", 14), ("ec2:DescribeNetworkInterfaces", 12), ("ec2:AssignPrivateIpAddresses", 4),
                 ("ec2:UnassignPrivateIpAddresses", 2), ("ecr:GetAuthorizationToken", 10), ("ecr:BatchGetImage", 8),
                 ("ecr:GetDownloadUrlForLayer", 16), ("ssm:UpdateInstanceInformation", 6), ("ssm:ListInstanceAssociations", 3),
                 ("monitoring:PutMetricData", 8), ("logs:CreateLogStream", 2), ("ec2:DescribeInstanceStatus", 2),
                 ("ec2:DescribeVolumes", 2), ("autoscaling:DescribeAutoScalingGroups", 2), ("ec2:CreateTags", 1),
                 ("ec2:DescribeLaunchTemplateVersions", 1), ("ec2:DescribeSubnets", 2), ("ec2:DescribeSecurityGroups", 2),
                 ("eks:DescribeCluster", 1), ("sts:AssumeRoleWithWebIdentity", 2), ("kms:Decrypt", 2)],
    "ecs_task": [("s3:GetObject", 22), ("s3:PutObject", 10), ("dynamodb:GetItem", 12), ("dynamodb:PutItem", 6),
                 ("sqs:SendMessage", 8), ("kms:Decrypt", 8), ("kms:GenerateDataKey", 6), ("secretsmanager:GetSecretValue", 3),
                 ("logs:CreateLogStream", 2), ("ssm:GetParameters", 3), ("ecs:DescribeTasks", 2), ("s3:ListObjects", 4),
                 ("athena:StartQueryExecution", 1), ("athena:GetQueryExecution", 4), ("glue:GetTable", 3)],
    "data_pipeline": [("s3:GetObject", 34), ("s3:PutObject", 22), ("s3:ListObjects", 8), ("s3:HeadObject", 6),
                      ("kms:GenerateDataKey", 8), ("kms:Decrypt", 8), ("glue:GetTable", 6), ("glue:GetDatabases", 1),
                      ("athena:StartQueryExecution", 2), ("athena:GetQueryExecution", 5)],
    "ci_deploy": [("sts:GetCallerIdentity", 6), ("iam:GetRole", 8), ("iam:ListAttachedRolePolicies", 5), ("iam:GetRolePolicy", 4),
                  ("s3:GetBucketPolicy", 4), ("s3:GetBucketAcl", 3), ("s3:GetBucketVersioning", 3), ("s3:GetBucketEncryption", 3),
                  ("s3:PutObject", 4), ("s3:GetObject", 4), ("lambda:GetFunction", 5), ("lambda:UpdateFunctionCode20150331v2", 1),
                  ("lambda:GetFunctionConfiguration20150331v2", 3), ("ecr:GetAuthorizationToken", 2), ("ecr:PutImage", 1),
                  ("ecr:DescribeRepositories", 2), ("ec2:DescribeSecurityGroups", 4), ("ec2:DescribeSubnets", 3),
                  ("ec2:DescribeVpcs", 3), ("ec2:DescribeImages", 2), ("kms:DescribeKey", 3), ("logs:DescribeLogGroups", 3),
                  ("cloudformation:DescribeStacks", 4), ("cloudformation:DescribeStackEvents", 3), ("eks:DescribeCluster", 2),
                  ("rds:DescribeDBInstances", 2), ("dynamodb:DescribeTable", 2), ("sqs:GetQueueAttributes", 2),
                  ("secretsmanager:DescribeSecret", 2), ("route53:ListResourceRecordSets", 1), ("acm:DescribeCertificate", 1),
                  ("apigateway:GetResources", 1), ("states:StartExecution", 0.3)],
    "scanner": [("iam:ListRoles", 3), ("iam:GetRole", 6), ("iam:ListAttachedRolePolicies", 6), ("iam:GetRolePolicy", 4),
                ("iam:ListPolicies", 2), ("iam:ListUsers", 2), ("iam:GetAccessKeyLastUsed", 2), ("iam:GenerateCredentialReport", 1),
                ("s3:ListBuckets", 2), ("s3:GetBucketPolicy", 5), ("s3:GetBucketAcl", 5), ("s3:GetBucketEncryption", 4),
                ("s3:GetBucketVersioning", 4), ("s3:GetBucketPublicAccessBlock", 4), ("s3:GetBucketLocation", 4),
                ("ec2:DescribeInstances", 4), ("ec2:DescribeSecurityGroups", 4), ("ec2:DescribeVolumes", 3),
                ("ec2:DescribeSnapshots", 3), ("ec2:DescribeImages", 2), ("ec2:DescribeRegions", 2), ("ec2:DescribeVpcs", 2),
                ("kms:ListAliases", 2), ("kms:DescribeKey", 3), ("lambda:ListFunctions20150331", 3), ("rds:DescribeDBInstances", 2),
                ("rds:DescribeDBClusters", 2), ("rds:DescribeDBSnapshots", 2), ("eks:ListClusters", 2), ("ecs:ListClusters", 1),
                ("cloudtrail:DescribeTrails", 2), ("config:DescribeConfigRules", 1), ("guardduty:ListDetectors", 1),
                ("access-analyzer:ListAnalyzers", 1), ("secretsmanager:ListSecrets", 2), ("sns:ListTopics", 2),
                ("elasticloadbalancing:DescribeLoadBalancers", 2), ("elasticache:DescribeCacheClusters", 1),
                ("cloudfront:ListDistributions", 1), ("wafv2:ListWebACLs", 1), ("dynamodb:ListTables", 1),
                ("organizations:DescribeAccount", 1), ("ecr:DescribeRepositories", 1), ("ssm:DescribeInstanceInformation", 1)],
    "monitoring": [("monitoring:GetMetricData", 40), ("monitoring:ListMetrics", 10), ("monitoring:DescribeAlarms", 6),
                   ("tagging:GetResources", 12), ("ec2:DescribeInstances", 6), ("ec2:DescribeInstanceStatus", 4),
                   ("rds:DescribeDBInstances", 3), ("elasticloadbalancing:DescribeLoadBalancers", 3),
                   ("elasticloadbalancing:DescribeTargetHealth", 3), ("lambda:ListFunctions20150331", 3), ("logs:FilterLogEvents", 3),
                   ("health:DescribeEvents", 2), ("dynamodb:ListTables", 1), ("sqs:GetQueueAttributes", 2)],
    "human_admin": [("signin:ConsoleLogin", 0.6), ("sts:GetCallerIdentity", 3), ("ec2:DescribeInstances", 8),
                    ("ec2:DescribeSecurityGroups", 4), ("s3:ListBuckets", 3), ("s3:ListObjects", 4), ("s3:GetObject", 4),
                    ("iam:GetRole", 3), ("iam:ListRoles", 2), ("logs:FilterLogEvents", 5), ("logs:DescribeLogGroups", 3),
                    ("monitoring:GetMetricData", 5), ("monitoring:DescribeAlarms", 3), ("cloudtrail:LookupEvents", 2),
                    ("lambda:GetFunction", 2), ("lambda:ListFunctions20150331", 2), ("eks:DescribeCluster", 2),
                    ("eks:ListNodegroups", 1), ("rds:DescribeDBInstances", 2), ("cloudformation:DescribeStacks", 3),
                    ("guardduty:ListFindings", 1), ("securityhub:GetFindings", 1), ("ssm:DescribeInstanceInformation", 1),
                    ("ecs:DescribeTasks", 1), ("dynamodb:DescribeTable", 1), ("organizations:ListAccounts", 0.5),
                    ("kms:ListAliases", 0.5), ("athena:StartQueryExecution", 1), ("athena:GetQueryExecution", 2),
                    ("secretsmanager:DescribeSecret", 1), ("ec2:CreateTags", 0.3)],
    "iam_service_user": [("s3:GetObject", 30), ("s3:PutObject", 20), ("s3:ListObjects", 10), ("s3:HeadObject", 6),
                         ("kms:GenerateDataKey", 6), ("kms:Decrypt", 6), ("sts:GetCallerIdentity", 1),
                         ("sts:AssumeRole", 8), ("dynamodb:GetItem", 4), ("sqs:SendMessage", 3), ("ecr:GetAuthorizationToken", 1)],
    "root": [("signin:ConsoleLogin", 3), ("iam:GetAccountSummary", 2), ("organizations:DescribeAccount", 1),
             ("s3:ListBuckets", 1), ("ec2:DescribeRegions", 1)],
    "aws_service": [("sts:AssumeRole", 70), ("kms:Decrypt", 8), ("kms:GenerateDataKey", 6), ("lambda:Invoke", 8),
                    ("s3:PutObject", 3), ("config:PutEvaluations", 2), ("events:PutEvents", 3)],
    "cross_account": [("s3:GetObject", 30), ("s3:PutObject", 12), ("s3:ListObjects", 6), ("kms:Decrypt", 14),
                      ("kms:GenerateDataKey", 8), ("sts:AssumeRole", 24), ("lambda:Invoke", 4), ("s3:GetBucketLocation", 2)],
}

# Client families each profile's traffic comes from.
PROFILE_UA: dict[str, tuple[str, ...]] = {
    "lambda_app": ("boto3", "node", "java"),
    "eks_node": ("go",),
    "ecs_task": ("java", "boto3", "node"),
    "data_pipeline": ("java", "boto3"),
    "ci_deploy": ("terraform", "terraform", "cli"),
    "scanner": ("go", "boto3"),
    "monitoring": ("go",),
    "human_admin": ("console", "console", "cli", "boto3"),
    "iam_service_user": ("cli", "boto3", "java"),
    "root": ("console",),
    "cross_account": ("boto3", "java", "go"),
}


@dataclass
class Principal:
    kind: str  # AssumedRole | IAMUser | AWSService | AWSAccount | Root
    profile: str
    account: Account
    identities: list[str]  # pre-serialized userIdentity variants (sessions/keys rotate)
    session: str  # session name (or user/service name)
    agents: list[tuple[str, str]]  # (family, user agent)
    ips: list[str]  # source addresses; "" stands for "the service's own name"
    vpce: bool = False  # some calls arrive through the account's VPC endpoint
    home_region: str = "us-east-1"
    weight: float = 1.0
    calls: list[Call] = field(default_factory=list)
    cum: list[float] = field(default_factory=list)


def _assumed_role_identity(r: random.Random, acct: Account, role: str, path: str, session: str,
                           mfa: bool, ec2: bool, invoked_by: str | None, created: int) -> str:
    role_id = "AROA" + "".join(r.choices(_ALNUM_UP, k=17))
    issuer = (f'{{"type":"Role","principalId":"{role_id}","arn":"arn:aws:iam::{acct.id}:role{path}{role}",'
              f'"accountId":"{acct.id}","userName":"{role}"}}')
    attrs = f'{{"creationDate":"{_iso(created)}","mfaAuthenticated":"{"true" if mfa else "false"}"}}'
    sc = f'{{"sessionIssuer":{issuer},"webIdFederationData":{{}},"attributes":{attrs}'
    sc += ',"ec2RoleDelivery":"2.0"}' if ec2 else "}"
    ident = (f'{{"type":"AssumedRole","principalId":"{role_id}:{session}","arn":"arn:aws:sts::{acct.id}:assumed-role/{role}/{session}",'
             f'"accountId":"{acct.id}","accessKeyId":"{_key_id(r, "ASIA")}","sessionContext":{sc}')
    ident += f',"invokedBy":"{invoked_by}"}}' if invoked_by else "}"
    return ident


def _build_principals(r: random.Random, accounts: list[Account]) -> list[Principal]:
    ps: list[Principal] = []
    region_names = [n for n, _ in REGIONS]

    def agents(profile: str, k: int = 2) -> list[tuple[str, str]]:
        fams = PROFILE_UA[profile]
        return [(f, r.choice(UA[f])) for f in r.sample(fams, min(k, len(fams)))] if len(fams) > 1 else [(fams[0], r.choice(UA[fams[0]]))]

    def add_role(acct: Account, profile: str, role: str, path: str, sessions: list[str], weight: float,
                 ips: list[str], mfa: bool = False, ec2: bool = False, vpce: bool = False) -> None:
        idents = [_assumed_role_identity(r, acct, role, path, s, mfa, ec2, None, T0 - r.randint(60, 40_000)) for s in sessions]
        ps.append(Principal("AssumedRole", profile, acct, idents, sessions[0], agents(profile), ips, vpce,
                            acct.home_region if r.random() < 0.8 else r.choice(region_names), weight))

    humans = [f"{f}.{ln}" for f, ln in zip(r.sample(FIRST, 30), r.choices(LAST, k=30), strict=True)]
    human_ips = {h: [_public_ip(r) for _ in range(2)] for h in humans}
    for acct in accounts:
        workload = acct.name in ("prod", "staging", "dev", "data", "shared-services")
        big = 4.0 if acct.name == "prod" else 1.5 if workload else 0.3
        for app_fn in acct.functions if workload else acct.functions[:2]:
            add_role(acct, "lambda_app", f"{app_fn.split('-')[0]}-lambda-role", "/service-role/", [app_fn] * 3,
                     6.0 * big, [_public_ip(r, (3, 18, 52, 54)) for _ in range(4)])
        if workload:
            for _ in range(3):
                add_role(acct, "eks_node", f"{acct.name}-eks-node-role", "/", [r.choice(acct.instances) for _ in range(3)], 8.0 * big,
                         acct.nat_ips + [f"10.{r.randint(0, 63)}.{r.randint(0, 255)}.{r.randint(1, 254)}"], ec2=True, vpce=True)
            for app in acct.functions[:3]:
                add_role(acct, "ecs_task", f"{app.split('-')[0]}-ecs-task-role", "/", [_hex(r, 32) for _ in range(3)], 5.0 * big, acct.nat_ips)
        if acct.name in ("data", "log-archive", "prod"):
            add_role(acct, "data_pipeline", "glue-etl-role", "/service-role/", ["GlueJobRunnerSession"] * 3, 12.0, acct.nat_ips, vpce=True)
            add_role(acct, "data_pipeline", "emr-ec2-role", "/", [r.choice(acct.instances) for _ in range(3)], 8.0, acct.nat_ips, ec2=True)
        add_role(acct, "ci_deploy", "github-actions-deploy", "/ci/", ["GitHubActions"] * 3, 1.5 if workload else 0.4,
                 [_public_ip(r, (4, 20, 40, 52, 172 + 1)) for _ in range(6)])
        add_role(acct, "scanner", "SecurityAuditRole", "/", [f"scan-{_hex(r, 8)}" for _ in range(3)], 1.5, [_public_ip(r, (3, 34, 35, 44))])
        add_role(acct, "monitoring", "DatadogIntegrationRole", "/", ["DatadogAWSIntegration"] * 3, 2.5,
                 [_public_ip(r, (3, 18, 44, 54)) for _ in range(3)])
        # Humans through IAM Identity Center: a handful of people per account and permission set.
        for pset in ("AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess"):
            for h in r.sample(humans, 3 if pset != "ReadOnlyAccess" else 2):
                role = f"AWSReservedSSO_{pset}_{_hex(r, 16)}"
                add_role(acct, "human_admin", role, "/aws-reserved/sso.amazonaws.com/", [f"{h}@example.com"] * 3,
                         0.35, human_ips[h], mfa=False)
        # Root: rarely used, break-glass only.
        root = (f'{{"type":"Root","principalId":"{acct.id}","arn":"arn:aws:iam::{acct.id}:root","accountId":"{acct.id}",'
                f'"accessKeyId":"{_key_id(r, "ASIA")}","sessionContext":{{"attributes":{{"creationDate":"{_iso(T0 - 300)}","mfaAuthenticated":"true"}}}}}}')
        ps.append(Principal("Root", "root", acct, [root], "root", agents("root"), [r.choice(human_ips[r.choice(humans)])],
                            home_region="us-east-1", weight=1.0))
    # Legacy IAM users: service users with long-lived keys, a few humans with console passwords.
    for i in range(16):
        acct = accounts[r.choice((5, 5, 6, 7, 8, 3))]
        name = f"svc-{r.choice(APPS)}-{r.choice(('uploader', 'backup', 'sync', 'reporting'))}" if i < 11 else humans[i]
        aid = "AIDA" + "".join(r.choices(_ALNUM_UP, k=17))
        idents = [(f'{{"type":"IAMUser","principalId":"{aid}","arn":"arn:aws:iam::{acct.id}:user/{name}","accountId":"{acct.id}",'
                   f'"accessKeyId":"{_key_id(r, "AKIA")}","userName":"{name}"}}')]
        prof = "iam_service_user" if i < 11 else "human_admin"
        ips = [_public_ip(r) for _ in range(2)] if i < 11 else human_ips[humans[i]]
        ps.append(Principal("IAMUser", prof, acct, idents, name, agents("iam_service_user" if i < 11 else "human_admin"), ips,
                            home_region=acct.home_region, weight=1.0))
    # AWS services acting in accounts (assuming execution roles, calling KMS for others).
    for svc in ("lambda", "ecs-tasks", "ec2", "eks", "config", "cloudformation", "events", "states", "ssm", "backup",
                "apigateway", "glue", "guardduty", "securityhub", "elasticloadbalancing"):
        acct = r.choice(accounts[3:9])
        host = f"{svc}.amazonaws.com"
        ident = f'{{"type":"AWSService","invokedBy":"{host}"}}'
        ps.append(Principal("AWSService", "aws_service", acct, [ident], f"{svc}-session", [("service", host)], [""],
                            home_region=acct.home_region, weight=1.0))
    # Other organisations' accounts (partners, vendors) reaching shared buckets and keys.
    for _ in range(6):
        acct = r.choice(accounts[5:9])
        ext = str(r.randint(100_000_000_000, 999_999_999_999))
        sess = f"partner-sync-{_hex(r, 6)}"
        ident = f'{{"type":"AWSAccount","principalId":"AROA{"".join(r.choices(_ALNUM_UP, k=17))}:{sess}","accountId":"{ext}"}}'
        ps.append(Principal("AWSAccount", "cross_account", acct, [ident], sess, agents("cross_account"), [_public_ip(r)],
                            home_region=acct.home_region, weight=1.0))
    # Identity mix: ~74% assumed roles, ~12% AWS services, ~9% IAM users, ~5% other accounts, Root ~0.03%.
    shares = {"AssumedRole": 0.74, "AWSService": 0.12, "IAMUser": 0.09, "AWSAccount": 0.0497, "Root": 0.0003}
    totals: dict[str, float] = {}
    for p in ps:
        totals[p.kind] = totals.get(p.kind, 0.0) + p.weight
    for p in ps:
        p.weight = shares[p.kind] * p.weight / totals[p.kind]
        acc = 0.0
        for key, w in PROFILES[p.profile]:
            p.calls.append(CALLS[key])
            acc += w
            p.cum.append(acc)
    return ps


# --------------------------------------------------------------------------------------------
# Record assembly


def _error(r: random.Random, call: Call, p: Principal, region: str, acct: Account) -> str:
    code = r.choice(call.errors)
    if code == "AccessDenied" and p.kind == "AssumedRole":
        arn = p.identities[0].split('"arn":"', 1)[1].split('"', 1)[0]
        action = f"{call.source}:{call.name}"
        msg = (f"User: {arn} is not authorized to perform: {action} on resource: arn:aws:{call.source}:{region}:{acct.id}:* "
               f"because no identity-based policy allows the {action} action")
    elif code.startswith("Client."):
        msg = "You are not authorized to perform this operation." if "Unauthorized" in code else "Request limit exceeded."
    elif code in ("NoSuchBucket", "NoSuchKey"):
        msg = "The specified bucket does not exist" if code == "NoSuchBucket" else "The specified key does not exist."
    elif "Throttl" in code or "TooMany" in code or "Exceeded" in code:
        msg = "Rate exceeded"
    else:
        msg = code.replace("Exception", "") + " (Service: " + call.source + "; Status Code: 400)"
    return f',"errorCode":"{code}","errorMessage":"{msg}"'


class _Generator:
    """Holds the estate (identical in every worker for a seed) and renders chunks of records."""

    def __init__(self, seed: int) -> None:
        r = random.Random(f"lanner-bench-estate:{seed}")
        self.accounts = _build_accounts(r)
        self.principals = _build_principals(r, self.accounts)
        acc = 0.0
        self.pcum = []
        for p in self.principals:
            acc += p.weight
            self.pcum.append(acc)
        self.regions = [n for n, _ in REGIONS]
        self.rcum = []
        acc = 0.0
        for _, w in REGIONS:
            acc += w
            self.rcum.append(acc)
        self._tls: dict[tuple[str, str, str], str] = {}
        self._times: dict[int, str] = {}

    def tls(self, family: str, source: str, region: str) -> str:
        key = (family, source, region)
        got = self._tls.get(key)
        if got is None:
            ver, suite = TLS_BY_FAMILY.get(family, ("TLSv1.3", "TLS_AES_128_GCM_SHA256"))
            host = f"{source}.{region}.amazonaws.com" if source not in ("iam", "organizations", "route53", "cloudfront") else f"{source}.amazonaws.com"
            got = f',"tlsDetails":{{"tlsVersion":"{ver}","cipherSuite":"{suite}","clientProvidedHostHeader":"{host}"}}'
            self._tls[key] = got
        return got

    def chunk(self, seed: int, index: int, start: int, stop: int, n: int) -> str:
        r = random.Random(f"lanner-bench-events:{seed}:{index}")
        rnd = r.random
        principals, pcum, ptotal = self.principals, self.pcum, self.pcum[-1]
        out: list[str] = []
        for i in range(start, stop):
            p = principals[bisect(pcum, rnd() * ptotal)]
            call = p.calls[bisect(p.cum, rnd() * p.cum[-1])]
            acct = p.account
            if call.global_region:
                region = "us-east-1"
            elif rnd() < 0.85:
                region = p.home_region
            else:
                region = self.regions[bisect(self.rcum, rnd() * self.rcum[-1])]
            ts = T0 + (i * SPAN_S) // n
            when = self._times.get(ts)
            if when is None:
                if len(self._times) > 4096:
                    self._times.clear()
                when = self._times[ts] = _iso(ts)
            ident = p.identities[int(rnd() * len(p.identities))] if len(p.identities) > 1 else p.identities[0]
            source = f"{call.source}.amazonaws.com"
            if p.kind == "AWSService":
                ip = ua = p.agents[0][1]  # services call from their own name
                tls = ""
            else:
                family, ua = p.agents[int(rnd() * len(p.agents))]
                if family == "console" and rnd() < 0.3:
                    ip, tls = "AWS Internal", ""
                else:
                    ip = p.ips[int(rnd() * len(p.ips))]
                    tls = self.tls(family, call.source, region)
                if call.name == "ConsoleLogin":
                    ua = UA["browser"][int(rnd() * 4)]
            ctx = Ctx(r, acct, region, p.session)
            req, resp, extra = call.build(ctx)
            err = ""
            if call.errors and rnd() < ERROR_RATE:
                err = _error(r, call, p, region, acct)
                resp = "null"
                if call.name == "ConsoleLogin":
                    resp = '{"ConsoleLogin":"Failure"}'
            vpce = ""
            if p.vpce and rnd() < 0.5 and call.source in ("s3", "ecr", "sts", "ssm", "kms", "logs", "monitoring", "dynamodb", "ec2"):
                ip = f"10.{int(rnd() * 64)}.{int(rnd() * 256)}.{1 + int(rnd() * 254)}"
                vpce = f',"vpcEndpointId":"{acct.vpce}","vpcEndpointAccountId":"{acct.id}"'
            req_id = _hex(r, 16).upper() if call.source == "s3" else _uuid(r)
            if p.kind == "AWSAccount":  # cross-account calls are logged in both accounts, tied by this id
                extra += f',"sharedEventID":"{_uuid(r)}"'
            api = f',"apiVersion":"{call.api_version}"' if call.api_version else ""
            cons = ',"sessionCredentialFromConsole":"true"' if ua in UA["console"] and p.kind != "Root" else ""
            out.append(
                f'{{"eventVersion":"{"1.09" if call.data else "1.10"}","userIdentity":{ident},"eventTime":"{when}",'
                f'"eventSource":"{source}","eventName":"{call.name}","awsRegion":"{region}","sourceIPAddress":"{ip}",'
                f'"userAgent":"{ua}"{err},"requestParameters":{req},"responseElements":{resp}{extra},'
                f'"requestID":"{req_id}","eventID":"{_uuid(r)}","readOnly":{"true" if call.read_only else "false"}'
                f',"eventType":"{call.event_type}"{api},"managementEvent":{"false" if call.data else "true"},'
                f'"recipientAccountId":"{acct.id}"{vpce},"eventCategory":"{"Data" if call.data else "Management"}"{tls}{cons}}}\n'
            )
        return "".join(out)


# --------------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True)
class GenInfo:
    path: Path
    n: int
    seed: int
    bytes: int
    seconds: float
    principals: int
    accounts: int
    workers: int

    @property
    def avg_record_bytes(self) -> float:
        return self.bytes / self.n if self.n else 0.0


_ESTATES: dict[int, _Generator] = {}  # per process: workers build the estate once per seed


def _work(args: tuple[int, int, int, int, int]) -> bytes:
    seed, index, start, stop, n = args
    g = _ESTATES.get(seed)
    if g is None:
        g = _ESTATES[seed] = _Generator(seed)
    return g.chunk(seed, index, start, stop, n).encode()


def _chunks(n: int, seed: int) -> Iterator[tuple[int, int, int, int, int]]:
    for index, start in enumerate(range(0, n, CHUNK)):
        yield seed, index, start, min(start + CHUNK, n), n


def generate(path: Path, n: int = 1_000_000, seed: int = 1, workers: int | None = None) -> GenInfo:
    """Write `n` benign CloudTrail records as JSON lines to `path`; the bytes depend only on (n, seed)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    began = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = list(_chunks(n, seed))
    if workers is None:
        workers = min(os.cpu_count() or 1, len(chunks)) if len(chunks) > 2 else 1
    size = 0
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as out:
        if workers <= 1:
            for args in chunks:
                data = _work(args)
                size += len(data)
                out.write(data)
        else:
            # fork keeps start-up cheap; chunk order is preserved by imap, so output is identical.
            mp = multiprocessing.get_context("fork")
            with mp.Pool(workers) as pool:
                for data in pool.imap(_work, chunks):
                    size += len(data)
                    out.write(data)
    tmp.replace(path)  # a partially written file never masquerades as a complete one
    est = _ESTATES.get(seed) or _Generator(seed)
    return GenInfo(path, n, seed, size, time.perf_counter() - began, len(est.principals), len(est.accounts), max(workers, 1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generate benign synthetic AWS CloudTrail records (JSON lines).")
    ap.add_argument("out", type=Path, help="output file (JSON lines)")
    ap.add_argument("--n", type=int, default=1_000_000, help="number of records (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--workers", type=int, default=None, help="processes (default: CPU count); output does not depend on it")
    a = ap.parse_args(argv)
    if a.n < 0:
        ap.error("--n must be >= 0")
    info = generate(a.out, a.n, a.seed, a.workers)
    print(f"wrote {info.n:,} records, {info.bytes / 1e6:,.1f} MB ({info.avg_record_bytes:,.0f} B/record) to {info.path} "
          f"in {info.seconds:.1f} s with {info.workers} worker(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
