"""Counter drift: recompute allocation bitmaps and counters from the rows, report and repair.

Allocation keeps derived state next to the rows (docs/architecture.md, "Allocation"):
- allocation cursor (user, country): `bitmap` (bit X*256+Y per region) and `region_count`;
- region: `host_bitmap` (bit Z per host) and `allocated_hosts`;
- quota (user): `regions_used` and `hosts_used`;
- on PostgreSQL, the rows per (owner, UTC day) that the history tables' triggers keep for the page numbers
  of the audit trail (`ipam_auditdaycount`, ipam 0009), the notification inbox (with the unread ones,
  notifications 0005) and a webhook's deliveries (webhooks 0005) (foundation/day_counts.py): repaired by
  recounting the owner's rows with the table locked against writes (derived data, no audit row).

`counters_check` recomputes all of them with a few grouped queries — the bitmaps are summed in SQL as
eight 32-bit words per group, so 1 M hosts cost one pass over the host table, not a Python loop over
rows — and lists the differences. It also checks what no counter stores but the data must hold: no active,
unexpired reservation covers an allocated /24 or address of its owner (allocation and reservation exclude each
other under one lock), an active host reservation has its region, and every host sits inside its region (same
owner, same X.Y). Those are reported, never repaired automatically: which side is wrong needs a person.

`counters_repair` fixes each drifted row in its own short transaction, recomputed again under the same
row lock allocation takes, so it is safe while the API is serving; every repair of an allocation counter
writes a system audit row.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import BigIntegerField, Case, Count, Exists, F, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from foundation.day_counts import DayCounts
from ipam import bitmaps
from ipam.models import AUDIT_DAYS, AllocationCursor, Country, Host, Region, Reservation, UserQuota
from ipam.services.allocation import region_slot
from ipam.services.audit import audit_entry, audit_save_many
from notifications.models import NOTIFICATION_DAYS
from webhooks.models import DELIVERY_DAYS, Webhook

_WORDS, _WIDTH = 8, 32  # 8 × 32 bits cover an octet (0..255)
_SHOW = 5  # differing addresses listed per bitmap drift


@dataclass(frozen=True)
class Drift:
    """One stored value that differs from what the rows say."""

    # "cursor" | "region" | "quota" | "audit_counts" | "notification_counts" | "delivery_counts" (repairable)
    # | "reservation" | "host" (reported only)
    kind: str
    key: tuple[Any, ...]  # ("cursor", user_id, country_id) | ("region", region_id) | ("quota", user_id) | (kind, row id)
    label: str
    field: str
    stored: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.kind} {self.label}: {self.field} stored {self.stored}, actual {self.actual}"


@dataclass
class CounterReport:
    cursors: int = 0
    regions: int = 0
    quotas: int = 0
    reservations: int = 0  # active, unexpired ones
    drifts: list[Drift] = dataclasses.field(default_factory=list)

    @property
    def unrepairable(self) -> list[Drift]:
        """Drifts `--fix` leaves alone (a reservation on an allocated address, a host outside its region)."""
        return [d for d in self.drifts if d.kind not in REPAIRABLE]


REPAIRABLE = ("region", "cursor", "quota", "audit_counts", "notification_counts", "delivery_counts")


# --- Recomputing in SQL ------------------------------------------------------------------------------
def _octet_words(octet: str) -> dict[str, Sum]:
    """Aggregates w0..w7: the OR (= sum, the octets are unique per group) of 1 << octet, 32 bits each."""
    one = Cast(Value(1), BigIntegerField())

    def word(k: int) -> Sum:
        in_word = Q(**{f"{octet}__gte": k * _WIDTH, f"{octet}__lt": (k + 1) * _WIDTH})
        bit = one.bitleftshift(F(octet) - k * _WIDTH)  # type: ignore[arg-type]  # the stub says int; expressions work
        return Sum(Case(When(in_word, then=bit), default=Value(0), output_field=BigIntegerField()))

    return {f"w{k}": word(k) for k in range(_WORDS)}


def _octet_mask(row: dict[str, Any]) -> int:
    return sum(int(row[f"w{k}"] or 0) << (k * _WIDTH) for k in range(_WORDS))


def _describe_bits(stored: int, actual: int, name: Any) -> tuple[str, str]:
    only_stored = [name(i) for i in _bits(stored & ~actual)[:_SHOW]]
    only_rows = [name(i) for i in _bits(actual & ~stored)[:_SHOW]]
    extra = (f" (only stored: {', '.join(only_stored)})" if only_stored else "") + (
        f" (only in rows: {', '.join(only_rows)})" if only_rows else ""
    )
    return f"{stored.bit_count()} bits", f"{actual.bit_count()} bits{extra}"


def _bits(value: int) -> list[int]:
    found: list[int] = []
    while value and len(found) < _SHOW:
        low = value & -value
        found.append(low.bit_length() - 1)
        value ^= low
    return found


def _slot_cidr(slot: int) -> str:
    return f"10.{slot // 256}.{slot % 256}.0/24"


def counters_check() -> CounterReport:
    """Compare every cursor, region and quota with its rows; nothing is written."""
    report = CounterReport()

    # Hosts per region (count and Z bitmap) and per user, in one pass over the host table.
    hosts_by_region: dict[Any, tuple[int, int]] = {}
    hosts_by_user: dict[int, int] = defaultdict(int)
    for row in Host.objects.order_by().values("region_id", "user_id").annotate(n=Count("id"), **_octet_words("z_octet")):
        count, mask = hosts_by_region.get(row["region_id"], (0, 0))
        hosts_by_region[row["region_id"]] = (count + row["n"], mask | _octet_mask(row))
        hosts_by_user[row["user_id"]] += row["n"]

    # Regions per (user, country) with their X*256+Y bitmap, grouped by X so Y fits the eight words.
    regions_by_cursor: dict[tuple[int, int], tuple[int, int]] = {}
    regions_by_user: dict[int, int] = defaultdict(int)
    for row in Region.objects.order_by().values("user_id", "country_id", "x_octet").annotate(n=Count("id"), **_octet_words("y_octet")):
        key = (row["user_id"], row["country_id"])
        count, mask = regions_by_cursor.get(key, (0, 0))
        regions_by_cursor[key] = (count + row["n"], mask | _octet_mask(row) << region_slot(row["x_octet"], 0))
        regions_by_user[row["user_id"]] += row["n"]

    drifts: list[tuple[str, tuple[Any, ...], int, str, str, Any, Any]] = []  # labels resolved at the end

    regions = Region.objects.order_by().values_list("id", "user_id", "x_octet", "y_octet", "region_name", "allocated_hosts", "host_bitmap")
    for region_id, user_id, x, y, name, allocated, raw_bitmap in regions.iterator(chunk_size=2000):
        report.regions += 1
        count, mask = hosts_by_region.pop(region_id, (0, 0))
        where = f"10.{x}.{y}.0/24 {name!r} ({region_id})"
        if allocated != count:
            drifts.append(("region", ("region", region_id), user_id, where, "allocated_hosts", allocated, count))
        stored = bitmaps.from_bytes(raw_bitmap)
        if stored != mask:
            old, new = _describe_bits(stored, mask, lambda z, x=x, y=y: f"10.{x}.{y}.{z}")
            drifts.append(("region", ("region", region_id), user_id, where, "host_bitmap", old, new))

    countries = dict(Country.objects.values_list("id", "name"))
    cursors = AllocationCursor.objects.order_by().values_list("user_id", "country_id", "region_count", "bitmap")
    for user_id, country_id, region_count, raw_bitmap in cursors.iterator(chunk_size=2000):
        report.cursors += 1
        count, mask = regions_by_cursor.pop((user_id, country_id), (0, 0))
        _compare_cursor(drifts, user_id, country_id, countries, (region_count, bitmaps.from_bytes(raw_bitmap)), (count, mask))
    for (user_id, country_id), actual in regions_by_cursor.items():  # regions without a cursor row
        _compare_cursor(drifts, user_id, country_id, countries, None, actual)

    quota_rows = UserQuota.objects.values_list("user_id", "regions_used", "hosts_used")
    quotas = {user_id: (regions_used, hosts_used) for user_id, regions_used, hosts_used in quota_rows}
    report.quotas = len(quotas)
    for user_id in sorted(set(quotas) | set(regions_by_user) | set(hosts_by_user)):
        stored_regions, stored_hosts = quotas.get(user_id, (0, 0))
        if stored_regions != regions_by_user.get(user_id, 0):
            drifts.append(("quota", ("quota", user_id), user_id, "", "regions_used", stored_regions, regions_by_user.get(user_id, 0)))
        if stored_hosts != hosts_by_user.get(user_id, 0):
            drifts.append(("quota", ("quota", user_id), user_id, "", "hosts_used", stored_hosts, hosts_by_user.get(user_id, 0)))

    report.reservations = _check_reservations(drifts)
    _check_host_placement(drifts)
    _check_day_counts(drifts)

    usernames = dict(get_user_model().objects.filter(pk__in={d[2] for d in drifts}).values_list("pk", "username"))
    for kind, key, user_id, where, name, stored_value, actual_value in drifts:
        owner = usernames.get(user_id, f"user {user_id}")
        label = f"{where} of {owner}" if where else owner
        report.drifts.append(Drift(kind=kind, key=key, label=label, field=name, stored=stored_value, actual=actual_value))
    return report


def _check_reservations(drifts: list[Any]) -> int:
    """Active, unexpired reservations on an address their owner has allocated, or host reservations whose region
    is gone; returns how many active reservations there are."""
    active = Reservation.objects.active(timezone.now()).order_by()
    same_slot = {"user": OuterRef("user"), "x_octet": OuterRef("x_octet"), "y_octet": OuterRef("y_octet")}
    region_taken = Region.objects.filter(**same_slot)
    host_taken = Host.objects.filter(**same_slot, z_octet=OuterRef("z_octet"))
    regions = active.filter(resource_type=Reservation.ResourceType.REGION).filter(Exists(region_taken))
    hosts = active.filter(resource_type=Reservation.ResourceType.HOST).annotate(taken=Exists(host_taken), has_region=Exists(region_taken))
    for pk, user_id, x, y in regions.values_list("pk", "user_id", "x_octet", "y_octet"):
        drifts.append(("reservation", ("reservation", pk), user_id, f"10.{x}.{y}.0/24 ({pk})", "status", "active", "/24 allocated"))
    for pk, user_id, x, y, z, taken in hosts.filter(Q(taken=True) | Q(has_region=False)).values_list(
        "pk", "user_id", "x_octet", "y_octet", "z_octet", "taken"
    ):
        actual = "address allocated" if taken else "region gone"
        drifts.append(("reservation", ("reservation", pk), user_id, f"10.{x}.{y}.{z} ({pk})", "status", "active", actual))
    return active.count()


# The per-day row counts behind the page numbers of the history lists (foundation/day_counts.py), by drift kind:
# (spec, what the owner's rows are called in a report, the user of each owner among some owners).
def _owners_are_users(owners: list[Any]) -> dict[Any, Any]:
    return {owner: owner for owner in owners}


def _webhook_users(webhooks: list[Any]) -> dict[Any, Any]:
    return dict(Webhook.objects.filter(pk__in=webhooks).values_list("pk", "user_id"))


DAY_COUNTS: dict[str, tuple[DayCounts, str, Callable[[list[Any]], dict[Any, Any]]]] = {
    "audit_counts": (AUDIT_DAYS, "audit trail", _owners_are_users),
    "notification_counts": (NOTIFICATION_DAYS, "notifications", _owners_are_users),
    "delivery_counts": (DELIVERY_DAYS, "deliveries of webhook {owner}", _webhook_users),
}


def day_counts_compact() -> int:
    """Fold the delta rows of every day-count table (the `day_counts_compact` job); returns the rows written."""
    return sum(spec.compact() for spec, _, _ in DAY_COUNTS.values())


def _check_day_counts(drifts: list[Any]) -> None:
    """The rows per (owner, UTC day) kept by the history tables' triggers (PostgreSQL) against the rows."""
    for kind, (spec, what, users_of) in DAY_COUNTS.items():
        wrong = spec.drift()
        users = users_of(list(wrong)) if wrong else {}
        for owner, days in wrong.items():
            drifts.append((kind, (kind, owner), users.get(owner, owner), what.format(owner=owner), "rows per day", days, "the rows"))


def _repair_day_counts(drift: Drift) -> list[Drift]:
    """Recount the owner's rows per day, the table locked against writes meanwhile (derived data, no audit row)."""
    spec = DAY_COUNTS[drift.kind][0]
    spec.recount(drift.key[1])
    return [drift]


def _check_host_placement(drifts: list[Any]) -> None:
    """Hosts whose owner or X.Y differ from their region's (the denormalised octets drive search and reservations)."""
    misplaced = Host.objects.order_by().exclude(user=F("region__user"), x_octet=F("region__x_octet"), y_octet=F("region__y_octet"))
    for pk, user_id, ip, x, y in misplaced.values_list("pk", "user_id", "ip_address", "region__x_octet", "region__y_octet")[:100]:
        drifts.append(("host", ("host", pk), user_id, f"{ip} ({pk})", "region", f"host at {ip}", f"region 10.{x}.{y}.0/24"))


def _compare_cursor(
    drifts: list[Any], user_id: int, country_id: int, countries: dict[int, str], stored: tuple[int, int] | None, actual: tuple[int, int]
) -> None:
    where = f"/ {countries.get(country_id, country_id)}"
    key = ("cursor", user_id, country_id)
    if stored is None:
        drifts.append(("cursor", key, user_id, where, "row", "missing", f"{actual[0]} regions"))
        return
    if stored[0] != actual[0]:
        drifts.append(("cursor", key, user_id, where, "region_count", stored[0], actual[0]))
    if stored[1] != actual[1]:
        old, new = _describe_bits(stored[1], actual[1], _slot_cidr)
        drifts.append(("cursor", key, user_id, where, "bitmap", old, new))


# --- Repairing, row by row under the allocation locks -----------------------------------------------
def counters_repair(*, drifts: Iterable[Drift]) -> list[Drift]:
    """Recompute and rewrite each drifted row under its lock; returns what was actually changed."""
    fixed: list[Drift] = []
    seen: set[tuple[Any, ...]] = set()
    for drift in drifts:
        if drift.key in seen:
            continue
        seen.add(drift.key)
        if drift.kind not in REPAIRABLE:
            continue
        repairs = {"region": _repair_region, "cursor": _repair_cursor, "quota": _repair_quota}
        repair = repairs.get(drift.kind, _repair_day_counts)
        fixed.extend(repair(drift))
    return fixed


def _changes(label_of: Drift, pairs: dict[str, tuple[Any, Any]]) -> list[Drift]:
    return [
        Drift(kind=label_of.kind, key=label_of.key, label=label_of.label, field=name, stored=old, actual=new)
        for name, (old, new) in pairs.items()
        if old != new
    ]


def _audit_repair(user_id: int, resource_type: str, resource_id: Any, changed: list[Drift], **extra: Any) -> None:
    audit_save_many(
        [
            audit_entry(
                actor=None,
                user_id=user_id,
                action_type="counter_repair",
                resource_type=resource_type,
                resource_id=str(resource_id),
                reason="verify_counters --fix: stored counters differed from the rows",
                changes=[{"field": c.field, "old_value": c.stored, "new_value": c.actual} for c in changed],
                **extra,
            )
        ]
    )


def _repair_region(drift: Drift) -> list[Drift]:
    with transaction.atomic():
        region = Region.objects.select_for_update().select_related("country").filter(pk=drift.key[1]).first()  # as host allocation
        if region is None:
            return []
        zs = list(Host.objects.filter(region_id=region.pk).values_list("z_octet", flat=True))
        stored, actual = bitmaps.from_bytes(region.host_bitmap), bitmaps.mask_of(zs)
        changed = _changes(
            drift,
            {
                "allocated_hosts": (region.allocated_hosts, len(zs)),
                "host_bitmap": _bitmap_pair(stored, actual, lambda z: f"10.{region.x_octet}.{region.y_octet}.{z}"),
            },
        )
        if changed:
            Region.objects.filter(pk=region.pk).update(host_bitmap=bitmaps.to_bytes(actual), allocated_hosts=len(zs))
            _audit_repair(
                region.user_id, "region", region.pk, changed, cidr=region.cidr, country_code=region.country.code, region_id=region.pk
            )
        return changed


def _repair_cursor(drift: Drift) -> list[Drift]:
    _, user_id, country_id = drift.key
    with transaction.atomic():
        cursor, created = AllocationCursor.objects.select_for_update().get_or_create(user_id=user_id, country_id=country_id)
        rows = Region.objects.filter(user_id=user_id, country_id=country_id).values_list("x_octet", "y_octet")
        slots = [region_slot(x, y) for x, y in rows]
        stored, actual = bitmaps.from_bytes(cursor.bitmap), bitmaps.mask_of(slots)
        pairs = {"region_count": (cursor.region_count, len(slots)), "bitmap": _bitmap_pair(stored, actual, _slot_cidr)}
        if created:
            pairs["row"] = ("missing", "created")
        changed = _changes(drift, pairs)
        if changed:
            AllocationCursor.objects.filter(pk=cursor.pk).update(bitmap=bitmaps.to_bytes(actual), region_count=len(slots))
            code = Country.objects.filter(pk=country_id).values_list("code", flat=True).first() or ""
            _audit_repair(user_id, "allocation_cursor", cursor.pk, changed, country_code=code)
        return changed


def _repair_quota(drift: Drift) -> list[Drift]:
    user_id = drift.key[1]
    with transaction.atomic():
        # Allocations and retirements change this row last in their transaction: whichever way one interleaves
        # with us, the count taken under this lock plus its own pending change is right.
        quota, _ = UserQuota.objects.select_for_update().get_or_create(user_id=user_id)
        regions_used = Region.objects.filter(user_id=user_id).count()
        hosts_used = Host.objects.filter(user_id=user_id).count()
        changed = _changes(drift, {"regions_used": (quota.regions_used, regions_used), "hosts_used": (quota.hosts_used, hosts_used)})
        if changed:
            UserQuota.objects.filter(pk=quota.pk).update(regions_used=regions_used, hosts_used=hosts_used)
            _audit_repair(user_id, "quota", user_id, changed)
        return changed


def _bitmap_pair(stored: int, actual: int, name: Any) -> tuple[Any, Any]:
    """Equal bitmaps as an unchanged pair, different ones described (bit counts and a few addresses)."""
    return (stored, stored) if stored == actual else _describe_bits(stored, actual, name)


# --- Rebuilding after a bulk load ---------------------------------------------------------------------
def counters_rebuild(*, user_id: int, region_ids: Iterable[Any] = ()) -> None:
    """Rewrite one user's derived state from the rows, in the caller's transaction, without audit rows.

    For bulk loaders (`import_original`) that have just written the rows themselves: the cursors (created
    where missing, under the same row lock allocation takes), the given regions' host bitmaps and counts
    (the loader sets those of regions it created), and the quota usage."""
    ids = list(region_ids)
    for start in range(0, len(ids), 2000):
        hosts = Host.objects.filter(region_id__in=ids[start : start + 2000]).order_by().values("region_id")
        found = {row["region_id"]: row for row in hosts.annotate(n=Count("id"), **_octet_words("z_octet"))}
        for region_id in ids[start : start + 2000]:
            row = found.get(region_id)
            Region.objects.filter(pk=region_id).update(
                host_bitmap=bitmaps.to_bytes(_octet_mask(row) if row else 0), allocated_hosts=row["n"] if row else 0
            )
    per_country: dict[int, tuple[int, int]] = {}
    regions = Region.objects.filter(user_id=user_id).order_by().values("country_id", "x_octet")
    for row in regions.annotate(n=Count("id"), **_octet_words("y_octet")):
        count, mask = per_country.get(row["country_id"], (0, 0))
        per_country[row["country_id"]] = (count + row["n"], mask | _octet_mask(row) << region_slot(row["x_octet"], 0))
    for country_id, (count, mask) in per_country.items():
        cursor, _ = AllocationCursor.objects.select_for_update().get_or_create(user_id=user_id, country_id=country_id)
        AllocationCursor.objects.filter(pk=cursor.pk).update(bitmap=bitmaps.to_bytes(mask), region_count=count)
    quota, _ = UserQuota.objects.select_for_update().get_or_create(user_id=user_id)
    UserQuota.objects.filter(pk=quota.pk).update(
        regions_used=Region.objects.filter(user_id=user_id).count(), hosts_used=Host.objects.filter(user_id=user_id).count()
    )
