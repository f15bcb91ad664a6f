"""Every list order ends in a unique key (`foundation.filtering.TotalOrderingFilter`): rows that tie on the
chosen fields come in primary-key order on every page, and an order that is already unique is left alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.settings import api_settings

from foundation.filtering import TotalOrderingFilter, total_ordering
from ipam.api.reservations import ReservationViewSet
from ipam.api.views import HostViewSet, RegionViewSet
from ipam.models import Host, Region, Reservation
from notifications.api.views import NotificationRuleViewSet
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def test_it_is_the_default_ordering_backend_and_the_rules_list_uses_it() -> None:
    assert TotalOrderingFilter in api_settings.DEFAULT_FILTER_BACKENDS
    assert NotificationRuleViewSet.filter_backends == [TotalOrderingFilter]


@pytest.mark.parametrize(
    ("ordering", "view", "model", "expected"),
    [
        (["-created_at"], ReservationViewSet(), Reservation, ["-created_at", "-id"]),  # direction of the last field
        (["status", "created_at"], ReservationViewSet(), Reservation, ["status", "created_at", "id"]),
        (["-created_at", "id"], ReservationViewSet(), Reservation, ["-created_at", "id"]),  # holds the key already
        (["pk"], ReservationViewSet(), Reservation, ["pk"]),
        (["ip_int"], HostViewSet(), Host, ["ip_int"]),  # the view's unique order
        (["-ip_int"], HostViewSet(), Host, ["-ip_int"]),  # in either direction
        (["hostname"], HostViewSet(), Host, ["hostname", "id"]),
        (["y_octet", "-x_octet"], RegionViewSet(), Region, ["y_octet", "-x_octet"]),  # every field of it, any position
        (["-x_octet"], RegionViewSet(), Region, ["-x_octet", "-id"]),  # only part of it
    ],
)
def test_an_order_is_ended_by_the_primary_key_unless_it_is_unique(ordering: list[str], view: Any, model: Any, expected: list[str]) -> None:
    assert total_ordering(ordering, view, model) == expected


def test_hosts_of_one_status_come_in_key_order_on_every_page(api: Any, alice: Any) -> None:
    region = make_region(alice)
    for _ in range(7):
        make_host(alice, region)
    expected = sorted(str(pk) for pk in Host.objects.filter(user=alice).values_list("id", flat=True))
    seen: list[str] = []
    for page in range(1, 5):
        body = api.get("/ipam/hosts", {"ordering": "status", "page_size": 2, "page": page}).json()
        seen += [row["host_id"] for row in body["results"]]
    assert seen == expected  # every host once, ties on `status` by id ascending


def test_the_host_lists_unique_default_order_is_left_alone(api: Any, alice: Any) -> None:
    make_host(alice, make_region(alice))
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/ipam/hosts").status_code == 200
    page = [q["sql"] for q in queries.captured_queries if "ipam_host" in q["sql"] and "ORDER BY" in q["sql"]][-1]
    assert '"ip_int"' in page.split("ORDER BY")[-1] and '"id"' not in page.split("ORDER BY")[-1]
