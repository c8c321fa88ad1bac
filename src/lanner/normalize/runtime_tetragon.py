"""Cilium Tetragon JSON export (`tetra getevents -o json`, export files): exec and kprobes.

Tetragon events carry no id, so the uid is an md5 over node, exec_id, event type, time,
function and arguments: stable across re-ingestion, distinct for distinct events.
"""

from __future__ import annotations

from lanner.model.event import CLASS_FILE_ACTIVITY, CLASS_NETWORK_ACTIVITY, CLASS_PROCESS_ACTIVITY
from lanner.normalize.spec import FormatMap, epoch_ms_of, has_any, lit, md5_uid

_S = "VARCHAR"
_PROC = {
    "exec_id": _S,
    "pid": _S,
    "uid": _S,
    "cwd": _S,
    "binary": _S,
    "arguments": _S,
    "pod": {"namespace": _S, "name": _S, "container": {"id": _S, "image": {"name": _S}}},
}
_EVENT = {"process": _PROC, "parent": _PROC}
_ARG = {
    "file_arg": {"path": _S},
    "path_arg": {"path": _S},
    "sock_arg": {"daddr": _S, "dport": _S, "saddr": _S, "sport": _S},
    "int_arg": _S,
}
EVENT_TYPES = ("process_exec", "process_exit", "process_kprobe", "process_tracepoint", "process_uprobe", "process_lsm")


def _cmdline(proc: str) -> str:
    return f"nullif(trim(concat_ws(' ', {proc}.binary, {proc}.arguments)), '')"


TETRAGON = FormatMap(
    name="tetragon",
    detect=has_any(*EVENT_TYPES),
    structure={
        "node_name": _S,
        "time": _S,
        "process_exec": _EVENT,
        "process_exit": _EVENT,
        "process_kprobe": {**_EVENT, "function_name": _S, "args": [_ARG]},
    },
    lets=(
        ("kp", "r.process_kprobe"),
        ("ev", "coalesce(r.process_exec, r.process_exit, {'process': r.process_kprobe.process, 'parent': r.process_kprobe.parent})"),
        ("file_path", "list_filter(list_transform(kp.args, lambda a: coalesce(a.file_arg.path, a.path_arg.path)), lambda p: p IS NOT NULL)[1]"),
        ("sock", "list_filter(list_transform(kp.args, lambda a: a.sock_arg), lambda s: s IS NOT NULL)[1]"),
        ("kind", (
            "CASE WHEN r.process_exec IS NOT NULL THEN 'exec' "
            "WHEN r.process_exit IS NOT NULL THEN 'exit' "
            "WHEN kp IS NOT NULL AND file_path IS NOT NULL THEN 'file' "
            "WHEN kp IS NOT NULL AND sock IS NOT NULL THEN 'network' "
            "WHEN kp IS NOT NULL THEN 'kprobe' ELSE 'other' END"
        )),
        ("fn", "kp.function_name"),
    ),
    columns={
        "uid": md5_uid("r.node_name", "ev.process.exec_id", "kind", "r.time", "fn", "CAST(kp.args AS VARCHAR)"),
        "time": epoch_ms_of("r.time"),
        "source": "CASE kind WHEN 'file' THEN 'runtime.file' WHEN 'network' THEN 'runtime.network' ELSE 'runtime.process' END",
        "class_uid": (
            f"CASE kind WHEN 'file' THEN {CLASS_FILE_ACTIVITY} WHEN 'network' THEN {CLASS_NETWORK_ACTIVITY} "
            f"ELSE {CLASS_PROCESS_ACTIVITY} END"
        ),
        "cloud": "CASE WHEN ev.process.pod.name IS NOT NULL THEN 'k8s' ELSE 'host' END",
        "operation": (
            "CASE WHEN kind = 'exec' THEN 'exec' "
            "WHEN kind = 'file' AND fn = 'security_file_permission' THEN "
            "  CASE WHEN (coalesce(try_cast(kp.args[2].int_arg AS INTEGER), 0) & 2) <> 0 THEN 'write' ELSE 'read' END "
            "WHEN kind = 'file' AND (fn IN ('security_file_open', 'fd_install') OR fn LIKE '%open%') THEN 'open' "
            "WHEN kind = 'file' AND fn LIKE '%unlink%' THEN 'delete' "
            "WHEN kind = 'file' AND fn LIKE '%rename%' THEN 'rename' "
            "WHEN kind = 'file' AND fn LIKE '%truncate%' THEN 'truncate' "
            "WHEN kind = 'file' AND fn LIKE '%write%' THEN 'write' "
            "WHEN kind = 'network' AND fn LIKE '%connect%' THEN 'connect' "
            "WHEN kind = 'network' AND fn LIKE '%accept%' THEN 'accept' "
            "WHEN kind = 'network' AND fn LIKE '%sendmsg%' THEN 'send' "
            "WHEN kind = 'network' AND fn LIKE '%close%' THEN 'close' "
            "ELSE fn END"
        ),
        "outcome": "'success'",
        "host": "r.node_name",
        # "containerd://<id>" -> "<id>", so ids join with other sensors and the K8s API.
        "container_id": "nullif(regexp_replace(ev.process.pod.container.id, '^[a-z]+://', ''), '')",
        "pod": "ev.process.pod.name",
        "namespace": "ev.process.pod.namespace",
        "image": "ev.process.pod.container.image.name",
        "pid": "try_cast(ev.process.pid AS BIGINT)",
        "exe": "ev.process.binary",
        "cmdline": _cmdline("ev.process"),
        "user": "ev.process.uid",
        "parent_pid": "try_cast(ev.parent.pid AS BIGINT)",
        "parent_exe": "ev.parent.binary",
        "parent_cmdline": _cmdline("ev.parent"),
        "file_path": "file_path",
        "dst_ip": "sock.daddr",
        "dst_port": "try_cast(sock.dport AS INTEGER)",
        "resources": "CASE WHEN file_path IS NOT NULL THEN [file_path] END",
    },
    required={"uid": "exec_id", "time": "time"},
    skip=(
        ("kind = 'exit'", lit("skipped: Tetragon process_exit (the process_exec event describes the process)")),
        ("kind = 'kprobe'", "'skipped: Tetragon kprobe ' || coalesce(fn, '?') || ' has no file or socket argument to map'"),
        ("kind = 'other'", lit("skipped: Tetragon event type not mapped yet (tracepoint, uprobe or LSM)")),
    ),
)
