"""Import regions and hosts from CSV or JSON (the layouts `ipam.services.exports` writes, or hand-made).

The file's records are never all in memory (a background import's memory does not grow with the file): the
upload is read again for each pass (`ImportSource`), and each record is dropped once handled.

1. Validate the whole file first (`import_check`, two streaming passes): bad encoding, bad CSV/JSON, unknown
   columns, malformed addresses, names or fields → `ValidationFailed` (400) listing the problems (the first
   MAX_REPORTED_ERRORS, all counted) with their line and field.
2. Then, in one transaction: the region rows (one savepoint each, through `region_allocate`, at the file's
   address in manual mode); the regions the host rows go to, locked in sorted order; the host rows in chunks
   of CHUNK_ROWS, grouped by region in a chunk (one savepoint, one hostname check, one insert, one audit
   insert per group); then non-active statuses. Each row that cannot be imported gets the error the API
   would give (409 conflicts, 404, 429 quota).
3. Preview rolls everything back (a dry run: the results show what would happen). Without `force` any
   failed row rolls everything back and raises `ImportFailed`; with `force` the successful rows commit.

Hosts are batched per region rather than created one `host_allocate` call each: a 100,000-row file is
a few thousand queries instead of over a million. The batch applies the same rules as `host_allocate`
(active region, unique hostname, free and unreserved address, lowest free Z in auto mode, quota in the
same transaction) and writes the same audit rows and events.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
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
from ipam.services.imports.cleaning import ImportSource, cleaned_records, import_check
from ipam.services.imports.parsing import MAX_REPORTED_ERRORS, MODES, PLACEMENTS, Record
from ipam.services.imports.resolving import FileRegions, RegionIndex, RegionRef, region_for_host
from ipam.services.quotas import quota_get
from ipam.services.regions import region_allocate, region_update
from webhooks.models import Webhook

CHUNK_ROWS = 2000  # host rows written per chunk of the writing pass


class _Results:
    """The outcome of every row, counted; kept per row only when `keep_all` (the synchronous answer lists every
    row), otherwise only the first MAX_REPORTED_ERRORS failed rows in file order (a background job)."""

    def __init__(self, keep_all: bool) -> None:
        self.keep_all = keep_all
        self.rows: dict[int, dict[str, Any]] = {}
        self.failed_rows: list[tuple[int, int, dict[str, Any]]] = []  # a max-heap on the line: the lowest lines stay
        self.total = 0
        self.created = {"regions": 0, "hosts": 0}
        self.failed = 0
        self.quota_failed = 0

    def add(self, record: Record, outcome: dict[str, Any]) -> None:
        self.total += 1
        item = {"line": record.line, **({"path": record.path} if record.path else {}), "resource_type": record.kind, **outcome}
        if outcome["status"] == "created":
            self.created["regions" if record.kind == "region" else "hosts"] += 1
        else:
            self.failed += 1
            self.quota_failed += outcome.get("error") == "quota_exceeded"
        if self.keep_all:
            self.rows[record.line] = item
        elif outcome["status"] == "failed":
            heapq.heappush(self.failed_rows, (-record.line, self.failed, item))
            if len(self.failed_rows) > MAX_REPORTED_ERRORS:
                heapq.heappop(self.failed_rows)

    def listed(self, created_as: str) -> list[dict[str, Any]]:
        if not self.keep_all:
            return [item for _, _, item in sorted(self.failed_rows, key=lambda entry: -entry[0])]
        items = [self.rows[line] for line in sorted(self.rows)]
        return [{**item, "status": created_as} if item["status"] == "created" else item for item in items]


def _failure(exc: exceptions.ServiceError) -> dict[str, Any]:
    return {"status": "failed", "error": exc.code, "message": exc.message}


class _Run:
    """One import inside its transaction: the passes over the file after `import_check` accepted it."""

    def __init__(self, actor: Actor, performed_by: Any, source: ImportSource, placement: str, countries: Any, results: _Results) -> None:
        self.actor = actor
        self.performed_by = performed_by
        self.source = source
        self.placement = placement
        self.countries = countries
        self.results = results
        self.index = RegionIndex(actor)
        self.file_regions = FileRegions()
        self.statuses: list[tuple[Record, RegionRef, dict[str, Any]]] = []  # regions to set reserved/retired
        self.country_by_id = {c.pk: c for c in Country.objects.all()}

    def records(self, kind: str, *, located_only: bool = False) -> Iterator[Record]:
        return cleaned_records(self.source, self.placement, self.countries, kind, located_only=located_only)

    def regions(self) -> int:
        """First pass: every region row, in file order (one savepoint each, through `region_allocate`)."""
        count = 0
        for record in self.records("region"):
            count += 1
            assert record.country is not None
            try:
                with transaction.atomic():
                    region = region_allocate(
                        actor=self.actor,
                        country=record.country,
                        region_name=record.region_name,
                        description=record.values["description"],
                        tags=record.values["tags"],
                        owner=record.values["owner"],
                        at=record.xy if self.placement == "manual" else None,
                        performed_by=self.performed_by,
                    )
            except exceptions.ServiceError as exc:
                self.file_regions.add(record, None)
                self.results.add(record, _failure(exc))
                continue
            ref = RegionRef(region.pk, region.region_name, region.x_octet, region.y_octet, region.country_id)
            self.index.add(ref)
            self.file_regions.add(record, ref)
            outcome = {"status": "created", "region_id": str(region.id), "cidr": region.cidr, "name": region.region_name}
            if record.status != RegionStatus.ACTIVE:
                self.statuses.append((record, ref, outcome))  # counted once its status is set
            else:
                self.results.add(record, outcome)
        return count

    def lock_host_regions(self) -> None:
        """Second pass: the regions the host rows go to, locked in one fixed order (their ids as text, the order
        every import takes them in) before any host is written, so that two imports writing chunk by chunk
        cannot wait on each other's regions in opposite orders. Keeps only the set of region ids."""
        region_ids: set[Any] = set()
        for record in self.records("host", located_only=True):
            try:
                region_ids.add(region_for_host(record, self.placement, self.index, self.file_regions).pk)
            except exceptions.ServiceError:
                continue  # reported by the writing pass
        for region_id in sorted(region_ids, key=str):
            try:
                allocation.lock_region(self.actor, region_id)
            except exceptions.ServiceError:
                continue  # gone meanwhile: its rows fail in the writing pass

    def hosts(self, written: int, report: Callable[[str, int], None]) -> None:
        """Third pass: the host rows in chunks of CHUNK_ROWS, each chunk grouped by region (one savepoint, one
        hostname check, one insert per group). The regions are locked already; each group re-reads its region
        (bitmap, status) under that lock, so a later chunk sees what the earlier ones wrote."""
        publish: bool | None = None
        chunk: list[Record] = []
        for record in self.records("host"):
            chunk.append(record)
            if len(chunk) >= CHUNK_ROWS:
                publish = self._write_chunk(chunk, publish)
                written += len(chunk)
                report("writing", written)
                chunk = []
        if chunk:
            self._write_chunk(chunk, publish)
            written += len(chunk)
            report("writing", written)

    def _write_chunk(self, records: list[Record], publish: bool | None) -> bool | None:
        groups: dict[Any, list[Record]] = {}
        for record in records:
            try:
                region = region_for_host(record, self.placement, self.index, self.file_regions)
            except exceptions.ServiceError as exc:
                self.results.add(record, _failure(exc))
                continue
            groups.setdefault(region.pk, []).append(record)
        if groups and publish is None:
            publish = _publishes(self.actor, "host.allocated")
        for region_id in sorted(groups, key=str):  # the lock order
            self._host_group(region_id, groups[region_id], publish=bool(publish))
        return publish

    def _host_group(self, region_id: Any, records: list[Record], *, publish: bool) -> None:
        """Create the hosts of one region, checking each row as `host_allocate` would; one savepoint."""
        outcomes: dict[int, dict[str, Any]] = {}
        try:
            with allocation.measured("host_import"), transaction.atomic():
                region = allocation.lock_region(self.actor, region_id)  # held since `lock_host_regions`: re-read
                if region.status != RegionStatus.ACTIVE:
                    raise exceptions.RegionNotActive(details={"region_id": str(region.id), "status": region.status})
                names = [r.hostname for r in records]
                taken_names = set(Host.objects.filter(region=region, hostname__in=names).values_list("hostname", flat=True))
                reserved = occupancy.reserved_host_slots(self.actor, region.x_octet, region.y_octet)
                occupied = bitmaps.from_bytes(region.host_bitmap)
                accepted: list[Record] = []
                for record in records:
                    if record.hostname in taken_names:
                        message = f"Hostname {record.hostname!r} is already used in region {region.region_name!r}."
                        outcomes[id(record)] = _failure(exceptions.DuplicateHostname(message))
                        continue
                    if self.placement == "manual":
                        z = record.z or 0
                        ip = f"10.{region.x_octet}.{region.y_octet}.{z}"
                        if occupied >> z & 1:
                            outcomes[id(record)] = _failure(exceptions.AddressInUse(f"{ip} is already allocated."))
                            continue
                        if z in reserved:
                            outcomes[id(record)] = _failure(exceptions.AddressReserved(f"{ip} is held by reservation {reserved[z]}."))
                            continue
                        occupied |= 1 << z
                    taken_names.add(record.hostname)
                    accepted.append(record)
                if self.placement != "manual":
                    slots = bitmaps.lowest_free_n(
                        occupied | bitmaps.mask_of(reserved), allocation.Z_FIRST, allocation.Z_LAST + 1, len(accepted)
                    )
                    for record in accepted[len(slots) :]:
                        outcomes[id(record)] = _failure(
                            exceptions.RegionFull(f"Region {region.region_name!r} ({region.cidr}) has no free address.")
                        )
                    accepted = accepted[: len(slots)]
                    for record, z in zip(accepted, slots, strict=True):
                        record.z = z
                quota = quota_get(user=self.actor)
                room = max(0, quota.effective_host_limit - quota.hosts_used)
                for record in accepted[room:]:
                    outcomes[id(record)] = _failure(
                        exceptions.QuotaExceeded(quota_type="hosts", limit=quota.effective_host_limit, current=quota.hosts_used)
                    )
                accepted = accepted[:room]
                if accepted:
                    outcomes.update(self._create_hosts(region, accepted, publish=publish))
        except exceptions.ServiceError as exc:  # the whole group: region not found/active, or a quota race
            outcomes = {key: outcome for key, outcome in outcomes.items() if outcome["status"] == "failed"}
            for record in records:
                outcomes.setdefault(id(record), _failure(exc))
        for record in records:
            self.results.add(record, outcomes[id(record)])

    def _create_hosts(self, region: Region, records: list[Record], *, publish: bool) -> dict[int, dict[str, Any]]:
        hosts = [host_row(self.actor, region, record.z or 0, record.hostname, status=record.status, **record.values) for record in records]
        if self.performed_by is not None:
            for host in hosts:
                host.created_by = host.updated_by = self.performed_by.get_username()
        country = self.country_by_id[region.country_id]
        hosts_insert(
            actor=self.actor,
            region=region,
            hosts=hosts,
            country_code=country.code,
            reason="import",
            publish=publish,
            performed_by=self.performed_by,
        )
        return {
            id(record): {
                "status": "created",
                "host_id": str(host.id),
                "ip_address": host.ip_address,
                "name": host.hostname,
                "region_id": str(region.id),
            }
            for record, host in zip(records, hosts, strict=True)
        }

    def region_statuses(self) -> None:
        """Regions imported as reserved/retired: set after their hosts are in (only active regions take hosts)."""
        for record, ref, outcome in self.statuses:
            try:
                with transaction.atomic():
                    region_update(actor=self.actor, region_id=ref.pk, data={"status": record.status}, performed_by=self.performed_by)
            except exceptions.ServiceError as exc:
                outcome = _failure(exc)
            self.results.add(record, outcome)
        self.statuses = []


def _publishes(actor: Actor, event_type: str) -> bool:
    """Whether `event_publish` would record anything for `actor`. It costs a query per call, so an import
    asks once instead of once per host (a webhook created while the import runs misses its events)."""
    if not settings.IPAM_ENABLE_WEBHOOKS:
        return False
    subscriptions = Webhook.objects.filter(user=actor, is_active=True).values_list("events", flat=True)
    return any(event_type in (events or []) for events in subscriptions)


def import_run(
    *,
    actor: Actor,
    content: Any,
    format: str,
    mode: str,
    force: bool = False,
    placement: str = "",
    progress: Callable[[str, int], None] | None = None,
    performed_by: Any = None,
    all_results: bool = True,
) -> dict[str, Any]:
    """Import (or, with mode=preview, dry-run) a file for `actor`. See the module docstring. `progress(phase,
    count)`: rows read while validating, rows written while writing (background imports). `performed_by`: a
    staff user importing into the actor's namespace (the admin), recorded as the audit actor. `all_results`:
    list every row's outcome (the synchronous answer), or only the first MAX_REPORTED_ERRORS failed rows (a
    background job: its memory does not grow with the file)."""
    if mode not in MODES:
        raise exceptions.ValidationFailed(details={"mode": [f"Must be one of {', '.join(MODES)}."]})
    if placement and placement not in PLACEMENTS:
        raise exceptions.ValidationFailed(details={"placement": ["Must be auto or manual."]})
    if mode != "preview":
        placement = mode
    report = progress or (lambda phase, count: None)
    source = ImportSource(content, format)
    placement, countries = import_check(source=source, placement=placement, progress=lambda rows: report("parsing", rows))
    dry_run = mode == "preview"
    results = _Results(keep_all=all_results)
    head = {"mode": mode, "format": format, "force": force, "placement": placement, "dry_run": dry_run}
    with transaction.atomic():
        run = _Run(actor, performed_by, source, placement, countries, results)
        written = run.regions()
        run.lock_host_regions()
        report("writing", written)
        run.hosts(written, report)
        run.region_statuses()
        if dry_run:
            transaction.set_rollback(True)
            return _summary(results, head, created_as="would_create")
        if results.failed and not force:
            summary = _summary(results, head, created_as="rolled_back")
            summary["created"] = {"regions": 0, "hosts": 0}
            message = (
                f"{results.failed} of {results.total} rows could not be imported; nothing was imported (use force=true to import the rest)."
            )
            if results.quota_failed == results.failed:
                raise exceptions.ImportQuotaExceeded(message, details=summary)
            raise exceptions.ImportFailed(message, details=summary)
        summary = _summary(results, head, created_as="created")
        if summary["created"]["regions"] or summary["created"]["hosts"]:
            audit_record(
                actor=performed_by or actor,
                user_id=actor.pk,
                action_type="import",
                resource_type="import",
                snapshot={k: summary[k] for k in ("mode", "format", "force", "placement", "total_rows", "created", "failed")},
            )
    return summary


def _summary(results: _Results, head: dict[str, Any], *, created_as: str) -> dict[str, Any]:
    return {
        **head,
        "total_rows": results.total,
        "created": dict(results.created),
        "failed": results.failed,
        "results": results.listed(created_as),
    }
