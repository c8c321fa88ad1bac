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
    # SigmaHQ means the UPN or app id of whoever made the call, which is what actor_id holds.
    "Caller": "column:actor_id",
    "CallerIpAddress": "callerIpAddress",
    "Level": "level",
}

_SIGNIN = {
    # Exact copies in the normalizer (normalize/entra_id.py): operation = operationName,
    # user_agent = properties.userAgent.
    "operationName": "column:operation",
    "properties.userAgent": "column:user_agent",
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
    "userAgent": "column:user_agent",
    "ActivityDetails": "properties.activityDetails",
    "UserPrincipalName": "properties.userPrincipalName",
    "AppDisplayName": "properties.appDisplayName",
    "AppId": "properties.appId",
    "IPAddress": "properties.ipAddress",
    "RiskLevelDuringSignIn": "properties.riskLevelDuringSignIn",
    "RiskLevelAggregated": "properties.riskLevelAggregated",
    "AuthenticationProtocol": "properties.authenticationProtocol",
    "ErrorCode": "properties.status.errorCode",
    "authenticationDetails.authenticationMethod": "properties.authenticationDetails.[*].authenticationMethod",
    "properties.authenticationDetails.authenticationMethod": "properties.authenticationDetails.[*].authenticationMethod",
    "properties.mfaDetail.authMethod": "properties.mfaDetail.authMethod",
}

_AUDIT = {
    # Exact copies in the normalizer (normalize/entra_id.py): operation = operationName,
    # service = properties.loggedByService.
    "operationName": "column:operation",
    "properties.loggedByService": "column:service",
    # SigmaHQ's Entra audit rules name the activity `properties.message` (the Log Analytics
    # OperationName / activityDisplayName).
    "properties.message": "sql:coalesce(json_extract_string(raw, '$.properties.activityDisplayName'), json_extract_string(raw, '$.operationName'))",
    "ActivityDisplayName": "properties.activityDisplayName",
    "ActivityType": "properties.activityType",
    "Category": "category",
    "OperationName": "column:operation",
    "LoggedByService": "column:service",
    "Status": "properties.result",
    "Initiatedby": "properties.initiatedBy",
    "Target": "properties.targetResources.[*].displayName",
    "TargetResources": "properties.targetResources",
    "TargetResources.ModifiedProperties.DisplayName": "properties.targetResources.[*].modifiedProperties.[*].displayName",
    "TargetResources.ModifiedProperties.NewValue": "properties.targetResources.[*].modifiedProperties.[*].newValue",
    "TargetResources.modifiedProperties": "properties.targetResources.[*].modifiedProperties",
    "targetResources.type": "properties.targetResources.[*].type",
    # targetResources is a list (of objects holding lists): every element is tested.
    "properties.targetResources.type": "properties.targetResources.[*].type",
    "properties.targetResources.displayName": "properties.targetResources.[*].displayName",
    "properties.targetResources.userPrincipalName": "properties.targetResources.[*].userPrincipalName",
    "properties.targetResources.id": "properties.targetResources.[*].id",
    "properties.targetResources.modifiedProperties.displayName": "properties.targetResources.[*].modifiedProperties.[*].displayName",
    "properties.targetResources.modifiedProperties.newValue": "properties.targetResources.[*].modifiedProperties.[*].newValue",
    "properties.targetResources.modifiedProperties.oldValue": "properties.targetResources.[*].modifiedProperties.[*].oldValue",
    "properties.additionalDetails.key": "properties.additionalDetails.[*].key",
    "properties.additionalDetails.value": "properties.additionalDetails.[*].value",
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
