"""Which region a host row of an import goes to: the caller's regions and the file's region rows, kept as small
tuples (bounded by the address space, not by the file)."""

from __future__ import annotations

from typing import Any, NamedTuple

from ipam import exceptions
from ipam.models import Region
from ipam.services.imports.parsing import Record


class RegionRef(NamedTuple):
    """What the writing passes keep of a region: bounded by the address space, not by the file."""

    pk: Any
    region_name: str
    x: int
    y: int
    country_id: int


class RegionIndex:
    """The caller's regions by address and by name, existing ones plus those the file creates."""

    def __init__(self, user: Any) -> None:
        self.by_xy: dict[tuple[int, int], RegionRef] = {}
        self.by_name: dict[tuple[int, str], RegionRef] = {}
        self.by_plain_name: dict[str, list[RegionRef]] = {}
        rows = Region.objects.filter(user=user).values_list("id", "region_name", "x_octet", "y_octet", "country_id")
        for row in rows.iterator(chunk_size=2000):
            self.add(RegionRef(*row))

    def add(self, region: RegionRef) -> None:
        self.by_xy[(region.x, region.y)] = region
        self.by_name[(region.country_id, region.region_name.lower())] = region
        self.by_plain_name.setdefault(region.region_name.lower(), []).append(region)


class FileRegions:
    """The region rows of the file by the keys a host row can use: (line, region or None when it failed).
    Only the first region row per key is kept, as before."""

    def __init__(self) -> None:
        self.by_key: dict[Any, tuple[int, RegionRef | None]] = {}

    def add(self, record: Record, region: RegionRef | None) -> None:
        assert record.country is not None
        entry = (record.line, region)
        self.by_key[("record", record.line)] = entry
        if record.xy is not None:
            self.by_key.setdefault(("xy", record.xy), entry)
        self.by_key.setdefault(("name", record.country.pk, record.region_name.lower()), entry)
        self.by_key.setdefault(("plain", record.region_name.lower()), entry)

    def get(self, key: Any) -> RegionRef | None:
        entry = self.by_key.get(key)
        if entry is None:
            return None
        line, region = entry
        if region is None:
            raise exceptions.Conflict(
                f"Its region (line {line}) was not imported.", code="region_not_imported", details={"region_line": line}
            )
        return region


def region_for_host(record: Record, placement: str, index: RegionIndex, file_regions: FileRegions) -> RegionRef:
    """The region a host row goes to (raises the per-row error otherwise)."""
    region: RegionRef | None = None
    if placement == "manual":
        assert record.xy is not None
        region = file_regions.get(("xy", record.xy)) or index.by_xy.get(record.xy)
        if region is None:
            raise exceptions.NotFound(f"You have no region 10.{record.x}.{record.y}.0/24.", code="region_not_found")
        if record.region_name and record.region_name.lower() != region.region_name.lower():
            raise exceptions.Conflict(
                f"10.{record.x}.{record.y}.0/24 is region {region.region_name!r}, not {record.region_name!r}.", code="region_mismatch"
            )
        return region
    if record.parent is not None:
        region = file_regions.get(("record", record.parent.line))
        if region is not None:
            return region
    if record.region_name:
        name = record.region_name.lower()
        if record.country is not None:
            region = file_regions.get(("name", record.country.pk, name)) or index.by_name.get((record.country.pk, name))
        else:
            candidates = index.by_plain_name.get(name, [])
            if len(candidates) > 1:
                raise exceptions.Conflict(f"Several regions are named {record.region_name!r}; add the country.", code="ambiguous_region")
            region = file_regions.get(("plain", name)) or (candidates[0] if candidates else None)
        if region is None:
            raise exceptions.NotFound(f"You have no region named {record.region_name!r}.", code="region_not_found")
        return region
    assert record.xy is not None
    region = file_regions.get(("xy", record.xy)) or index.by_xy.get(record.xy)
    if region is None:
        raise exceptions.NotFound(f"You have no region 10.{record.x}.{record.y}.0/24.", code="region_not_found")
    return region
