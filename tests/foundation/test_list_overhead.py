"""What every list page pays (issue 19): the filter set is built only for a filter parameter, and an empty
list reads its count and nothing else.
"""

from __future__ import annotations

from typing import Any

import django_filters
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_filters import FilterSet

from foundation.filtering import QueryFilterBackend, _filter_names
from foundation.pagination import CountHintPaginator
from ipam.api.reservations import ReservationFilter
from ipam.models import Reservation
from ipam.selectors.filters import HostFilter, RegionFilter
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The filter sets django-filter builds, by class name."""
    seen: list[str] = []
    original = FilterSet.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        seen.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(FilterSet, "__init__", spy)
    return seen


def test_the_backend_is_the_default_of_every_list() -> None:
    from rest_framework.settings import api_settings

    assert QueryFilterBackend in api_settings.DEFAULT_FILTER_BACKENDS


@pytest.mark.parametrize("path", ["/ipam/reservations", "/ipam/regions", "/ipam/hosts", "/ipam/notifications"])
def test_no_filter_set_is_built_without_a_filter_parameter(api: Any, built: list[str], path: str) -> None:
    for query in ("", "?page=1", "?page_size=5&ordering=-created_at", "?unknown=1"):
        assert api.get(path + query).status_code == 200, (path, query)
    assert built == []


def test_a_filter_parameter_still_filters_and_still_rejects_a_bad_value(api: Any, alice: Any, built: list[str]) -> None:
    region = make_region(alice, "India")
    make_region(alice, "Japan")
    make_host(alice, region)
    body = api.get("/ipam/regions?country=Japan").json()
    assert body["count"] == 1 and body["results"][0]["country"] == "Japan"
    bad = api.get("/ipam/reservations?status=bogus")
    assert bad.status_code == 400 and "status" in bad.json()["details"]
    assert api.get("/ipam/hosts?status=bogus").status_code == 400
    assert built == ["RegionFilter", "ReservationFilter", "HostFilter"]


def test_filter_sets_that_may_filter_without_their_parameters_always_run() -> None:
    class Required(FilterSet):
        name = django_filters.CharFilter(required=True)

        class Meta:
            model = Reservation
            fields: list[str] = []

    class Custom(FilterSet):
        class Meta:
            model = Reservation
            fields = ["status"]

        def filter_queryset(self, queryset: Any) -> Any:
            return queryset.none()

    assert _filter_names(Required) is None and _filter_names(Custom) is None
    assert _filter_names(ReservationFilter) == {"status", "resource_type", "country", "legacy_id"}
    assert {"tag", "country", "utilization_gte"} <= _filter_names(RegionFilter)  # type: ignore[operator]
    assert {"tag", "ip_address", "region_id"} <= _filter_names(HostFilter)  # type: ignore[operator]


def test_an_empty_list_reads_only_its_count(api: Any) -> None:
    with CaptureQueriesContext(connection) as captured:
        body = api.get("/ipam/reservations").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}
    listing = [q["sql"] for q in captured.captured_queries if Reservation._meta.db_table in q["sql"]]
    assert len(listing) == 1 and "COUNT(" in listing[0].upper(), listing
    assert api.get("/ipam/reservations?page=2").status_code == 404


def test_the_empty_first_page_never_slices_the_rows() -> None:
    class NoRows(list):  # type: ignore[type-arg]
        def count(self) -> int:  # type: ignore[override]
            return 0

        def __getitem__(self, item: Any) -> Any:
            raise AssertionError("the empty page sliced the rows")

    page = CountHintPaginator(NoRows(), 50).page(1)
    assert list(page) == [] and page.paginator.count == 0 and not page.has_next()
