"""The lighter single-object GET (`ipam.api.detail.LightRetrieveMixin`, issue 19): byte-for-byte the body and
the ETag of the full serializer, the same 404s, the filters still applied when the URL carries query
parameters, and one statement per request."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory

from foundation.conditional import etag_of
from ipam.api.reservations import ReservationSerializer
from ipam.api.serializers import HostSerializer, RegionSerializer
from ipam.models import Host, Region, Reservation
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def _full(serializer_class: Any, instance: Any, path: str) -> tuple[bytes, str]:
    """What DRF's own `retrieve` produced: a fresh serializer with the request in its context."""
    request = APIRequestFactory().get(path)
    data = serializer_class(instance, context={"request": request, "format": None, "view": None}).data
    return JSONRenderer().render(data), etag_of(data)


@pytest.fixture
def objects(api: Any, alice: Any) -> dict[str, Any]:
    region = make_region(alice, tags={"env": "prod", "tier": "1"}, description="edge")
    host = make_host(alice, region, hostname="web-1", tags={"role": "web"})
    created = api.post(
        "/ipam/reservations",
        {"resource_type": "host", "x_octet": region.x_octet, "y_octet": region.y_octet, "z_octet": 200, "reason": "planned"},
        format="json",
    )
    assert created.status_code == 201, created.content
    return {
        "region": Region.objects.select_related("country").get(pk=region.pk),
        "host": Host.objects.select_related("region__country").get(pk=host.pk),
        "reservation": Reservation.objects.select_related("country").get(pk=created.json()["reservation_id"]),
    }


CASES = [
    ("region", "/ipam/regions/{}", RegionSerializer),
    ("host", "/ipam/hosts/{}", HostSerializer),
    ("reservation", "/ipam/reservations/{}", ReservationSerializer),
]


@pytest.mark.parametrize(("kind", "url", "serializer_class"), CASES)
def test_body_and_etag_equal_the_full_serializer(api: Any, objects: dict[str, Any], kind: str, url: str, serializer_class: Any) -> None:
    instance = objects[kind]
    path = url.format(instance.pk)
    body, etag = _full(serializer_class, instance, path)
    response = api.get(path)
    assert response.status_code == 200
    assert response.content == body
    assert response["ETag"] == etag
    assert api.get(path, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_host_by_ip_equals_the_full_serializer(api: Any, objects: dict[str, Any], django_assert_num_queries: Any) -> None:
    host = objects["host"]
    body, etag = _full(HostSerializer, host, "/")
    api.get(f"/ipam/hosts/by-ip/{host.ip_address}")  # warm the process caches
    with django_assert_num_queries(1) as captured:
        response = api.get(f"/ipam/hosts/by-ip/{host.ip_address}")
    assert (response.content, response["ETag"]) == (body, etag)
    assert "ORDER BY" not in captured.captured_queries[0]["sql"]
    assert api.get("/ipam/hosts/by-ip/10.0.0.254").status_code == 404


@pytest.mark.parametrize(("kind", "url", "serializer_class"), CASES)
def test_one_statement_per_detail_get(
    api: Any, objects: dict[str, Any], kind: str, url: str, serializer_class: Any, django_assert_num_queries: Any
) -> None:
    path = url.format(objects[kind].pk)
    api.get(path)  # warm the process caches (country table)
    with django_assert_num_queries(1) as captured:
        assert api.get(path).status_code == 200
    assert "ORDER BY" not in captured.captured_queries[0]["sql"]  # one row by its key: nothing to sort


@pytest.mark.parametrize(("kind", "url", "serializer_class"), CASES)
def test_unknown_and_foreign_objects_are_404(
    client_for: Any, bob: Any, api: Any, objects: dict[str, Any], kind: str, url: str, serializer_class: Any
) -> None:
    unknown = api.get(url.format("0b7e3c1e-9a43-4d7e-8f00-000000000000"))
    assert unknown.status_code == 404
    assert set(unknown.json()) >= {"error", "message"}
    assert client_for(bob).get(url.format(objects[kind].pk)).status_code == 404


def test_query_parameters_still_filter_the_detail(api: Any, objects: dict[str, Any]) -> None:
    """With parameters the request takes DRF's path: a filter the object does not match answers 404, as before."""
    region = objects["region"]
    assert api.get(f"/ipam/regions/{region.pk}?status=active").status_code == 200
    assert api.get(f"/ipam/regions/{region.pk}?status=retired").status_code == 404
    host = objects["host"]
    assert api.get(f"/ipam/hosts/{host.pk}?hostname=web-1").status_code == 200
    assert api.get(f"/ipam/hosts/{host.pk}?hostname=other").status_code == 404


def test_body_follows_a_change(api: Any, objects: dict[str, Any]) -> None:
    """Nothing is cached: the next GET shows the write (body and tag)."""
    region = objects["region"]
    before = api.get(f"/ipam/regions/{region.pk}")
    assert api.patch(f"/ipam/regions/{region.pk}", {"description": "moved"}, format="json").status_code == 200
    after = api.get(f"/ipam/regions/{region.pk}")
    assert after.json()["description"] == "moved"
    assert after["ETag"] != before["ETag"]
