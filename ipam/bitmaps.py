"""Occupancy bitmaps stored as little-endian bytes; bit i set = slot i taken.

Region rows keep one bit per Z (0..255); allocation cursors keep one bit per X*256+Y. Finding the
lowest free slot is a few big-integer operations on at most 8 KB, whatever the fill.
"""

from __future__ import annotations

from collections.abc import Iterable


def from_bytes(data: bytes | memoryview | None) -> int:
    if not data:
        return 0
    return int.from_bytes(bytes(data), "little")


def to_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "little") if value else b""


def mask_of(indexes: Iterable[int]) -> int:
    mask = 0
    for index in indexes:
        mask |= 1 << index
    return mask


def lowest_free(occupied: int, start: int, stop: int) -> int | None:
    """Lowest clear bit in [start, stop), or None when all are set."""
    candidate = occupied | ((1 << start) - 1)
    free = ~candidate & (candidate + 1)  # isolates the lowest clear bit
    index = free.bit_length() - 1
    return index if index < stop else None


def lowest_free_n(occupied: int, start: int, stop: int, count: int) -> list[int]:
    """The `count` lowest clear bits in [start, stop) (fewer when there is not enough room)."""
    found: list[int] = []
    current = occupied
    while len(found) < count:
        index = lowest_free(current, start, stop)
        if index is None:
            break
        found.append(index)
        current |= 1 << index
    return found


def count_in_range(value: int, start: int, stop: int) -> int:
    """Set bits in [start, stop)."""
    return ((value >> start) & ((1 << (stop - start)) - 1)).bit_count()
