"""The formats Lanner recognises, in classification order, and the envelopes it unwraps."""

from __future__ import annotations

from lanner.normalize.aws_cloudtrail import CLOUDTRAIL
from lanner.normalize.azure_activity import AZURE_ACTIVITY
from lanner.normalize.entra_id import ENTRA_AUDIT, ENTRA_SIGNIN
from lanner.normalize.gcp_audit import GCP_AUDIT
from lanner.normalize.github_audit import GITHUB_AUDIT
from lanner.normalize.gworkspace_audit import GWORKSPACE_AUDIT
from lanner.normalize.k8s_audit import K8S_AUDIT
from lanner.normalize.m365_audit import M365_AUDIT
from lanner.normalize.okta_system import OKTA_SYSTEM
from lanner.normalize.runtime_falco import FALCO
from lanner.normalize.runtime_tetragon import TETRAGON
from lanner.normalize.spec import Envelope, FormatMap, guarded, has

# Order matters only where shapes could overlap; the most specific checks come first. The SaaS
# formats come after the cloud ones (Entra ID before azure.activity, whose records look alike): their checks read the record text, and a CASE only
# evaluates a later branch on the rows no earlier branch took.
FORMATS: dict[str, FormatMap] = {
    fmt.name: fmt
    for fmt in (
        TETRAGON, FALCO, K8S_AUDIT, GCP_AUDIT, CLOUDTRAIL, ENTRA_SIGNIN, ENTRA_AUDIT, AZURE_ACTIVITY,
        OKTA_SYSTEM, GITHUB_AUDIT, GWORKSPACE_AUDIT, M365_AUDIT,
    )
}

ENVELOPES: tuple[Envelope, ...] = (
    # EventBridge delivers CloudTrail records as the `detail` of "... via CloudTrail" events.
    Envelope(
        name="EventBridge",
        detect=guarded(
            has("detail-type", "detail"),
            "json_extract_string(raw, '$.\"detail-type\"') LIKE '% via CloudTrail' AND json_type(raw, '$.detail') = 'OBJECT'",
        ),
        inner="CAST(json_extract(raw, '$.detail') AS VARCHAR)",
    ),
    # CloudTrail Lake exports can carry the original record as a JSON string.
    Envelope(
        name="CloudTrail Lake",
        detect=guarded(has("eventJson"), "json_type(raw, '$.eventJson') = 'VARCHAR'"),
        inner="json_extract_string(raw, '$.eventJson')",
    ),
    # AKS diagnostic settings wrap each API server audit event as a string in properties.log.
    Envelope(
        name="AKS diagnostic log",
        detect=guarded(
            has("category", "properties"),
            "json_extract_string(raw, '$.category') IN ('kube-audit', 'kube-audit-admin') "
            "AND json_type(raw, '$.properties.log') = 'VARCHAR'",
        ),
        inner="json_extract_string(raw, '$.properties.log')",
    ),
)
