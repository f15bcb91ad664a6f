"""Host writes: allocate (one or a batch), update, retire. One transaction each, audited, evented."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import router, transaction

from foundation.types import Actor
from ipam import exceptions
from ipam.models import AuditLog, Comment, DeviceType, Host, HostStatus, Region, RegionStatus, ip_to_int
from ipam.selectors import occupancy
from ipam.services import allocation, capacity, hostlock, hostwrites
from ipam.services.audit import audit_save_many, audit_saved, diff, host_audit
from ipam.services.quotas import quota_consume, quota_consume_rest, quota_release
from ipam.snapshots import host_snapshot
from ipam.validation import clean_hostname, clean_reason, clean_tags
from webhooks.services import event_publish

HOST_METADATA_LIMITS = {"os_type": 100, "application": 200, "cost_center": 100, "purpose": 500, "notes": 2000}
HOST_UPDATABLE = ("hostname", "device_type", "status", "tags", *HOST_METADATA_LIMITS)
BATCH_MAX = 100


def clean_host_metadata(data: dict[str, Any]) -> dict[str, Any]:
    """Validate the optional metadata fields present in `data` (device_type, lengths, tags)."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if "device_type" in data:
        value = data["device_type"]
        if value in (None, ""):
            cleaned["device_type"] = ""
        elif value not in DeviceType.values:
            errors["device_type"] = [f"Must be one of {', '.join(DeviceType.values)}."]
        else:
            cleaned["device_type"] = value
    for key, limit in HOST_METADATA_LIMITS.items():
        if key in data:
            value = data[key]
            if value is None:
                cleaned[key] = ""
            elif not isinstance(value, str):
                errors[key] = ["Must be a string."]
            elif len(value) > limit:
                errors[key] = [f"At most {limit} characters."]
            else:
                cleaned[key] = value
    if errors:
        raise exceptions.ValidationFailed(details=errors)
    if "tags" in data:
        cleaned["tags"] = clean_tags(data["tags"])
    return cleaned


def _lock_for_new_hosts(
    actor: Actor, region_id: Any, names: list[str], *, exclude_reservation: Any = None
) -> tuple[Region, dict[int, Any]]:
    """Lock the active region that receives hosts named `names`: (region, Z → id of active host reservations).

    One statement in the common case (no name taken, no reservation in the region): the lock probes both, and
    whether the user has webhooks or rules at all (`ipam.services.hostlock`).
    """
    region = hostlock.lock_region_for_hosts(actor, region_id, names)
    if region.status != RegionStatus.ACTIVE:
        raise exceptions.RegionNotActive(details={"region_id": str(region.id), "status": region.status})
    if getattr(region, "hostname_taken", True):
        _check_hostnames_free(region, names)
    reserved: dict[int, Any] = {}
    if getattr(region, "has_host_reservations", True):
        reserved = occupancy.reserved_host_slots(actor, region.x_octet, region.y_octet, exclude_id=exclude_reservation)
    return region, reserved


def _check_hostnames_free(region: Region, names: list[str]) -> None:
    taken = list(Host.objects.filter(region=region, hostname__in=names).values_list("hostname", flat=True)[:10])
    if taken:
        raise exceptions.DuplicateHostname(
            f"Hostname {taken[0]!r} is already used in region {region.region_name!r}.", details={"hostnames": taken}
        )


def host_row(actor: Actor, region: Region, z: int, hostname: str, **fields: Any) -> Host:
    """An unsaved host at 10.X.Y.z of `region` (denormalised octets and integer address filled in)."""
    return Host(
        user=actor,
        region=region,
        x_octet=region.x_octet,
        y_octet=region.y_octet,
        z_octet=z,
        ip_int=ip_to_int(region.x_octet, region.y_octet, z),
        ip_address=f"10.{region.x_octet}.{region.y_octet}.{z}",
        hostname=hostname,
        created_by=actor.get_username(),
        updated_by=actor.get_username(),
        **fields,
    )


def hosts_insert(
    *,
    actor: Actor,
    region: Region,
    hosts: list[Host],
    country_code: str,
    reason: str = "",
    publish: bool = True,
    performed_by: Any = None,
    stored_tags: bool = False,
) -> list[dict[str, Any]]:
    """Insert prepared rows into a region the caller has locked (in its transaction): bitmap and counter,
    one audit row and one `host.allocated` event per host, the capacity hook, then quota (last, so the
    usage row stays locked only until commit). Returns the hosts' snapshots.

    On PostgreSQL the four writes (hosts, region, audit rows, the quota's common-case UPDATE) are one statement
    (`ipam.services.hostwrites`); SQLite runs them through the ORM. `stored_tags`: afterwards the hosts' `tags`
    are the value the database stored (jsonb orders keys its own way), so they represent as a read-back would.

    `performed_by`: a staff user acting in the actor's namespace (the admin), recorded as the audit actor."""
    if hostwrites.supported(router.db_for_write(Host)):
        return _hosts_insert_one_statement(
            actor=actor,
            region=region,
            hosts=hosts,
            country_code=country_code,
            reason=reason,
            publish=publish,
            performed_by=performed_by,
            stored_tags=stored_tags,
        )
    Host.objects.bulk_create(hosts)
    allocation.region_take_hosts(region, [host.z_octet for host in hosts])
    region.save(update_fields=["host_bitmap", "allocated_hosts", "updated_at"])
    snapshots = [host_snapshot(host) for host in hosts]
    audit_save_many(_create_audits(actor, region, hosts, snapshots, country_code, reason, performed_by))
    _published(actor, region, snapshots, publish)
    if quota_consume(user=actor, hosts=len(hosts)):
        capacity.quota_changed(user=actor)
    return snapshots


def _hosts_insert_one_statement(
    *,
    actor: Actor,
    region: Region,
    hosts: list[Host],
    country_code: str,
    reason: str,
    publish: bool,
    performed_by: Any,
    stored_tags: bool,
) -> list[dict[str, Any]]:
    host_params = hostwrites.prepare_hosts(hosts)  # fills the timestamps the snapshots read
    allocation.region_take_hosts(region, [host.z_octet for host in hosts])
    snapshots = [host_snapshot(host) for host in hosts]
    audits = list(_create_audits(actor, region, hosts, snapshots, country_code, reason, performed_by))
    consumed, tags = hostwrites.write(actor=actor, region=region, host_params=host_params, hosts=len(hosts), audit_rows=audits)
    audit_saved(audits)
    near = not consumed
    if near:  # no quota row yet, or near or at the limit: the quota's slow path (QuotaExceeded rolls back)
        quota_consume_rest(user=actor, quota_type="hosts", amount=len(hosts))
    _published(actor, region, snapshots, publish)
    if near:
        capacity.quota_changed(user=actor)
    if stored_tags:
        for host in hosts:
            host.tags = dict(tags)
    return snapshots


def _create_audits(
    actor: Actor, region: Region, hosts: list[Host], snapshots: list[dict[str, Any]], country_code: str, reason: str, performed_by: Any
) -> Iterator[AuditLog]:
    for host, snap in zip(hosts, snapshots, strict=True):
        yield host_audit(
            actor=performed_by or actor,
            host=host,
            region=region,
            action_type="create",
            country_code=country_code,
            reason=reason,
            snapshot=snap,
        )


def _published(actor: Actor, region: Region, snapshots: list[dict[str, Any]], publish: bool) -> None:
    """One `host.allocated` event per host (when the user has webhooks), then the capacity hook."""
    if publish and getattr(region, "has_webhooks", True):  # known when the lock probed it (hostlock)
        for snap in snapshots:
            event_publish(user=actor, event_type="host.allocated", data=snap)
    capacity.utilization_changed(
        user=actor, country_id=region.country_id, region_id=region.id, rules_exist=getattr(region, "has_rules", None)
    )


def _create_hosts(
    actor: Actor,
    region: Region,
    rows: list[tuple[int, str]],
    metadata: dict[str, Any],
    performed_by: Any = None,
    *,
    stored_tags: bool = False,
) -> list[Host]:
    hosts = [host_row(actor, region, z, name, **metadata) for z, name in rows]
    if performed_by is not None:
        for host in hosts:
            host.created_by = host.updated_by = performed_by.get_username()
    hosts_insert(
        actor=actor, region=region, hosts=hosts, country_code=_country_code(region), performed_by=performed_by, stored_tags=stored_tags
    )
    return hosts


def _country_code(region: Region) -> str:
    """The region's country code: the region locks attach the country (joined, or from the cached country
    table), so no query on the allocation path."""
    return str(region.country.code)


def host_allocate(
    *,
    actor: Actor,
    region_id: Any,
    hostname: str,
    z_octet: int | None = None,
    reservation_id: Any = None,
    performed_by: Any = None,
    **metadata: Any,
) -> Host:
    """Allocate the lowest free Z in the region (or exactly `z_octet`) for a new host.

    `performed_by`: a staff user allocating in the actor's namespace (the admin), recorded as the audit actor."""
    name = clean_hostname(hostname)
    meta = clean_host_metadata(metadata)
    with allocation.measured("host"), transaction.atomic():
        # The lock serialises allocation in this region.
        region, reserved = _lock_for_new_hosts(actor, region_id, [name], exclude_reservation=reservation_id)
        if z_octet is None:
            slots = occupancy.next_host_slots(region, reserved, 1)
            if not slots:
                raise exceptions.RegionFull(
                    f"Region {region.region_name!r} ({region.cidr}) has no free address.", details={"region_id": str(region.id)}
                )
            z = slots[0]
        else:
            z = z_octet
            allocation.check_host_slot_free(region, z, reserved)
        return _create_hosts(actor, region, [(z, name)], meta, performed_by)[0]


def hosts_allocate_batch(*, actor: Actor, region_id: Any, count: int, hostname_prefix: str, **metadata: Any) -> list[Host]:
    """Allocate `count` hosts named `{prefix}-001`… at the lowest free addresses; all or nothing."""
    if not isinstance(count, int) or not 1 <= count <= BATCH_MAX:
        raise exceptions.ValidationFailed(details={"count": [f"Must be between 1 and {BATCH_MAX}."]})
    names = [clean_hostname(f"{hostname_prefix}-{i:03d}") for i in range(1, count + 1)]
    meta = clean_host_metadata(metadata)
    with allocation.measured("host_batch"), transaction.atomic():
        region, reserved = _lock_for_new_hosts(actor, region_id, names)
        slots = occupancy.next_host_slots(region, reserved, count)
        if len(slots) < count:
            raise exceptions.RegionFull(
                f"Region {region.region_name!r} has {len(slots)} free addresses, {count} requested.",
                details={"region_id": str(region.id), "available": len(slots), "requested": count},
            )
        # The response is built from these rows (in address order: `slots` ascend), with the tags as stored.
        return _create_hosts(actor, region, list(zip(slots, names, strict=True)), meta, stored_tags=True)


def host_update(*, actor: Actor, host_id: Any, data: dict[str, Any], performed_by: Any = None) -> Host:
    """Update a host's metadata, hostname, status or tags (absent keys are left alone).

    `actor` owns the host; `performed_by` is a staff user acting for them (the admin), recorded as the
    audit actor and `updated_by` — by default the actor.
    """
    by = performed_by or actor
    unknown = set(data) - set(HOST_UPDATABLE)
    if unknown:
        raise exceptions.ValidationFailed(details={key: ["This field cannot be changed."] for key in sorted(unknown)})
    changes = clean_host_metadata(data)
    if "hostname" in data:
        changes["hostname"] = clean_hostname(data["hostname"])
    if "status" in data:
        if data["status"] not in HostStatus.values:
            raise exceptions.ValidationFailed(details={"status": [f"Must be one of {', '.join(HostStatus.values)}."]})
        changes["status"] = data["status"]
    with transaction.atomic():
        host = Host.objects.filter(user=actor, pk=host_id).first()
        if host is None:
            raise exceptions.NotFound("Host not found.", code="host_not_found")
        region = allocation.lock_region(actor, host.region_id)  # hostnames are unique per region
        host = Host.objects.select_for_update(of=("self",)).filter(pk=host.pk).first()  # again, under the locks: retired? re-tagged?
        if host is None:
            raise exceptions.NotFound("Host not found.", code="host_not_found")
        if "hostname" in changes and changes["hostname"] != host.hostname:
            _check_hostnames_free(region, [changes["hostname"]])
        before = host_snapshot(host)
        for key, value in changes.items():
            setattr(host, key, value)
        host.updated_by = by.get_username()
        host.save()
        after = host_snapshot(host)
        changed = [c for c in diff(before, after) if c["field"] in HOST_UPDATABLE]
        if changed:
            audit_save_many(
                [
                    host_audit(
                        actor=by,
                        host=host,
                        region=region,
                        action_type="update",
                        country_code=_country_code(region),
                        changes=changed,
                        snapshot=after,
                    )
                ]
            )
            event_publish(user=actor, event_type="host.updated", data={**after, "changes": changed})
    return host


def host_lock_for_write(*, actor: Actor, host_id: Any) -> None:
    """Take the lock `host_update` and `host_retire` take (the host's region), for a check that must hold until
    the write commits (an `If-Match` precondition). Call inside the write's transaction; a missing host locks
    nothing (the write itself answers 404)."""
    region_id = Host.objects.filter(user=actor, pk=host_id).values_list("region_id", flat=True).first()
    if region_id is not None:
        allocation.lock_region(actor, region_id)


def host_retire(*, actor: Actor, host_id: Any, reason: Any = "", performed_by: Any = None) -> dict[str, Any]:
    """Hard-delete a host, free its address at once; snapshot kept in the audit row.

    `performed_by`: a staff user acting in the actor's namespace (the admin), recorded as the audit actor.
    """
    reason = clean_reason(reason, required=False)
    with transaction.atomic():
        return hosts_retire_locked(actor=actor, host_ids=[host_id], reason=reason, performed_by=performed_by)[0]


def hosts_retire_locked(*, actor: Actor, host_ids: list[Any], reason: str, performed_by: Any = None) -> list[dict[str, Any]]:
    """Retire hosts (must run inside a transaction). Locks regions in a fixed order to avoid deadlocks."""
    by = performed_by or actor
    hosts = list(Host.objects.filter(user=actor, pk__in=host_ids))
    found = {str(h.pk) for h in hosts}
    missing = [str(h) for h in host_ids if str(h) not in found]
    if missing:
        raise exceptions.NotFound("Host not found.", code="host_not_found", details={"host_ids": missing})
    by_region: dict[Any, list[Host]] = {}
    for host in hosts:
        by_region.setdefault(host.region_id, []).append(host)
    results: list[dict[str, Any]] = []
    entries = []
    for region_id in sorted(by_region, key=str):
        try:
            region = allocation.lock_region(actor, region_id)
        except exceptions.NotFound:  # the region was retired with its hosts meanwhile: the hosts are gone
            gone = [str(h.pk) for h in by_region[region_id]]
            raise exceptions.NotFound("Host not found.", code="host_not_found", details={"host_ids": gone}) from None
        # Read again under the lock: a concurrent retirement may have removed some; then this call answers what a
        # later, sequential one would (404), and bulk-release falls back to one host at a time.
        group = list(Host.objects.filter(pk__in=[h.pk for h in by_region[region_id]]))
        if len(group) != len(by_region[region_id]):
            still = {str(h.pk) for h in group}
            gone = [str(h.pk) for h in by_region[region_id] if str(h.pk) not in still]
            raise exceptions.NotFound("Host not found.", code="host_not_found", details={"host_ids": gone})
        for host in group:
            snap = host_snapshot(host)
            entries.append(
                host_audit(
                    actor=by,
                    host=host,
                    region=region,
                    action_type="retire",
                    country_code=_country_code(region),
                    reason=reason,
                    snapshot=snap,
                )
            )
            event_publish(user=actor, event_type="host.released", data={**snap, "reason": reason})
            results.append({"host_id": str(host.id), "ip_address": host.ip_address})
        Comment.objects.filter(user=actor, resource_type="host", resource_id__in=[h.pk for h in group]).delete()
        Host.objects.filter(pk__in=[h.pk for h in group]).delete()
        allocation.region_free_hosts(region, [h.z_octet for h in group])
        region.save(update_fields=["host_bitmap", "allocated_hosts", "updated_at"])
        capacity.utilization_changed(user=actor, country_id=region.country_id, region_id=region.id)
    audit_save_many(entries)
    quota_release(user=actor, hosts=len(results))
    capacity.quota_changed(user=actor)
    return results
