"""CloudTrail record and identity builders (the shapes CloudTrail writes, eventVersion 1.11).

Shared by the benign day (`aws_day`) and the attack (`attack`), so both look identical on the
wire: the only thing that separates them is behaviour.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lanner.demo.clock import iso_s
from lanner.demo.ids import Ids

UA_CONSOLE = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
UA_CONSOLE_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
UA_CLI = "aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/macos#24.1.0 md/arch#arm64 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{cmd}"
UA_BOTO3 = "Boto3/1.35.76 md/Botocore#1.35.76 ua/2.0 os/linux#6.1.115-126.197.amzn2023.x86_64 md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.76"
UA_TERRAFORM = ("APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.80.0 "
                "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.6 ua/2.1 os/linux lang/go#1.23.3 "
                "md/GOOS#linux md/GOARCH#amd64 api/{api}")
UA_SSM = "aws-sdk-go/1.55.5 (go1.22.7; linux; amd64) amazon-ssm-agent/3.3.1142.0"
UA_GO_NODE = "aws-sdk-go-v2/1.30.3 ua/2.0 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/{api}"
UA_JS = "aws-sdk-js/3.699.0 ua/2.1 os/linux#6.1.115-126.197.amzn2023.x86_64 lang/js md/nodejs#20.18.1 api/{api}#3.699.0"
TLS = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256"}

# errorCode each service answers with when a principal lacks permission
DENIED = {
    "ec2.amazonaws.com": "Client.UnauthorizedOperation",
    "lambda.amazonaws.com": "AccessDeniedException",
    "secretsmanager.amazonaws.com": "AccessDeniedException",
    "kms.amazonaws.com": "AccessDeniedException",
    "rds.amazonaws.com": "AccessDenied",
    "guardduty.amazonaws.com": "AccessDeniedException",
}


class Principals:
    """Stable principal ids (AROA…/AIDA…) per role or user, drawn once from the seed."""

    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        self._ids: dict[str, str] = {}

    def pid(self, kind: str, key: str) -> str:
        k = f"{kind}:{key}"
        if k not in self._ids:
            self._ids[k] = kind + self.ids.upper(17)
        return self._ids[k]

    def role_session(self, account: str, role: str, session: str, access_key: str, created: datetime, *,
                     path: str = "/", ec2: bool = False, invoked_by: str | None = None, mfa: bool = False) -> dict[str, Any]:
        role_id = self.pid("AROA", f"{account}/{role}")
        ident: dict[str, Any] = {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
            "accountId": account,
            "accessKeyId": access_key,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": f"arn:aws:iam::{account}:role{path}{role}",
                                  "accountId": account, "userName": role},
                "attributes": {"creationDate": iso_s(created), "mfaAuthenticated": "true" if mfa else "false"},
            },
        }
        if ec2:
            ident["sessionContext"]["ec2RoleDelivery"] = "2.0"
        if invoked_by:
            ident["invokedBy"] = invoked_by
        return ident

    def iam_user(self, account: str, name: str, access_key: str) -> dict[str, Any]:
        return {"type": "IAMUser", "principalId": self.pid("AIDA", f"{account}/{name}"),
                "arn": f"arn:aws:iam::{account}:user/{name}", "accountId": account, "accessKeyId": access_key,
                "userName": name}

    def root(self, account: str, access_key: str) -> dict[str, Any]:
        return {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root", "accountId": account,
                "accessKeyId": access_key}


def aws_service(service: str) -> dict[str, Any]:
    return {"type": "AWSService", "invokedBy": service}


def denied_message(ident: dict[str, Any], source: str, name: str) -> str:
    action = f"{source.split('.')[0]}:{name}"
    return (f"User: {ident.get('arn', ident.get('invokedBy', ''))} is not authorized to perform: {action} "
            f"because no identity-based policy allows the {action} action")


def record(ids: Ids, t: datetime, ident: dict[str, Any], source: str, name: str, region: str, account: str,
           src_ip: str, user_agent: str, *, read_only: bool, request: dict[str, Any] | None = None,
           response: dict[str, Any] | None = None, error: tuple[str, str] | None = None, data: bool = False,
           resources: list[dict[str, str]] | None = None, vpce: str | None = None, console: bool = False,
           additional: dict[str, Any] | None = None, event_type: str = "AwsApiCall") -> dict[str, Any]:
    """One CloudTrail record, keys in the order CloudTrail writes them."""
    r: dict[str, Any] = {
        "eventVersion": "1.10" if data else "1.11",
        "userIdentity": ident,
        "eventTime": iso_s(t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": src_ip,
        "userAgent": user_agent,
    }
    if error:
        r["errorCode"], r["errorMessage"] = error
    r["requestParameters"] = request
    r["responseElements"] = None if error else response
    if additional:
        r["additionalEventData"] = additional
    r["requestID"] = ids.uuid() if data else ids.request_id()
    r["eventID"] = ids.uuid()
    r["readOnly"] = read_only
    if resources:
        r["resources"] = resources
    r["eventType"] = event_type
    r["managementEvent"] = not data
    r["recipientAccountId"] = account
    if vpce:
        r["vpcEndpointId"] = vpce
        r["vpcEndpointAccountId"] = account
    r["eventCategory"] = "Data" if data else "Management"
    if not src_ip.endswith(".amazonaws.com") and src_ip != "AWS Internal":
        r["tlsDetails"] = {**TLS, "clientProvidedHostHeader": _host(source, region)}
    if console:
        r["sessionCredentialFromConsole"] = "true"
    return r


def s3_object_event(ids: Ids, t: datetime, ident: dict[str, Any], name: str, account: str, region: str,
                    bucket: str, key: str, src_ip: str, user_agent: str, *, size: int, vpce: str | None) -> dict[str, Any]:
    """An S3 data event (GetObject/PutObject/HeadObject) as a trail with S3 data events records it."""
    out = size if name == "GetObject" else 0
    return record(
        ids, t, ident, "s3.amazonaws.com", name, region, account, src_ip, user_agent,
        read_only=name != "PutObject", data=True, vpce=vpce,
        request={"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", "key": key, "x-id": name},
        response={"x-amz-server-side-encryption": "aws:kms"} if name == "PutObject" else None,
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                    "bytesTransferredIn": size if name == "PutObject" else 0, "AuthenticationMethod": "AuthHeader",
                    "x-amz-id-2": ids.lower(60), "bytesTransferredOut": out},
        resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
                   {"accountId": account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}],
    )


def _host(source: str, region: str) -> str:
    svc = source.split(".")[0]
    if svc in ("iam", "organizations", "cloudfront"):
        return f"{svc}.amazonaws.com"
    return f"{svc}.{region}.amazonaws.com"
