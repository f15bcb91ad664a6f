"""JSON-safe pictures of regions and hosts for audit snapshots and event payloads."""

from __future__ import annotations

from typing import Any

from ipam.models import HOSTS_PER_REGION, Host, Region


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def region_snapshot(region: Region) -> dict[str, Any]:
    return {
        "region_id": str(region.id),
        "country": region.country.name,
        "continent": region.country.continent,
        "x_octet": region.x_octet,
        "y_octet": region.y_octet,
        "cidr": region.cidr,
        "region_name": region.region_name,
        "description": region.description,
        "status": region.status,
        "owner": region.owner,
        "owner_id": region.user_id,
        "tags": dict(region.tags or {}),
        "allocated_hosts": region.allocated_hosts,
        "utilization_percentage": round(region.allocated_hosts * 100 / HOSTS_PER_REGION, 2),
        "created_at": _iso(region.created_at),
        "updated_at": _iso(region.updated_at),
        "created_by": region.created_by,
        "updated_by": region.updated_by,
    }


def host_snapshot(host: Host) -> dict[str, Any]:
    return {
        "host_id": str(host.id),
        "region_id": str(host.region_id),
        "ip_address": host.ip_address,
        "x_octet": host.x_octet,
        "y_octet": host.y_octet,
        "z_octet": host.z_octet,
        "hostname": host.hostname,
        "device_type": host.device_type or None,
        "os_type": host.os_type,
        "application": host.application,
        "cost_center": host.cost_center,
        "purpose": host.purpose,
        "notes": host.notes,
        "status": host.status,
        "tags": dict(host.tags or {}),
        "owner_id": host.user_id,
        "created_at": _iso(host.created_at),
        "updated_at": _iso(host.updated_at),
        "created_by": host.created_by,
        "updated_by": host.updated_by,
    }
