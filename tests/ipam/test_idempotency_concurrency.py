"""Concurrent requests with one Idempotency-Key allocate once; everyone gets the same answer."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from foundation.models import IdempotencyRecord
from ipam.models import Host, Region, UserQuota
from tests.factories import make_region

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

THREADS = 8


def _parallel(user: Any, count: int, path: str, body: dict[str, Any], key: str) -> list[Any]:
    def worker(_: int) -> Any:
        client = APIClient()
        client.force_authenticate(user=user)
        try:
            return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(worker, range(count)))


def test_concurrent_region_creates_with_one_key_allocate_exactly_once(alice):
    responses = _parallel(alice, 16, "/ipam/regions", {"country": "Chile", "region_name": "once"}, "same-key")
    assert Counter(r.status_code for r in responses) == {201: 16}
    assert len({r.json()["region_id"] for r in responses}) == 1
    assert sum(1 for r in responses if r.has_header("Idempotent-Replayed")) == 15
    assert Region.objects.filter(user=alice).count() == 1
    assert UserQuota.objects.get(user=alice).regions_used == 1
    assert IdempotencyRecord.objects.get(user=alice, key="same-key").status_code == 201


def test_concurrent_host_batches_with_one_key_allocate_exactly_once(alice):
    region = make_region(alice)
    body = {"region_id": str(region.pk), "count": 10, "hostname_prefix": "n"}
    responses = _parallel(alice, 16, "/ipam/hosts/batch", body, "batch-key")
    assert Counter(r.status_code for r in responses) == {201: 16}
    assert len({tuple(h["host_id"] for h in r.json()["hosts"]) for r in responses}) == 1
    assert Host.objects.filter(region=region).count() == 10
    region.refresh_from_db()
    assert region.allocated_hosts == 10
