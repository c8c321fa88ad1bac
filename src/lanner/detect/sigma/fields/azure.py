"""Azure: activity logs, Entra ID sign-in / audit / risk / PIM logs.

SigmaHQ mixes the raw diagnostic-settings names (`operationName`, `properties.*`) with Log
Analytics column names (`OperationNameValue`, `CategoryValue`, `ResultType`, ...). Lanner stores
the diagnostic-settings record in `raw`, so Log Analytics names map to where that record keeps
the same value.
"""

from lanner.detect.sigma.fields.spec import ANY, LogsourceBinding, SourceFields

BINDINGS = (
    LogsourceBinding("azure", "activitylogs", ANY, ("azure.activity",)),
    LogsourceBinding("azure", "signinlogs", ANY, ("azure.signin",)),
    LogsourceBinding("azure", "auditlogs", ANY, ("azure.audit",)),
    LogsourceBinding("azure", "riskdetection", ANY, ("azure.audit",)),
    LogsourceBinding("azure", "pim", ANY, ("azure.audit",)),
)

_ACTIVITY = {
    "operationName": "column:operation",
    "OperationNameValue": "column:operation",
    "OperationName": "column:operation",
    "CategoryValue": "category",
    "Category": "category",
    # The diagnostic record has no provider field; the provider is the operation's first segment.
    "ResourceProviderValue": "sql:coalesce(json_extract_string(raw, '$.resourceProviderName.value'), split_part(json_extract_string(raw, '$.operationName'), '/', 1))",
    "ResourceId": "resourceId",
    "ActivityStatusValue": "resultType",
    "ActivitySubstatusValue": "resultSignature",
    "Caller": "identity.claims.name",
    "CallerIpAddress": "callerIpAddress",
    "Level": "level",
}

_SIGNIN = {
    "ResultType": "resultType",
    "ResultDescription": "resultDescription",
    "AuthenticationRequirement": "properties.authenticationRequirement",
    "ClientApp": "properties.clientAppUsed",
    "ConditionalAccessStatus": "properties.conditionalAccessStatus",
    "DeviceDetail.deviceId": "properties.deviceDetail.deviceId",
    "DeviceDetail.isCompliant": "properties.deviceDetail.isCompliant",
    "DeviceDetail.trusttype": "properties.deviceDetail.trustType",
    "NetworkLocationDetails": "properties.networkLocationDetails",
    "ResourceDisplayName": "properties.resourceDisplayName",
    "RiskState": "properties.riskState",
    "Status": "properties.status",
    "Username": "properties.userPrincipalName",
    "userAgent": "properties.userAgent",
    "ActivityDetails": "properties.activityDetails",
}

_AUDIT = {
    "ActivityDisplayName": "properties.activityDisplayName",
    "ActivityType": "properties.activityType",
    "Category": "category",
    "OperationName": "operationName",
    "LoggedByService": "properties.loggedByService",
    "Status": "properties.result",
    "Initiatedby": "properties.initiatedBy",
    "Target": "properties.targetResources.[*].displayName",
    "TargetResources": "properties.targetResources",
    "TargetResources.ModifiedProperties.DisplayName": "properties.targetResources.[*].modifiedProperties.[*].displayName",
    "TargetResources.ModifiedProperties.NewValue": "properties.targetResources.[*].modifiedProperties.[*].newValue",
    "TargetResources.modifiedProperties": "properties.targetResources.[*].modifiedProperties",
    "targetResources.type": "properties.targetResources.[*].type",
    "ConsentContext.IsAdminConsent": "properties.consentContext.isAdminConsent",
    "additionalDetails.additionalInfo": "properties.additionalDetails.[*].value",
    "failure_status_reason": "properties.statusReason",
    "riskEventType": "properties.riskEventType",
}

FIELDS = (
    SourceFields("azure.activity", _ACTIVITY),
    SourceFields("azure.signin", _SIGNIN),
    SourceFields("azure.audit", _AUDIT),
)
