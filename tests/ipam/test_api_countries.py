"""Countries, interpretation and own quotas."""

from __future__ import annotations

import pytest

from ipam.models import UserQuota
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def test_countries_list_has_18_rows_with_utilization(api, alice):
    make_region(alice, "India")
    body = api.get("/ipam/countries").json()
    assert len(body) == 18
    india = next(c for c in body if c["code"] == "IN")
    assert india == {
        "continent": "Asia",
        "country": "India",
        "code": "IN",
        "code3": "IND",
        "x_start": 0,
        "x_end": 29,
        "is_reserved": False,
        "total_capacity": 30 * 256,
        "allocated_regions": 1,
        "utilization_percentage": 0.01,
    }
    assert [c["country"] for c in api.get("/ipam/countries", {"continent": "Europe"}).json()] == ["Finland", "Sweden", "Poland", "Spain"]


@pytest.mark.parametrize("key", ["United States", "united states", "US", "usa"])
def test_country_lookup_by_name_code_or_code3(api, key):
    assert api.get(f"/ipam/countries/{key}").json()["code3"] == "USA"


def test_unknown_country_is_404(api):
    response = api.get("/ipam/countries/Narnia")
    assert response.status_code == 404 and set(response.json()) == {"error", "message", "details"}


def test_country_utilization_x_breakdown(api, alice):
    for _ in range(3):
        make_region(alice, "UAE")
    body = api.get("/ipam/countries/AE/utilization").json()
    assert body["total_capacity"] == 8 * 256 and body["allocated"] == 3 and body["available"] == 8 * 256 - 3
    assert body["x_breakdown"][0] == {"x_octet": 30, "allocated": 3, "capacity": 256, "available": 253, "utilization_percent": 1.17}
    assert [b["x_octet"] for b in body["x_breakdown"]] == list(range(30, 38))


def test_interpret_levels(api, alice):
    region = make_region(alice, "India")
    host = make_host(alice, region)
    body = api.post("/ipam/interpret", {"ip_address": host.ip_address}, format="json").json()
    assert body["status"] == "fully_allocated"
    assert body["hierarchy"]["country"]["name"] == "India" and body["hierarchy"]["host"]["host_id"] == str(host.pk)
    body = api.post("/ipam/interpret", {"ip_address": "10.0.0.77"}, format="json").json()
    assert body["status"] == "region_allocated" and body["hierarchy"]["host"] is None
    body = api.post("/ipam/interpret", {"ip_address": "10.200.1.1"}, format="json").json()
    assert body["status"] == "not_allocated" and body["hierarchy"]["region"] is None
    assert body["hierarchy"]["continent"] == "Australia"
    for bad in ["11.0.0.1", "10.0.0.256", "hello", ""]:
        assert api.post("/ipam/interpret", {"ip_address": bad}, format="json").status_code == 400


def test_quotas_me_reflects_usage_and_warning(api, alice):
    UserQuota.objects.update_or_create(user=alice, defaults={"region_limit": 5})
    for _ in range(4):
        make_region(alice)
    body = api.get("/ipam/quotas/me").json()
    assert body["regions"] == {"limit": 5, "used": 4, "available": 1, "usage_percent": 80.0, "warning": True}
    assert body["hosts"]["limit"] == 10000 and body["hosts"]["warning"] is False
