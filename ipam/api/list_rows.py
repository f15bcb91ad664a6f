"""List pages serialized from `.values()` rows by plain functions (issue 19).

A page of 50 hosts through `HostSerializer(many=True)` builds 50 model instances (with their region and
country) and walks 24 serializer fields per row; these functions produce the same JSON — same keys, same
order, same value formatting, byte for byte (tests/ipam/test_list_rows.py compares them with the
serializers) — from the plain rows of one query. Keep them in step with `HostSerializer`, `RegionSerializer`
and `AuditEntrySerializer`: a field added there and not here fails those tests.
"""

from __future__ import annotations

from typing import Any

from foundation.rows import current_timezone, drf_datetime, text_or_none
from ipam.models import HOSTS_PER_REGION
from ipam.selectors.audit import AUDIT_FIELDS

HOST_VALUES = (
    "id",
    "region_id",
    "region__region_name",
    "region__country__name",
    "region__country__continent",
    "ip_address",
    "x_octet",
    "y_octet",
    "z_octet",
    "hostname",
    "device_type",
    "os_type",
    "application",
    "cost_center",
    "purpose",
    "notes",
    "status",
    "tags",
    "user_id",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "legacy_id",
)


def _tags(value: Any) -> Any:
    if value is None:
        return None
    return {str(key): text_or_none(item) for key, item in value.items()}


def host_row(row: dict[str, Any], tz: Any = None) -> dict[str, Any]:
    """`HostSerializer` output for a `.values(*HOST_VALUES)` row (`tz`: `current_timezone()`, once per page)."""
    tz = tz or current_timezone()
    return {
        "host_id": str(row["id"]),
        "region_id": text_or_none(row["region_id"]),
        "region_name": text_or_none(row["region__region_name"]),
        "country": text_or_none(row["region__country__name"]),
        "continent": text_or_none(row["region__country__continent"]),
        "ip_address": text_or_none(row["ip_address"]),
        "x_octet": row["x_octet"],
        "y_octet": row["y_octet"],
        "z_octet": row["z_octet"],
        "hostname": text_or_none(row["hostname"]),
        "device_type": row["device_type"] or None,
        "os_type": text_or_none(row["os_type"]),
        "application": text_or_none(row["application"]),
        "cost_center": text_or_none(row["cost_center"]),
        "purpose": text_or_none(row["purpose"]),
        "notes": text_or_none(row["notes"]),
        "status": text_or_none(row["status"]),
        "tags": _tags(row["tags"]),
        "owner_id": row["user_id"],
        "created_at": None if row["created_at"] is None else drf_datetime(row["created_at"], tz),
        "updated_at": None if row["updated_at"] is None else drf_datetime(row["updated_at"], tz),
        "created_by": text_or_none(row["created_by"]),
        "updated_by": text_or_none(row["updated_by"]),
        "legacy_id": text_or_none(row["legacy_id"]),
    }


AUDIT_VALUES = ("id", *AUDIT_FIELDS[1:])  # the audit response fields, `audit_id` read as the primary key
_AUDIT_TEXT = ("action_type", "resource_type", "resource_id", "ip_address", "cidr", "country_code")
_AUDIT_TEXT_2 = ("actor", "actor_type", "request_id", "source_ip", "auth_method", "reason")
_CHANGE_KEYS = frozenset({"field", "old_value", "new_value"})


def _changes(value: Any, fallback: Any) -> Any:
    if isinstance(value, list) and all(isinstance(c, dict) and c.keys() >= _CHANGE_KEYS for c in value):
        return [{"field": str(c["field"]), "old_value": c["old_value"], "new_value": c["new_value"]} for c in value]
    return fallback(value)  # anything unusual: the serializer's own answer (or its error)


def audit_row(row: dict[str, Any], changes_fallback: Any, tz: Any = None) -> dict[str, Any]:
    """`AuditEntrySerializer` output for a `.values(*AUDIT_VALUES)` row (`tz`: `current_timezone()`)."""
    out: dict[str, Any] = {"audit_id": str(row["id"])}
    for key in _AUDIT_TEXT:
        out[key] = text_or_none(row[key])
    out["region_id"] = text_or_none(row["region_id"])
    for key in _AUDIT_TEXT_2:
        out[key] = text_or_none(row[key])
    out["changes"] = None if row["changes"] is None else _changes(row["changes"], changes_fallback)
    snapshot = row["snapshot"]
    out["snapshot"] = None if snapshot is None else {str(key): item for key, item in snapshot.items()}
    out["timestamp"] = None if row["timestamp"] is None else drf_datetime(row["timestamp"], tz)
    return out


REGION_VALUES = (
    "id",
    "country__name",
    "country__continent",
    "x_octet",
    "y_octet",
    "region_name",
    "description",
    "status",
    "owner",
    "user_id",
    "tags",
    "allocated_hosts",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "legacy_id",
)


def region_row(row: dict[str, Any], tz: Any = None) -> dict[str, Any]:
    """`RegionSerializer` output for a `.values(*REGION_VALUES)` row (`tz`: `current_timezone()`, once per page)."""
    tz = tz or current_timezone()
    return {
        "region_id": str(row["id"]),
        "country": text_or_none(row["country__name"]),
        "continent": text_or_none(row["country__continent"]),
        "x_octet": row["x_octet"],
        "y_octet": row["y_octet"],
        "cidr": f"10.{row['x_octet']}.{row['y_octet']}.0/24",
        "region_name": text_or_none(row["region_name"]),
        "description": text_or_none(row["description"]),
        "status": text_or_none(row["status"]),
        "owner": text_or_none(row["owner"]),
        "owner_id": row["user_id"],
        "tags": _tags(row["tags"]),
        "allocated_hosts": row["allocated_hosts"],
        "utilization_percentage": round(row["allocated_hosts"] * 100 / HOSTS_PER_REGION, 2),
        "created_at": None if row["created_at"] is None else drf_datetime(row["created_at"], tz),
        "updated_at": None if row["updated_at"] is None else drf_datetime(row["updated_at"], tz),
        "created_by": text_or_none(row["created_by"]),
        "updated_by": text_or_none(row["updated_by"]),
        "legacy_id": text_or_none(row["legacy_id"]),
    }
