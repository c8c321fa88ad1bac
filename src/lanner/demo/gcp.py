"""GCP Cloud Audit Logs as a Logging sink writes them: LogEntry JSON lines with an AuditLog payload.

Benign: analysts and pipelines in BigQuery/GCS, Terraform over workload identity federation,
the managed instance group autoscaler, engineers reading logs. Admin Activity and Data Access
entries go to their own log names, as they do in GCP.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from lanner.demo import clock
from lanner.demo.estate import CI_RUNNER_IPS, EMAIL_DOMAIN, HOME_IPS, OFFICE_IPS
from lanner.demo.files import write_jsonl_groups
from lanner.demo.ids import Ids

Event = tuple[datetime, dict[str, Any]]
PROJECTS = ("acme-analytics-prod", "acme-ml-dev")
UA_GCLOUD = "google-cloud-sdk gcloud/502.0.0 command/gcloud.{cmd} invocation-id/{inv} environment/None environment-version/None client-os/MACOSX client-os-ver/24.1.0 client-pltf-arch/arm,gzip(gfe)"
UA_BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36,gzip(gfe)"
UA_PY = "gcloud-python/3.1.0 gl-python/3.11.10 grpc/1.68.1 gax/2.23.0 gccl/3.27.0,gzip(gfe)"
UA_TF = "Terraform/1.9.8 (+https://www.terraform.io) Terraform-Plugin-SDK/2.33.0 terraform-provider-google/6.12.0,gzip(gfe)"

# (serviceName, methodName, data_access, permission, resource type, resource name template)
HUMAN = (
    ("bigquery.googleapis.com", "google.cloud.bigquery.v2.JobService.InsertJob", True, "bigquery.jobs.create", "bigquery_project", "projects/{p}/jobs/bquxjob_{r}"),
    ("bigquery.googleapis.com", "google.cloud.bigquery.v2.TableService.GetTable", True, "bigquery.tables.get", "bigquery_dataset", "projects/{p}/datasets/sales/tables/orders"),
    ("storage.googleapis.com", "storage.objects.list", True, "storage.objects.list", "gcs_bucket", "projects/_/buckets/{p}-exports"),
    ("compute.googleapis.com", "v1.compute.instances.list", True, "compute.instances.list", "gce_instance", "projects/{p}/zones/us-central1-a/instances"),
    ("logging.googleapis.com", "google.logging.v2.LoggingServiceV2.ListLogEntries", True, "logging.logEntries.list", "project", "projects/{p}"),
    ("iam.googleapis.com", "google.iam.admin.v1.ListServiceAccounts", True, "iam.serviceAccounts.list", "service_account", "projects/{p}"),
    ("compute.googleapis.com", "v1.compute.instances.stop", False, "compute.instances.stop", "gce_instance", "projects/{p}/zones/us-central1-a/instances/nb-{r}"),
)
PIPELINE = (
    ("storage.googleapis.com", "storage.objects.get", True, "storage.objects.get", "gcs_bucket", "projects/_/buckets/{p}-landing/objects/events/dt=2026-11-27/part-{n}.avro"),
    ("storage.googleapis.com", "storage.objects.create", True, "storage.objects.create", "gcs_bucket", "projects/_/buckets/{p}-curated/objects/orders/part-{n}.parquet"),
    ("bigquery.googleapis.com", "google.cloud.bigquery.v2.JobService.InsertJob", True, "bigquery.jobs.create", "bigquery_project", "projects/{p}/jobs/etl_{r}"),
    ("bigquery.googleapis.com", "google.cloud.bigquery.v2.JobService.GetQueryResults", True, "bigquery.jobs.get", "bigquery_project", "projects/{p}/jobs/etl_{r}"),
)
TERRAFORM = (
    ("cloudresourcemanager.googleapis.com", "GetIamPolicy", True, "resourcemanager.projects.getIamPolicy", "project", "projects/{p}"),
    ("compute.googleapis.com", "v1.compute.firewalls.get", True, "compute.firewalls.get", "gce_firewall_rule", "projects/{p}/global/firewalls/allow-internal"),
    ("storage.googleapis.com", "storage.buckets.get", True, "storage.buckets.get", "gcs_bucket", "projects/_/buckets/{p}-landing"),
    ("iam.googleapis.com", "google.iam.admin.v1.GetServiceAccount", True, "iam.serviceAccounts.get", "service_account", "projects/{p}/serviceAccounts/etl-runner@{p}.iam.gserviceaccount.com"),
    ("storage.googleapis.com", "storage.buckets.update", False, "storage.buckets.update", "gcs_bucket", "projects/_/buckets/{p}-curated"),
    ("compute.googleapis.com", "v1.compute.instanceTemplates.insert", False, "compute.instanceTemplates.create", "gce_instance_template", "projects/{p}/global/instanceTemplates/workers-{r}"),
)


def entry(ids: Ids, t: datetime, project: str, principal: str, ip: str, ua: str, service: str, method: str,
          data_access: bool, permission: str, rtype: str, resource: str, *, error: tuple[int, str] | None = None,
          delegation: str | None = None, request: dict[str, Any] | None = None) -> dict[str, Any]:
    """One LogEntry with a google.cloud.audit.AuditLog protoPayload."""
    auth: dict[str, Any] = {"principalEmail": principal}
    if delegation:
        auth["serviceAccountDelegationInfo"] = [{"firstPartyPrincipal": {"principalEmail": delegation}}]
    payload: dict[str, Any] = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "status": {"code": error[0], "message": error[1]} if error else {},
        "authenticationInfo": auth,
        "requestMetadata": {**({"callerIp": ip} if ip else {}), "callerSuppliedUserAgent": ua,
                            "requestAttributes": {"time": clock.iso_us(t), "auth": {}}, "destinationAttributes": {}},
        "serviceName": service,
        "methodName": method,
        "authorizationInfo": [{"resource": resource, "permission": permission, "granted": error is None,
                               "resourceAttributes": {"service": service, "name": resource}}],
        "resourceName": resource,
    }
    if request:
        payload["request"] = request
    kind = "data_access" if data_access else "activity"
    labels = {"project_id": project}
    if rtype in ("gce_instance", "gcs_bucket"):
        labels["location" if rtype == "gcs_bucket" else "zone"] = "us-central1" if rtype == "gcs_bucket" else "us-central1-a"
    return {
        "protoPayload": payload,
        "insertId": ids.gcp_insert_id(),
        "resource": {"type": rtype, "labels": labels},
        "timestamp": clock.iso_us(t),
        "severity": "ERROR" if error else ("INFO" if data_access else "NOTICE"),
        "logName": f"projects/{project}/logs/cloudaudit.googleapis.com%2F{kind}",
        "receiveTimestamp": clock.iso_us(t + timedelta(milliseconds=ids.rng.randrange(200, 1500))),
    }


def gcp_day(ids: Ids, day: date) -> list[Event]:
    rng = ids.rng
    out: list[Event] = []
    scale = 0.35 if clock.is_weekend(day) else 1.0
    people = ("alice", "goran", "hana", "ines", "jonas")
    for _ in range(round(900 * scale)):
        t = clock.sample(rng, day, clock.HUMAN_HOURS)
        who = rng.choice(people)
        console = rng.random() < 0.5
        service, method, da, perm, rtype, res = rng.choice(HUMAN)
        p = rng.choice(PROJECTS)
        ua = UA_BROWSER if console else UA_GCLOUD.format(cmd=method.split(".")[-1].lower(), inv=ids.uuid())
        err = (7, "PERMISSION_DENIED") if rng.random() < 0.01 else None
        out.append((t, entry(ids, t, p, f"{who}@{EMAIL_DOMAIN}", rng.choice(OFFICE_IPS + HOME_IPS), ua, service, method,
                             da, perm, rtype, res.format(p=p, r=ids.lower(10)), error=err)))
    for _ in range(2600):
        t = clock.sample(rng, day, clock.BATCH_HOURS)
        service, method, da, perm, rtype, res = rng.choice(PIPELINE)
        p = PROJECTS[0]
        out.append((t, entry(ids, t, p, f"etl-runner@{p}.iam.gserviceaccount.com", f"10.128.0.{rng.randrange(2, 60)}", UA_PY,
                             service, method, da, perm, rtype, res.format(p=p, r=ids.lower(10), n=f"{rng.randrange(5000):05d}"))))
    for _ in range(round(10 * scale)):
        t = clock.sample(rng, day, clock.HUMAN_HOURS)
        p = rng.choice(PROJECTS)
        ip = rng.choice(CI_RUNNER_IPS)
        sa = f"terraform@{p}.iam.gserviceaccount.com"
        # Workload identity federation: CI exchanges its OIDC token, then impersonates the Terraform SA.
        out.append((t, entry(ids, t, p, "principal://iam.googleapis.com/projects/481516234/locations/global/workloadIdentityPools/github/subject/repo:acme/infrastructure:ref:refs/heads/main",
                             ip, "google-github-actions:auth/2.1.7,gzip(gfe)", "iamcredentials.googleapis.com",
                             "GenerateAccessToken", True, "iam.serviceAccounts.getAccessToken", "service_account",
                             f"projects/-/serviceAccounts/{sa}")))
        for _ in range(rng.randint(8, 20)):
            t += timedelta(milliseconds=rng.randrange(100, 3000))
            service, method, da, perm, rtype, res = rng.choice(TERRAFORM)
            out.append((t, entry(ids, t, p, sa, ip, UA_TF, service, method, da, perm, rtype, res.format(p=p, r=ids.lower(6)),
                                 delegation=f"repo:acme/infrastructure@{EMAIL_DOMAIN}" if rng.random() < 0.1 else None)))
    # The managed instance group autoscaler grows and shrinks the worker pool.
    for t in clock.every(day, timedelta(minutes=30), 120_000, rng):
        p = PROJECTS[0]
        method = rng.choice(["v1.compute.instances.insert", "v1.compute.instances.delete"])
        out.append((t, entry(ids, t, p, "481516234@cloudservices.gserviceaccount.com", "", "GCE Managed Instance Group", "compute.googleapis.com",
                             method, False, "compute.instances." + method.split(".")[-1].replace("insert", "create"), "gce_instance",
                             f"projects/{p}/zones/us-central1-a/instances/workers-{ids.lower(4)}")))
    return out


def write(out_dir: Path, events: list[Event]) -> list[Path]:
    """Hourly JSON-lines objects per log, the layout a Cloud Logging → Cloud Storage sink produces."""

    def group(t: datetime, rec: dict[str, Any]) -> str:
        kind = rec["logName"].rsplit("%2F", 1)[1]
        h = t.hour
        return f"gcp/cloudaudit.googleapis.com/{kind}/{t:%Y/%m/%d}/{h:02d}:00:00_{h:02d}:59:59_S0.json"

    return write_jsonl_groups(out_dir, events, group)
