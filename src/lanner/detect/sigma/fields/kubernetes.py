"""Kubernetes audit events (audit.k8s.io/v1 Event)."""

from lanner.detect.sigma.fields.spec import LogsourceBinding, SourceFields

BINDINGS = (
    LogsourceBinding("kubernetes", "audit", None, ("k8s.audit",)),
    LogsourceBinding("kubernetes", "audit", "application", ("k8s.audit",)),
    LogsourceBinding(None, "audit", "application", ("k8s.audit",)),  # `category: application` without product
)

FIELDS = (
    SourceFields(
        "k8s.audit",
        {
            "verb": "column:operation",
            "userAgent": "column:user_agent",
            "auditID": "column:uid",
            # Sigma's Kubernetes taxonomy flattens a few request-object details.
            "apiGroup": "objectRef.apiGroup",
            "hostPath": "requestObject.spec.volumes.[*].hostPath.path",
            "capabilities": "requestObject.spec.containers.[*].securityContext.capabilities.add.[*]",
        },
    ),
)
