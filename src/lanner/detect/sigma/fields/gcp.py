"""GCP Cloud Audit Logs and Google Workspace.

SigmaHQ's GCP rules use Elastic's ECS-style names (`gcp.audit.method_name`) or the Cloud
Logging export wrapped in `data.` (`data.protoPayload.methodName`); Lanner's raw record is the
LogEntry itself (`protoPayload.*`).
"""

from lanner.detect.sigma.fields.spec import ANY, LogsourceBinding, SourceFields

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
            # Admin SDK Reports API activity records.
            "eventService": "id.applicationName",
            "eventName": "events.[*].name",
            "protoPayload.Servicename": "protoPayload.serviceName",
        },
    ),
)
