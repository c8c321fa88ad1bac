"""GCP Cloud Audit Logs and Google Workspace.

SigmaHQ's GCP rules use Elastic's ECS-style names (`gcp.audit.method_name`) or the Cloud
Logging export wrapped in `data.` (`data.protoPayload.methodName`); Lanner's raw record is the
LogEntry itself (`protoPayload.*`).
"""

from lanner.detect.sigma.fields.spec import ANY, LogsourceBinding, SourceFields, json_path, sql_text


def _either_shape(key: str) -> str:
    """VARCHAR[]: `events[*].<key>` in the API shape, else the top-level `<key>` (flattened)."""
    return (
        f"list_filter(CASE WHEN json_type(raw, '$.events') = 'ARRAY' "
        f"THEN CAST(json_extract_string(raw, '$.events[*].{key}') AS VARCHAR[]) "
        f"ELSE [json_extract_string(raw, '$.{key}')] END, x -> x IS NOT NULL)"
    )


def _parameter(name: str) -> str:
    """`parameters.<NAME>`: the values of every event's parameter NAME, either shape.

    API shape: `events[].parameters[]` elements `{name, value | intValue | boolValue |
    multiValue[] | multiIntValue[]}`; flattened shape: `parameters` is an object NAME -> value
    (a list value gives its elements).
    """
    flat = sql_text(json_path("parameters." + name))
    flat_all = sql_text(json_path("parameters." + name) + "[*]")
    listed = (
        "flatten(list_transform(list_filter(CAST(json_extract(raw, '$.events[*].parameters[*]') AS JSON[]), "
        f"p -> json_extract_string(p, '$.name') = {sql_text(name)}), "
        "p -> CASE WHEN json_type(p, '$.multiValue') = 'ARRAY' THEN CAST(json_extract_string(p, '$.multiValue[*]') AS VARCHAR[]) "
        "WHEN json_type(p, '$.multiIntValue') = 'ARRAY' THEN CAST(json_extract_string(p, '$.multiIntValue[*]') AS VARCHAR[]) "
        "ELSE [coalesce(json_extract_string(p, '$.value'), json_extract_string(p, '$.intValue'), "
        "json_extract_string(p, '$.boolValue'))] END))"
    )
    return (
        f"list:list_filter(CASE WHEN json_type(raw, '$.events') = 'ARRAY' THEN {listed} "
        f"WHEN json_type(raw, {flat}) = 'ARRAY' THEN CAST(json_extract_string(raw, {flat_all}) AS VARCHAR[]) "
        f"ELSE [json_extract_string(raw, {flat})] END, x -> x IS NOT NULL)"
    )


BINDINGS = (
    LogsourceBinding("gcp", "gcp.audit", ANY, ("gcp.audit",)),
    LogsourceBinding("gcp", "google_workspace.admin", ANY, ("gworkspace.audit",)),
    LogsourceBinding("gcp", "google_workspace.login", ANY, ("gworkspace.audit",)),
    LogsourceBinding("google_workspace", ANY, ANY, ("gworkspace.audit",)),
)

FIELDS = (
    SourceFields(
        "gcp.audit",
        {
            "gcp.audit.method_name": "column:operation",
            "protoPayload.methodName": "column:operation",
            "gcp.audit.service_name": "column:service",
            "protoPayload.serviceName": "column:service",
            "gcp.audit.resource_name": "protoPayload.resourceName",
            "gcp.audit.authentication_info.principal_email": "protoPayload.authenticationInfo.principalEmail",
            "gcp.audit.request_metadata.caller_ip": "protoPayload.requestMetadata.callerIp",
            "gcp.audit.request_metadata.caller_supplied_user_agent": "protoPayload.requestMetadata.callerSuppliedUserAgent",
            "gcp.audit.status.code": "protoPayload.status.code",
            "gcp.audit.status.message": "protoPayload.status.message",
            "gcp.audit.type": "protoPayload.@type",
            "gcp.audit.authorization_info.granted": "protoPayload.authorizationInfo.[*].granted",
            "gcp.audit.authorization_info.permission": "protoPayload.authorizationInfo.[*].permission",
            # authorizationInfo is a list: every entry is checked.
            "protoPayload.authorizationInfo.granted": "protoPayload.authorizationInfo.[*].granted",
            "protoPayload.authorizationInfo.permission": "protoPayload.authorizationInfo.[*].permission",
            # The export puts logName and resource beside protoPayload, not inside it.
            "protoPayload.logName": "logName",
            "protoPayload.resource.type": "resource.type",
        },
        prefixes=(("data.", ""),),
    ),
    SourceFields(
        "gworkspace.audit",
        {
            # Admin SDK Reports API activity records, in the API's shape (an `events` list) or
            # flattened to one event (`name`, `type`, `parameters` at the top level); see
            # normalize/gworkspace_audit.py. Every event of a record is tested.
            "eventName": "list:" + _either_shape("name"),
            "eventType": "list:" + _either_shape("type"),
            "id.applicationName": "column:service",  # exact: service = id.applicationName
            "ipAddress": "column:src_ip",  # exact
            # SigmaHQ's Workspace rules come from the Cloud Logging copy of these records, whose
            # serviceName is "<application>.googleapis.com" (admin.googleapis.com, login.googleapis.com).
            "eventService": "sql:json_extract_string(raw, '$.id.applicationName') || '.googleapis.com'",
            "protoPayload.Servicename": "protoPayload.serviceName",
        },
        computed=(("parameters.", _parameter),),
    ),
)
