"""The fictional company "Acme" whose estate the demo day runs in: accounts, people, workloads.

Public addresses come from the documentation ranges (RFC 5737: 192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24) or are plainly AWS/Google service names, so no real third party appears in the logs.
Seed-dependent parts (instance ids, pod names, container ids) are drawn in `build_estate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lanner.demo.ids import Ids

ORG = "acme"
EMAIL_DOMAIN = "acme.example"


@dataclass(frozen=True)
class Account:
    name: str
    id: str
    regions: tuple[str, ...]
    nat_ips: tuple[str, ...]  # egress addresses of workloads (AWS-owned elastic IPs)


PROD = Account("prod", "418273645091", ("us-east-1", "eu-west-1"), ("44.209.17.88", "44.209.17.91"))
DEV = Account("dev", "552910384776", ("us-east-1", "us-west-2"), ("54.158.33.12",))
SECURITY = Account("security", "730184552019", ("us-east-1",), ("3.91.205.140",))
ACCOUNTS = (PROD, DEV, SECURITY)

OFFICE_IPS = ("198.51.100.23", "198.51.100.24", "198.51.100.87")  # office and VPN egress
HOME_IPS = ("198.51.100.140", "198.51.100.151", "198.51.100.203")  # people working from home
CI_RUNNER_IPS = ("192.0.2.14", "192.0.2.15", "192.0.2.61", "192.0.2.62")  # hosted CI runners
VPC_ENDPOINT = {PROD.id: "vpce-0a51c2e7b9d4f3186", DEV.id: "vpce-07c4e1d95ab2f6630", SECURITY.id: "vpce-0e3b9f2a81c4d5772"}


@dataclass(frozen=True)
class Person:
    name: str  # first name, also the SSO user name
    role: str  # SSO permission set name
    accounts: tuple[Account, ...]
    weight: int  # how busy they are


PEOPLE = (
    Person("alice", "AdministratorAccess", (PROD, DEV, SECURITY), 4),
    Person("bruno", "PowerUserAccess", (DEV, PROD), 6),
    Person("chen", "PowerUserAccess", (DEV,), 6),
    Person("dana", "ReadOnlyAccess", (PROD, DEV), 3),
    Person("emeka", "SecurityAudit", (SECURITY, PROD), 3),
    Person("fatima", "PowerUserAccess", (DEV, PROD), 5),
    Person("goran", "DataEngineer", (PROD,), 4),
    Person("hana", "ReadOnlyAccess", (PROD,), 2),
)

# S3 buckets: (account, bucket, region, what's in it)
BUCKETS = (
    (PROD, "acme-prod-web-assets", "us-east-1", "assets"),
    (PROD, "acme-prod-uploads", "us-east-1", "uploads"),
    (PROD, "acme-prod-datalake", "us-east-1", "datalake"),
    (PROD, "acme-prod-customer-exports", "us-east-1", "exports"),  # the sensitive one
    (PROD, "acme-prod-eu-backups", "eu-west-1", "backups"),
    (DEV, "acme-dev-scratch", "us-east-1", "scratch"),
    (DEV, "acme-dev-artifacts", "us-west-2", "artifacts"),
    (SECURITY, "acme-security-cloudtrail", "us-east-1", "logs"),
    (SECURITY, "acme-security-athena-results", "us-east-1", "athena"),
)
SENSITIVE_BUCKET = "acme-prod-customer-exports"
PROD_TRAIL = "acme-prod-management-trail"
ORG_TRAIL = "acme-org-trail"

EKS_CLUSTER = "acme-prod-eks"
NODE_ROLE = "acme-prod-eks-node-role"
ECR = f"{PROD.id}.dkr.ecr.us-east-1.amazonaws.com"


@dataclass(frozen=True)
class Node:
    name: str  # Kubernetes node name = EC2 private DNS name
    ip: str
    instance_id: str


@dataclass(frozen=True)
class Container:
    id: str  # 64 hex
    name: str
    image: str
    image_digest: str
    main_binary: str
    main_args: str
    cwd: str
    uid: int


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    workload: str
    node: Node
    ip: str
    container: Container
    labels: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Estate:
    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]

    def pods_of(self, workload: str) -> list[Pod]:
        return [p for p in self.pods if p.workload == workload]


# workload -> (namespace, replicas, container name, image, binary, args, cwd, uid)
WORKLOADS = (
    ("web", "prod", 3, "web", f"{ECR}/acme/web:2026.11.3", "/usr/local/bin/node", "server.js", "/app", 1000),
    ("api", "prod", 3, "api", f"{ECR}/acme/api:2026.11.5", "/usr/local/bin/gunicorn",
     "--bind 0.0.0.0:8000 --workers 4 acme_api.wsgi:application", "/srv", 1000),
    ("worker", "prod", 2, "worker", f"{ECR}/acme/worker:2026.11.5", "/usr/local/bin/python3",
     "-m acme_worker.main --queue exports", "/srv", 1000),
    ("coredns", "kube-system", 2, "coredns",
     "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/coredns:v1.11.3-eksbuild.2", "/coredns",
     "-conf /etc/coredns/Corefile", "/", 65532),
)


def build_estate(ids: Ids) -> Estate:
    rng = ids.rng
    nodes = []
    for _ in range(4):
        a, b = rng.randrange(32, 63), rng.randrange(2, 250)
        ip = f"10.20.{a}.{b}"
        nodes.append(Node(f"ip-10-20-{a}-{b}.ec2.internal", ip, ids.instance_id()))
    pods: list[Pod] = []
    for workload, ns, replicas, cname, image, binary, args, cwd, uid in WORKLOADS:
        rs = ids.lower(10).replace("0", "b")[:10]
        for i in range(replicas):
            node = nodes[(len(pods) + i) % len(nodes)]
            container = Container(ids.hex(64), cname, image, "sha256:" + ids.hex(64), binary, args, cwd, uid)
            name = f"{workload}-{rs[:9]}-{ids.lower(5)}"
            pod_ip = f"10.20.{rng.randrange(64, 127)}.{rng.randrange(2, 250)}"
            labels = (("app", workload), ("pod-template-hash", rs[:9]))
            pods.append(Pod(name, ns, workload, node, pod_ip, container, labels))
    return Estate(tuple(nodes), tuple(pods))
