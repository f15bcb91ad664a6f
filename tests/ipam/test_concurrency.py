"""Concurrent allocation never double-allocates, never 5xx, never overshoots a quota.

Runs threads with their own database connections against the real test database. PostgreSQL only (marked
`postgres`; skipped, visibly, on SQLite runs): the row locks are what is being proven, and SQLite serialises
every writer, so it would prove nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from ipam import bitmaps
from ipam.models import AllocationCursor, Host, Region, UserQuota
from tests.concurrency import run_parallel
from tests.factories import make_region

# serialized_rollback restores the seed data (countries, groups) that the transactional flush removes.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_concurrent_host_allocation_fills_a_region_exactly_once(alice):
    region = make_region(alice)

    def allocate(i: int) -> Callable[[APIClient], Any]:
        return lambda c: c.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": f"h{i}"}, format="json")

    responses = run_parallel(alice, [allocate(i) for i in range(270)])
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 254, statuses
    assert statuses[409] == 16, statuses
    assert all(r.json()["error"] == "region_full" for r in responses if r.status_code == 409)
    ips = [r.json()["ip_address"] for r in responses if r.status_code == 201]
    assert len(set(ips)) == 254
    assert Host.objects.filter(region=region).count() == 254
    region.refresh_from_db()
    assert region.allocated_hosts == 254
    assert bitmaps.from_bytes(region.host_bitmap) == ((1 << 255) - 1) & ~1  # bits 1..254
    assert UserQuota.objects.get(user=alice).hosts_used == 254


def test_concurrent_region_allocation_in_one_country_has_no_duplicates(alice):
    def allocate(i: int) -> Callable[[APIClient], Any]:
        return lambda c: c.post("/ipam/regions", {"country": "Chile", "region_name": f"r{i}"}, format="json")

    responses = run_parallel(alice, [allocate(i) for i in range(40)])
    assert Counter(r.status_code for r in responses) == {201: 40}
    cidrs = sorted((r.json()["x_octet"], r.json()["y_octet"]) for r in responses)
    assert cidrs == [(178, y) for y in range(40)]  # first-fit, no gaps, no duplicates
    cursor = AllocationCursor.objects.get(user=alice, country__code="CL")
    assert cursor.region_count == 40 == Region.objects.filter(user=alice).count()


def test_concurrent_allocations_cannot_overshoot_the_host_quota(alice):
    UserQuota.objects.create(user=alice, host_limit=30)
    regions = [make_region(alice) for _ in range(4)]

    def allocate(i: int) -> Callable[[APIClient], Any]:
        region = regions[i % len(regions)]
        return lambda c: c.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": f"q{i}"}, format="json")

    responses = run_parallel(alice, [allocate(i) for i in range(60)])
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 30, 429: 30}, statuses
    assert all(r.json()["details"]["quota_type"] == "hosts" for r in responses if r.status_code == 429)
    assert Host.objects.filter(user=alice).count() == 30
    assert UserQuota.objects.get(user=alice).hosts_used == 30


def test_concurrent_region_quota_is_not_overshot(alice):
    UserQuota.objects.create(user=alice, region_limit=5)
    countries = ["India", "Japan", "Chile", "Brazil"]

    def allocate(i: int) -> Callable[[APIClient], Any]:
        return lambda c: c.post("/ipam/regions", {"country": countries[i % 4], "region_name": f"q{i}"}, format="json")

    responses = run_parallel(alice, [allocate(i) for i in range(16)])
    assert Counter(r.status_code for r in responses) == {201: 5, 429: 11}
    assert Region.objects.filter(user=alice).count() == 5
