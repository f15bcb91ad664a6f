"""GET /ipam/hosts/{id} and /ipam/hosts/by-ip/{ip} read the body's columns as `.values()` and render them with
the host list's row function (issue 19): the same bytes and ETag as `HostSerializer` over the full instance,
one statement that reads neither the region's nor the country's other columns, the same 404s."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.renderers import JSONRenderer

from foundation.conditional import etag_of
from ipam.api.serializers import HostSerializer
from ipam.models import Host
from ipam.services.hosts import host_update
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("how", ["id", "ip"])
def test_host_detail_reads_only_the_body_columns(api: Any, alice: Any, bob: Any, how: str, django_assert_num_queries: Any) -> None:
    region = make_region(alice, name='Ümlaut "q"', description="not in the host body", tags={"r": "1"})
    host = make_host(alice, region, "web-1", device_type="VM", notes="a\nb", tags={"env": "prod", "k": ""})
    host_update(actor=alice, host_id=host.pk, data={"status": "reserved", "purpose": "π"})
    Host.objects.filter(pk=host.pk).update(legacy_id="5f1d7c0a9b8e7d6c5b4a3f2e")
    full = HostSerializer(Host.objects.select_related("region__country").get(pk=host.pk)).data
    path = f"/ipam/hosts/{host.pk}" if how == "id" else f"/ipam/hosts/by-ip/{host.ip_address}"
    api.get(path)  # warm the process caches
    with django_assert_num_queries(1) as captured:
        response = api.get(path)
    assert response.status_code == 200
    assert response.content == JSONRenderer().render(full) and response["ETag"] == etag_of(full)
    sql = captured.captured_queries[0]["sql"]
    assert "ORDER BY" not in sql
    for column in ('"ipam_region"."description"', '"ipam_region"."allocated_hosts"', '"ipam_country"."total_capacity"'):
        assert column not in sql  # the instances path selected every column of the three tables
    assert api.get(path, HTTP_IF_NONE_MATCH=etag_of(full)).status_code == 304
    # another user's host, an unknown one
    other = make_host(bob, make_region(bob), "theirs")
    assert api.get(f"/ipam/hosts/{other.pk}").status_code == 404
    assert api.get("/ipam/hosts/00000000-0000-4000-8000-000000000000").status_code == 404
    missing = api.get("/ipam/hosts/by-ip/10.0.0.254")
    assert missing.status_code == 404 and missing.json()["error"] == "host_not_found"
