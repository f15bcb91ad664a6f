"""Utilization and interpretation reads, from the counters and bitmaps kept by allocation."""

from __future__ import annotations

from typing import Any

from ipam import bitmaps
from ipam.exceptions import NotFound
from ipam.models import HOSTS_PER_REGION, AllocationCursor, Country, Host, Region, UserQuota
from ipam.selectors import occupancy
from ipam.selectors.countries import country_for_x
from ipam.snapshots import country_snapshot, host_snapshot, region_snapshot


def _percent(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def allocated_regions_by_country(user: Any) -> dict[int, int]:
    return dict(AllocationCursor.objects.filter(user=user).values_list("country_id", "region_count"))


def country_utilization(user: Any, country: Country) -> dict[str, Any]:
    cursor = AllocationCursor.objects.filter(user=user, country=country).first()
    occupied = bitmaps.from_bytes(cursor.bitmap) if cursor else 0
    breakdown = []
    for x in range(country.x_start, country.x_end + 1):
        used = bitmaps.count_in_range(occupied, x * 256, x * 256 + 256)
        breakdown.append(
            {"x_octet": x, "allocated": used, "capacity": 256, "available": 256 - used, "utilization_percent": _percent(used, 256)}
        )
    allocated = cursor.region_count if cursor else 0
    return {
        "resource_type": "country",
        "resource_id": country.name,
        "total_capacity": country.total_capacity,
        "allocated": allocated,
        "available": country.total_capacity - allocated,
        "utilization_percent": _percent(allocated, country.total_capacity),
        "x_breakdown": breakdown,
    }


def region_utilization(region: Region) -> dict[str, Any]:
    return {
        "resource_type": "region",
        "resource_id": str(region.id),
        "total_capacity": HOSTS_PER_REGION,
        "allocated": region.allocated_hosts,
        "available": HOSTS_PER_REGION - region.allocated_hosts,
        "utilization_percent": _percent(region.allocated_hosts, HOSTS_PER_REGION),
    }


def region_preview_next(user: Any, country: Country) -> dict[str, Any]:
    cursor = AllocationCursor.objects.filter(user=user, country=country).first() or AllocationCursor(user=user, country=country)
    slot = occupancy.next_region_slot(cursor, country, occupancy.reserved_region_slots(user, country))
    x, y = slot if slot else (None, None)
    return {
        "available": slot is not None,
        "next_cidr": f"10.{x}.{y}.0/24" if slot else None,
        "x_octet": x,
        "y_octet": y,
        "country": country.name,
    }


def host_preview_next(user: Any, region_id: Any) -> dict[str, Any]:
    region = Region.objects.filter(user=user, pk=region_id).first()
    if region is None:
        raise NotFound("Region not found.", code="region_not_found")
    slots = occupancy.next_host_slots(region, occupancy.reserved_host_slots(user, region.x_octet, region.y_octet), 1)
    z = slots[0] if slots else None
    return {
        "available": z is not None and region.status == "active",
        "next_ip": f"10.{region.x_octet}.{region.y_octet}.{z}" if z is not None else None,
        "x_octet": region.x_octet,
        "y_octet": region.y_octet,
        "z_octet": z,
        "region_id": str(region.id),
        "region_name": region.region_name,
    }


def interpret(user: Any, x: int, y: int, z: int) -> dict[str, Any]:
    """Where 10.x.y.z sits in the hierarchy, and what the caller owns there."""
    ip = f"10.{x}.{y}.{z}"
    country = country_for_x(x)
    region = Region.objects.select_related("country").filter(user=user, x_octet=x, y_octet=y).first()
    host = Host.objects.filter(user=user, x_octet=x, y_octet=y, z_octet=z).first() if region else None
    status = "fully_allocated" if host else ("region_allocated" if region else "not_allocated")
    return {
        "ip_address": ip,
        "status": status,
        "hierarchy": {
            "global_root": "10.0.0.0/8",
            "continent": country.continent if country else None,
            "country": country_snapshot(country),
            "region": region_snapshot(region) if region else None,
            "host": host_snapshot(host) if host else None,
        },
    }


def quota_usage(user: Any) -> dict[str, Any]:
    quota = UserQuota.objects.filter(user=user).first() or UserQuota(user=user)

    def usage(limit: int, used: int) -> dict[str, Any]:
        percent = _percent(used, limit) if limit else 100.0
        return {"limit": limit, "used": used, "available": max(0, limit - used), "usage_percent": percent, "warning": percent >= 80}

    return {
        "regions": usage(quota.effective_region_limit, quota.regions_used),
        "hosts": usage(quota.effective_host_limit, quota.hosts_used),
    }
