"""Import regions and hosts from CSV or JSON (the layouts `ipam.services.exports` writes, or hand-made).

1. Parse and validate the whole file first: bad encoding, bad CSV/JSON, unknown columns, malformed
   addresses, names or fields → `ValidationFailed` (400) listing every problem with its line and field.
2. Then, in one transaction: regions (one savepoint each, through `region_allocate`, at the file's
   address in manual mode), then hosts grouped by region (one savepoint and one region lock per group,
   batched: one hostname check, one insert, one audit insert), then non-active statuses.
   Each row that cannot be imported gets the error the API would give (409 conflicts, 404, 429 quota).
3. Preview rolls everything back (a dry run: the results show what would happen). Without `force` any
   failed row rolls everything back and raises `ImportFailed`; with `force` the successful rows commit.

Hosts are batched per region rather than created one `host_allocate` call each: a 100,000-row file is
a few thousand queries instead of over a million. The batch applies the same rules as `host_allocate`
(active region, unique hostname, free and unreserved address, lowest free Z in auto mode, quota in the
same transaction) and writes the same audit rows and events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from foundation.types import Actor
from ipam import bitmaps, exceptions
from ipam.models import Country, Host, Region, RegionStatus
from ipam.selectors import occupancy
from ipam.services import allocation
from ipam.services.audit import audit_record
from ipam.services.hosts import host_row, hosts_insert
from ipam.services.imports.cleaning import import_parse
from ipam.services.imports.parsing import MODES, PLACEMENTS, Record
from ipam.services.quotas import quota_get
from ipam.services.regions import region_allocate, region_update
from webhooks.models import Webhook


# --- Running ---------------------------------------------------------------------------------------------
def _fail(record: Record, exc: exceptions.ServiceError) -> None:
    record.result = {"status": "failed", "error": exc.code, "message": exc.message}


def _ok(record: Record, **fields: Any) -> None:
    record.result = {"status": "created", **fields}


class _RegionIndex:
    """The caller's regions by address and by name, existing ones plus those the file creates."""

    def __init__(self, user: Any) -> None:
        self.by_xy: dict[tuple[int, int], Region] = {}
        self.by_name: dict[tuple[int, str], Region] = {}
        self.by_plain_name: dict[str, list[Region]] = {}
        for region in Region.objects.filter(user=user).only("id", "x_octet", "y_octet", "region_name", "country_id", "status"):
            self.add(region)

    def add(self, region: Region) -> None:
        self.by_xy[(region.x_octet, region.y_octet)] = region
        self.by_name[(region.country_id, region.region_name.lower())] = region
        self.by_plain_name.setdefault(region.region_name.lower(), []).append(region)


def _region_for_host(record: Record, placement: str, index: _RegionIndex, file_regions: dict[Any, Record]) -> Region:
    """The region a host row goes to (raises the per-row error otherwise)."""

    def from_file(key: Any) -> Region | None:
        source = file_regions.get(key)
        if source is None:
            return None
        if source.region is None:
            raise exceptions.Conflict(
                f"Its region (line {source.line}) was not imported.", code="region_not_imported", details={"region_line": source.line}
            )
        return source.region

    region: Region | None = None
    if placement == "manual":
        assert record.xy is not None
        region = from_file(("xy", record.xy)) or index.by_xy.get(record.xy)
        if region is None:
            raise exceptions.NotFound(f"You have no region 10.{record.x}.{record.y}.0/24.", code="region_not_found")
        if record.region_name and record.region_name.lower() != region.region_name.lower():
            raise exceptions.Conflict(
                f"10.{record.x}.{record.y}.0/24 is region {region.region_name!r}, not {record.region_name!r}.", code="region_mismatch"
            )
        return region
    if record.parent is not None:
        region = from_file(("record", id(record.parent)))
        if region is not None:
            return region
    if record.region_name:
        name = record.region_name.lower()
        if record.country is not None:
            region = from_file(("name", record.country.pk, name)) or index.by_name.get((record.country.pk, name))
        else:
            candidates = index.by_plain_name.get(name, [])
            if len(candidates) > 1:
                raise exceptions.Conflict(f"Several regions are named {record.region_name!r}; add the country.", code="ambiguous_region")
            region = from_file(("plain", name)) or (candidates[0] if candidates else None)
        if region is None:
            raise exceptions.NotFound(f"You have no region named {record.region_name!r}.", code="region_not_found")
        return region
    assert record.xy is not None
    region = from_file(("xy", record.xy)) or index.by_xy.get(record.xy)
    if region is None:
        raise exceptions.NotFound(f"You have no region 10.{record.x}.{record.y}.0/24.", code="region_not_found")
    return region


def _import_regions(actor: Actor, records: list[Record], placement: str, index: _RegionIndex, file_regions: dict[Any, Record]) -> None:
    for record in records:
        assert record.country is not None
        file_regions[("record", id(record))] = record
        if record.xy is not None:
            file_regions.setdefault(("xy", record.xy), record)
        file_regions.setdefault(("name", record.country.pk, record.region_name.lower()), record)
        file_regions.setdefault(("plain", record.region_name.lower()), record)
        try:
            with transaction.atomic():
                region = region_allocate(
                    actor=actor,
                    country=record.country,
                    region_name=record.region_name,
                    description=record.values["description"],
                    tags=record.values["tags"],
                    owner=record.values["owner"],
                    at=record.xy if placement == "manual" else None,
                )
        except exceptions.ServiceError as exc:
            _fail(record, exc)
            continue
        record.region = region
        index.add(region)
        _ok(record, region_id=str(region.id), cidr=region.cidr, name=region.region_name)


def _import_host_group(
    actor: Actor, region_id: Any, records: list[Record], placement: str, countries: dict[int, Country], *, publish: bool
) -> None:
    """Create the hosts of one region, checking each row as `host_allocate` would; one savepoint."""
    try:
        with allocation.measured("host_import"), transaction.atomic():
            region = allocation.lock_region(actor, region_id)  # serialises allocation in this region
            if region.status != RegionStatus.ACTIVE:
                raise exceptions.RegionNotActive(details={"region_id": str(region.id), "status": region.status})
            names = [r.hostname for r in records]
            taken_names = set(Host.objects.filter(region=region, hostname__in=names).values_list("hostname", flat=True))
            reserved = occupancy.reserved_host_slots(actor, region.x_octet, region.y_octet)
            occupied = bitmaps.from_bytes(region.host_bitmap)
            accepted: list[Record] = []
            for record in records:
                if record.hostname in taken_names:
                    _fail(
                        record,
                        exceptions.DuplicateHostname(f"Hostname {record.hostname!r} is already used in region {region.region_name!r}."),
                    )
                    continue
                if placement == "manual":
                    z = record.z or 0
                    ip = f"10.{region.x_octet}.{region.y_octet}.{z}"
                    if occupied >> z & 1:
                        _fail(record, exceptions.AddressInUse(f"{ip} is already allocated."))
                        continue
                    if z in reserved:
                        _fail(record, exceptions.AddressReserved(f"{ip} is held by reservation {reserved[z]}."))
                        continue
                    occupied |= 1 << z
                taken_names.add(record.hostname)
                accepted.append(record)
            if placement != "manual":
                slots = bitmaps.lowest_free_n(
                    occupied | bitmaps.mask_of(reserved), allocation.Z_FIRST, allocation.Z_LAST + 1, len(accepted)
                )
                for record in accepted[len(slots) :]:
                    _fail(record, exceptions.RegionFull(f"Region {region.region_name!r} ({region.cidr}) has no free address."))
                accepted = accepted[: len(slots)]
                for record, z in zip(accepted, slots, strict=True):
                    record.z = z
            quota = quota_get(user=actor)
            room = max(0, quota.effective_host_limit - quota.hosts_used)
            for record in accepted[room:]:
                _fail(record, exceptions.QuotaExceeded(quota_type="hosts", limit=quota.effective_host_limit, current=quota.hosts_used))
            accepted = accepted[:room]
            if accepted:
                _create_hosts(actor, region, accepted, countries[region.country_id], publish=publish)
    except exceptions.ServiceError as exc:  # the whole group: region not found/active, or a quota race
        for record in records:
            if record.result.get("status") != "failed":
                _fail(record, exc)


def _publishes(actor: Actor, event_type: str) -> bool:
    """Whether `event_publish` would record anything for `actor`. It costs a query per call, so an import
    asks once instead of once per host (a webhook created while the import runs misses its events)."""
    if not settings.IPAM_ENABLE_WEBHOOKS:
        return False
    subscriptions = Webhook.objects.filter(user=actor, is_active=True).values_list("events", flat=True)
    return any(event_type in (events or []) for events in subscriptions)


def _create_hosts(actor: Actor, region: Region, records: list[Record], country: Country, *, publish: bool) -> None:
    hosts = [host_row(actor, region, record.z or 0, record.hostname, status=record.status, **record.values) for record in records]
    hosts_insert(actor=actor, region=region, hosts=hosts, country_code=country.code, reason="import", publish=publish)
    for record, host in zip(records, hosts, strict=True):
        _ok(record, host_id=str(host.id), ip_address=host.ip_address, name=host.hostname, region_id=str(region.id))


def _apply_region_statuses(actor: Actor, records: list[Record]) -> None:
    """Regions imported as reserved/retired: set after their hosts are in (only active regions take hosts)."""
    for record in records:
        if record.region is not None and record.status != RegionStatus.ACTIVE:
            try:
                with transaction.atomic():
                    region_update(actor=actor, region_id=record.region.pk, data={"status": record.status})
            except exceptions.ServiceError as exc:
                _fail(record, exc)


def import_run(
    *,
    actor: Actor,
    content: Any,
    format: str,
    mode: str,
    force: bool = False,
    placement: str = "",
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Import (or, with mode=preview, dry-run) a file for `actor`. See the module docstring. `progress(phase,
    count)`: rows read while parsing, rows written per region group while writing (background imports)."""
    if mode not in MODES:
        raise exceptions.ValidationFailed(details={"mode": [f"Must be one of {', '.join(MODES)}."]})
    if placement and placement not in PLACEMENTS:
        raise exceptions.ValidationFailed(details={"placement": ["Must be auto or manual."]})
    if mode != "preview":
        placement = mode
    report = progress or (lambda phase, count: None)
    records, placement = import_parse(content=content, format=format, placement=placement, progress=lambda rows: report("parsing", rows))
    dry_run = mode == "preview"
    region_records = [r for r in records if r.kind == "region"]
    host_records = [r for r in records if r.kind == "host"]
    countries = {c.pk: c for c in Country.objects.all()}
    with transaction.atomic():
        index = _RegionIndex(actor)
        file_regions: dict[Any, Record] = {}
        _import_regions(actor, region_records, placement, index, file_regions)
        groups: dict[Any, list[Record]] = {}
        for record in host_records:
            try:
                region = _region_for_host(record, placement, index, file_regions)
            except exceptions.ServiceError as exc:
                _fail(record, exc)
                continue
            groups.setdefault(region.pk, []).append(record)
        publish = bool(groups) and _publishes(actor, "host.allocated")
        report("writing", len(region_records))
        written = len(region_records)
        for region_id in sorted(groups, key=str):  # a fixed lock order
            _import_host_group(actor, region_id, groups[region_id], placement, countries, publish=publish)
            written += len(groups[region_id])
            report("writing", written)
        _apply_region_statuses(actor, region_records)
        failed = [r for r in records if r.result.get("status") == "failed"]
        summary = _summary(records, mode=mode, format=format, force=force, placement=placement, dry_run=dry_run)
        if dry_run:
            transaction.set_rollback(True)
        elif failed and not force:
            for record in records:
                if record.result.get("status") == "created":
                    record.result["status"] = "rolled_back"
            summary = _summary(records, mode=mode, format=format, force=force, placement=placement, dry_run=False)
            summary["created"] = {"regions": 0, "hosts": 0}
            message = (
                f"{len(failed)} of {len(records)} rows could not be imported; nothing was imported (use force=true to import the rest)."
            )
            if all(r.result.get("error") == "quota_exceeded" for r in failed):
                raise exceptions.ImportQuotaExceeded(message, details=summary)
            raise exceptions.ImportFailed(message, details=summary)
        elif summary["created"]["regions"] or summary["created"]["hosts"]:
            audit_record(
                actor=actor,
                user_id=actor.pk,
                action_type="import",
                resource_type="import",
                snapshot={k: summary[k] for k in ("mode", "format", "force", "placement", "total_rows", "created", "failed")},
            )
    return summary


def _summary(records: list[Record], **head: Any) -> dict[str, Any]:
    results = []
    created = {"regions": 0, "hosts": 0}
    failed = 0
    for record in records:
        outcome = dict(record.result)
        if outcome.get("status") == "created":
            created["regions" if record.kind == "region" else "hosts"] += 1
            if head["dry_run"]:
                outcome["status"] = "would_create"
        elif outcome.get("status") == "failed":
            failed += 1
        item = {"line": record.line, **({"path": record.path} if record.path else {}), "resource_type": record.kind, **outcome}
        results.append(item)
    return {**head, "total_rows": len(records), "created": created, "failed": failed, "results": results}
