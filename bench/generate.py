"""Benchmark data generator: one user with many hosts, written in bulk yet exactly as the services keep it.

What allocation maintains is computed here for the rows it writes, so the generated namespace is
indistinguishable from one built through the API (and the next API allocation continues first-fit):

- regions: first-fit slots per country (X ascending, then Y), `host_bitmap` with bits 1..k and
  `allocated_hosts` = k; hosts at Z 1..k named `h-001`…;
- one allocation cursor per (user, country) with its bitmap of taken X*256+Y slots and `region_count`;
- the user's quota row: limits raised to fit, `regions_used`/`hosts_used` = the totals;
- audit rows (`create` of every region and host, timestamps spread over `--history-days`, hosts of a
  region following its creation), which the forecast, trends and dashboard activity count read.

PostgreSQL is loaded with COPY (about a minute per million hosts plus audit rows on a small machine),
other databases with `bulk_create` (fine for small sizes, e.g. in tests). `--verify` recomputes the
counters and bitmaps from the rows and reports any drift.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ipam_stats_bench \\
        .venv/bin/python bench/generate.py --hosts 1000000 --hosts-per-region 250 --reset --verify
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # standalone: make the project importable and configure Django
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipam_project.settings")
    import django

    django.setup()

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, models, transaction
from django.utils import timezone

from foundation import partitions
from ipam import bitmaps, cache
from ipam.models import (
    HOSTS_PER_REGION,
    AllocationCursor,
    AuditLog,
    BulkJob,
    Country,
    Host,
    Region,
    Reservation,
    ReservationStatus,
    UserQuota,
    ip_to_int,
)
from ipam.selectors.occupancy import region_slot
from notifications.models import Notification
from webhooks import crypto, delivery
from webhooks import events as webhook_events
from webhooks.models import AttemptOutcome, DeliveryStatus, Webhook, WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent

BATCH = 5000
DEFAULT_PASSWORD = "bench-password-123"


def _fields(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


class Writer:
    """Writes row dicts (keyed by attname) with COPY on PostgreSQL, bulk_create elsewhere."""

    def __init__(self) -> None:
        self.copy = connection.vendor == "postgresql"
        self.counts: dict[str, int] = {}

    def write(self, model: type[models.Model], rows: Iterable[dict[str, Any]]) -> int:
        written = 0
        rows = iter(rows)
        first = next(rows, None)
        if first is None:
            return 0
        rows = itertools.chain([first], rows)
        # The columns the generator fills; the others (e.g. legacy_id, null unless imported) keep their defaults.
        fields = [f for f in _fields(model) if f.attname in first]
        if self.copy:
            columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
            json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
            with connection.cursor() as cursor:
                raw = cursor.cursor
                while hasattr(raw, "cursor") and not hasattr(raw, "copy"):
                    raw = raw.cursor
                with raw.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([json.dumps(row[f.attname]) if f.attname in json_fields else row[f.attname] for f in fields])
                        written += 1
        else:
            batch: list[models.Model] = []
            for row in rows:
                batch.append(model(**row))
                if len(batch) >= BATCH:
                    model.objects.bulk_create(batch)  # type: ignore[attr-defined]
                    written += len(batch)
                    batch = []
            if batch:
                model.objects.bulk_create(batch)  # type: ignore[attr-defined]
                written += len(batch)
        self.counts[model.__name__] = self.counts.get(model.__name__, 0) + written
        return written


def plan_regions(countries: list[Country], regions: int) -> list[tuple[Country, int, int]]:
    """(country, x, y) of `regions` regions, round-robin over `countries`, first-fit inside each."""
    taken = dict.fromkeys((c.pk for c in countries), 0)
    planned = []
    for index in range(regions):
        country = countries[index % len(countries)]
        slot = taken[country.pk]
        if slot >= country.total_capacity:
            raise SystemExit(f"{country.name} is full: use more countries or fewer regions")
        taken[country.pk] = slot + 1
        planned.append((country, country.x_start + slot // 256, slot % 256))
    return planned


def reset_user(user: Any) -> None:
    """Delete everything of the user's namespace (fast, no per-row signals)."""
    qn = connection.ops.quote_name
    hooks = f"SELECT id FROM {qn(Webhook._meta.db_table)} WHERE user_id = %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {qn(WebhookDeliveryAttempt._meta.db_table)} WHERE delivery_id IN "
            f"(SELECT id FROM {qn(WebhookDelivery._meta.db_table)} WHERE webhook_id IN ({hooks}))",
            [user.pk],
        )
        cursor.execute(f"DELETE FROM {qn(WebhookDelivery._meta.db_table)} WHERE webhook_id IN ({hooks})", [user.pk])
        for model in (Host, Region, AllocationCursor, AuditLog, UserQuota, Reservation, BulkJob, Webhook, WebhookEvent, Notification):
            cursor.execute(f"DELETE FROM {qn(model._meta.db_table)} WHERE user_id = %s", [user.pk])


def generate(
    *,
    username: str = "bench",
    password: str = DEFAULT_PASSWORD,
    hosts: int = 1_000_000,
    hosts_per_region: int = 250,
    country_codes: list[str] | None = None,
    history_days: int = 365,
    audit: str = "all",
    reset: bool = False,
    notifications: int = 0,
    reservations: int = 0,
    deliveries: int = 0,
    now: datetime | None = None,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Create (or, with `reset`, recreate) `username`'s namespace with `hosts` hosts; returns a summary.

    `notifications`, `reservations` (active, on host addresses) and `deliveries` (of one disabled webhook):
    the other lists of the user, so that their list pages are measured on real pages (`list_rows`)."""
    if not 1 <= hosts_per_region <= HOSTS_PER_REGION:
        raise SystemExit(f"--hosts-per-region must be 1..{HOSTS_PER_REGION}")
    if audit not in ("all", "regions", "none"):
        raise SystemExit("--audit must be all, regions or none")
    started = time.perf_counter()
    now = now or timezone.now()
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name="IPAM Operators"))
    if reset:
        reset_user(user)
    elif Region.objects.filter(user=user).exists():
        raise SystemExit(f"{username} already has regions: pass --reset to recreate the namespace")

    countries = list(Country.objects.filter(is_reserved=False).order_by("x_start"))
    if country_codes:
        wanted = {code.upper() for code in country_codes}
        countries = [c for c in countries if c.code in wanted or c.code3 in wanted]
    region_total = math.ceil(hosts / hosts_per_region)
    planned = plan_regions(countries, region_total)
    span = timedelta(days=history_days)
    start = now - span
    writer = Writer()
    region_ids = [uuid.uuid4() for _ in planned]
    region_times = [start + span * index / max(1, region_total) for index in range(region_total)]

    def host_count(index: int) -> int:
        return min(hosts_per_region, hosts - index * hosts_per_region)

    def region_rows() -> Iterator[dict[str, Any]]:
        for index, (country, x, y) in enumerate(planned):
            k = host_count(index)
            created = region_times[index]
            yield {
                "id": region_ids[index],
                "user_id": user.pk,
                "country_id": country.pk,
                "x_octet": x,
                "y_octet": y,
                "network_int": ip_to_int(x, y, 0),
                "region_name": f"bench-{country.code.lower()}-{index:05d}",
                "description": "",
                "status": "active",
                "owner": username,
                "tags": {"env": "prod" if index % 3 else "dev", "tier": str(index % 4)},
                "host_bitmap": bitmaps.to_bytes(bitmaps.mask_of(range(1, k + 1))),
                "allocated_hosts": k,
                "created_at": created,
                "updated_at": created,
                "created_by": username,
                "updated_by": username,
            }

    def host_times(index: int) -> Iterator[tuple[int, datetime]]:
        k = host_count(index)
        created = region_times[index]
        step = min(timedelta(hours=1), (now - created) / (k + 1))
        for z in range(1, k + 1):
            yield z, created + step * z

    def host_rows() -> Iterator[dict[str, Any]]:
        for index, (_, x, y) in enumerate(planned):
            for z, created in host_times(index):
                yield {
                    "id": uuid.uuid5(region_ids[index], str(z)),
                    "user_id": user.pk,
                    "region_id": region_ids[index],
                    "x_octet": x,
                    "y_octet": y,
                    "z_octet": z,
                    "ip_int": ip_to_int(x, y, z),
                    "ip_address": f"10.{x}.{y}.{z}",
                    "hostname": f"h-{z:03d}",
                    "device_type": "VM",
                    "os_type": "linux",
                    "application": "",
                    "cost_center": "",
                    "purpose": "",
                    "notes": "",
                    "status": "active",
                    "tags": {},
                    "created_at": created,
                    "updated_at": created,
                    "created_by": username,
                    "updated_by": username,
                }

    def audit_row(**values: Any) -> dict[str, Any]:
        row = {
            "id": uuid.uuid4(),
            "user_id": user.pk,
            "action_type": "create",
            "ip_address": "",
            "actor": username,
            "actor_type": "user",
            "request_id": "",
            "source_ip": "",
            "auth_method": "bench",
            "reason": "",
            "changes": [],
            "snapshot": {},
        }
        row.update(values)
        return row

    def audit_rows() -> Iterator[dict[str, Any]]:
        for index, (country, x, y) in enumerate(planned):
            cidr = f"10.{x}.{y}.0/24"
            region_id = region_ids[index]
            common = {"cidr": cidr, "country_code": country.code, "region_id": region_id}
            yield audit_row(resource_type="region", resource_id=str(region_id), timestamp=region_times[index], **common)
            if audit == "all":
                for z, created in host_times(index):
                    host_id = uuid.uuid5(region_id, str(z))
                    ip = f"10.{x}.{y}.{z}"
                    yield audit_row(resource_type="host", resource_id=str(host_id), ip_address=ip, timestamp=created, **common)

    def cursor_rows() -> Iterator[dict[str, Any]]:
        slots: dict[int, list[int]] = {}
        for country, x, y in planned:
            slots.setdefault(country.pk, []).append(region_slot(x, y))
        for country_id, taken in slots.items():
            yield {
                "user_id": user.pk,
                "country_id": country_id,
                "bitmap": bitmaps.to_bytes(bitmaps.mask_of(taken)),
                "region_count": len(taken),
            }

    with transaction.atomic():
        # DDL first: creating a partition later would first check every deferred foreign key of the rows written
        if notifications:
            _partition_months(Notification, now - timedelta(days=NOTIFICATION_DAYS), now)
        if deliveries:
            _partition_months(WebhookDelivery, now - timedelta(days=DELIVERY_DAYS + 1), now)
        writer.write(Region, region_rows())
        out(f"regions: {region_total} ({time.perf_counter() - started:.1f}s)")
        writer.write(Host, host_rows())
        out(f"hosts: {hosts} ({time.perf_counter() - started:.1f}s)")
        AllocationCursor.objects.bulk_create(AllocationCursor(**row) for row in cursor_rows())
        UserQuota.objects.update_or_create(
            user=user,
            defaults={
                "region_limit": max(region_total, 1000) + 1000,
                "host_limit": max(hosts, 10000) * 2,
                "regions_used": region_total,
                "hosts_used": hosts,
            },
        )
        if audit != "none":
            audit_total = writer.write(AuditLog, audit_rows())
            out(f"audit rows: {audit_total} ({time.perf_counter() - started:.1f}s)")
        lists = list_rows(
            user=user,
            username=username,
            planned=planned,
            region_ids=region_ids,
            hosts_in=host_count,
            audit_row=audit_row if audit != "none" else None,
            writer=writer,
            notifications=notifications,
            reservations=reservations,
            deliveries=deliveries,
            now=now,
            out=out,
            started=started,
        )
    cache.forget_user_history(user.pk)  # the user's past was rewritten: no cached read may survive
    if connection.vendor == "postgresql":
        # VACUUM sets the visibility map (index-only scans); it cannot run inside a transaction (tests).
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        with connection.cursor() as cursor:
            tables = (Region, Host, AllocationCursor, AuditLog, UserQuota, Reservation, Notification, WebhookEvent, WebhookDelivery)
            for model in (*tables, WebhookDeliveryAttempt):
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
        out(f"{command.lower()} done ({time.perf_counter() - started:.1f}s)")
    summary = {
        "username": username,
        "user_id": user.pk,
        "regions": region_total,
        "hosts": hosts,
        "countries": len({c.pk for c, _, _ in planned}),
        "audit_rows": writer.counts.get("AuditLog", 0),
        **lists,
        "seconds": round(time.perf_counter() - started, 1),
    }
    out(json.dumps(summary))
    return summary


# --- the other lists of the bench user (issue 19): notifications, host reservations, a webhook's deliveries ---

# The countries bench/run.py allocates into by default (`--country`, `--empty-country`, `--full-country`): no
# reservation of the generated lists lies there, so the allocation scenarios find the namespace they always did.
ALLOCATION_COUNTRIES = frozenset({"US", "JP", "TW"})
NOTIFICATION_DAYS = 80  # within IPAM_NOTIFICATION_RETENTION_DAYS (90): the retention job drops nothing of it
DELIVERY_DAYS = 28  # within IPAM_WEBHOOK_DELIVERY_RETENTION_DAYS (30)
DELIVERY_EVENTS = ("host.allocated", "host.allocated", "host.allocated", "host.released", "host.updated", "region.created")


def _partition_months(model: type[models.Model], since: datetime, now: datetime) -> None:
    """The monthly partitions of `since`…`now` (PostgreSQL, partitioned tables), so the rows land in their
    month as the service's would (the `partitions_maintain` job creates the months ahead; past months that a
    fresh database never had would otherwise go to the default partition)."""
    table = model._meta.db_table
    if connection.vendor != "postgresql" or not partitions.is_partitioned(connection, table):
        return
    spec = next(spec for spec in partitions.registered() if spec.table == table)
    month = partitions.month_start(since)
    while month <= now:
        partitions.create_month(connection, spec, month)
        month = partitions.add_months(month, 1)


def reservation_rows(planned: list[tuple[Country, int, int]], hosts_in: Callable[[int], int], count: int) -> list[tuple[int, int]]:
    """(region index, z) of `count` active host reservations, spread over the regions outside
    `ALLOCATION_COUNTRIES`, each on a free address above the region's hosts — never 254, which the `objects`
    workload reserves itself — one per region. Empty when there is no such address."""
    eligible = [
        index
        for index, (country, _, _) in enumerate(planned)
        if country.code not in ALLOCATION_COUNTRIES and hosts_in(index) < HOSTS_PER_REGION - 1
    ]
    if not eligible or count <= 0:
        return []
    step = max(1, len(eligible) // count)
    chosen = eligible[::step][:count]
    rows = []
    for number, index in enumerate(chosen):
        free = range(hosts_in(index) + 1, HOSTS_PER_REGION)  # z ≤ 253
        rows.append((index, free[number % len(free)]))
    return rows


def list_rows(
    *,
    user: Any,
    username: str,
    planned: list[tuple[Country, int, int]],
    region_ids: list[uuid.UUID],
    hosts_in: Callable[[int], int],
    audit_row: Callable[..., dict[str, Any]] | None,
    writer: Writer,
    notifications: int,
    reservations: int,
    deliveries: int,
    now: datetime,
    out: Callable[[str], None],
    started: float,
) -> dict[str, int]:
    """Write the bench user's notifications, active host reservations (with their `create` audit rows when
    `audit_row`) and one disabled webhook with its delivery history; the counts written."""
    rng = random.Random(19)
    written: dict[str, int] = {}

    if reservations:
        reason_of = ("held for the next rollout", "gateway of a planned VLAN", "load balancer VIP", "migration target")
        picked = reservation_rows(planned, hosts_in, reservations)
        span = timedelta(days=60)
        made: list[tuple[int, int, dict[str, Any]]] = []
        for number, (index, z) in enumerate(picked):
            country, x, y = planned[index]
            created = now - span + span * number / max(1, len(picked))
            row = {
                "id": uuid.uuid4(),
                "user_id": user.pk,
                "resource_type": Reservation.ResourceType.HOST,
                "country_id": country.pk,
                "x_octet": x,
                "y_octet": y,
                "z_octet": z,
                "reason": reason_of[number % len(reason_of)],
                "status": ReservationStatus.ACTIVE,
                "expires_at": None,  # no expiry: the hourly job would expire (and notify) during later runs
                "created_by": username,
                "created_at": created,
                "updated_at": created,
            }
            made.append((index, z, row))
        written["reservations"] = writer.write(Reservation, (row for _, _, row in made))
        if audit_row is not None:

            def reservation_audit_rows() -> Iterator[dict[str, Any]]:
                for index, z, row in made:
                    country, x, y = planned[index]
                    snapshot = {
                        "reservation_id": str(row["id"]),
                        "resource_type": "host",
                        "country": country.name,
                        "x_octet": x,
                        "y_octet": y,
                        "z_octet": z,
                        "reserved_address": f"10.{x}.{y}.{z}",
                        "reason": row["reason"],
                        "status": "active",
                        "expires_at": None,
                        "converted_resource_id": None,
                        "created_by": username,
                        "created_at": row["created_at"].isoformat(),
                        "updated_at": row["updated_at"].isoformat(),
                    }
                    yield audit_row(
                        resource_type="reservation",
                        resource_id=str(row["id"]),
                        ip_address=f"10.{x}.{y}.{z}",
                        cidr=f"10.{x}.{y}.0/24",
                        country_code=country.code,
                        region_id=region_ids[index],
                        reason=row["reason"],
                        snapshot=snapshot,
                        timestamp=row["created_at"],
                    )

            writer.write(AuditLog, reservation_audit_rows())
        out(f"reservations: {written['reservations']} ({time.perf_counter() - started:.1f}s)")

    webhook_id = uuid.uuid4()
    disabled_at = now - timedelta(hours=6)
    if deliveries:
        hook_created = now - timedelta(days=DELIVERY_DAYS + 1)
        Webhook.objects.create(
            id=webhook_id,
            user_id=user.pk,
            webhook_url="https://hooks.example.com/ipam",
            events=sorted(set(DELIVERY_EVENTS)),
            description="bench: a disabled hook with a month of history",
            secret_encrypted=crypto.secret_encrypt(crypto.secret_generate()),
            is_active=False,  # disabled: allocations during a run publish no events to it
            failure_count=delivery.AUTO_DISABLE_AFTER,
            disabled_at=disabled_at,
            disabled_reason=f"{delivery.AUTO_DISABLE_AFTER} consecutive failed deliveries",
        )
        Webhook.objects.filter(pk=webhook_id).update(created_at=hook_created, updated_at=disabled_at)
        written["deliveries"] = _deliveries(user, webhook_id, deliveries, now, disabled_at, rng, writer)
        out(f"webhook deliveries: {written['deliveries']} ({time.perf_counter() - started:.1f}s)")

    if notifications:
        region_indexes = list(range(len(planned)))

        def notification_rows() -> Iterator[dict[str, Any]]:
            span = timedelta(days=NOTIFICATION_DAYS)
            for number in range(notifications):
                created = now - span + span * number / notifications
                kind = rng.random()
                if kind < 0.6 and region_indexes:
                    index = rng.choice(region_indexes)
                    country = planned[index][0]
                    percent = round(rng.uniform(80, 100), 2)
                    level = "critical" if percent >= 95 else "warning"
                    row = {
                        "notification_type": f"capacity_{level}",
                        "severity": level,
                        "message": (
                            f"Region bench-{country.code.lower()}-{index:05d} is at {percent:g}% utilization "
                            f"({round(percent * HOSTS_PER_REGION / 100)} of {HOSTS_PER_REGION}); rule 'full regions' threshold 80%."
                        ),
                        "resource_type": "region",
                        "resource_id": str(region_ids[index]),
                        "resource_link": f"/ipam/regions/{region_ids[index]}",
                    }
                elif kind < 0.75:
                    ident = uuid.uuid4()
                    row = {
                        "notification_type": "reservation_expiring",
                        "severity": "warning",
                        "message": "Your reservation of a host address expires within 24 hours.",
                        "resource_type": "reservation",
                        "resource_id": str(ident),
                        "resource_link": f"/ipam/reservations/{ident}",
                    }
                elif kind < 0.9:
                    ident = uuid.uuid4()
                    row = {
                        "notification_type": "reservation_expired",
                        "severity": "info",
                        "message": "Your reservation of a host address has expired; the address is free again.",
                        "resource_type": "reservation",
                        "resource_id": str(ident),
                        "resource_link": f"/ipam/reservations/{ident}",
                    }
                else:
                    row = {
                        "notification_type": "quota_warning",
                        "severity": "warning",
                        "message": "You are using 85% of your host quota.",
                        "resource_type": "quota",
                        "resource_id": "hosts",
                        "resource_link": "/ipam/quotas/me",
                    }
                age = now - created
                # the older ones were mostly read (some hours later); the last two weeks' mostly not
                read = rng.random() < (0.9 if age > timedelta(days=14) else 0.3)
                yield {
                    "id": uuid.uuid4(),
                    "user_id": user.pk,
                    **row,
                    "is_read": read,
                    "read_at": min(now, created + timedelta(hours=rng.uniform(0.1, 48))) if read else None,
                    "created_at": created,
                }
            if deliveries:  # the automatic disable notified the owner
                yield {
                    "id": uuid.uuid4(),
                    "user_id": user.pk,
                    "notification_type": "webhook_disabled",
                    "severity": "critical",
                    "message": (
                        f"Webhook https://hooks.example.com/ipam was disabled after {delivery.AUTO_DISABLE_AFTER} consecutive failed "
                        f'deliveries. Fix the receiver, then re-enable it with PATCH /ipam/webhooks/{webhook_id} {{"is_active": true}}.'
                    ),
                    "resource_type": "webhook",
                    "resource_id": str(webhook_id),
                    "resource_link": f"/ipam/webhooks/{webhook_id}",
                    "is_read": False,
                    "read_at": None,
                    "created_at": disabled_at,
                }

        written["notifications"] = writer.write(Notification, notification_rows())
        out(f"notifications: {written['notifications']} ({time.perf_counter() - started:.1f}s)")
    return written


Attempt = tuple[int | None, str, AttemptOutcome]  # status code, error, outcome


def _retried(code: int | None, error: str, retries: int, last: Attempt) -> list[Attempt]:
    """`retries` attempts answered `code`/`error` (retried), then `last`."""
    retry: Attempt = (code, error, AttemptOutcome.RETRYING)
    return [retry] * retries + [last]


def _deliveries(
    user: Any, webhook_id: uuid.UUID, count: int, now: datetime, disabled_at: datetime, rng: random.Random, writer: Writer
) -> int:
    """`count` deliveries to the webhook over `DELIVERY_DAYS` days, as `webhooks.delivery` settles them: mostly
    delivered at the first attempt, some after retries, a few failed after every attempt; then the
    `AUTO_DISABLE_AFTER` consecutive failures that disabled the hook and the deliveries its disable cancelled
    (failed, no attempt). None is pending or sending: the dispatcher would pick those up during a run."""
    start = disabled_at - timedelta(days=DELIVERY_DAYS)
    cancelled = min(5, count)
    failing = min(delivery.AUTO_DISABLE_AFTER, count - cancelled)
    span = disabled_at - start
    events: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    max_attempts = settings.IPAM_WEBHOOK_MAX_ATTEMPTS
    for number in range(count):
        created = start + span * number / count
        event_type = rng.choice(DELIVERY_EVENTS)
        event_id = uuid.uuid4()
        data = {"ip_address": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 250)}", "user": user.get_username()}
        events.append(
            {
                "id": event_id,
                "user_id": user.pk,
                "event_type": event_type,
                "body": webhook_events.payload_body(
                    event_id=event_id, event_type=event_type, timestamp=created, user_id=user.pk, data=data
                ),
                "created_at": created,
            }
        )
        delivery_id = uuid.uuid4()
        row = {
            "id": delivery_id,
            "webhook_id": webhook_id,
            "event_id": event_id,
            "event_type": event_type,
            "status": DeliveryStatus.DELIVERED,
            "attempts": 1,
            "next_attempt_at": None,
            "claimed_at": created,
            "claim_token": None,
            "last_status_code": 200,
            "last_response_time_ms": rng.randint(40, 300),
            "last_error": "",
            "delivered_at": None,
            "redelivery_of": None,
            "created_at": created,
            "updated_at": created,
        }
        # (status code, error, outcome) of each attempt
        kind = rng.random()
        plan: list[Attempt]
        if number >= count - cancelled:
            plan = []
        elif number >= count - cancelled - failing:
            plan = _retried(
                None,
                "Connection refused",
                max_attempts - 1,
                (None, f"Connection refused (gave up after {max_attempts} attempts)", AttemptOutcome.FAILED),
            )
        elif kind < 0.005:
            plan = _retried(
                503, "HTTP 503", max_attempts - 1, (503, f"HTTP 503 (gave up after {max_attempts} attempts)", AttemptOutcome.FAILED)
            )
        elif kind < 0.01:
            plan = _retried(410, "", 0, (410, "HTTP 410", AttemptOutcome.FAILED))
        elif kind < 0.04:
            plan = _retried(503, "HTTP 503", rng.randint(1, 2), (200, "", AttemptOutcome.DELIVERED))
        else:
            plan = _retried(200, "", 0, (200, "", AttemptOutcome.DELIVERED))
        moment = created
        for attempt, (code, error, outcome) in enumerate(plan, start=1):
            elapsed = rng.randint(40, 300) if code is not None else 0
            moment = moment + timedelta(milliseconds=elapsed + 20)
            next_at = moment + timedelta(seconds=delivery.BACKOFF_BASE_SECONDS * delivery.BACKOFF_FACTOR ** (attempt - 1))
            attempts.append(
                {
                    "delivery_id": delivery_id,
                    "attempt_number": attempt,
                    "status_code": code,
                    "response_time_ms": elapsed,
                    "error_message": error,
                    "attempted_at": moment,
                    "next_attempt_at": next_at if outcome == AttemptOutcome.RETRYING else None,
                    "status": outcome,
                }
            )
            row.update(last_status_code=code, last_response_time_ms=elapsed, last_error=error, updated_at=moment, claimed_at=moment)
            if outcome == AttemptOutcome.DELIVERED:
                row.update(status=DeliveryStatus.DELIVERED, delivered_at=moment)
            elif outcome == AttemptOutcome.FAILED:
                row["status"] = DeliveryStatus.FAILED
            if outcome == AttemptOutcome.RETRYING:
                moment = next_at
        row["attempts"] = len(plan)
        if not plan:  # cancelled by the disable: never sent
            row.update(
                status=DeliveryStatus.FAILED,
                claimed_at=None,
                last_status_code=None,
                last_response_time_ms=None,
                last_error="Webhook disabled; not sent.",
                updated_at=disabled_at,
            )
        rows.append(row)
    writer.write(WebhookEvent, events)
    written = writer.write(WebhookDelivery, rows)
    writer.write(WebhookDeliveryAttempt, attempts)
    last_success = max((r["delivered_at"] for r in rows if r["delivered_at"]), default=None)
    Webhook.objects.filter(pk=webhook_id).update(last_delivery_at=disabled_at, last_success_at=last_success, last_failure_at=disabled_at)
    return written


def verify(*, username: str = "bench") -> list[str]:
    """Recompute bitmaps and counters from the rows; the list of differences (empty = consistent)."""
    user = get_user_model().objects.get(username=username)
    problems: list[str] = []
    zs: dict[Any, int] = {}
    counts: dict[Any, int] = {}
    for region_id, z in Host.objects.filter(user=user).values_list("region_id", "z_octet").iterator(chunk_size=20000):
        zs[region_id] = zs.get(region_id, 0) | 1 << z
        counts[region_id] = counts.get(region_id, 0) + 1
    slots: dict[int, int] = {}
    region_counts: dict[int, int] = {}
    for region in Region.objects.filter(user=user).only("id", "country_id", "x_octet", "y_octet", "host_bitmap", "allocated_hosts"):
        if bitmaps.from_bytes(region.host_bitmap) != zs.get(region.pk, 0):
            problems.append(f"region {region.pk}: host bitmap differs from its hosts")
        if region.allocated_hosts != counts.get(region.pk, 0):
            problems.append(f"region {region.pk}: allocated_hosts {region.allocated_hosts} != {counts.get(region.pk, 0)} hosts")
        slots[region.country_id] = slots.get(region.country_id, 0) | 1 << region_slot(region.x_octet, region.y_octet)
        region_counts[region.country_id] = region_counts.get(region.country_id, 0) + 1
    for cursor in AllocationCursor.objects.filter(user=user):
        if bitmaps.from_bytes(cursor.bitmap) != slots.get(cursor.country_id, 0):
            problems.append(f"cursor {cursor.country_id}: bitmap differs from the regions")
        if cursor.region_count != region_counts.get(cursor.country_id, 0):
            problems.append(f"cursor {cursor.country_id}: region_count {cursor.region_count} != {region_counts.get(cursor.country_id, 0)}")
    missing = set(region_counts) - set(AllocationCursor.objects.filter(user=user).values_list("country_id", flat=True))
    problems += [f"country {country_id}: no allocation cursor" for country_id in sorted(missing)]
    # Host reservations hold a free address of one of the user's regions (ipam.services.reservations' rules).
    regions_at = {(x, y): pk for pk, x, y in Region.objects.filter(user=user).values_list("pk", "x_octet", "y_octet")}
    for reservation in Reservation.objects.active().filter(user=user, resource_type=Reservation.ResourceType.HOST):
        address = reservation.reserved_address
        region_pk = regions_at.get((reservation.x_octet, reservation.y_octet))
        if region_pk is None:
            problems.append(f"reservation {address}: the user has no region there")
        elif zs.get(region_pk, 0) >> (reservation.z_octet or 0) & 1:
            problems.append(f"reservation {address}: the address is allocated")
    quota = UserQuota.objects.filter(user=user).first()
    total_regions, total_hosts = sum(region_counts.values()), sum(counts.values())
    if quota is None or (quota.regions_used, quota.hosts_used) != (total_regions, total_hosts):
        problems.append(f"quota usage differs from {total_regions} regions / {total_hosts} hosts")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--username", default="bench")
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--hosts", type=int, default=1_000_000)
    parser.add_argument("--hosts-per-region", type=int, default=250)
    parser.add_argument("--countries", default="", help="comma-separated codes (default: every non-reserved country)")
    parser.add_argument("--history-days", type=int, default=365, help="creation times are spread over this many days")
    parser.add_argument("--audit", default="all", choices=["all", "regions", "none"], help="which create events to record")
    parser.add_argument("--notifications", type=int, default=20_000, help="notifications of the user (list pages, issue 19)")
    parser.add_argument("--reservations", type=int, default=2_000, help="active host reservations in the user's regions")
    parser.add_argument("--deliveries", type=int, default=20_000, help="deliveries of one disabled webhook of the user")
    parser.add_argument("--reset", action="store_true", help="delete the user's namespace first")
    parser.add_argument("--verify", action="store_true", help="recompute counters/bitmaps from the rows afterwards")
    parser.add_argument("--verify-only", action="store_true")
    args = parser.parse_args()
    if not args.verify_only:
        generate(
            username=args.username,
            password=args.password,
            hosts=args.hosts,
            hosts_per_region=args.hosts_per_region,
            country_codes=[c for c in args.countries.split(",") if c] or None,
            history_days=args.history_days,
            audit=args.audit,
            reset=args.reset,
            notifications=args.notifications,
            reservations=args.reservations,
            deliveries=args.deliveries,
        )
    if args.verify or args.verify_only:
        started = time.perf_counter()
        problems = verify(username=args.username)
        print(f"verify: {'consistent' if not problems else f'{len(problems)} problem(s)'} ({time.perf_counter() - started:.1f}s)")
        for problem in problems[:20]:
            print("  " + problem)
        if problems:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
