"""Snapshots: regions, hosts and countries as plain dicts, in the one shape audit rows, events, interpretation and statistics share."""

from __future__ import annotations

from typing import Any

from ipam.models import HOSTS_PER_REGION, Country, Host, Region


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


def country_snapshot(country: Country | None) -> dict[str, Any] | None:
    """A country as it appears in an address's hierarchy (interpretation, bulk lookup)."""
    if country is None:
        return None
    return {
        "name": country.name,
        "code": country.code,
        "code3": country.code3,
        "x_start": country.x_start,
        "x_end": country.x_end,
        "is_reserved": country.is_reserved,
    }


def country_summary(country: Country) -> dict[str, Any]:
    """The fields every per-country statistic starts with (statistics, shared country views)."""
    return {
        "country": country.name,
        "code": country.code,
        "code3": country.code3,
        "continent": country.continent,
        "x_start": country.x_start,
        "x_end": country.x_end,
        "total_capacity": country.total_capacity,
    }
