"""The normalized event: one row per source event (OCSF-aligned columns + the verbatim original).

This schema is the contract between normalize/, lake/ and detect/. Every normalizer must
produce exactly these columns in this order (missing values are NULL); docs/schema.md
describes them for users.
"""

from __future__ import annotations

import pyarrow as pa

# Log types Lanner knows by name (every one is ingested; docs/schema.md lists their formats).
SOURCES_INGESTED = (
    "aws.cloudtrail",
    "gcp.audit",
    "azure.activity",
    "k8s.audit",
    "runtime.process",
    "runtime.file",
    "runtime.network",
    "azure.signin",
    "azure.audit",
    "okta.system",
    "m365.audit",
    "gworkspace.audit",
    "github.audit",
)
SOURCES_KNOWN = SOURCES_INGESTED

# OCSF class ids used by normalizers.
CLASS_API_ACTIVITY = 6003
CLASS_AUTHENTICATION = 3002
CLASS_ACCOUNT_CHANGE = 3001
CLASS_PROCESS_ACTIVITY = 1007
CLASS_FILE_ACTIVITY = 1001
CLASS_NETWORK_ACTIVITY = 4001

EVENT_SCHEMA = pa.schema(
    [
        ("uid", pa.string()),  # native id (eventID, insertId, auditID, Tetragon exec_id+time, ...)
        ("time", pa.timestamp("ms", tz="UTC")),
        ("source", pa.string()),  # one of SOURCES_KNOWN
        ("class_uid", pa.int32()),  # OCSF class
        ("cloud", pa.string()),  # aws | gcp | azure | k8s | host | okta | m365 | gworkspace | github
        ("account", pa.string()),  # account / project / subscription / cluster / tenant / org / customer id
        ("region", pa.string()),
        ("actor_id", pa.string()),  # principal id/ARN/email
        ("actor_name", pa.string()),  # short human-readable name
        ("actor_type", pa.string()),  # IAMUser, AssumedRole, Root, ServiceAccount, User, ...
        ("actor_session", pa.string()),  # access key / session / credential id
        ("actor_original", pa.string()),  # identity behind an assumed role / impersonation
        ("src_ip", pa.string()),
        ("user_agent", pa.string()),
        ("service", pa.string()),  # eventSource, serviceName, resource provider, k8s resource
        ("operation", pa.string()),  # eventName, methodName, operationName, verb, exec/open/connect
        ("outcome", pa.string()),  # success | failure | unknown
        ("error", pa.string()),  # error code / message when outcome = failure
        ("resources", pa.list_(pa.string())),  # ids/ARNs/names of targets
        # runtime columns
        ("host", pa.string()),
        ("container_id", pa.string()),
        ("pod", pa.string()),
        ("namespace", pa.string()),
        ("image", pa.string()),
        ("pid", pa.int64()),
        ("exe", pa.string()),
        ("cmdline", pa.string()),
        ("user", pa.string()),  # process user (name or uid)
        ("parent_pid", pa.int64()),
        ("parent_exe", pa.string()),
        ("parent_cmdline", pa.string()),
        ("file_path", pa.string()),
        ("dst_ip", pa.string()),
        ("dst_port", pa.int32()),
        ("raw", pa.string()),  # the original record, verbatim JSON text
    ]
)

EVENT_COLUMNS = tuple(EVENT_SCHEMA.names)

# Where quarantined input goes: nothing is dropped silently.
QUARANTINE_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("position", pa.int64()),  # 1-based line (JSON lines) or record index; 0 = whole file; -1 = unknown
        ("source", pa.string()),  # detected log type when known
        ("reason", pa.string()),
        ("raw", pa.string()),  # the offending text (decoded with replacement if not UTF-8)
    ]
)
