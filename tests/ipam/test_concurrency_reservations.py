"""Concurrent reservations: one address, many clients → one wins, the rest 409, zero 5xx; reservations
racing allocations never overlap; several expiration workers expire each row exactly once.

Threads with their own database connections against the real test database. PostgreSQL only (marked
`postgres`; skipped, visibly, on SQLite runs): the row locks are what is being proven.
"""

from __future__ import annotations

import functools
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from ipam.models import AuditLog, Region, Reservation
from ipam.services.reservations import reservation_create, reservations_expire_due
from tests.concurrency import run_parallel
from tests.factories import make_region

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_concurrent_reservations_of_one_region_address_one_wins_the_rest_409(alice):
    body = {"resource_type": "region", "x_octet": 99, "y_octet": 99, "reason": "race"}
    responses = run_parallel(alice, [lambda c: c.post("/ipam/reservations", body, format="json")] * 16)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 15}, statuses
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"address_reserved"}
    assert Reservation.objects.filter(user=alice, status="active", x_octet=99, y_octet=99).count() == 1


def test_concurrent_reservations_of_one_host_address_one_wins_the_rest_409(alice):
    region = make_region(alice)
    body = {"resource_type": "host", "x_octet": region.x_octet, "y_octet": region.y_octet, "z_octet": 77, "reason": "race"}
    responses = run_parallel(alice, [lambda c: c.post("/ipam/reservations", body, format="json")] * 16)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 15}, statuses
    assert Reservation.objects.filter(user=alice, status="active", z_octet=77).count() == 1


def test_reservations_racing_region_allocations_never_overlap(alice):
    # Chile is X 178..187: allocations fill (178, 0), (178, 1)… while reservations target the same slots.
    def reserve(y: int, client):
        return client.post("/ipam/reservations", {"resource_type": "region", "x_octet": 178, "y_octet": y, "reason": "r"}, format="json")

    def allocate(i: int, client):
        return client.post("/ipam/regions", {"country": "Chile", "region_name": f"r{i}"}, format="json")

    reserve_calls = [functools.partial(reserve, y) for y in range(12)]
    allocate_calls = [functools.partial(allocate, i) for i in range(12)]
    interleaved = [call for pair in zip(reserve_calls, allocate_calls, strict=True) for call in pair]
    responses = run_parallel(alice, interleaved)
    assert all(r.status_code < 500 for r in responses)
    reservations = [r for r in responses[0::2]]
    allocations = [r for r in responses[1::2]]
    assert all(r.status_code == 201 for r in allocations)
    allocated = {(r.json()["x_octet"], r.json()["y_octet"]) for r in allocations}
    reserved = {(r.json()["x_octet"], r.json()["y_octet"]) for r in reservations if r.status_code == 201}
    assert not allocated & reserved
    assert all(r.json()["error"] == "address_in_use" for r in reservations if r.status_code == 409)
    assert len(allocated) == 12 == Region.objects.filter(user=alice).count()
    # Every slot 0..11 ended up either reserved or allocated; allocations skipped reserved ones.
    assert {y for _, y in reserved} | {y for _, y in allocated if y < 12} == set(range(12))


def test_several_expiration_workers_expire_each_reservation_exactly_once(alice, bob):
    for user in (alice, bob):
        for y in range(15):
            reservation_create(actor=user, resource_type="region", x_octet=1, y_octet=y, reason="r", expires_in_days=1)
    Reservation.objects.update(expires_at=timezone.now() - timedelta(minutes=5))

    def sweep(_: Any) -> int:
        try:
            return reservations_expire_due(batch_size=4)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(sweep, range(4)))
    assert sum(counts) == 30
    assert Reservation.objects.filter(status="expired").count() == 30
    assert AuditLog.objects.filter(action_type="reservation_expired").count() == 30
