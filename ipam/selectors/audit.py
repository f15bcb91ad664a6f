"""Audit trail reads: the caller's namespace only, filtered as `GET /ipam/audit/history` and the audit
export describe. Filters arrive as plain strings (query string or a stored export job) and are validated
here, so the API and the export task apply exactly the same rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet

from ipam.exceptions import ValidationFailed
from ipam.models import AuditLog
from ipam.selectors.search import parse_cidr, parse_when
from ipam.validation import parse_private_ip

AUDIT_FILTERS = ("action_type", "resource_type", "resource_id", "ip_address", "cidr", "actor", "date_from", "date_to", "ordering")
AUDIT_ORDERINGS = {"timestamp": ("timestamp", "id"), "-timestamp": ("-timestamp", "-id")}
AUDIT_FIELDS = (
    "audit_id",
    "action_type",
    "resource_type",
    "resource_id",
    "ip_address",
    "cidr",
    "country_code",
    "region_id",
    "actor",
    "actor_type",
    "request_id",
    "source_ip",
    "auth_method",
    "reason",
    "changes",
    "snapshot",
    "timestamp",
)


def audit_filters_clean(raw: Mapping[str, Any]) -> dict[str, str]:
    """Known, non-empty filters as strings (400 for unknown keys or malformed values)."""
    unknown = sorted(set(raw) - set(AUDIT_FILTERS))
    if unknown:
        raise ValidationFailed(details={key: ["Unknown filter."] for key in unknown})
    cleaned: dict[str, str] = {}
    for key in AUDIT_FILTERS:
        value = raw.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or len(value) > 200 or "\x00" in value:
            raise ValidationFailed(details={key: ["Must be a string of at most 200 characters (no NUL)."]})
        cleaned[key] = value.strip()
    audit_queryset(None, cleaned)  # validates every value
    return cleaned


def audit_queryset(user: Any, filters: Mapping[str, str], *, ip_address: str | None = None) -> QuerySet[AuditLog]:
    """The user's audit rows matching `filters` (see AUDIT_FILTERS), newest first unless ordered otherwise."""
    rows = AuditLog.objects.filter(user=user) if user is not None else AuditLog.objects.none()
    for key in ("action_type", "resource_type", "resource_id", "actor"):
        if filters.get(key):
            rows = rows.filter(**{key: filters[key]})
    for address in (filters.get("ip_address"), ip_address):
        if address:
            x, y, z = parse_private_ip(address, "ip_address")
            rows = rows.filter(ip_address=f"10.{x}.{y}.{z}")
    if filters.get("cidr"):
        rows = rows.filter(_cidr_q(filters["cidr"]))
    if filters.get("date_from"):
        rows = rows.filter(timestamp__gte=parse_when(filters["date_from"], "date_from"))
    if filters.get("date_to"):
        rows = rows.filter(timestamp__lte=parse_when(filters["date_to"], "date_to", end_of_day=True))
    ordering = filters.get("ordering") or "-timestamp"
    if ordering not in AUDIT_ORDERINGS:
        raise ValidationFailed(details={"ordering": ["Must be timestamp or -timestamp."]})
    return rows.order_by(*AUDIT_ORDERINGS[ordering])


def _cidr_q(value: str) -> Q:
    """Rows about resources inside the network: the /24s it covers (region rows and their hosts' rows),
    or, for a network smaller than a /24, the addresses in it."""
    rng = parse_cidr(value)
    if rng.size >= 256:
        if rng.size > 256 * 256:
            # Wider than a /16: match the X octets by their `10.X.` prefix (escaped, never a pattern).
            q = Q()
            for x in range((rng.lo >> 16) & 0xFF, ((rng.hi >> 16) & 0xFF) + 1):
                q |= Q(cidr__startswith=f"10.{x}.")
            return q
        return Q(cidr__in=rng.cidrs_24())
    return Q(ip_address__in=rng.addresses())


def audit_row(row: AuditLog) -> dict[str, Any]:
    """A JSON-friendly dict of every audit field (exports)."""
    return {
        "audit_id": str(row.id),
        "action_type": row.action_type,
        "resource_type": row.resource_type,
        "resource_id": row.resource_id,
        "ip_address": row.ip_address,
        "cidr": row.cidr,
        "country_code": row.country_code,
        "region_id": str(row.region_id) if row.region_id else None,
        "actor": row.actor,
        "actor_type": row.actor_type,
        "request_id": row.request_id,
        "source_ip": row.source_ip,
        "auth_method": row.auth_method,
        "reason": row.reason,
        "changes": row.changes,
        "snapshot": row.snapshot,
        "timestamp": row.timestamp.isoformat(),
    }
