"""`ipam_audit_history` → AuditLog (timestamps kept), plus one synthesised `create` row per imported region
and host (the original never wrote `create`, and our trends and forecasts count allocations by it);
`ipam_user_quotas` → the user's quota limits (the usage counters are recomputed from the rows)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from ipam.models import AuditLog, UserQuota
from ipam.services.legacy.quirks import IMPORT_MARK, aware, integer, legacy_uuid, octets_of_cidr, octets_of_ip, oid, plain, text
from ipam.services.legacy.scope import Scope
from ipam.services.legacy.writer import insert_rows

COLLECTION = "ipam_audit_history"
SYNTHESISED = "audit (synthesised create)"


def _country_code(scope: Scope, x: int | None) -> str:
    country = scope.country_for_x(x) if x is not None else None
    return country.code if country else ""


def _base(scope: Scope) -> dict[str, Any]:
    return {"user_id": scope.user_id, "request_id": IMPORT_MARK, "auth_method": "import", "source_ip": ""}


def audit_import(scope: Scope, docs: list[dict[str, Any]]) -> None:
    report = scope.report
    existing: set[Any] = set()
    if not scope.fresh:
        existing = set(AuditLog.objects.filter(user_id=scope.user_id, request_id=IMPORT_MARK).values_list("id", flat=True))
    created_for: set[str] = set()  # legacy ids whose creation the original did record (utils/ipam_audit.py)
    rows = []
    for doc in docs:
        report.stats(COLLECTION).read += 1
        legacy = oid(doc.get("_id"))
        pk = legacy_uuid("audit", legacy)
        resource_legacy = oid(doc.get("resource_id"))
        if str(doc.get("action_type")) == "create":
            created_for.add(resource_legacy)
        if pk in existing:
            report.existing(COLLECTION)
            continue
        moment = aware(doc.get("timestamp"))
        if moment is None:
            report.skip(COLLECTION, "no timestamp")
            continue
        resource_type = text(doc.get("resource_type"), 40)
        region = scope.regions.get(resource_legacy)
        host = scope.hosts.get(resource_legacy)
        resource_id = str(host.pk if host else region.pk if region else resource_legacy)[:64]
        ip = octets_of_ip(doc.get("ip_address"))
        xy = (ip[0], ip[1]) if ip else octets_of_cidr(doc.get("cidr"))
        region_ref = host.region if host else region if region else (scope.regions_by_xy.get(xy) if xy else None)
        metadata: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
        system = str(doc.get("user_id") or "").startswith("system") or bool(metadata.get("automated"))
        rows.append(
            {
                "id": pk,
                **_base(scope),
                "action_type": text(doc.get("action_type"), 40) or "unknown",
                "resource_type": resource_type,
                "resource_id": resource_id,
                "ip_address": text(doc.get("ip_address"), 15),
                "cidr": text(doc.get("cidr"), 18),
                "country_code": _country_code(scope, xy[0] if xy else None),
                "region_id": region_ref.pk if region_ref else None,
                "actor": "system" if system else scope.actor_name(doc.get("user_id")),
                "actor_type": "system" if system else "user",
                "reason": text(doc.get("reason"), 500),
                "changes": plain(doc.get("changes")) if isinstance(doc.get("changes"), list) else [],
                "snapshot": {**(plain(doc.get("snapshot")) if isinstance(doc.get("snapshot"), dict) else {}), "legacy_id": legacy},
                "timestamp": moment,
            }
        )
    report.created(COLLECTION, len(rows))
    insert_rows(AuditLog, rows, batch_size=scope.batch_size)
    _synthesise_creates(scope, created_for)


def _synthesise_creates(scope: Scope, created_for: set[str]) -> None:
    """A `create` row at the original `created_at` for every new region and host the original logged none for."""
    rows = []
    for legacy, row in scope.new_regions:
        if legacy not in created_for:
            cidr = f"10.{row['x_octet']}.{row['y_octet']}.0/24"
            rows.append(_create_row(scope, legacy, "region", row, cidr=cidr, ip="", region_id=row["id"]))
    for legacy, row in scope.new_hosts:
        if legacy not in created_for:
            cidr = f"10.{row['x_octet']}.{row['y_octet']}.0/24"
            rows.append(_create_row(scope, legacy, "host", row, cidr=cidr, ip=row["ip_address"], region_id=row["region_id"]))
    scope.report.created(SYNTHESISED, len(rows))
    insert_rows(AuditLog, rows, batch_size=scope.batch_size)


def _create_row(
    scope: Scope, legacy: str, resource_type: str, row: dict[str, Any], *, cidr: str, ip: str, region_id: Any
) -> dict[str, Any]:
    return {
        "id": legacy_uuid("audit-create", legacy),
        **_base(scope),
        "action_type": "create",
        "resource_type": resource_type,
        "resource_id": str(row["id"]),
        "ip_address": ip,
        "cidr": cidr,
        "country_code": _country_code(scope, row["x_octet"]),
        "region_id": region_id,
        "actor": row["created_by"] or scope.user.username,
        "actor_type": "user",
        "reason": "synthesised by import_original: the original system wrote no create event",
        "changes": [],
        "snapshot": {"legacy_id": legacy, "name": row.get("region_name") or row.get("hostname")},
        "timestamp": row["created_at"],
    }


def quota_import(scope: Scope, docs: list[dict[str, Any]]) -> None:
    """Limits only where they differ from ours; usage is recomputed from the imported rows afterwards."""
    collection = "ipam_user_quotas"
    for doc in docs[:1]:
        scope.report.stats(collection).read += 1
        limits = {}
        for source, field, default in (
            ("region_quota", "region_limit", settings.IPAM_DEFAULT_REGION_QUOTA),
            ("host_quota", "host_limit", settings.IPAM_DEFAULT_HOST_QUOTA),
        ):
            value = integer(doc.get(source))
            if value is None:
                scope.report.normalise(collection, f"{source} missing (the original's upsert bug): our default applies")
            elif value != default:
                limits[field] = value
        quota, created = UserQuota.objects.get_or_create(user_id=scope.user_id, defaults=limits)
        if created:
            scope.report.created(collection)
        elif any(getattr(quota, field) != value for field, value in limits.items()) and not quota.region_limit and not quota.host_limit:
            UserQuota.objects.filter(pk=quota.pk).update(**limits)
            scope.report.created(collection)
        else:
            scope.report.existing(collection)
    if len(docs) > 1:
        scope.report.skip(collection, "more than one quota document for the user (the first is used)", len(docs) - 1)
