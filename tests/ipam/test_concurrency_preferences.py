"""Concurrent saved-filter creation cannot overshoot the limit of 50 (the preference row lock serialises it)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from ipam.models import SavedFilter
from ipam.services.preferences import SAVED_FILTERS_MAX

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_concurrent_saved_filters_stop_exactly_at_the_limit(alice):
    SavedFilter.objects.bulk_create(SavedFilter(user=alice, name=f"f{i}", criteria={}) for i in range(SAVED_FILTERS_MAX - 3))

    def create(i: int) -> Any:
        client = APIClient()
        client.force_authenticate(user=alice)
        try:
            return client.post("/ipam/preferences/filters", {"name": f"race-{i}", "criteria": {"i": i}}, format="json")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, range(12)))
    assert Counter(r.status_code for r in responses) == {201: 3, 409: 9}
    assert SavedFilter.objects.filter(user=alice).count() == SAVED_FILTERS_MAX
