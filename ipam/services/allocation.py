"""Race-free first-fit allocation primitives (see docs/architecture.md, "Allocation").

Regions: lock the (user, country) cursor row, read its bitmap of taken X*256+Y, OR in the active
reservations, take the lowest clear bit. Hosts: lock the region row, same with its 256-bit Z bitmap.
Cost depends on the bitmap size (≤ 8 KB), never on how many regions or hosts exist. Unique
constraints on (user, x, y) and (region, z) are the backstop.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from foundation import metrics
from foundation.permissions import has_ipam_permission
from foundation.types import Actor
from ipam import bitmaps, exceptions
from ipam.models import AllocationCursor, Country, Region
from ipam.selectors.occupancy import Z_FIRST, Z_LAST, region_slot


def ensure_may_use_country(actor: Actor, country: Country) -> None:
    if country.is_reserved and not has_ipam_permission(actor, "admin"):
        raise exceptions.ReservedRange(details={"country": country.name, "x_range": [country.x_start, country.x_end]})


def lock_cursor(user: Any, country: Country) -> AllocationCursor:
    """The (user, country) cursor row, created if needed, locked FOR UPDATE until commit."""
    cursor, _ = AllocationCursor.objects.select_for_update().get_or_create(user=user, country=country)
    return cursor


def lock_region(user: Any, region_id: Any) -> Region:
    """The user's region locked FOR UPDATE until commit, with its country (joined, not locked).

    Host allocation locks through `ipam.services.hostlock` instead, which also probes what it needs.
    """
    region = Region.objects.select_related("country").select_for_update(of=("self",)).filter(user=user, pk=region_id).first()
    if region is None:
        raise exceptions.NotFound("Region not found.", code="region_not_found")
    return region


def check_region_slot_free(cursor: AllocationCursor, x: int, y: int, reserved: dict[int, Any]) -> None:
    slot = region_slot(x, y)
    if bitmaps.from_bytes(cursor.bitmap) >> slot & 1:
        raise exceptions.AddressInUse(f"10.{x}.{y}.0/24 is already allocated.", details={"cidr": f"10.{x}.{y}.0/24"})
    if slot in reserved:
        raise exceptions.AddressReserved(
            f"10.{x}.{y}.0/24 is held by reservation {reserved[slot]}.",
            details={"cidr": f"10.{x}.{y}.0/24", "reservation_id": str(reserved[slot])},
        )


def cursor_take(cursor: AllocationCursor, x: int, y: int) -> None:
    cursor.bitmap = bitmaps.to_bytes(bitmaps.from_bytes(cursor.bitmap) | 1 << region_slot(x, y))
    cursor.region_count += 1
    cursor.save(update_fields=["bitmap", "region_count"])


def cursor_free(cursor: AllocationCursor, x: int, y: int) -> None:
    cursor.bitmap = bitmaps.to_bytes(bitmaps.from_bytes(cursor.bitmap) & ~(1 << region_slot(x, y)))
    cursor.region_count = max(0, cursor.region_count - 1)
    cursor.save(update_fields=["bitmap", "region_count"])


def check_host_slot_free(region: Region, z: int, reserved: dict[int, Any]) -> None:
    ip = f"10.{region.x_octet}.{region.y_octet}.{z}"
    if not Z_FIRST <= z <= Z_LAST:
        raise exceptions.ValidationFailed(details={"z_octet": ["Must be between 1 and 254."]})
    if bitmaps.from_bytes(region.host_bitmap) >> z & 1:
        raise exceptions.AddressInUse(f"{ip} is already allocated.", details={"ip_address": ip})
    if z in reserved:
        raise exceptions.AddressReserved(
            f"{ip} is held by reservation {reserved[z]}.", details={"ip_address": ip, "reservation_id": str(reserved[z])}
        )


def region_take_hosts(region: Region, zs: list[int]) -> None:
    region.host_bitmap = bitmaps.to_bytes(bitmaps.from_bytes(region.host_bitmap) | bitmaps.mask_of(zs))
    region.allocated_hosts += len(zs)


def region_free_hosts(region: Region, zs: list[int]) -> None:
    region.host_bitmap = bitmaps.to_bytes(bitmaps.from_bytes(region.host_bitmap) & ~bitmaps.mask_of(zs))
    region.allocated_hosts = max(0, region.allocated_hosts - len(zs))


@contextmanager
def measured(resource: str) -> Iterator[None]:
    """Count the attempt by result and time it (Prometheus)."""
    started = time.perf_counter()
    result = "success"
    try:
        yield
    except exceptions.ServiceError as exc:
        result = exc.code
        raise
    except Exception:
        result = "error"
        raise
    finally:
        metrics.ALLOCATIONS.labels(resource=resource, result=result).inc()
        metrics.ALLOCATION_LATENCY.labels(resource=resource).observe(time.perf_counter() - started)
