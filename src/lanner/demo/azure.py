"""Azure Activity Log, as a diagnostic setting exports it: hourly blobs of `{"records": [...]}`.

Benign: an Automation runbook parking dev VMs at night, CI service principal deployments,
engineers changing resources, Azure Policy audit evaluations and autoscale. Control-plane
writes appear as a Start record followed by a Success/Accept record sharing one correlationId.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from lanner.demo import clock
from lanner.demo.estate import CI_RUNNER_IPS, EMAIL_DOMAIN, HOME_IPS, OFFICE_IPS
from lanner.demo.files import write_envelope_groups
from lanner.demo.ids import Ids

Event = tuple[datetime, dict[str, Any]]
TENANT = "6f1c2a4e-93d7-4b8a-a1e5-2c7d9b0f3e18"
SUBSCRIPTIONS = {"prod": "3b7e5d21-8c4f-4a9e-b6d2-0f1a8e7c5b43", "dev": "9d2c6a18-4e7b-41f5-8a3c-5e9b0d2f7a61"}
CI_APP = "0c8f3d5a-7b21-4e96-a4d8-1f6e2b9c7a35"
RUNBOOK_APP = "5a9e1c7d-3f28-46b0-9e4a-8d2b6f1c0e57"

# (operationName, resource path under the subscription, role that allows it)
HUMAN_OPS = (
    ("MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE", "resourceGroups/rg-{env}-app/providers/Microsoft.Compute/virtualMachines/vm-{env}-app-{n}", "Contributor"),
    ("MICROSOFT.COMPUTE/VIRTUALMACHINES/RESTART/ACTION", "resourceGroups/rg-{env}-app/providers/Microsoft.Compute/virtualMachines/vm-{env}-app-{n}", "Virtual Machine Contributor"),
    ("MICROSOFT.RESOURCES/TAGS/WRITE", "resourceGroups/rg-{env}-data/providers/Microsoft.Resources/tags/default", "Tag Contributor"),
    ("MICROSOFT.KEYVAULT/VAULTS/WRITE", "resourceGroups/rg-{env}-sec/providers/Microsoft.KeyVault/vaults/kv-acme-{env}", "Key Vault Contributor"),
    ("MICROSOFT.WEB/SITES/CONFIG/WRITE", "resourceGroups/rg-{env}-web/providers/Microsoft.Web/sites/app-acme-{env}/config/web", "Website Contributor"),
    ("MICROSOFT.SQL/SERVERS/DATABASES/WRITE", "resourceGroups/rg-{env}-data/providers/Microsoft.Sql/servers/sql-acme-{env}/databases/orders", "SQL DB Contributor"),
)
CI_OPS = (
    ("MICROSOFT.RESOURCES/DEPLOYMENTS/VALIDATE/ACTION", "resourceGroups/rg-{env}-web/providers/Microsoft.Resources/deployments/web-{n}"),
    ("MICROSOFT.RESOURCES/DEPLOYMENTS/WRITE", "resourceGroups/rg-{env}-web/providers/Microsoft.Resources/deployments/web-{n}"),
    ("MICROSOFT.WEB/SITES/WRITE", "resourceGroups/rg-{env}-web/providers/Microsoft.Web/sites/app-acme-{env}"),
    ("MICROSOFT.WEB/SITES/SLOTS/SLOTSSWAP/ACTION", "resourceGroups/rg-{env}-web/providers/Microsoft.Web/sites/app-acme-{env}/slots/staging"),
)


def record(ids: Ids, t: datetime, sub: str, resource: str, operation: str, result: str, caller: dict[str, str], ip: str,
           correlation: str, *, category: str = "Administrative", role: str = "Contributor", status: str | None = None) -> dict[str, Any]:
    """One Activity Log record in the diagnostic-settings schema."""
    rid = f"/SUBSCRIPTIONS/{sub.upper()}/{resource.upper()}"
    scope = f"/subscriptions/{sub}/{resource}"
    action = operation.title().replace("Microsoft.", "Microsoft.")
    claims = {
        "aud": "https://management.core.windows.net/",
        "iss": f"https://sts.windows.net/{TENANT}/",
        "iat": str(int(t.timestamp()) - 600), "nbf": str(int(t.timestamp()) - 600), "exp": str(int(t.timestamp()) + 3000),
        "http://schemas.microsoft.com/identity/claims/objectidentifier": caller["oid"],
        "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
        "appid": caller.get("appid", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
        "ipaddr": ip,
    }
    if "upn" in caller:
        claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = caller["upn"]
        claims["name"] = caller["upn"].split("@")[0].title()
    signature = {"Start": "Started.", "Success": "Succeeded.", "Accept": "Accepted.Created", "Failure": "Failed."}[result]
    return {
        "time": clock.iso_azure(t),
        "resourceId": rid,
        "operationName": operation,
        "category": category,
        "resultType": result,
        "resultSignature": signature,
        "durationMs": "0" if result == "Start" else str(ids.rng.randrange(80, 9000)),
        "callerIpAddress": ip,
        "correlationId": correlation,
        "identity": {"authorization": {"scope": scope, "action": action,
                                       "evidence": {"role": role, "roleAssignmentScope": f"/subscriptions/{sub}",
                                                    "roleAssignmentId": ids.hex(32), "roleDefinitionId": ids.hex(32),
                                                    "principalId": caller["oid"].replace("-", ""),
                                                    "principalType": "User" if "upn" in caller else "ServicePrincipal"}},
                     "claims": claims},
        "level": "Error" if result == "Failure" else "Information",
        "location": "global",
        "properties": {"statusCode": status or ("Created" if result != "Start" else "Started"),
                       "serviceRequestId": ids.uuid() if result != "Start" else None,
                       "eventCategory": category, "entity": scope, "message": action,
                       "hierarchy": f"{TENANT}/acme-root/{sub}"},
    }


def _pair(ids: Ids, out: list[Event], t: datetime, sub: str, resource: str, op: str, caller: dict[str, str], ip: str,
          role: str = "Contributor", failed: bool = False) -> None:
    corr = ids.uuid()
    out.append((t, record(ids, t, sub, resource, op, "Start", caller, ip, corr, role=role)))
    t2 = t + timedelta(milliseconds=ids.rng.randrange(300, 20_000))
    result = "Failure" if failed else ("Accept" if op.endswith("/ACTION") else "Success")
    out.append((t2, record(ids, t2, sub, resource, op, result, caller, ip, corr, role=role,
                           status="Forbidden" if failed else ("Accepted" if result == "Accept" else "OK"))))


def azure_day(ids: Ids, day: date) -> list[Event]:
    rng = ids.rng
    out: list[Event] = []
    scale = 0.35 if clock.is_weekend(day) else 1.0
    people = [{"upn": f"{n}@{EMAIL_DOMAIN}", "oid": ids.uuid()} for n in ("alice", "bruno", "kofi", "lena")]
    for _ in range(round(160 * scale)):
        t = clock.sample(rng, day, clock.HUMAN_HOURS)
        env = rng.choice(["prod", "dev", "dev"])
        op, res, role = rng.choice(HUMAN_OPS)
        _pair(ids, out, t, SUBSCRIPTIONS[env], res.format(env=env, n=rng.randrange(1, 4)), op, rng.choice(people),
              rng.choice(OFFICE_IPS + HOME_IPS), role, failed=rng.random() < 0.02)
    ci = {"oid": ids.uuid(), "appid": CI_APP}
    for _ in range(round(14 * scale)):
        t = clock.sample(rng, day, clock.HUMAN_HOURS)
        env = rng.choice(["prod", "dev"])
        n = ids.lower(8)
        for op, res in CI_OPS:
            t += timedelta(seconds=rng.randrange(5, 90))
            _pair(ids, out, t, SUBSCRIPTIONS[env], res.format(env=env, n=n), op, ci, rng.choice(CI_RUNNER_IPS))
    runbook = {"oid": ids.uuid(), "appid": RUNBOOK_APP}
    for hour, op in ((6, "MICROSOFT.COMPUTE/VIRTUALMACHINES/START/ACTION"), (19, "MICROSOFT.COMPUTE/VIRTUALMACHINES/DEALLOCATE/ACTION")):
        if clock.is_weekend(day) and hour == 6:
            continue  # dev stays parked at weekends
        for vm in range(1, 7):
            t = clock.day_start(day) + timedelta(hours=hour, seconds=rng.randrange(120) + vm * 15)
            _pair(ids, out, t, SUBSCRIPTIONS["dev"], f"resourceGroups/rg-dev-app/providers/Microsoft.Compute/virtualMachines/vm-dev-app-{vm}",
                  op, runbook, "20.42.7.19", "Virtual Machine Contributor")
    # Azure Policy evaluates resources continuously; each audit is one record from the platform.
    policy_caller = {"oid": "00000000-0000-0000-0000-000000000000", "appid": "1d78a85d-813d-46f0-b496-dd72f50a3ec0"}
    for _ in range(1700):
        t = clock.sample(rng, day, clock.FLAT_HOURS)
        env = rng.choice(["prod", "dev"])
        rec = record(ids, t, SUBSCRIPTIONS[env], f"resourceGroups/rg-{env}-data/providers/Microsoft.Storage/storageAccounts/stacme{env}{rng.randrange(1, 5)}",
                     "MICROSOFT.AUTHORIZATION/POLICIES/AUDIT/ACTION", "Success", policy_caller, "", ids.uuid(), category="Policy",
                     role="Policy Insights Data Writer", status="OK")
        rec.pop("callerIpAddress")
        out.append((t, rec))
    for t in clock.every(day, timedelta(minutes=15), 30_000, rng):
        op = "MICROSOFT.INSIGHTS/AUTOSCALESETTINGS/SCALEUP/ACTION" if 7 <= t.hour < 19 else "MICROSOFT.INSIGHTS/AUTOSCALESETTINGS/SCALEDOWN/ACTION"
        rec = record(ids, t, SUBSCRIPTIONS["prod"], "resourceGroups/rg-prod-web/providers/microsoft.insights/autoscalesettings/asp-acme-prod-autoscale",
                     op, "Success", {"oid": "00000000-0000-0000-0000-000000000000", "appid": "Microsoft.Insights/autoscaleSettings"}, "",
                     ids.uuid(), category="Autoscale", role="", status="OK")
        rec.pop("callerIpAddress")
        out.append((t, rec))
    return out


def write(out_dir: Path, events: list[Event]) -> list[Path]:
    """Blob layout of the insights-activity-logs container: one PT1H.json per subscription and hour."""

    def group(t: datetime, rec: dict[str, Any]) -> str:
        sub = rec["resourceId"].split("/")[2]
        return (f"azure/insights-activity-logs/resourceId=/SUBSCRIPTIONS/{sub}/"
                f"y={t:%Y}/m={t:%m}/d={t:%d}/h={t:%H}/m=00/PT1H.json")

    return write_envelope_groups(out_dir, events, group, "records", gz=False)
