"""Concurrent bulk tag requests over the same ids: no deadlock, no lost update, every change audited.

Threads with their own connections against the real test database (row locks on PostgreSQL; SQLite
serialises the writers).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from rest_framework.test import APIClient

from ipam.models import AuditLog, Region
from tests.factories import make_region

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_overlapping_bulk_requests_all_apply_without_deadlock(alice):
    ids = [str(make_region(alice, "IN", f"c{i}").pk) for i in range(30)]
    requests = [(f"k{n}", ids if n % 2 else list(reversed(ids))) for n in range(6)]

    def send(request: tuple[str, list[str]]) -> int:
        key, order = request
        client = APIClient()
        client.force_authenticate(user=alice)
        try:
            body = {"resource_type": "region", "resource_ids": order, "operation": "add", "tags": {key: "v"}}
            return client.post("/ipam/bulk/tags", body, format="json").status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(send, requests))
    assert statuses == [200] * 6
    expected = {f"k{n}": "v" for n in range(6)}
    assert all(tags == expected for tags in Region.objects.filter(user=alice).values_list("tags", flat=True))
    assert AuditLog.objects.filter(user=alice, action_type="update", resource_type="region").count() == 6 * 30
