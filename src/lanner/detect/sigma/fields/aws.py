"""AWS CloudTrail: SigmaHQ writes CloudTrail's own record field names."""

from lanner.detect.sigma.fields.spec import ANY, LogsourceBinding, SourceFields

BINDINGS = (LogsourceBinding("aws", "cloudtrail", ANY, ("aws.cloudtrail",)),)

FIELDS = (
    SourceFields(
        "aws.cloudtrail",
        {
            # Typed columns hold exactly these values (normalize/aws copies them verbatim).
            "eventName": "column:operation",
            "eventSource": "column:service",
            "sourceIPAddress": "column:src_ip",
            "awsRegion": "column:region",
            "userAgent": "column:user_agent",
            "recipientAccountId": "column:account",
            "eventID": "column:uid",
        },
    ),
)
