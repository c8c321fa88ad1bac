"""Kubernetes audit events (`audit.k8s.io/v1` Event JSON lines) from the EKS control plane.

Benign: kubelets renewing leases and reporting status, controllers and CoreDNS watching,
the external-secrets operator syncing secrets cluster-wide, CI rolling out deployments,
engineers reading pods and logs, and anonymous health checks of /livez and /readyz.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from lanner.demo import clock
from lanner.demo.estate import EKS_CLUSTER, OFFICE_IPS, PROD, Estate
from lanner.demo.files import write_jsonl_groups
from lanner.demo.ids import Ids

Event = tuple[datetime, dict[str, Any]]
UA_KUBECTL = "kubectl/v1.31.3 (darwin/arm64) kubernetes/c83cbee"
UA_KUBELET = "kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46"


def event(ids: Ids, t: datetime, user: dict[str, Any], verb: str, uri: str, ip: str, ua: str, *,
          object_ref: dict[str, Any] | None = None, code: int = 200, reason: str = "") -> dict[str, Any]:
    """One audit Event at level Metadata, stage ResponseComplete."""
    ev: dict[str, Any] = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": ids.uuid(),
        "stage": "ResponseComplete", "requestURI": uri, "verb": verb, "user": user, "sourceIPs": [ip], "userAgent": ua,
    }
    if object_ref:
        ev["objectRef"] = object_ref
    ev["responseStatus"] = {"metadata": {}, "code": code}
    done = t + timedelta(microseconds=ids.rng.randrange(800, 40_000))
    ev["requestReceivedTimestamp"] = clock.iso_us(t)
    ev["stageTimestamp"] = clock.iso_us(done)
    ev["annotations"] = {"authorization.k8s.io/decision": "allow" if code < 400 else "forbid",
                         "authorization.k8s.io/reason": reason}
    return ev


def k8s_day(ids: Ids, estate: Estate, day: date) -> list[Event]:
    rng = ids.rng
    out: list[Event] = []
    for node in estate.nodes:
        user = {"username": f"system:node:{node.name}", "uid": f"aws-iam-authenticator:{PROD.id}:AROA{ids.upper(17)}",
                "groups": ["system:bootstrappers", "system:nodes", "system:authenticated"],
                "extra": {"sessionName": [node.instance_id], "accessKeyId": [ids.access_key("ASIA")]}}
        for t in clock.every(day, timedelta(minutes=2), 5_000, rng, timedelta(seconds=rng.randrange(120))):
            ref = {"resource": "leases", "namespace": "kube-node-lease", "name": node.name, "apiGroup": "coordination.k8s.io", "apiVersion": "v1"}
            out.append((t, event(ids, t, user, "update", f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node.name}?timeout=10s",
                                 node.ip, UA_KUBELET, object_ref=ref, reason="")))
        for t in clock.every(day, timedelta(minutes=5), 20_000, rng, timedelta(seconds=rng.randrange(300))):
            ref = {"resource": "nodes", "name": node.name, "apiVersion": "v1", "subresource": "status"}
            out.append((t, event(ids, t, user, "patch", f"/api/v1/nodes/{node.name}/status?timeout=10s", node.ip, UA_KUBELET, object_ref=ref)))
    controllers = (
        ("system:serviceaccount:kube-system:coredns", "endpointslices", "discovery.k8s.io", "watch", None, "coredns/v1.11.3 (linux/amd64) kubernetes/v1.11.3"),
        ("system:kube-controller-manager", "deployments", "apps", "list", None, "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/shared-informers"),
        ("system:kube-scheduler", "pods", "", "watch", None, "kube-scheduler/v1.31.2 (linux/amd64) kubernetes/5864a46/scheduler"),
        ("system:serviceaccount:external-secrets:external-secrets", "secrets", "", "list", None, "external-secrets/v0.10.7 (linux/amd64)"),
        ("system:serviceaccount:kube-system:aws-node", "pods", "", "get", "prod", "aws-vpc-cni/v1.19.0 (linux/amd64)"),
    )
    for username, resource, group, verb, ns, ua in controllers:
        user = {"username": username, "uid": ids.uuid(), "groups": ["system:serviceaccounts", "system:authenticated"]}
        for t in clock.every(day, timedelta(minutes=6), 60_000, rng, timedelta(seconds=rng.randrange(360))):
            base = f"/apis/{group}/v1" if group else "/api/v1"
            uri = f"{base}/namespaces/{ns}/{resource}" if ns else f"{base}/{resource}"
            ref = {"resource": resource, "apiVersion": "v1", **({"apiGroup": group} if group else {}), **({"namespace": ns} if ns else {})}
            out.append((t, event(ids, t, user, verb, uri + ("?watch=true" if verb == "watch" else "?limit=500"), "10.20.40.12", ua,
                                 object_ref=ref, reason=f'RBAC: allowed by ClusterRoleBinding "{username.split(":")[-1]}"')))
    # CI rolls out new images: patch the deployment, then poll the rollout.
    ci = {"username": "acme-ci-deploy", "uid": f"aws-iam-authenticator:{PROD.id}:AROA{ids.upper(17)}", "groups": ["deployers", "system:authenticated"],
          "extra": {"arn": [f"arn:aws:sts::{PROD.id}:assumed-role/acme-ci-deploy/GitHubActions"], "canonicalArn": [f"arn:aws:iam::{PROD.id}:role/acme-ci-deploy"]}}
    scale = 0.4 if clock.is_weekend(day) else 1.0
    for _ in range(round(12 * scale)):
        t = clock.sample(rng, day, clock.HUMAN_HOURS)
        app = rng.choice(["web", "api", "worker"])
        ref = {"resource": "deployments", "namespace": "prod", "name": app, "apiGroup": "apps", "apiVersion": "v1"}
        out.append((t, event(ids, t, ci, "patch", f"/apis/apps/v1/namespaces/prod/deployments/{app}?fieldManager=kubectl-set", "192.0.2.14",
                             "kubectl/v1.31.3 (linux/amd64) kubernetes/c83cbee", object_ref=ref)))
        for _ in range(rng.randint(5, 15)):
            t += timedelta(seconds=2)
            out.append((t, event(ids, t, ci, "get", f"/apis/apps/v1/namespaces/prod/deployments/{app}", "192.0.2.14",
                                 "kubectl/v1.31.3 (linux/amd64) kubernetes/c83cbee", object_ref=ref)))
    # Engineers look at workloads (never exec: shells in pods are not part of a normal day here).
    web_pods = [p.name for p in estate.pods if p.namespace == "prod"]
    for name in ("alice", "bruno", "fatima"):
        user = {"username": name, "uid": f"aws-iam-authenticator:{PROD.id}:AROA{ids.upper(17)}", "groups": ["developers", "system:authenticated"],
                "extra": {"sessionName": [f"{name}@acme.example"], "principalId": [f"AROA{ids.upper(17)}"]}}
        for _ in range(round(rng.randint(60, 140) * scale)):
            t = clock.sample(rng, day, clock.HUMAN_HOURS)
            pod = rng.choice(web_pods)
            kind = rng.random()
            if kind < 0.5:
                ref = {"resource": "pods", "namespace": "prod", "apiVersion": "v1"}
                out.append((t, event(ids, t, user, "list", "/api/v1/namespaces/prod/pods?limit=500", rng.choice(OFFICE_IPS), UA_KUBECTL, object_ref=ref)))
            elif kind < 0.8:
                ref = {"resource": "pods", "namespace": "prod", "name": pod, "apiVersion": "v1", "subresource": "log"}
                out.append((t, event(ids, t, user, "get", f"/api/v1/namespaces/prod/pods/{pod}/log?container={pod.split('-')[0]}&tailLines=200",
                                     rng.choice(OFFICE_IPS), UA_KUBECTL, object_ref=ref)))
            else:
                ref = {"resource": "events", "namespace": "prod", "apiVersion": "v1"}
                out.append((t, event(ids, t, user, "list", "/api/v1/namespaces/prod/events", rng.choice(OFFICE_IPS), UA_KUBECTL, object_ref=ref)))
    anonymous = {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
    for t in clock.every(day, timedelta(minutes=1), 10_000, rng):
        path = rng.choice(["/livez", "/readyz"])
        out.append((t, event(ids, t, anonymous, "get", path, "10.20.0.10", "ELB-HealthChecker/2.0",
                             reason='RBAC: allowed by ClusterRoleBinding "system:public-info-viewer"')))
    return out


def write(out_dir: Path, events: list[Event]) -> list[Path]:
    """Hourly JSON lines, as exported from the cluster's `kube-apiserver-audit` log streams."""

    def group(t: datetime, rec: dict[str, Any]) -> str:
        return f"k8s/{EKS_CLUSTER}/kube-apiserver-audit/{t:%Y/%m/%d}/audit-{t:%H}.jsonl"

    return write_jsonl_groups(out_dir, events, group)
