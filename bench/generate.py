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

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, models, transaction
from django.utils import timezone

from ipam import bitmaps, cache
from ipam.models import HOSTS_PER_REGION, AllocationCursor, AuditLog, BulkJob, Country, Host, Region, Reservation, UserQuota, ip_to_int
from ipam.selectors.occupancy import region_slot

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
    with connection.cursor() as cursor:
        for model in (Host, Region, AllocationCursor, AuditLog, UserQuota, Reservation, BulkJob):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)} WHERE user_id = %s", [user.pk])


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
    now: datetime | None = None,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Create (or, with `reset`, recreate) `username`'s namespace with `hosts` hosts; returns a summary."""
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
    cache.forget_user_history(user.pk)  # the user's past was rewritten: no cached read may survive
    if connection.vendor == "postgresql":
        # VACUUM sets the visibility map (index-only scans); it cannot run inside a transaction (tests).
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        with connection.cursor() as cursor:
            for model in (Region, Host, AllocationCursor, AuditLog, UserQuota):
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
        out(f"{command.lower()} done ({time.perf_counter() - started:.1f}s)")
    summary = {
        "username": username,
        "user_id": user.pk,
        "regions": region_total,
        "hosts": hosts,
        "countries": len({c.pk for c, _, _ in planned}),
        "audit_rows": writer.counts.get("AuditLog", 0),
        "seconds": round(time.perf_counter() - started, 1),
    }
    out(json.dumps(summary))
    return summary


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
