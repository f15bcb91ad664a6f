"""Preparing the database for `bench/run.py`, through the ORM (same DATABASE_URL as the server).

The 1 M-host user `bench` comes from `bench/generate.py`; here its quota is raised and the other users are made:
`bench-full` (99 % of a small country's /24s), `bench-small-NN` (small spaces) and `bench-import` (reset each run).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from bench.measure import PASSWORD
from ipam import cache
from ipam.models import Country, Region, UserQuota

BIG = 10_000_000
CHURNED_TABLES = ("ipam_host", "ipam_region", "ipam_auditlog", "ipam_allocationcursor", "ipam_userquota")


def ensure_user(username: str) -> Any:
    """The user (created if missing) with the bench password, in the IPAM Operators group."""
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="IPAM Operators"))
    return user


def raise_quota(user: Any) -> None:
    quota, _ = UserQuota.objects.get_or_create(user=user)
    quota.region_limit = BIG
    quota.host_limit = BIG
    quota.save()


def setup(args: argparse.Namespace, out: Callable[[str], Any]) -> dict[str, Any]:
    """Make the users every workload needs; returns what the report's `setup` section shows."""
    from bench.generate import generate, reset_user  # imports every model: only when a run really starts

    bench = get_user_model().objects.get(username=args.username)
    raise_quota(bench)
    # 99 % full country: `bench-full` holds 99 % of the /24s of the smallest country (one host each).
    full_country = Country.objects.get(code=args.full_country)
    capacity = (full_country.x_end - full_country.x_start + 1) * 256
    wanted = capacity * 99 // 100
    full = ensure_user("bench-full")
    if Region.objects.filter(user=full, country=full_country).count() != wanted:
        generate(
            username="bench-full",
            password=PASSWORD,
            hosts=wanted,
            hosts_per_region=1,
            country_codes=[full_country.code],
            audit="none",
            reset=True,
            out=out,
        )
    raise_quota(full)
    # 20 other users with small spaces (cheap: 4 regions × 50 hosts each), as the dataset asks.
    for index in range(1, args.small_users + 1):
        name = f"bench-small-{index:02d}"
        if not Region.objects.filter(user__username=name).exists():
            generate(
                username=name,
                password=PASSWORD,
                hosts=200,
                hosts_per_region=50,
                history_days=90,
                audit="regions",
                reset=True,
                out=lambda _m: None,
            )
    importer = ensure_user("bench-import")
    reset_user(importer)
    cache.bump_user_version(importer.pk)
    raise_quota(importer)
    return {"full_country": full_country.code, "full_regions": wanted, "full_capacity": capacity, "small_users": args.small_users}


def vacuum_if_autovacuum_is_off() -> dict[str, Any]:
    """Every run deletes what it created and the import resets its user: hundreds of thousands of dead rows
    (and GIN pending entries) per run. A production PostgreSQL vacuums them (autovacuum, on by default); on a
    server with autovacuum off, later runs would measure the previous runs' garbage instead. So the driver
    vacuums the tables it churns before measuring, when — and only when — autovacuum is off."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {"autovacuum": None, "vacuumed": False}
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
        if autovacuum == "on":
            return {"autovacuum": "on", "vacuumed": False}
        for table in CHURNED_TABLES:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
    return {"autovacuum": autovacuum, "vacuumed": True}
