"""Statistics of the caller's namespace: continent, top-utilized, allocation velocity, dashboard
top-countries and recent-activity. Isolation and constant query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ipam.models import AuditLog
from ipam.services.hosts import host_retire
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread(alice, bob):
    """alice: India 2 regions (3 + 1 hosts), Japan 1 region (0 hosts), Spain 1 region (2 hosts); bob: India 5 regions."""
    india_a = make_region(alice, "India", "in-a")
    india_b = make_region(alice, "India", "in-b")
    japan = make_region(alice, "Japan", "jp-a")
    spain = make_region(alice, "Spain", "es-a")
    for region, count in ((india_a, 3), (india_b, 1), (spain, 2)):
        for _ in range(count):
            make_host(alice, region)
    for i in range(5):
        make_host(bob, make_region(bob, "India", f"bob-{i}"))
    return {"india_a": india_a, "india_b": india_b, "japan": japan, "spain": spain}


def test_continent_statistics_total_and_break_down_by_country(api, spread):
    response = api.get("/ipam/statistics/continent/asia")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["continent"] == "Asia" and body["total_countries"] == 7
    assert body["allocated_regions"] == 3 and body["total_hosts"] == 4
    assert body["total_capacity"] == 78 * 256  # X 0..77
    assert body["available_regions"] == 78 * 256 - 3
    assert body["host_capacity"] == 3 * 254 and body["host_utilization_percent"] == round(4 * 100 / 762, 2)
    by_country = {row["country"]: row for row in body["country_breakdown"]}
    assert [row["country"] for row in body["country_breakdown"]][:2] == ["India", "UAE"]
    assert by_country["India"]["allocated_regions"] == 2 and by_country["India"]["total_hosts"] == 4
    assert by_country["India"]["utilization_percent"] == round(2 * 100 / (30 * 256), 2)
    assert by_country["Japan"]["allocated_regions"] == 1 and by_country["Japan"]["total_hosts"] == 0
    assert by_country["UAE"]["allocated_regions"] == 0 and by_country["UAE"]["host_utilization_percent"] == 0.0


def test_continent_names_are_forgiving_and_unknown_ones_are_404(api, spread):
    assert api.get("/ipam/statistics/continent/north-america").json()["continent"] == "North America"
    assert api.get("/ipam/statistics/continent/SOUTH_AMERICA/").json()["total_countries"] == 2
    europe = api.get("/ipam/statistics/continent/Europe").json()
    assert europe["allocated_regions"] == 1 and europe["total_hosts"] == 2
    response = api.get("/ipam/statistics/continent/atlantis")
    assert response.status_code == 404 and response.json()["error"] == "continent_not_found"


def test_continent_statistics_are_isolated(client_for, bob, spread):
    body = client_for(bob).get("/ipam/statistics/continent/asia").json()
    assert body["allocated_regions"] == 5 and body["total_hosts"] == 5


def test_top_utilized_ranks_regions_and_countries(api, spread):
    body = api.get("/ipam/statistics/top-utilized", {"limit": 2}).json()
    assert [r["region_name"] for r in body["top_regions"]] == ["in-a", "es-a"]
    assert body["top_regions"][0]["allocated_hosts"] == 3
    assert body["top_regions"][0]["utilization_percent"] == round(3 * 100 / 254, 2)
    assert body["top_regions"][0]["cidr"] == "10.0.0.0/24"
    # Spain: 1 of 2560 regions; India: 2 of 7680; Japan: 1 of 2048 (highest).
    assert [c["country"] for c in body["top_countries"]] == ["Japan", "Spain"]
    full = api.get("/ipam/statistics/top-utilized").json()
    assert len(full["top_regions"]) == 4 and len(full["top_countries"]) == 3
    assert api.get("/ipam/statistics/top-utilized", {"limit": 0}).status_code == 400
    assert api.get("/ipam/statistics/top-utilized", {"limit": 101}).status_code == 400


def test_allocation_velocity_counts_allocations_and_releases_per_day(api, alice, spread):
    host_retire(actor=alice, host_id=spread["india_b"].hosts.get().pk, reason="gone")
    old = AuditLog.objects.filter(user=alice, resource_type="region", resource_id=str(spread["spain"].pk))
    old.update(timestamp=timezone.now() - timedelta(days=40))
    body = api.get("/ipam/statistics/allocation-velocity", {"time_range": "30d"}).json()
    assert body["time_range"] == "30d" and body["granularity"] == "day"
    assert len(body["time_series"]) == 30
    assert body["regions"] == {"allocated": 3, "released": 0, "net": 3, "per_day": 0.1}
    assert body["hosts"] == {"allocated": 6, "released": 1, "net": 5, "per_day": 0.2}
    today = body["time_series"][-1]
    assert today["hosts_allocated"] == 6 and today["hosts_released"] == 1 and today["regions_allocated"] == 3
    assert sum(point["regions_allocated"] for point in body["time_series"][:-1]) == 0
    assert api.get("/ipam/statistics/allocation-velocity", {"time_range": "90d"}).json()["regions"]["allocated"] == 4
    month = api.get("/ipam/statistics/allocation-velocity", {"time_range": "month"}).json()
    assert month["regions"]["allocated"] == 3 and len(month["time_series"]) == 30
    assert len(api.get("/ipam/statistics/allocation-velocity", {"time_range": "week"}).json()["time_series"]) == 7
    day = api.get("/ipam/statistics/allocation-velocity", {"time_range": "day"}).json()
    assert day["granularity"] == "hour" and len(day["time_series"]) == 24 and day["hosts"]["allocated"] == 6
    assert api.get("/ipam/statistics/allocation-velocity").json()["time_range"] == "30d"
    assert api.get("/ipam/statistics/allocation-velocity", {"time_range": "year"}).status_code == 400


def test_allocation_velocity_is_isolated(client_for, bob, spread):
    body = client_for(bob).get("/ipam/statistics/allocation-velocity", {"time_range": "7d"}).json()
    assert body["regions"]["allocated"] == 5 and body["hosts"]["allocated"] == 5


def test_dashboard_top_countries(api, client_for, bob, spread):
    body = api.get("/ipam/dashboard/top-countries").json()
    assert [(c["country"], c["allocated_regions"], c["total_hosts"]) for c in body["top_countries"]] == [
        ("India", 2, 4),
        ("Spain", 1, 2),
        ("Japan", 1, 0),
    ]
    assert len(api.get("/ipam/dashboard/top-countries", {"limit": 1}).json()["top_countries"]) == 1
    assert api.get("/ipam/dashboard/top-countries", {"limit": 19}).status_code == 400
    assert [c["country"] for c in client_for(bob).get("/ipam/dashboard/top-countries").json()["top_countries"]] == ["India"]


def test_dashboard_recent_activity_comes_from_the_audit_log(api, alice, client_for, bob, spread):
    host_retire(actor=alice, host_id=spread["spain"].hosts.first().pk, reason="gone")
    body = api.get("/ipam/dashboard/recent-activity", {"limit": 3}).json()
    assert body["count"] == 3
    latest = body["activities"][0]
    assert latest["action_type"] == "retire" and latest["resource_type"] == "host" and latest["reason"] == "gone"
    assert latest["summary"] == f"alice retired host {latest['ip_address']}"
    assert latest["actor"] == "alice" and latest["actor_type"] == "user"
    everything = api.get("/ipam/dashboard/recent-activity", {"limit": 100}).json()
    assert everything["count"] == 4 + 6 + 1
    timestamps = [a["timestamp"] for a in everything["activities"]]
    assert timestamps == sorted(timestamps, reverse=True)
    regions_only = api.get("/ipam/dashboard/recent-activity", {"resource_type": "region"}).json()
    assert {a["resource_type"] for a in regions_only["activities"]} == {"region"} and regions_only["count"] == 4
    assert client_for(bob).get("/ipam/dashboard/recent-activity", {"limit": 100}).json()["count"] == 10
    assert api.get("/ipam/dashboard/recent-activity", {"limit": 101}).status_code == 400


@pytest.mark.parametrize(
    ("path", "queries"),
    [
        ("/ipam/statistics/continent/asia", 2),
        ("/ipam/statistics/top-utilized", 3),
        ("/ipam/statistics/allocation-velocity?time_range=90d", 1),
        ("/ipam/dashboard/top-countries", 2),
        ("/ipam/dashboard/recent-activity?limit=100", 1),
    ],
)
def test_statistics_use_a_constant_number_of_queries(api, alice, path, queries, django_assert_num_queries):
    make_host(alice, make_region(alice, "India"))
    api.get(path)  # loads the caller's permissions once
    with django_assert_num_queries(queries):
        assert api.get(path).status_code == 200
    for country in ("India", "Japan", "Spain", "Chile"):
        for _ in range(3):
            region = make_region(alice, country)
            make_host(alice, region)
            make_host(alice, region)
    with django_assert_num_queries(queries):
        assert api.get(path).status_code == 200


def test_statistics_need_the_read_permission(client_for, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="x")
    for path in ("/ipam/statistics/continent/asia", "/ipam/statistics/top-utilized", "/ipam/dashboard/top-countries"):
        response = client_for(nobody).get(path)
        assert response.status_code == 403 and response.json()["details"]["required_permission"] == "read"
    assert client_for(None).get("/ipam/dashboard/recent-activity").status_code == 401
