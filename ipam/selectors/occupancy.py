"""Occupancy reads: which /24s and host addresses are taken or held, and the first free ones.

Occupied = the bitmaps kept by allocation (cursor row: one bit per X*256+Y of a country; region row: one
bit per Z) OR'ed with the user's active reservations. These functions only read: the allocation services
call them *after* locking the cursor or region row, so what they return decides the allocation; other
callers (interpretation, "next available") get an answer that may change a moment later.
"""

from __future__ import annotations

from typing import Any

from ipam import bitmaps
from ipam.models import AllocationCursor, Country, Region, Reservation

Z_FIRST, Z_LAST = 1, 254


def region_slot(x: int, y: int) -> int:
    return x * 256 + y


def _active_reservations(user: Any, resource_type: str) -> Any:
    return Reservation.objects.active().filter(user=user, resource_type=resource_type)


def reserved_region_slots(user: Any, country: Country, *, exclude_id: Any = None) -> dict[int, Any]:
    """Slot → reservation id of the user's active region reservations in the country."""
    rows = _active_reservations(user, Reservation.ResourceType.REGION).filter(x_octet__gte=country.x_start, x_octet__lte=country.x_end)
    if exclude_id:
        rows = rows.exclude(id=exclude_id)
    return {region_slot(x, y): rid for rid, x, y in rows.values_list("id", "x_octet", "y_octet")}


def reserved_host_slots(user: Any, x: int, y: int, *, exclude_id: Any = None) -> dict[int, Any]:
    """Z → reservation id of the user's active host reservations in 10.x.y.0/24."""
    rows = _active_reservations(user, Reservation.ResourceType.HOST).filter(x_octet=x, y_octet=y)
    if exclude_id:
        rows = rows.exclude(id=exclude_id)
    return {z: rid for rid, z in rows.values_list("id", "z_octet")}


def next_region_slot(cursor: AllocationCursor, country: Country, reserved: dict[int, Any]) -> tuple[int, int] | None:
    occupied = bitmaps.from_bytes(cursor.bitmap) | bitmaps.mask_of(reserved)
    slot = bitmaps.lowest_free(occupied, region_slot(country.x_start, 0), region_slot(country.x_end, 255) + 1)
    return None if slot is None else divmod(slot, 256)


def next_host_slots(region: Region, reserved: dict[int, Any], count: int) -> list[int]:
    occupied = bitmaps.from_bytes(region.host_bitmap) | bitmaps.mask_of(reserved)
    return bitmaps.lowest_free_n(occupied, Z_FIRST, Z_LAST + 1, count)
