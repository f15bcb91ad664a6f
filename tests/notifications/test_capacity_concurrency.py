"""A rule crossed by concurrent allocations fires exactly once (real transactions, several connections)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from rest_framework.test import APIClient

from ipam.services.hosts import hosts_allocate_batch
from notifications.models import AlertState, Notification
from notifications.services import notification_rule_create
from tests.factories import make_region

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_concurrent_allocations_crossing_a_threshold_fire_the_rule_once(alice):
    region = make_region(alice)
    hosts_allocate_batch(actor=alice, region_id=region.pk, count=100, hostname_prefix="a")
    hosts_allocate_batch(actor=alice, region_id=region.pk, count=20, hostname_prefix="b")  # 120 / 254
    notification_rule_create(
        actor=alice, rule_name="half", utilization_threshold=50, notification_channels=["in_app"], resource_type="region"
    )

    def allocate(i: int) -> int:
        client = APIClient()
        client.force_authenticate(user=alice)
        try:
            return client.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": f"c{i}"}, format="json").status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(allocate, range(16)))
    assert statuses == [201] * 16  # 136 / 254: crossed 50 % (127) once, on the way
    assert Notification.objects.filter(user=alice, notification_type="capacity_warning").count() == 1
    assert AlertState.objects.filter(user=alice).count() == 1
