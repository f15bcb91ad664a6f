"""Region writes: allocate, update, retire. Each runs in one transaction with its audit row and event."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction

from foundation.compiled import prepared_cursor
from foundation.types import Actor
from ipam import bitmaps, exceptions
from ipam import cache as ipam_cache
from ipam.models import AllocationCursor, AuditLog, Comment, Country, Host, Region, RegionStatus, UserQuota, ip_to_int
from ipam.selectors import occupancy
from ipam.selectors.countries import country_get
from ipam.services import allocation, capacity, hostlock
from ipam.services.audit import audit_save_many, diff, host_audit, region_audit
from ipam.services.quotas import quota_consume, quota_release
from ipam.services.reservations import reservations_cancel_for_retired_region
from ipam.snapshots import host_snapshot, region_snapshot
from ipam.validation import clean_reason, clean_region_name, clean_tags
from webhooks.services import event_publish

REGION_UPDATABLE = ("region_name", "description", "status", "tags", "owner")


def _check_name_free(user: Any, country: Country, name: str, *, exclude_id: Any = None) -> None:
    clash = Region.objects.filter(user=user, country=country, region_name__iexact=name)
    if exclude_id is not None:
        clash = clash.exclude(pk=exclude_id)
    if clash.exists():
        raise exceptions.DuplicateName(
            f"You already have a region named {name!r} in {country.name}.",
            details={"region_name": name, "country": country.name},
        )


def region_allocate(
    *,
    actor: Actor,
    country: Country | str,
    region_name: str,
    description: str = "",
    tags: dict[str, str] | None = None,
    owner: str | None = None,
    at: tuple[int, int] | None = None,
    reservation_id: Any = None,
    performed_by: Any = None,
) -> Region:
    """Allocate a /24 in `country` for `actor`: the lowest free (X, Y), or exactly `at` when given.

    `reservation_id` is the reservation being converted: it is the one reservation allowed to cover `at`.
    `performed_by`: a staff user acting in the actor's namespace (the admin), recorded as the audit actor.
    """
    by = performed_by or actor
    name = clean_region_name(region_name)
    tags = clean_tags(tags)
    if not isinstance(country, Country):
        # The cached country table (versioned: any edit of a country makes it stale at once) answers without a
        # query; an unknown value goes to the database, which gives the 404 (the lock below still decides).
        country = ipam_cache.country_find(country) or country_get(country)
    allocation.ensure_may_use_country(actor, country)
    alias = router.db_for_write(Region)

    def fields(x: int, y: int) -> dict[str, Any]:
        return {
            "user": actor,
            "country": country,
            "x_octet": x,
            "y_octet": y,
            "network_int": ip_to_int(x, y, 0),
            "region_name": name,
            "description": description or "",
            "tags": tags,
            "owner": owner if owner is not None else actor.get_username(),
            "created_by": by.get_username(),
            "updated_by": by.get_username(),
        }

    with allocation.measured("region"), transaction.atomic():
        # Serialises allocation in this (user, country); the first allocation there creates the cursor row.
        cursor = hostlock.lock_region_cursor(actor, country) or allocation.lock_cursor(actor, country)
        joined = _joins_writes(alias)
        written: tuple[Region, bool, dict[str, Any]] | None = None
        probes: dict[str, bool] | None = None
        slot = occupancy.next_region_slot(cursor, country, {}) if joined and at is None and reservation_id is None else None
        if slot is not None:
            # PostgreSQL, common case: the probes and the writes in one statement, which starts after the lock
            # (so it sees every write made under the lock). It writes only when the name is free and the user
            # holds no region reservation in the country; otherwise it writes nothing and the exact path below
            # runs with its answers.
            region = Region(**fields(*slot))
            probes, quota_done, snapshot = _write_joined(alias, by=by, region=region, cursor=cursor, probe_name=name)
            if not (probes["region_name_taken"] or probes["has_region_reservations"]):
                written = (region, quota_done, snapshot)
        if written is None:
            # One statement after the lock answers the common case (no clash, no reservation, no webhook or rule);
            # each "yes" runs the exact query as before, still under the lock.
            if probes is None:
                probes = hostlock.probe_region_allocation(actor, country, name)
            if probes["region_name_taken"]:
                _check_name_free(actor, country, name)
            reserved: dict[int, Any] = {}
            if probes["has_region_reservations"]:
                reserved = occupancy.reserved_region_slots(actor, country, exclude_id=reservation_id)
            if at is None:
                slot = occupancy.next_region_slot(cursor, country, reserved)
                if slot is None:
                    raise exceptions.CapacityExhausted(
                        f"No free /24 left in {country.name} (X {country.x_start}-{country.x_end}).",
                        details={"country": country.name, "total_capacity": country.total_capacity},
                    )
                x, y = slot
            else:
                x, y = at
                if not (country.x_start <= x <= country.x_end and 0 <= y <= 255):
                    raise exceptions.ValidationFailed(
                        f"10.{x}.{y}.0/24 is not in {country.name}.",
                        details={"x_octet": [f"Must be {country.x_start}-{country.x_end}."]},
                    )
                allocation.check_region_slot_free(cursor, x, y, reserved)
            if joined:
                region = Region(**fields(x, y))
                _, quota_done, snapshot = _write_joined(
                    alias, by=by, region=region, cursor=cursor, with_quota=not (probes["has_webhooks"] or probes["has_rules"])
                )
            else:  # SQLite has no data-modifying WITH: the ORM writes the same rows one statement each
                region = Region.objects.create(**fields(x, y))
                allocation.cursor_take(cursor, x, y)
                snapshot = region_snapshot(region)
                audit = region_audit(actor=by, region=region, action_type="create", country_code=country.code, snapshot=snapshot)
                audit_save_many([audit])
                quota_done = False
            written = (region, quota_done, snapshot)
        region, quota_done, snapshot = written
        assert probes is not None
        if probes["has_webhooks"]:
            event_publish(user=actor, event_type="region.created", data=snapshot)
        capacity.utilization_changed(user=actor, country_id=country.pk, rules_exist=probes["has_rules"])
        # The quota row is written last (it stays locked only until commit): with a webhook or a rule to serve,
        # after them, as before; otherwise in the joined statement (PostgreSQL), the last statement anyway.
        if not quota_done and quota_consume(user=actor, regions=1):
            capacity.quota_changed(user=actor)
    return region


# --- Region allocation's writes in one statement (PostgreSQL) ---------------------------------------------
def _joins_writes(alias: str) -> bool:
    """PostgreSQL runs data-modifying WITH queries; SQLite does not (it keeps the ORM's statements)."""
    return bool(connections[alias].vendor == "postgresql")


@functools.lru_cache(maxsize=8)
def _joined_write_statement(alias: str, with_quota: bool, probing: bool) -> str:
    """INSERT the region, UPDATE the cursor, INSERT the audit row and UPDATE the quota row while usage stays below
    the warning threshold, as one statement of data-modifying WITH queries. The columns and values are the ones
    the ORM writes (`Region.objects.create`, `cursor.save(update_fields=...)`, `bulk_create` of the audit row);
    the quota UPDATE is `quota_consume`'s first statement. Written once per alias from the models' metadata.

    `probing`: the statement starts with the region probes (`hostlock.region_probe_statement`) and writes only
    when the name is free and no region reservation exists; the quota only without webhook or rule (those are
    served first, then `quota_consume`). It answers the four probes and the quota rows updated (0 or 1).
    Otherwise it writes unconditionally, the quota only `with_quota`, and answers the quota rows updated."""
    qn = connections[alias].ops.quote_name
    guard = " FROM ok" if probing else ""

    def insert(model: Any) -> str:
        columns = ", ".join(qn(field.column) for field in model._meta.concrete_fields)
        values = ", ".join(["%s"] * len(model._meta.concrete_fields))
        if probing:  # INSERT ... SELECT: one row when `ok` has one, none otherwise
            return f"INSERT INTO {qn(model._meta.db_table)} ({columns}) SELECT {values}{guard}"
        return f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({values})"  # noqa: S608

    def column(model: Any, name: str) -> str:
        return qn(model._meta.get_field(name).column)

    only_if_ok = " AND EXISTS(SELECT 1 FROM ok)" if probing else ""
    parts = []
    if probing:
        parts += [
            f"p (taken, reserved, hooks, rules) AS ({hostlock.region_probe_statement(alias)})",
            "ok AS (SELECT 1 AS one FROM p WHERE NOT p.taken AND NOT p.reserved)",
        ]
    parts += [
        f"r AS ({insert(Region)})",
        f"c AS (UPDATE {qn(AllocationCursor._meta.db_table)} SET {column(AllocationCursor, 'bitmap')} = %s, "  # noqa: S608
        f"{column(AllocationCursor, 'region_count')} = %s WHERE {qn(AllocationCursor._meta.pk.column)} = %s{only_if_ok})",
        f"a AS ({insert(AuditLog)})",
    ]
    if with_quota or probing:
        used, limit = column(UserQuota, "regions_used"), f"COALESCE({column(UserQuota, 'region_limit')}, %s)"
        served_first = " AND NOT EXISTS(SELECT 1 FROM p WHERE p.hooks OR p.rules)" if probing else ""
        parts.append(
            f"q AS (UPDATE {qn(UserQuota._meta.db_table)} SET {used} = {used} + %s "  # noqa: S608
            f"WHERE {qn(UserQuota._meta.pk.column)} = %s AND {used} <= {limit} - %s "
            f"AND CAST({used} + %s AS BIGINT) * 100 < CAST({limit} AS BIGINT) * %s{only_if_ok}{served_first} RETURNING 1)"
        )
    if probing:
        answer = "SELECT p.taken, p.reserved, p.hooks, p.rules, (SELECT COUNT(*) FROM q) FROM p"
    else:
        answer = "SELECT COUNT(*) FROM q" if with_quota else "SELECT 0"
    # Identifiers come from the models' metadata (quoted by the backend); every value is a bound parameter.
    return "WITH " + ", ".join(parts) + " " + answer


def _insert_values(instance: Any, connection: Any) -> list[Any]:
    """The values an INSERT of `instance` binds, prepared as the ORM prepares them (`pre_save` fills the
    auto_now fields on the instance, as `save()` does)."""
    return [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in instance._meta.concrete_fields]


def _write_joined(
    alias: str, *, by: Any, region: Region, cursor: AllocationCursor, with_quota: bool = True, probe_name: str | None = None
) -> tuple[dict[str, bool], bool, dict[str, Any]]:
    """Write a new region, its cursor bit, its audit row and one region of quota in one round trip (PostgreSQL).

    Called with the cursor locked. `region` is unsaved; when written it is as `Region.objects.create` leaves it,
    and `cursor` as `allocation.cursor_take` leaves it. With `probe_name` the same statement first asks the
    region probes for that name and writes nothing when the name may be taken or a region reservation exists
    (then the caller takes the exact path with the answers); without it every deciding read is already done.
    Returns the probe answers (empty without `probe_name`), whether the quota was consumed below the warning
    threshold — when not (no quota row yet, near or at the limit, a webhook or rule to serve first) the caller
    runs `quota_consume` as before — and the region's snapshot (the audit row's, the event's)."""
    connection = connections[alias]
    probing = probe_name is not None
    values: list[Any] = []
    if probing:
        values += hostlock.region_probe_params(region.user, region.country, str(probe_name), connection)
    values += _insert_values(region, connection)
    bitmap = bitmaps.to_bytes(bitmaps.from_bytes(cursor.bitmap) | 1 << occupancy.region_slot(region.x_octet, region.y_octet))
    values += [AllocationCursor._meta.get_field("bitmap").get_db_prep_save(bitmap, connection), cursor.region_count + 1, cursor.pk]
    snapshot = region_snapshot(region)
    entry = region_audit(actor=by, region=region, action_type="create", country_code=region.country.code, snapshot=snapshot)
    values += _insert_values(entry, connection)
    if with_quota or probing:
        limit = settings.IPAM_DEFAULT_REGION_QUOTA
        values += [1, region.user_id, limit, 1, 1, limit, int(settings.IPAM_CAPACITY_WARNING_THRESHOLD)]
    with prepared_cursor(alias) as db:  # planned once per connection (foundation/compiled.py)
        db.execute(_joined_write_statement(alias, with_quota, probing), values)
        row = db.fetchone()
    probes = dict(zip(hostlock.REGION_PROBES, map(bool, row[:4]), strict=True)) if probing else {}
    if probing and (probes["region_name_taken"] or probes["has_region_reservations"]):
        return probes, False, snapshot  # nothing was written
    region._state.adding = False
    region._state.db = alias
    cursor.bitmap = bitmap
    cursor.region_count += 1
    # What `audit_save_many` does for every audited write: cached reads of the user are stale after commit.
    transaction.on_commit(functools.partial(ipam_cache.bump_user_version, region.user_id))
    return probes, bool(row[-1]), snapshot


def region_update(*, actor: Actor, region_id: Any, data: dict[str, Any], performed_by: Any = None) -> Region:
    """Update `region_name, description, status, tags, owner` (absent keys are left alone).

    `actor` owns the region (its namespace); `performed_by` is a staff user acting for them (the admin),
    recorded as the audit actor and `updated_by` — by default the actor.
    """
    by = performed_by or actor
    unknown = set(data) - set(REGION_UPDATABLE)
    if unknown:
        raise exceptions.ValidationFailed(details={key: ["This field cannot be changed."] for key in sorted(unknown)})
    changes: dict[str, Any] = {}
    if "region_name" in data:
        changes["region_name"] = clean_region_name(data["region_name"])
    if "tags" in data:
        changes["tags"] = clean_tags(data["tags"])
    if "status" in data:
        if data["status"] not in RegionStatus.values:
            raise exceptions.ValidationFailed(details={"status": [f"Must be one of {', '.join(RegionStatus.values)}."]})
        changes["status"] = data["status"]
    for key in ("description", "owner"):
        if key in data:
            changes[key] = "" if data[key] is None else str(data[key])
    with transaction.atomic():
        region = Region.objects.select_related("country").filter(user=actor, pk=region_id).first()
        if region is None:
            raise exceptions.NotFound("Region not found.", code="region_not_found")
        if "region_name" in changes:
            allocation.lock_cursor(actor, region.country)  # names are unique per (user, country)
        country = region.country
        region = allocation.lock_region(actor, region_id)
        region.country = country
        if "region_name" in changes and changes["region_name"].lower() != region.region_name.lower():
            _check_name_free(actor, region.country, changes["region_name"], exclude_id=region.pk)
        before = region_snapshot(region)
        for key, value in changes.items():
            setattr(region, key, value)
        region.updated_by = by.get_username()
        region.save()
        after = region_snapshot(region)
        changed = [c for c in diff(before, after) if c["field"] in REGION_UPDATABLE]
        if changed:
            audit_save_many(
                [region_audit(actor=by, region=region, action_type="update", country_code=country.code, changes=changed, snapshot=after)]
            )
            event_publish(user=actor, event_type="region.updated", data={**after, "changes": changed})
    return region


def region_lock_for_write(*, actor: Actor, region_id: Any) -> None:
    """Take the locks `region_update` and `region_retire` take, in their order (the allocation cursor, then the
    region), for a check that must hold until the write commits (an `If-Match` precondition). Call inside the
    write's transaction. A region that does not exist locks nothing: the write itself answers 404."""
    region = Region.objects.select_related("country").filter(user=actor, pk=region_id).first()
    if region is not None:
        allocation.lock_cursor(actor, region.country)
        allocation.lock_region(actor, region_id)


def region_retire(*, actor: Actor, region_id: Any, reason: Any, cascade: bool = False, performed_by: Any = None) -> dict[str, Any]:
    """Hard-delete a region (snapshot kept in the audit row); with `cascade`, its hosts too.

    `performed_by`: a staff user acting in the actor's namespace (the admin), recorded as the audit actor.
    """
    reason = clean_reason(reason)
    by = performed_by or actor
    with transaction.atomic():
        region = Region.objects.select_related("country").filter(user=actor, pk=region_id).first()
        if region is None:
            raise exceptions.NotFound("Region not found.", code="region_not_found")
        cursor = allocation.lock_cursor(actor, region.country)
        country = region.country
        region = allocation.lock_region(actor, region_id)
        region.country = country
        hosts = list(Host.objects.filter(region=region).order_by("z_octet"))
        if hosts and not cascade:
            raise exceptions.RegionNotEmpty(details={"region_id": str(region.id), "hosts": len(hosts)})
        snapshot = region_snapshot(region)
        entries = [
            host_audit(
                actor=by,
                host=host,
                region=region,
                action_type="retire",
                country_code=country.code,
                reason=reason,
                snapshot=host_snapshot(host),
            )
            for host in hosts
        ]
        entries.append(
            region_audit(
                actor=by,
                region=region,
                action_type="retire",
                country_code=country.code,
                reason=reason,
                snapshot={**snapshot, "hosts_retired": len(hosts)},
            )
        )
        for host in hosts:
            event_publish(user=actor, event_type="host.released", data={**host_snapshot(host), "reason": reason})
        # Comments hang off ids, not foreign keys: they go with what they annotate.
        Comment.objects.filter(user=region.user_id, resource_type="host", resource_id__in=[h.pk for h in hosts]).delete()
        Comment.objects.filter(user=region.user_id, resource_type="region", resource_id=region.pk).delete()
        Host.objects.filter(region=region).delete()
        region.delete()
        allocation.cursor_free(cursor, region.x_octet, region.y_octet)
        audit_save_many(entries)
        reservations_cancel_for_retired_region(actor=actor, by=by, region=region, reason=reason)
        event_publish(user=actor, event_type="region.retired", data={**snapshot, "reason": reason, "hosts_retired": len(hosts)})
        capacity.utilization_changed(user=actor, country_id=region.country_id)
        quota_release(user=actor, regions=1, hosts=len(hosts))
        capacity.quota_changed(user=actor)
    return {"region_id": str(snapshot["region_id"]), "cascade": bool(cascade), "hosts_retired": len(hosts)}
