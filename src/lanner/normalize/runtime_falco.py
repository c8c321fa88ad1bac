"""Falco JSON output (`json_output: true`, falcosidekick payloads).

Falco lines are alerts: a Falco rule already matched. They are normalized as the runtime
event that triggered the alert (by `evt.type`), so Lanner rules and correlation see them
next to other runtime telemetry; the Falco rule name, priority and tags stay in `raw`.
"""

from __future__ import annotations

from lanner.model.event import CLASS_FILE_ACTIVITY, CLASS_NETWORK_ACTIVITY, CLASS_PROCESS_ACTIVITY
from lanner.normalize.spec import FormatMap, epoch_ms_of, has, in_list, md5_uid

EXEC_TYPES = ("execve", "execveat")
OPEN_TYPES = ("open", "openat", "openat2", "creat", "open_by_handle_at")
CONNECT_TYPES = ("connect",)

_S = "VARCHAR"
_FIELDS = (
    "evt.type",
    "proc.pid",
    "proc.exepath",
    "proc.exe",
    "proc.cmdline",
    "proc.ppid",
    "proc.pexepath",
    "proc.pcmdline",
    "user.name",
    "user.uid",
    "container.id",
    "container.image.repository",
    "container.image.tag",
    "k8s.pod.name",
    "k8s.ns.name",
    "fd.name",
    "fd.sip",
    "fd.sport",
    "fd.rip",
    "fd.rport",
)


def f(field: str) -> str:
    """An output field of the alert, by its Falco name."""
    return f'r.output_fields."{field}"'


FALCO = FormatMap(
    name="falco",
    detect=has("output", "rule", "priority"),
    structure={
        "uuid": _S,
        "time": _S,
        "rule": _S,
        "hostname": _S,
        "source": _S,
        "output_fields": dict.fromkeys(_FIELDS, _S),
    },
    lets=(
        ("etype", f("evt.type")),
        ("kind", (
            f"CASE WHEN coalesce(r.source, 'syscall') <> 'syscall' THEN 'plugin' "
            f"WHEN etype IN {in_list(EXEC_TYPES)} THEN 'exec' "
            f"WHEN etype IN {in_list(OPEN_TYPES)} THEN 'file' "
            f"WHEN etype IN {in_list(CONNECT_TYPES)} THEN 'network' ELSE 'other' END"
        )),
        ("container", f"CASE WHEN {f('container.id')} NOT IN ('host', '') THEN {f('container.id')} END"),
    ),
    columns={
        "uid": f"coalesce(r.uuid, {md5_uid('raw')})",
        "time": epoch_ms_of("r.time"),
        "source": "CASE kind WHEN 'file' THEN 'runtime.file' WHEN 'network' THEN 'runtime.network' ELSE 'runtime.process' END",
        "class_uid": (
            f"CASE kind WHEN 'file' THEN {CLASS_FILE_ACTIVITY} WHEN 'network' THEN {CLASS_NETWORK_ACTIVITY} "
            f"ELSE {CLASS_PROCESS_ACTIVITY} END"
        ),
        "cloud": f"CASE WHEN {f('k8s.pod.name')} IS NOT NULL THEN 'k8s' ELSE 'host' END",
        "operation": "CASE kind WHEN 'exec' THEN 'exec' WHEN 'file' THEN 'open' WHEN 'network' THEN 'connect' END",
        "outcome": "'success'",
        "host": "r.hostname",
        "container_id": "container",
        "pod": f("k8s.pod.name"),
        "namespace": f("k8s.ns.name"),
        "image": (
            f"CASE WHEN {f('container.image.tag')} IS NOT NULL "
            f"THEN {f('container.image.repository')} || ':' || {f('container.image.tag')} "
            f"ELSE {f('container.image.repository')} END"
        ),
        "pid": f"try_cast({f('proc.pid')} AS BIGINT)",
        "exe": f"coalesce({f('proc.exepath')}, {f('proc.exe')})",
        "cmdline": f("proc.cmdline"),
        "user": f"coalesce({f('user.name')}, {f('user.uid')})",
        "parent_pid": f"try_cast({f('proc.ppid')} AS BIGINT)",
        "parent_exe": f("proc.pexepath"),
        "parent_cmdline": f("proc.pcmdline"),
        "file_path": f"CASE WHEN kind = 'file' THEN {f('fd.name')} END",
        "dst_ip": f"CASE WHEN kind = 'network' THEN coalesce({f('fd.sip')}, {f('fd.rip')}) END",
        "dst_port": f"CASE WHEN kind = 'network' THEN try_cast(coalesce({f('fd.sport')}, {f('fd.rport')}) AS INTEGER) END",
        "resources": f"CASE WHEN kind = 'file' AND {f('fd.name')} IS NOT NULL THEN [{f('fd.name')}] END",
    },
    required={"uid": "uuid", "time": "time"},
    skip=(
        ("kind = 'plugin'", "'skipped: Falco alert from plugin source ' || r.source || ' (ingest that source directly)'"),
        ("kind = 'other'", "'skipped: Falco event type ' || coalesce(etype, '(none)') || ' is not mapped yet'"),
    ),
)

__all__ = ["FALCO"]
