"""A benign day of CloudTrail across the prod, dev and security accounts.

Who acts, and how (each is a real pattern defenders see every day):
- people through IAM Identity Center (SSO) roles, mostly in the console, some with the CLI;
  each session works on one task, so it touches a handful of APIs, not the whole account;
- CI (GitHub Actions over OIDC) running Terraform plans/applies and pushing images to ECR;
- EKS nodes and ETL hosts on EC2 instance roles (session name = instance id), the SSM agent;
- application pods on IRSA roles, Lambda functions, and AWS services acting for the account
  (AWS Config recording, Athena reading the log bucket), which CloudTrail marks with `invokedBy`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from lanner.demo import clock
from lanner.demo.cloudtrail import (
    DENIED,
    UA_BOTO3,
    UA_CLI,
    UA_CONSOLE,
    UA_CONSOLE_WIN,
    UA_GO_NODE,
    UA_JS,
    UA_SSM,
    UA_TERRAFORM,
    Principals,
    aws_service,
    denied_message,
    record,
    s3_object_event,
)
from lanner.demo.estate import (
    ACCOUNTS,
    CI_RUNNER_IPS,
    DEV,
    HOME_IPS,
    NODE_ROLE,
    OFFICE_IPS,
    PEOPLE,
    PROD,
    SECURITY,
    VPC_ENDPOINT,
    Account,
    Estate,
)
from lanner.demo.ids import Ids

Event = tuple[datetime, dict[str, Any]]
Req = Callable[[random.Random], dict[str, Any] | None]

# What a person does in a console/CLI session: (eventSource, eventName, readOnly, request)
HUMAN_OPS: tuple[tuple[str, str, bool, Req], ...] = (
    ("ec2.amazonaws.com", "DescribeInstances", True, lambda r: {"instancesSet": {}, "filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", True, lambda r: {"securityGroupSet": {}, "filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeVpcs", True, lambda r: {"vpcSet": {}, "filterSet": {}}),
    ("s3.amazonaws.com", "ListBuckets", True, lambda r: {"Host": "s3.amazonaws.com"}),
    ("s3.amazonaws.com", "GetBucketPolicy", True, lambda r: {"bucketName": r.choice(["acme-prod-web-assets", "acme-dev-scratch"]), "policy": ""}),
    ("monitoring.amazonaws.com", "GetMetricData", True, lambda r: None),
    ("logs.amazonaws.com", "DescribeLogGroups", True, lambda r: {"limit": 50}),
    ("logs.amazonaws.com", "FilterLogEvents", True, lambda r: {"logGroupName": r.choice(["/aws/lambda/acme-prod-thumbnailer", "/aws/eks/acme-prod-eks/cluster"])}),
    ("lambda.amazonaws.com", "ListFunctions20150331", True, lambda r: None),
    ("iam.amazonaws.com", "GetRole", True, lambda r: {"roleName": r.choice(["acme-prod-web", "acme-ci-deploy", "acme-prod-etl-role"])}),
    ("rds.amazonaws.com", "DescribeDBInstances", True, lambda r: None),
    ("cloudformation.amazonaws.com", "DescribeStacks", True, lambda r: None),
    ("ssm.amazonaws.com", "GetParameter", True, lambda r: {"name": r.choice(["/acme/prod/web/feature-flags", "/acme/dev/api/log-level"])}),
    ("dynamodb.amazonaws.com", "DescribeTable", True, lambda r: {"tableName": r.choice(["acme-sessions", "acme-orders"])}),
    ("ecr.amazonaws.com", "DescribeImages", True, lambda r: {"repositoryName": r.choice(["acme/web", "acme/api"])}),
    ("eks.amazonaws.com", "DescribeCluster", True, lambda r: {"name": "acme-prod-eks"}),
    ("cloudwatch.amazonaws.com", "DescribeAlarms", True, lambda r: None),
    ("ec2.amazonaws.com", "StartInstances", False, lambda r: {"instancesSet": {"items": [{"instanceId": "i-0" + "".join(r.choice("0123456789abcdef") for _ in range(16))}]}}),
    ("ssm.amazonaws.com", "PutParameter", False, lambda r: {"name": "/acme/dev/api/log-level", "type": "String", "overwrite": True}),
    ("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", False, lambda r: {"functionName": "acme-dev-report"}),
)
# Data people pull in Athena (the DataEngineer and SecurityAudit sets)
ANALYST_OPS: tuple[tuple[str, str, bool, Req], ...] = (
    ("athena.amazonaws.com", "StartQueryExecution", False, lambda r: {"workGroup": "primary", "queryExecutionContext": {"database": "acme_lake"}}),
    ("athena.amazonaws.com", "GetQueryExecution", True, lambda r: None),
    ("athena.amazonaws.com", "GetQueryResults", True, lambda r: None),
    ("glue.amazonaws.com", "GetTables", True, lambda r: {"databaseName": "acme_lake"}),
)
TERRAFORM_READS = (
    ("sts.amazonaws.com", "GetCallerIdentity", "sts"), ("ec2.amazonaws.com", "DescribeVpcs", "ec2"),
    ("ec2.amazonaws.com", "DescribeSubnets", "ec2"), ("ec2.amazonaws.com", "DescribeSecurityGroups", "ec2"),
    ("iam.amazonaws.com", "GetRole", "iam"), ("iam.amazonaws.com", "ListRolePolicies", "iam"),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", "iam"), ("iam.amazonaws.com", "GetPolicy", "iam"),
    ("iam.amazonaws.com", "GetPolicyVersion", "iam"), ("s3.amazonaws.com", "GetBucketPolicy", "s3"),
    ("s3.amazonaws.com", "GetBucketVersioning", "s3"), ("s3.amazonaws.com", "GetBucketEncryption", "s3"),
    ("dynamodb.amazonaws.com", "DescribeTable", "dynamodb"), ("eks.amazonaws.com", "DescribeCluster", "eks"),
    ("ec2.amazonaws.com", "DescribeLaunchTemplateVersions", "ec2"), ("kms.amazonaws.com", "DescribeKey", "kms"),
)
TERRAFORM_WRITES = (
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupEgress", "ec2"), ("iam.amazonaws.com", "PutRolePolicy", "iam"),
    ("iam.amazonaws.com", "CreateRole", "iam"), ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", "lambda"),
    ("s3.amazonaws.com", "PutBucketTagging", "s3"), ("ec2.amazonaws.com", "CreateTags", "ec2"),
    ("iam.amazonaws.com", "AttachRolePolicy", "iam"),
)
CONFIG_READS = (
    ("ec2.amazonaws.com", "DescribeInstances"), ("ec2.amazonaws.com", "DescribeSecurityGroups"),
    ("ec2.amazonaws.com", "DescribeVolumes"), ("ec2.amazonaws.com", "DescribeNetworkInterfaces"),
    ("s3.amazonaws.com", "GetBucketAcl"), ("s3.amazonaws.com", "ListBuckets"), ("iam.amazonaws.com", "ListRoles"),
    ("iam.amazonaws.com", "ListUsers"), ("iam.amazonaws.com", "ListPolicies"), ("rds.amazonaws.com", "DescribeDBInstances"),
    ("lambda.amazonaws.com", "ListFunctions20150331"), ("kms.amazonaws.com", "ListKeys"),
)


class AwsDay:
    """Accumulates benign CloudTrail records for one day."""

    def __init__(self, ids: Ids, principals: Principals, estate: Estate, day: date) -> None:
        self.ids, self.rng, self.p, self.estate, self.day = ids, ids.rng, principals, estate, day
        self.events: list[Event] = []
        self.human_scale = 0.35 if clock.is_weekend(day) else 1.0
        self._keys: dict[str, str] = {}

    def key(self, holder: str, prefix: str = "ASIA") -> str:
        """One access key per credential holder (session, instance-role period, user)."""
        if holder not in self._keys:
            self._keys[holder] = self.ids.access_key(prefix)
        return self._keys[holder]

    def emit(self, t: datetime, rec: dict[str, Any]) -> None:
        self.events.append((t, rec))

    def build(self) -> list[Event]:
        self.people()
        self.ci()
        self.instances()
        self.app_roles()
        self.lambdas()
        self.aws_config()
        self.athena()
        self.root_billing()
        return self.events

    # --- people -----------------------------------------------------------------------------
    def people(self) -> None:
        rng = self.rng
        for person in PEOPLE:
            n_sessions = max(1, round(person.weight * 2.2 * self.human_scale * rng.uniform(0.7, 1.3)))
            for _ in range(n_sessions):
                acct = rng.choice(person.accounts)
                start = clock.sample(rng, self.day, clock.HUMAN_HOURS)
                self._human_session(person.name, person.role, acct, start, console=rng.random() < 0.75)

    def _human_session(self, name: str, permission_set: str, acct: Account, start: datetime, console: bool) -> None:
        rng = self.rng
        role = f"AWSReservedSSO_{permission_set}_{self.p.pid('', acct.id + permission_set)[:16].lower()}"
        session = f"{name}@acme.example"
        key = self.ids.access_key("ASIA")
        ident = self.p.role_session(acct.id, role, session, key, start - timedelta(minutes=1),
                                    path="/aws-reserved/sso.amazonaws.com/")
        ip = rng.choice(OFFICE_IPS + HOME_IPS)
        ua = UA_CONSOLE if name < "d" else UA_CONSOLE_WIN
        region = rng.choice(acct.regions)
        if console:
            self.emit(start, record(
                self.ids, start, ident, "signin.amazonaws.com", "ConsoleLogin", "us-east-1", acct.id, ip, ua,
                read_only=False, response={"ConsoleLogin": "Success"}, event_type="AwsConsoleSignIn",
                additional={"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"},
            ))
        read_only_set = permission_set in ("ReadOnlyAccess", "SecurityAudit")
        menu = [op for op in HUMAN_OPS if op[2] or not read_only_set]
        if permission_set in ("DataEngineer", "SecurityAudit"):
            menu += list(ANALYST_OPS) * 2
        # One task per session: a handful of APIs, repeated (reload, paginate).
        task = rng.sample(menu, k=rng.randint(2, 4))
        calls = [rng.choice(task) for _ in range(rng.randint(4, 30))]
        if read_only_set and rng.random() < 0.3:  # a read-only user tries one change and is refused
            calls.insert(rng.randrange(len(calls)), rng.choice([op for op in HUMAN_OPS if not op[2]]))
        t = start
        for source, op, read_only, req in calls:
            t += timedelta(seconds=rng.randint(3, 90))
            error = None
            if (not read_only and read_only_set) or rng.random() < 0.01:
                code = DENIED.get(source, "AccessDenied")
                error = (code, denied_message(ident, source, op))
            self.emit(t, record(
                self.ids, t, ident, source, op, "us-east-1" if source.startswith("iam") else region, acct.id, ip,
                ua if console else UA_CLI.format(cmd=op.lower()), read_only=read_only, request=req(rng),
                error=error, console=console,
            ))

    # --- CI ---------------------------------------------------------------------------------
    def ci(self) -> None:
        rng = self.rng
        runs = {DEV: 14, PROD: 5, SECURITY: 2}
        for acct, n in runs.items():
            for _ in range(max(1, round(n * (0.5 if clock.is_weekend(self.day) else 1.0)))):
                self._terraform_run(acct, clock.sample(rng, self.day, clock.HUMAN_HOURS), apply=rng.random() < 0.4)
        for _ in range(round(18 * (0.5 if clock.is_weekend(self.day) else 1.0))):
            self._image_push(clock.sample(rng, self.day, clock.HUMAN_HOURS))

    def _ci_identity(self, acct: Account, t: datetime, role: str) -> tuple[dict[str, Any], str]:
        session = f"GitHubActions-{self.rng.randrange(10**9, 10**10)}"
        key = self.ids.access_key("ASIA")
        ip = self.rng.choice(CI_RUNNER_IPS)
        role_arn = f"arn:aws:iam::{acct.id}:role/{role}"
        self.emit(t, record(
            self.ids, t, {"type": "WebIdentityUser", "principalId": f"arn:aws:iam::{acct.id}:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:acme/infrastructure:ref:refs/heads/main",
                          "userName": "repo:acme/infrastructure:ref:refs/heads/main", "identityProvider": f"arn:aws:iam::{acct.id}:oidc-provider/token.actions.githubusercontent.com"},
            "sts.amazonaws.com", "AssumeRoleWithWebIdentity", "us-east-1", acct.id, ip,
            "aws-sdk-js/3.699.0 ua/2.1 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.18.1 api/sts#3.699.0 configure-aws-credentials-for-github-actions",
            read_only=True, request={"roleArn": role_arn, "roleSessionName": session, "durationSeconds": 3600},
            response={"credentials": {"accessKeyId": key, "sessionToken": "IQoJb3JpZ2luX2VjE" + self.ids.lower(24), "expiration": (t + timedelta(hours=1)).strftime("%b %d, %Y, %-I:%M:%S %p")},
                      "assumedRoleUser": {"arn": f"arn:aws:sts::{acct.id}:assumed-role/{role}/{session}"}},
            resources=[{"accountId": acct.id, "type": "AWS::IAM::Role", "ARN": role_arn}],
        ))
        return self.p.role_session(acct.id, role, session, key, t), ip

    def _terraform_run(self, acct: Account, start: datetime, apply: bool) -> None:
        rng = self.rng
        ident, ip = self._ci_identity(acct, start, "acme-ci-terraform")
        t = start + timedelta(seconds=20)
        stack_region = rng.choice(acct.regions)
        ops = list(TERRAFORM_READS) * rng.randint(1, 3)
        if apply:
            ops += rng.sample(TERRAFORM_WRITES, k=rng.randint(1, 3))
        for source, op, api in ops:
            t += timedelta(milliseconds=rng.randint(80, 1500))
            write = (source, op, api) in TERRAFORM_WRITES
            req: dict[str, Any] | None = None
            if op == "AttachRolePolicy":
                req = {"roleName": "acme-dev-report", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}
            elif op in ("GetRole", "ListRolePolicies", "ListAttachedRolePolicies", "PutRolePolicy", "CreateRole"):
                req = {"roleName": rng.choice(["acme-prod-web", "acme-dev-report", "acme-prod-etl-role"])}
            region = "us-east-1" if source in ("iam.amazonaws.com", "sts.amazonaws.com") else stack_region
            self.emit(t, record(self.ids, t, ident, source, op, region, acct.id, ip, UA_TERRAFORM.format(api=f"{api}#1.38.2"),
                                read_only=not write, request=req))

    def _image_push(self, start: datetime) -> None:
        ident, ip = self._ci_identity(PROD, start, "acme-ci-build")
        t = start + timedelta(seconds=40)
        repo = self.rng.choice(["acme/web", "acme/api", "acme/worker"])
        ops = ["GetAuthorizationToken", "BatchCheckLayerAvailability"] + ["InitiateLayerUpload", "CompleteLayerUpload"] * self.rng.randint(1, 4) + ["PutImage"]
        for op in ops:
            t += timedelta(milliseconds=self.rng.randint(200, 6000))
            self.emit(t, record(self.ids, t, ident, "ecr.amazonaws.com", op, "us-east-1", PROD.id, ip,
                                UA_JS.format(api="ecr"), read_only=op.startswith(("Get", "Batch")),
                                request=None if op == "GetAuthorizationToken" else {"repositoryName": repo, "registryId": PROD.id}))

    # --- EC2 instance roles -------------------------------------------------------------------
    def instances(self) -> None:
        rng = self.rng
        etl = [(self.ids.instance_id(), "acme-prod-etl-role") for _ in range(2)]
        hosts = [(n.instance_id, NODE_ROLE) for n in self.estate.nodes] + etl
        for iid, role in hosts:
            for t in clock.every(self.day, timedelta(minutes=5), 20_000, rng, timedelta(seconds=rng.randrange(300))):
                ident = self.instance_identity(iid, role, t)
                self.emit(t, record(self.ids, t, ident, "ssm.amazonaws.com", "UpdateInstanceInformation", "us-east-1", PROD.id,
                                    PROD.nat_ips[0], UA_SSM, read_only=False,
                                    request={"instanceId": iid, "agentVersion": "3.3.1142.0", "platformType": "Linux",
                                             "platformName": "Amazon Linux", "platformVersion": "2023", "agentStatus": "Active"}))
        for node in self.estate.nodes:
            for _ in range(rng.randint(60, 110)):
                t = clock.sample(rng, self.day, clock.FLAT_HOURS)
                ident = self.instance_identity(node.instance_id, NODE_ROLE, t)
                op = rng.choice(["GetAuthorizationToken", "DescribeInstances", "DescribeNetworkInterfaces", "DescribeTags"])
                source = "ecr.amazonaws.com" if op == "GetAuthorizationToken" else "ec2.amazonaws.com"
                api = source.split(".")[0]
                req = {"instancesSet": {"items": [{"instanceId": node.instance_id}]}} if op == "DescribeInstances" else None
                self.emit(t, record(self.ids, t, ident, source, op, "us-east-1", PROD.id, rng.choice(PROD.nat_ips),
                                    UA_GO_NODE.format(api=f"{api}#1.32.0"), read_only=True, request=req))
        # ETL hosts read the lake and write curated output through the S3 gateway endpoint.
        lake_keys = [f"raw/orders/dt=2026-11-{d:02d}/part-{i:05d}.parquet" for d in range(20, 28) for i in range(40)]
        for iid, role in etl:
            for _ in range(rng.randint(2400, 2900)):
                t = clock.sample(rng, self.day, clock.BATCH_HOURS)
                ident = self.instance_identity(iid, role, t)
                get = rng.random() < 0.8
                key = rng.choice(lake_keys) if get else f"curated/orders/dt=2026-11-27/part-{rng.randrange(200):05d}.parquet"
                self.emit(t, s3_object_event(self.ids, t, ident, "GetObject" if get else "PutObject", PROD.id, "us-east-1",
                                             "acme-prod-datalake", key, "10.20.9." + str(rng.randrange(10, 60)), UA_BOTO3,
                                             size=rng.randrange(2_000_000, 60_000_000), vpce=VPC_ENDPOINT[PROD.id]))

        # The nightly backup copies the curated data to the EU bucket (cross-region: no gateway endpoint).
        iid, role = etl[0]
        for i in range(rng.randint(150, 250)):
            t = clock.day_start(self.day) + timedelta(hours=2, seconds=i * 7 + rng.randrange(7))
            ident = self.instance_identity(iid, role, t)
            self.emit(t, s3_object_event(self.ids, t, ident, "PutObject", PROD.id, "eu-west-1", "acme-prod-eu-backups",
                                         f"curated/orders/dt=2026-11-27/part-{i:05d}.parquet", PROD.nat_ips[0], UA_BOTO3,
                                         size=rng.randrange(2_000_000, 60_000_000), vpce=None))

    def instance_identity(self, instance_id: str, role: str, t: datetime) -> dict[str, Any]:
        """Instance-profile credentials rotate every 6 hours; the session name is the instance id."""
        period = t.hour // 6
        key = self.key(f"{instance_id}:{period}")
        created = clock.day_start(self.day) + timedelta(hours=6 * period, minutes=-13)
        return self.p.role_session(PROD.id, role, instance_id, key, created, ec2=True)

    # --- application roles (IRSA) ----------------------------------------------------------------
    def app_roles(self) -> None:
        rng = self.rng
        upload_keys = [f"users/{rng.randrange(10**6, 10**7)}/avatar-{self.ids.hex(8)}.png" for _ in range(400)]
        for pod in [p for p in self.estate.pods if p.namespace == "prod"]:
            role = f"acme-prod-{pod.workload}"
            for hour in range(24):
                t0 = clock.day_start(self.day) + timedelta(hours=hour, seconds=rng.randrange(600))
                session = f"botocore-session-{int(t0.timestamp())}" if pod.workload != "web" else f"aws-sdk-js-{int(t0.timestamp() * 1000)}"
                key = self.ids.access_key("ASIA")
                role_arn = f"arn:aws:iam::{PROD.id}:role/{role}"
                oidc = "oidc.eks.us-east-1.amazonaws.com/id/5C3F1E0A8B7D4C2E9F6A1B3D5E7C9A2F"
                self.emit(t0, record(
                    self.ids, t0, {"type": "WebIdentityUser", "principalId": f"arn:aws:iam::{PROD.id}:oidc-provider/{oidc}:sts.amazonaws.com:system:serviceaccount:prod:{pod.workload}",
                                   "userName": f"system:serviceaccount:prod:{pod.workload}", "identityProvider": f"arn:aws:iam::{PROD.id}:oidc-provider/{oidc}"},
                    "sts.amazonaws.com", "AssumeRoleWithWebIdentity", "us-east-1", PROD.id, PROD.nat_ips[1],
                    UA_JS.format(api="sts") if pod.workload == "web" else UA_BOTO3, read_only=True,
                    request={"roleArn": role_arn, "roleSessionName": session},
                    resources=[{"accountId": PROD.id, "type": "AWS::IAM::Role", "ARN": role_arn}],
                ))
                ident = self.p.role_session(PROD.id, role, session, key, t0)
                n = round(rng.randint(20, 70) * clock.HUMAN_HOURS[hour] / 8)
                for _ in range(n):
                    t = t0 + timedelta(milliseconds=rng.randrange(3_000_000))
                    if pod.workload == "web":
                        name = rng.choice(["GetObject", "GetObject", "PutObject", "HeadObject"])
                        self.emit(t, s3_object_event(self.ids, t, ident, name, PROD.id, "us-east-1", "acme-prod-uploads",
                                                     rng.choice(upload_keys), pod.ip, UA_JS.format(api="s3"),
                                                     size=rng.randrange(20_000, 900_000), vpce=VPC_ENDPOINT[PROD.id]))
                    else:
                        name = rng.choice(["Decrypt", "GenerateDataKey", "GetSecretValue"])
                        source = "secretsmanager.amazonaws.com" if name == "GetSecretValue" else "kms.amazonaws.com"
                        self.emit(t, record(self.ids, t, ident, source, name, "us-east-1", PROD.id, pod.ip, UA_BOTO3,
                                            read_only=name != "GenerateDataKey", vpce=VPC_ENDPOINT[PROD.id],
                                            request={"secretId": "acme/prod/db"} if name == "GetSecretValue" else {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}))

    def lambdas(self) -> None:
        rng = self.rng
        for fn, acct in (("acme-prod-thumbnailer", PROD), ("acme-dev-report", DEV)):
            n = 600 if acct is PROD else 150
            for i in range(n):
                t = clock.sample(rng, self.day, clock.HUMAN_HOURS)
                if i % 12 == 0:  # a cold start: Lambda assumes the function's role
                    self.emit(t, record(self.ids, t, aws_service("lambda.amazonaws.com"), "sts.amazonaws.com", "AssumeRole",
                                        "us-east-1", acct.id, "lambda.amazonaws.com", "lambda.amazonaws.com", read_only=True,
                                        request={"roleArn": f"arn:aws:iam::{acct.id}:role/{fn}", "roleSessionName": fn}))
                ident = self.p.role_session(acct.id, fn, fn, self.key(f"{fn}:{t.hour // 2}"), t.replace(minute=0))
                ip = f"3.{rng.randrange(80, 95)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                key = f"users/{rng.randrange(10**6, 10**7)}/thumb-{self.ids.hex(8)}.jpg"
                bucket = "acme-prod-uploads" if acct is PROD else "acme-dev-scratch"
                for name in ("GetObject", "PutObject"):
                    self.emit(t, s3_object_event(self.ids, t, ident, name, acct.id, "us-east-1", bucket, key, ip,
                                                 UA_BOTO3, size=rng.randrange(20_000, 400_000), vpce=None))
                    t += timedelta(milliseconds=rng.randrange(100, 900))

    # --- AWS services on the account's behalf ---------------------------------------------------
    def aws_config(self) -> None:
        rng = self.rng
        for acct in ACCOUNTS:
            session = "AWSConfig-Describe"
            for t in clock.every(self.day, timedelta(minutes=20), 60_000, rng):
                ident = self.p.role_session(acct.id, "AWSServiceRoleForConfig", session, self.key(f"config:{acct.id}:{t.hour}"), t,
                                            path="/aws-service-role/config.amazonaws.com/", invoked_by="config.amazonaws.com")
                for source, op in rng.sample(CONFIG_READS, k=rng.randint(3, 7)):
                    t += timedelta(milliseconds=rng.randrange(50, 4000))
                    self.emit(t, record(self.ids, t, ident, source, op, "us-east-1" if source.startswith("iam") else acct.regions[0],
                                        acct.id, "config.amazonaws.com", "config.amazonaws.com", read_only=True))
                if t.minute < 20 and t.hour % 6 == 0:  # periodic full IAM snapshot
                    self.emit(t, record(self.ids, t, ident, "iam.amazonaws.com", "GetAccountAuthorizationDetails", "us-east-1",
                                        acct.id, "config.amazonaws.com", "config.amazonaws.com", read_only=True,
                                        request={"filter": ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]}))

    def athena(self) -> None:
        """Analysts query the CloudTrail bucket with Athena; Athena reads the log objects itself."""
        rng = self.rng
        for _ in range(round(25 * self.human_scale)):
            t = clock.sample(rng, self.day, clock.HUMAN_HOURS)
            day = rng.randrange(1, 28)
            for i in range(rng.randint(30, 90)):
                t2 = t + timedelta(milliseconds=i * rng.randrange(20, 200))
                key = (f"AWSLogs/{PROD.id}/CloudTrail/us-east-1/2026/11/{day:02d}/{PROD.id}_CloudTrail_us-east-1_"
                       f"202611{day:02d}T{rng.randrange(24):02d}{rng.randrange(0, 60, 5):02d}Z_{self.ids.upper(16)}.json.gz")
                self.emit(t2, s3_object_event(self.ids, t2, {**aws_service("athena.amazonaws.com")}, "GetObject", SECURITY.id,
                                              "us-east-1", "acme-security-cloudtrail", key, "athena.amazonaws.com",
                                              "athena.amazonaws.com", size=rng.randrange(2_000, 400_000), vpce=None))

    def root_billing(self) -> None:
        """The dev account's root user checks the bill once (rare, but real)."""
        t = clock.sample(self.rng, self.day, clock.HUMAN_HOURS)
        ident = self.p.root(DEV.id, self.ids.access_key("ASIA"))
        ip = OFFICE_IPS[0]
        self.emit(t, record(self.ids, t, ident, "signin.amazonaws.com", "ConsoleLogin", "us-east-1", DEV.id, ip, UA_CONSOLE,
                            read_only=False, response={"ConsoleLogin": "Success"}, event_type="AwsConsoleSignIn",
                            additional={"LoginTo": "https://console.aws.amazon.com/billing/home", "MobileVersion": "No", "MFAUsed": "Yes"}))
        for op in ("GetCostAndUsage", "GetCostForecast"):
            t += timedelta(seconds=self.rng.randint(5, 60))
            self.emit(t, record(self.ids, t, ident, "ce.amazonaws.com", op, "us-east-1", DEV.id, ip, UA_CONSOLE,
                                read_only=True, console=True))
