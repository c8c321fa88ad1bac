"""AWS CloudTrail records (S3 delivery, CloudWatch/EventBridge detail, CloudTrail Lake rows)."""

from __future__ import annotations

from lanner.model.event import CLASS_ACCOUNT_CHANGE, CLASS_API_ACTIVITY, CLASS_AUTHENTICATION
from lanner.normalize.spec import FormatMap, epoch_ms_of, guarded, has, in_list

# IAM user, credential and MFA lifecycle: OCSF Account Change rather than generic API activity.
ACCOUNT_CHANGE_EVENTS = (
    "CreateUser",
    "DeleteUser",
    "UpdateUser",
    "CreateAccessKey",
    "DeleteAccessKey",
    "UpdateAccessKey",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "DeleteLoginProfile",
    "ChangePassword",
    "CreateVirtualMFADevice",
    "DeleteVirtualMFADevice",
    "EnableMFADevice",
    "DeactivateMFADevice",
    "ResyncMFADevice",
    "AttachUserPolicy",
    "DetachUserPolicy",
    "PutUserPolicy",
    "DeleteUserPolicy",
    "AddUserToGroup",
    "RemoveUserFromGroup",
)

_S = "VARCHAR"

CLOUDTRAIL = FormatMap(
    name="aws.cloudtrail",
    # Exports and forwarders drop fields (eventVersion, awsRegion); an AWS service endpoint as
    # eventSource next to an eventName is still unmistakably CloudTrail.
    detect=(
        f"{has('eventVersion', 'eventSource')} OR {has('eventSource', 'eventName', 'awsRegion')} OR "
        + guarded(has("eventSource", "eventName"), "json_extract_string(raw, '$.eventSource') LIKE '%.amazonaws.com'")
    ),
    structure={
        "eventID": _S,
        "eventTime": _S,
        "eventSource": _S,
        "eventName": _S,
        "awsRegion": _S,
        "recipientAccountId": _S,
        "sourceIPAddress": _S,
        "userAgent": _S,
        "errorCode": _S,
        "errorMessage": _S,
        "userIdentity": {
            "type": _S,
            "principalId": _S,
            "arn": _S,
            "accountId": _S,
            "accessKeyId": _S,
            "userName": _S,
            "invokedBy": _S,
            "sessionContext": {"sessionIssuer": {"arn": _S, "userName": _S}},
        },
        "resources": [{"ARN": _S}],
        "responseElements": {"ConsoleLogin": _S},
    },
    columns={
        "uid": "r.eventID",
        "time": epoch_ms_of("r.eventTime"),
        "source": "'aws.cloudtrail'",
        "class_uid": (
            f"CASE WHEN r.eventName = 'ConsoleLogin' THEN {CLASS_AUTHENTICATION} "
            f"WHEN r.eventSource = 'iam.amazonaws.com' AND r.eventName IN {in_list(ACCOUNT_CHANGE_EVENTS)} "
            f"THEN {CLASS_ACCOUNT_CHANGE} ELSE {CLASS_API_ACTIVITY} END"
        ),
        "cloud": "'aws'",
        "account": "coalesce(r.recipientAccountId, r.userIdentity.accountId)",
        "region": "r.awsRegion",
        "actor_id": "coalesce(r.userIdentity.arn, r.userIdentity.principalId, r.userIdentity.invokedBy)",
        # For an assumed role the last ARN part is the session name (often the human's name).
        "actor_name": (
            "coalesce(r.userIdentity.userName, nullif(regexp_extract(r.userIdentity.arn, '[^/:]+$'), ''), "
            "r.userIdentity.invokedBy)"
        ),
        "actor_type": "r.userIdentity.type",
        "actor_session": "nullif(r.userIdentity.accessKeyId, '')",
        "actor_original": "r.userIdentity.sessionContext.sessionIssuer.arn",
        "src_ip": "r.sourceIPAddress",
        "user_agent": "r.userAgent",
        "service": "r.eventSource",
        "operation": "r.eventName",
        # A failed console sign-in has no errorCode, only responseElements.ConsoleLogin.
        "outcome": (
            "CASE WHEN r.errorCode IS NOT NULL OR r.responseElements.ConsoleLogin = 'Failure' "
            "THEN 'failure' ELSE 'success' END"
        ),
        "error": "nullif(concat_ws(': ', r.errorCode, r.errorMessage), '')",
        "resources": "nullif(list_filter(list_transform(r.resources, lambda x: x.ARN), lambda a: a IS NOT NULL), [])",
    },
    required={"uid": "eventID", "time": "eventTime"},
)
