"""Runtime telemetry from the EKS nodes: Tetragon JSON export lines.

`process_exec` for executions, `process_kprobe` for the tracing policies most clusters run:
`security_file_open` and `fd_install` on sensitive paths, `tcp_connect` for outbound connects.
Benign: kubelet housekeeping on the hosts, exec readiness probes (`sh -c curl …` started by
runc), services talking to each other and to the database, the VPC CNI querying IMDS from
the host, and workloads reading their service-account token and TLS bundle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from lanner.demo import clock
from lanner.demo.estate import Estate, Node, Pod
from lanner.demo.files import write_jsonl_groups
from lanner.demo.ids import Ids

Event = tuple[datetime, dict[str, Any]]
SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


@dataclass(frozen=True)
class Proc:
    """A process as Tetragon describes it (the `process`/`parent` objects)."""

    data: dict[str, Any]

    @property
    def exec_id(self) -> str:
        return str(self.data["exec_id"])


class Tetragon:
    """Builds Tetragon events with consistent exec ids, pids and kernel times per node."""

    def __init__(self, ids: Ids, day: date) -> None:
        self.ids, self.rng, self.day = ids, ids.rng, day
        self._pid: dict[str, int] = {}

    def next_pid(self, node: Node) -> int:
        self._pid[node.name] = self._pid.get(node.name, 30_000) + self.rng.randint(1, 40)
        return self._pid[node.name]

    def proc(self, node: Node, t: datetime, binary: str, arguments: str, *, pod: Pod | None, parent: Proc | None,
             uid: int = 0, cwd: str = "/", pid: int | None = None) -> Proc:
        pid = pid or self.next_pid(node)
        ktime = int((t - clock.day_start(self.day)).total_seconds() * 1e9) + 86_400_000_000_000 * 41
        data: dict[str, Any] = {
            "exec_id": self.ids.tetragon_exec_id(node.name, ktime, pid), "pid": pid, "uid": uid, "cwd": cwd,
            "binary": binary, "arguments": arguments, "flags": "execve clone", "start_time": clock.iso_ns(t, pid),
            "auid": 4294967295,
        }
        if pod is not None:
            c = pod.container
            data["pod"] = {
                "namespace": pod.namespace, "name": pod.name,
                "container": {"id": f"containerd://{c.id}", "name": c.name,
                              "image": {"id": f"{c.image.rsplit(':', 1)[0]}@{c.image_digest}", "name": c.image},
                              "start_time": clock.iso_s(clock.day_start(self.day) - timedelta(hours=30)), "pid": pid % 300 + 1},
                "pod_labels": dict(pod.labels), "workload": pod.workload,
                "workload_kind": "Deployment",
            }
            data["docker"] = c.id[:31]
        if parent is not None:
            data["parent_exec_id"] = parent.exec_id
        data["tid"] = pid
        return Proc(data)

    def exec(self, node: Node, t: datetime, proc: Proc, parent: Proc | None) -> Event:
        body: dict[str, Any] = {"process": proc.data}
        if parent is not None:
            body["parent"] = parent.data
        return t, {"process_exec": body, "node_name": node.name, "time": clock.iso_ns(t, self.rng.randrange(1000))}

    def kprobe(self, node: Node, t: datetime, proc: Proc, parent: Proc | None, function: str, args: list[dict[str, Any]],
               policy: str) -> Event:
        body: dict[str, Any] = {"process": proc.data}
        if parent is not None:
            body["parent"] = parent.data
        body.update({"function_name": function, "args": args, "action": "KPROBE_ACTION_POST", "policy_name": policy,
                     "return_action": "KPROBE_ACTION_POST"})
        return t, {"process_kprobe": body, "node_name": node.name, "time": clock.iso_ns(t, self.rng.randrange(1000))}

    def file_open(self, node: Node, t: datetime, proc: Proc, parent: Proc | None, path: str) -> Event:
        args: list[dict[str, Any]] = [{"file_arg": {"path": path, "permission": "-rw-r--r--"}}, {"int_arg": 4}]
        return self.kprobe(node, t, proc, parent, "security_file_open", args, "file-monitoring")

    def fd_install(self, node: Node, t: datetime, proc: Proc, parent: Proc | None, path: str) -> Event:
        args: list[dict[str, Any]] = [{"int_arg": self.rng.randrange(3, 40)}, {"file_arg": {"path": path}}]
        return self.kprobe(node, t, proc, parent, "fd_install", args, "file-monitoring")

    def connect(self, node: Node, t: datetime, proc: Proc, parent: Proc | None, saddr: str, daddr: str, dport: int) -> Event:
        sock = {"family": "AF_INET", "type": "SOCK_STREAM", "protocol": "IPPROTO_TCP", "saddr": saddr, "daddr": daddr,
                "sport": self.rng.randrange(32768, 60999), "dport": dport, "cookie": str(self.rng.getrandbits(62)),
                "state": "TCP_SYN_SENT"}
        return self.kprobe(node, t, proc, parent, "tcp_connect", [{"sock_arg": sock}], "monitor-network-activity")


def init_procs(tg: Tetragon, estate: Estate) -> tuple[dict[str, Proc], dict[str, Proc], dict[str, Proc]]:
    """Long-running processes that started before the day: per node systemd/kubelet/shim, per pod its main process."""
    yesterday = clock.day_start(tg.day) - timedelta(hours=30)
    systemd = {n.name: tg.proc(n, yesterday, "/usr/lib/systemd/systemd", "--switched-root --system --deserialize 31", pod=None, parent=None, pid=1) for n in estate.nodes}
    kubelet = {n.name: tg.proc(n, yesterday, "/usr/bin/kubelet", "--config /etc/kubernetes/kubelet/config.json --node-ip " + n.ip,
                               pod=None, parent=systemd[n.name], pid=2113) for n in estate.nodes}
    mains: dict[str, Proc] = {}
    for pod in estate.pods:
        shim = tg.proc(pod.node, yesterday, "/usr/bin/containerd-shim-runc-v2", f"-namespace k8s.io -id {pod.container.id[:64]} -address /run/containerd/containerd.sock",
                       pod=None, parent=systemd[pod.node.name])
        c = pod.container
        mains[pod.name] = tg.proc(pod.node, yesterday, c.main_binary, c.main_args, pod=pod, parent=shim, uid=c.uid, cwd=c.cwd)
    return systemd, kubelet, mains


def runtime_day(tg: Tetragon, estate: Estate, mains: dict[str, Proc], kubelet: dict[str, Proc]) -> list[Event]:
    rng, day = tg.rng, tg.day
    out: list[Event] = []
    api_pods = estate.pods_of("api")
    db_ip = "10.20.200.15"
    for node in estate.nodes:
        # kubelet's iptables canary and the CNI's IMDS lookups, from the host (no container).
        for t in clock.every(day, timedelta(minutes=5), 30_000, rng, timedelta(seconds=rng.randrange(300))):
            p = tg.proc(node, t, "/usr/sbin/iptables", "-w 5 -W 100000 -S KUBE-KUBELET-CANARY -t mangle", pod=None, parent=kubelet[node.name])
            out.append(tg.exec(node, t, p, kubelet[node.name]))
        cni = tg.proc(node, clock.day_start(day) - timedelta(hours=30), "/app/aws-k8s-agent", "", pod=None, parent=None)
        for t in clock.every(day, timedelta(minutes=10), 60_000, rng, timedelta(seconds=rng.randrange(600))):
            out.append(tg.connect(node, t, cni, None, node.ip, "169.254.169.254", 80))
    for pod in estate.pods:
        main, node = mains[pod.name], pod.node
        for t in clock.every(day, timedelta(minutes=15), 60_000, rng, timedelta(seconds=rng.randrange(900))):
            out.append(tg.file_open(node, t, main, None, SA_TOKEN))
            out.append(tg.fd_install(node, t + timedelta(milliseconds=1), main, None, "/etc/ssl/certs/ca-certificates.crt"))
        if pod.workload == "api":
            for t in clock.every(day, timedelta(minutes=5), 10_000, rng, timedelta(seconds=rng.randrange(300))):
                # An exec readiness probe: runc starts `sh -c curl` inside the container.
                runc = tg.proc(node, t, "/usr/sbin/runc", f"--root /run/containerd/runc/k8s.io exec --process /tmp/runc-process{rng.randrange(10**9)} {pod.container.id}", pod=None, parent=None)
                sh = tg.proc(node, t, "/bin/sh", "-c \"curl -fsS http://127.0.0.1:8000/healthz\"", pod=pod, parent=runc, uid=1000, cwd="/srv")
                curl = tg.proc(node, t + timedelta(milliseconds=3), "/usr/bin/curl", "-fsS http://127.0.0.1:8000/healthz", pod=pod, parent=sh, uid=1000, cwd="/srv")
                out.append(tg.exec(node, t, sh, runc))
                out.append(tg.exec(node, t + timedelta(milliseconds=3), curl, sh))
            for _ in range(rng.randint(150, 250)):
                t = clock.sample(rng, day, clock.HUMAN_HOURS)
                out.append(tg.connect(node, t, main, None, pod.ip, db_ip, 5432))
        if pod.workload == "web":
            for _ in range(rng.randint(150, 250)):
                t = clock.sample(rng, day, clock.HUMAN_HOURS)
                out.append(tg.connect(node, t, main, None, pod.ip, rng.choice(api_pods).ip, 8000))
        if pod.workload == "worker":
            for _ in range(rng.randint(100, 160)):
                t = clock.sample(rng, day, clock.BATCH_HOURS)
                out.append(tg.connect(node, t, main, None, pod.ip, "10.20.3.41", 443))
    return out


def write(out_dir: Path, events: list[Event]) -> list[Path]:
    """One export file per node, as Tetragon's `export-filename` writes it."""

    def group(t: datetime, rec: dict[str, Any]) -> str:
        return f"tetragon/{rec['node_name']}/tetragon.log"

    return write_jsonl_groups(out_dir, events, group)
