"""`ipam_audit_history` → AuditLog (timestamps kept), plus one synthesised `create` row per imported region
and host (the original never wrote `create`, and our trends and forecasts count allocations by it);
`ipam_user_quotas` → the user's quota limits (the usage counters are recomputed from the rows)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

from django.conf import settings

from ipam.models import AuditLog, UserQuota
from ipam.services.legacy.quirks import IMPORT_MARK, aware, integer, legacy_uuid, octets_of_cidr, octets_of_ip, oid, plain, text
from ipam.services.legacy.scope import Scope
from ipam.services.legacy.writer import copy_rows

COLLECTION = "ipam_audit_history"
SYNTHESISED = "audit (synthesised create)"


def _country_code(scope: Scope, x: int | None) -> str:
    country = scope.country_for_x(x) if x is not None else None
    return country.code if country else ""


AUDIT_COLUMNS = (
    "id",
    "user_id",
    "request_id",
    "auth_method",
    "source_ip",
    "action_type",
    "resource_type",
    "resource_id",
    "ip_address",
    "cidr",
    "country_code",
    "region_id",
    "actor",
    "actor_type",
    "reason",
    "changes",
    "snapshot",
    "timestamp",
)
CREATE_REASON = "synthesised by import_original: the original system wrote no create event"


def audit_import(scope: Scope, docs: list[dict[str, Any]]) -> None:
    """The original's audit rows, then the synthesised `create` rows, in one COPY stream of tuples."""
    existing: set[Any] = set()
    if not scope.fresh:
        existing = set(AuditLog.objects.filter(user_id=scope.user_id, request_id=IMPORT_MARK).values_list("id", flat=True))
    created_for: set[str] = set()  # legacy ids whose creation the original did record (utils/ipam_audit.py)
    copy_rows(
        AuditLog,
        AUDIT_COLUMNS,
        chain(_audit_rows(scope, docs, existing, created_for), _create_rows(scope, created_for)),
        batch_size=scope.batch_size,
    )


def _audit_rows(scope: Scope, docs: list[dict[str, Any]], existing: set[Any], created_for: set[str]) -> Iterator[tuple[Any, ...]]:
    report = scope.report
    stats = report.stats(COLLECTION)
    user_id, regions, hosts, regions_by_xy = scope.user_id, scope.regions, scope.hosts, scope.regions_by_xy
    created = 0
    for doc in docs:
        stats.read += 1
        legacy = oid(doc.get("_id"))
        pk = legacy_uuid("audit", legacy)
        resource_legacy = oid(doc.get("resource_id"))
        action = doc.get("action_type")
        if str(action) == "create":
            created_for.add(resource_legacy)
        if pk in existing:
            stats.existing += 1
            continue
        moment = aware(doc.get("timestamp"))
        if moment is None:
            report.skip(COLLECTION, "no timestamp")
            continue
        region = regions.get(resource_legacy)
        host = hosts.get(resource_legacy)
        resource_id = str(host.pk if host else region.pk if region else resource_legacy)[:64]
        ip_value = doc.get("ip_address")
        ip = octets_of_ip(ip_value) if ip_value else None
        xy = (ip[0], ip[1]) if ip else octets_of_cidr(doc.get("cidr"))
        region_ref = host.region if host else region if region else (regions_by_xy.get(xy) if xy else None)
        metadata = doc.get("metadata")
        owner = doc.get("user_id")
        system = str(owner or "").startswith("system") or (isinstance(metadata, dict) and bool(metadata.get("automated")))
        changes = doc.get("changes")
        snapshot = doc.get("snapshot")
        created += 1
        yield (
            pk,
            user_id,
            IMPORT_MARK,
            "import",
            "",
            text(action, 40) or "unknown",
            text(doc.get("resource_type"), 40),
            resource_id,
            text(ip_value, 15),
            text(doc.get("cidr"), 18),
            _country_code(scope, xy[0] if xy else None),
            region_ref.pk if region_ref else None,
            "system" if system else scope.actor_name(owner),
            "system" if system else "user",
            text(doc.get("reason"), 500),
            plain(changes) if isinstance(changes, list) else [],
            {**(plain(snapshot) if isinstance(snapshot, dict) else {}), "legacy_id": legacy},
            moment,
        )
    report.created(COLLECTION, created)


def _create_rows(scope: Scope, created_for: set[str]) -> Iterator[tuple[Any, ...]]:
    """A `create` row at the original `created_at` for every new region and host the original logged none for.
    Runs after `_audit_rows` is exhausted (same COPY stream), so `created_for` is complete."""
    user_id, username = scope.user_id, scope.user.username
    created = 0
    for legacy, row in scope.new_regions:
        if legacy not in created_for:
            created += 1
            cidr = f"10.{row['x_octet']}.{row['y_octet']}.0/24"
            yield _create_row(scope, user_id, username, legacy, "region", row, cidr, "", row["id"], row["region_name"])
    for legacy, row in scope.new_hosts:
        if legacy not in created_for:
            created += 1
            cidr = f"10.{row['x_octet']}.{row['y_octet']}.0/24"
            yield _create_row(scope, user_id, username, legacy, "host", row, cidr, row["ip_address"], row["region_id"], row["hostname"])
    scope.report.created(SYNTHESISED, created)


def _create_row(
    scope: Scope,
    user_id: int,
    username: str,
    legacy: str,
    resource_type: str,
    row: dict[str, Any],
    cidr: str,
    ip: str,
    region_id: Any,
    name: Any,
) -> tuple[Any, ...]:
    return (
        legacy_uuid("audit-create", legacy),
        user_id,
        IMPORT_MARK,
        "import",
        "",
        "create",
        resource_type,
        str(row["id"]),
        ip,
        cidr,
        _country_code(scope, row["x_octet"]),
        region_id,
        row["created_by"] or username,
        "user",
        CREATE_REASON,
        [],
        {"legacy_id": legacy, "name": name},
        row["created_at"],
    )


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
