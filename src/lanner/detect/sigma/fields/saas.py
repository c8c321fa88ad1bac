"""SaaS audit logs: Microsoft 365, Okta, GitHub. SigmaHQ uses the providers' native names.

These sources are not ingested yet, so every field reads `raw` (exact whatever the normalizer
puts in typed columns); typed-column mappings come with their normalizers.
"""

from lanner.detect.sigma.fields.spec import ANY, LogsourceBinding, SourceFields

BINDINGS = (
    LogsourceBinding("m365", ANY, ANY, ("m365.audit",)),
    LogsourceBinding("okta", "okta", ANY, ("okta.system",)),
    LogsourceBinding("github", "audit", ANY, ("github.audit",)),
)

FIELDS = (
    SourceFields("m365.audit", {}),
    SourceFields(
        "okta.system",
        {
            # `target` is a list of objects.
            "target.displayName": "target.[*].displayName",
            "target.alternateId": "target.[*].alternateId",
            "target.type": "target.[*].type",
        },
    ),
    SourceFields("github.audit", {}),
)
