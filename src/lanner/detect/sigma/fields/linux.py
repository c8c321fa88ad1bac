"""Linux runtime telemetry (eBPF sensor): Sysmon-for-Linux style field names -> runtime columns."""

from lanner.detect.sigma.fields.spec import LogsourceBinding, SourceFields

BINDINGS = (
    LogsourceBinding("linux", None, "process_creation", ("runtime.process",)),
    LogsourceBinding("linux", None, "file_event", ("runtime.file",)),
    LogsourceBinding("linux", None, "network_connection", ("runtime.network",)),
)

_PROCESS = {
    "Image": "column:exe",
    "CommandLine": "column:cmdline",
    "ParentImage": "column:parent_exe",
    "ParentCommandLine": "column:parent_cmdline",
    "User": "column:user",
    "ProcessId": "column:pid",
    "ParentProcessId": "column:parent_pid",
    "TargetFilename": "column:file_path",
    "DestinationIp": "column:dst_ip",
    "DestinationPort": "column:dst_port",
    "SourceIp": "column:src_ip",
    # Container and Kubernetes context: not in Sysmon's vocabulary, so Lanner names them the
    # same way (CamelCase) for rules that must say "inside a container" or "in this namespace".
    "ContainerId": "column:container_id",
    "ContainerImage": "column:image",
    "PodName": "column:pod",
    "Namespace": "column:namespace",
    "Hostname": "column:host",
    # What the sensor saw happen (exec, open, write, truncate, delete, connect, accept...), as the
    # normalizers name it for every sensor, so file rules need not read one sensor's kprobe args.
    "Operation": "column:operation",
    # Not typed columns: read from the sensor's record (Tetragon process_exec layout).
    "CurrentDirectory": "process_exec.process.cwd",
    "LogonId": "process_exec.process.auid",
    "DestinationHostname": "dst_hostname",
    # The sensor reports outbound connects; accepts are inbound.
    "Initiated": "sql:CASE WHEN lower(operation) = 'accept' THEN 'false' ELSE 'true' END",
}

FIELDS = tuple(SourceFields(s, _PROCESS) for s in ("runtime.process", "runtime.file", "runtime.network"))
