"""AWS CloudTrail: SigmaHQ writes CloudTrail's own record field names.

Each mapping below is justified against the normalizer's column map
(`lanner.normalize.aws_cloudtrail.CLOUDTRAIL.columns`); tests/detect/test_prefilter.py checks
these justifications against that map, so a normalizer change cannot silently break them.
"""

from lanner.detect.sigma.fields.spec import ANY, LogsourceBinding, SourceFields

BINDINGS = (LogsourceBinding("aws", "cloudtrail", ANY, ("aws.cloudtrail",)),)

FIELDS = (
    SourceFields(
        "aws.cloudtrail",
        {
            # Exact: the normalizer copies each of these verbatim (`r.<field>`), read through the
            # same DuckDB JSON reader as json_extract_string, so column and raw text are equal,
            # and NULL exactly when the field is absent or JSON null.
            "eventName": "column:operation",
            "eventSource": "column:service",
            "sourceIPAddress": "column:src_ip",
            "awsRegion": "column:region",
            "userAgent": "column:user_agent",
            "eventID": "column:uid",
            "userIdentity.type": "column:actor_type",
            "userIdentity.sessionContext.sessionIssuer.arn": "column:actor_original",
        },
        implied={
            # NOT exact, so only implied: each column is a coalesce whose FIRST argument is the
            # path, so wherever the path is present the column holds its text; where it is
            # absent the column may hold another field's value, so a rule must still read raw.
            # actor_id = coalesce(userIdentity.arn, userIdentity.principalId, userIdentity.invokedBy)
            "userIdentity.arn": "actor_id",
            # actor_name = coalesce(userIdentity.userName, <session name from arn>, invokedBy)
            "userIdentity.userName": "actor_name",
            # account = coalesce(recipientAccountId, userIdentity.accountId): an exact mapping
            # would match records without recipientAccountId on the caller's account.
            "recipientAccountId": "account",
            # Not implied: userIdentity.accountId (account prefers recipientAccountId),
            # userIdentity.principalId/invokedBy (actor_id prefers arn), userIdentity.accessKeyId
            # (actor_session = nullif(accessKeyId, ''): an empty key becomes NULL).
        },
    ),
)
