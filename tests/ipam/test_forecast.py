"""Capacity forecast: least-squares maths on synthetic histories, lookups, errors, caching."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from ipam.models import AuditLog, Host
from ipam.selectors.forecast import country_forecast, fit_daily_rate, region_forecast
from ipam.services.audit import audit_entry, audit_save_many
from ipam.services.hosts import host_allocate, host_retire, hosts_allocate_batch
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 15, 9, 30, tzinfo=UTC)
TODAY = NOW.date()


def cache_count(name: str, result: str) -> float:
    return REGISTRY.get_sample_value("ipam_cache_requests_total", {"cache": name, "result": result}) or 0.0


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def spread(rows: list[AuditLog], per_day: int, last_day: date) -> None:
    """Re-date audit rows: `per_day` of them on each day, the last group on `last_day`."""
    days = (len(rows) + per_day - 1) // per_day
    for index, row in enumerate(rows):
        day = last_day - timedelta(days=days - 1 - index // per_day)
        AuditLog.objects.filter(pk=row.pk).update(timestamp=at_noon(day))


def host_events(user, region, action: str = "create") -> list[AuditLog]:
    return list(
        AuditLog.objects.filter(user=user, region_id=region.pk, resource_type="host", action_type=action).order_by("timestamp", "pk")
    )


def test_least_squares_slope_of_a_linear_history_is_exact():
    daily = {TODAY - timedelta(days=d): 3 for d in range(20)}
    assert fit_daily_rate(daily, TODAY) == 3.0
    assert fit_daily_rate({}, TODAY) == 0.0
    assert fit_daily_rate({TODAY: 12}, TODAY) == 12.0  # a single day: its own net
    # Growth that stopped 10 days ago still has a positive, smaller slope.
    stopped = {TODAY - timedelta(days=d): 2 for d in range(10, 30)}
    assert 0 < fit_daily_rate(stopped, TODAY) < 2


def test_steady_growth_gives_the_expected_exhaustion_date(alice):
    region = make_region(alice)
    hosts_allocate_batch(actor=alice, region_id=region.pk, count=60, hostname_prefix="g")
    spread(host_events(alice, region), per_day=3, last_day=TODAY)  # 3 hosts a day for 20 days
    forecast = region_forecast(alice, region.pk, days_ahead=90, now=NOW)
    assert forecast["allocated"] == 60 and forecast["capacity"] == 254 and forecast["available"] == 194
    assert forecast["daily_allocation_rate"] == 3.0
    assert forecast["days_until_exhaustion"] == 65  # ceil(194 / 3)
    assert forecast["estimated_exhaustion_date"] == date(2025, 8, 19)  # 15 June + 65 days
    assert forecast["confidence_level"] == "medium"  # 20 active days
    assert forecast["data_points"] == 60 and forecast["active_days"] == 20
    assert forecast["current_utilization"] == round(60 * 100 / 254, 2)
    assert forecast["projected_utilization"] == 100.0  # 60 + 3 × 90 > 254
    assert forecast["recommendation"].startswith("Warning:")


def test_steady_country_growth_over_many_days_is_high_confidence(alice):
    for i in range(35):
        make_region(alice, "United States", f"us-{i}")
    events = list(AuditLog.objects.filter(user=alice, resource_type="region", action_type="create").order_by("timestamp", "pk"))
    spread(events, per_day=1, last_day=TODAY)
    forecast = country_forecast(alice, "USA", days_ahead=90, now=NOW)
    assert forecast["resource_type"] == "country" and forecast["resource_id"] == "United States"
    assert forecast["allocated"] == 35 and forecast["capacity"] == 15 * 256
    assert forecast["daily_allocation_rate"] == 1.0
    assert forecast["days_until_exhaustion"] == 15 * 256 - 35
    assert forecast["estimated_exhaustion_date"] == TODAY + timedelta(days=15 * 256 - 35)
    assert forecast["confidence_level"] == "high"
    assert forecast["recommendation"].startswith("Healthy:")


def test_flat_usage_forecasts_no_exhaustion(alice):
    region = make_region(alice)
    for i in range(15):  # every day one host comes and one goes
        host = host_allocate(actor=alice, region_id=region.pk, hostname=f"f{i}")
        host_retire(actor=alice, host_id=host.pk, reason="churn")
    creates, retires = host_events(alice, region), host_events(alice, region, "retire")
    spread(creates, per_day=1, last_day=TODAY)
    spread(retires, per_day=1, last_day=TODAY)
    forecast = region_forecast(alice, region.pk, days_ahead=90, now=NOW)
    assert forecast["daily_allocation_rate"] == 0.0
    assert forecast["days_until_exhaustion"] is None
    assert forecast["estimated_exhaustion_date"] is None
    assert forecast["confidence_level"] == "medium"
    assert forecast["data_points"] == 15 and forecast["release_events"] == 15
    assert "no exhaustion expected" in forecast["recommendation"]


def test_fewer_than_ten_allocation_events_is_insufficient_data(alice):
    region = make_region(alice)
    hosts_allocate_batch(actor=alice, region_id=region.pk, count=9, hostname_prefix="few")
    forecast = region_forecast(alice, region.pk, days_ahead=30, now=timezone.now())
    assert forecast["confidence_level"] == "insufficient_data"
    assert forecast["data_points"] == 9 and forecast["required_data_points"] == 10
    assert forecast["days_until_exhaustion"] is None and forecast["estimated_exhaustion_date"] is None
    assert forecast["projected_utilization"] is None
    assert "10 needed" in forecast["recommendation"]


def test_events_older_than_90_days_are_not_used(alice):
    region = make_region(alice)
    hosts_allocate_batch(actor=alice, region_id=region.pk, count=20, hostname_prefix="old")
    events = host_events(alice, region)
    spread(events[:12], per_day=1, last_day=TODAY - timedelta(days=90))  # just outside the window
    spread(events[12:], per_day=1, last_day=TODAY)
    forecast = region_forecast(alice, region.pk, days_ahead=90, now=NOW)
    assert forecast["data_points"] == 8
    assert forecast["confidence_level"] == "insufficient_data"
    assert forecast["allocated"] == 20  # the current state still counts every host


def test_release_events_reduce_the_net_rate(alice):
    region = make_region(alice)
    hosts = hosts_allocate_batch(actor=alice, region_id=region.pk, count=40, hostname_prefix="r")
    spread(host_events(alice, region), per_day=2, last_day=TODAY)  # +2 a day for 20 days
    releases = [
        audit_entry(
            actor=alice,
            user_id=alice.pk,
            action_type="release",
            resource_type="host",
            resource_id=h.pk,
            region_id=region.pk,
            country_code="IN",
        )
        for h in hosts[:20]
    ]
    spread(audit_save_many(releases), per_day=1, last_day=TODAY)  # -1 a day for 20 days
    forecast = region_forecast(alice, region.pk, days_ahead=90, now=NOW)
    assert forecast["daily_allocation_rate"] == 1.0
    assert forecast["release_events"] == 20


def test_a_full_region_is_exhausted_today(alice):
    region = make_region(alice)
    for prefix in ("a", "b"):
        hosts_allocate_batch(actor=alice, region_id=region.pk, count=100, hostname_prefix=prefix)
    hosts_allocate_batch(actor=alice, region_id=region.pk, count=54, hostname_prefix="c")
    # Full is a fact, not a forecast: it holds even when the whole history is older than the window.
    spread(host_events(alice, region), per_day=254, last_day=TODAY - timedelta(days=120))
    forecast = region_forecast(alice, region.pk, days_ahead=90, now=NOW)
    assert forecast["confidence_level"] == "insufficient_data" and forecast["data_points"] == 0
    assert forecast["available"] == 0 and forecast["current_utilization"] == 100.0
    assert forecast["days_until_exhaustion"] == 0
    assert forecast["estimated_exhaustion_date"] == TODAY
    assert "is full" in forecast["recommendation"]


def test_other_users_history_does_not_count(alice, bob):
    for i in range(12):
        make_region(bob, "US", f"b{i}")
    make_region(alice, "US", "mine")
    forecast = country_forecast(alice, "US", days_ahead=90, now=timezone.now())
    assert forecast["allocated"] == 1 and forecast["data_points"] == 1


def test_the_guides_country_forecast_path_works_with_every_country_spelling(api, alice):
    for i in range(10):
        make_region(alice, "US", f"u{i}")
    paths = ("country/USA", "country/us", "country/United%20States", "Country/usa/")
    bodies = [api.get(f"/ipam/statistics/forecast/{path}").json() for path in paths]
    assert {b["resource_id"] for b in bodies} == {"United States"}
    body = bodies[0]
    assert body["allocated"] == 10 and body["capacity"] == 3840
    assert body["data_points"] == 10 and body["confidence_level"] == "low"  # all on one day
    assert body["forecast_period_days"] == 90 and body["history_days"] == 90
    assert body["daily_allocation_rate"] == 10.0 and body["days_until_exhaustion"] == 383
    assert set(body) >= {
        "resource_type",
        "resource_id",
        "current_utilization",
        "allocated",
        "capacity",
        "daily_allocation_rate",
        "days_until_exhaustion",
        "estimated_exhaustion_date",
        "confidence_level",
        "recommendation",
        "data_points",
        "forecast_period_days",
        "generated_at",
        "required_data_points",
    }
    assert date.fromisoformat(body["estimated_exhaustion_date"]) == date.fromisoformat(body["generated_at"][:10]) + timedelta(days=383)


def test_region_forecast_over_http_and_days_ahead(api, alice):
    region = make_region(alice)
    make_host(alice, region)
    response = api.get(f"/ipam/statistics/forecast/region/{region.pk}/?days_ahead=7")
    assert response.status_code == 200
    body = response.json()
    assert body["resource_id"] == str(region.pk) and body["resource_name"] == region.region_name
    assert body["forecast_period_days"] == 7 and body["confidence_level"] == "insufficient_data"


@pytest.mark.parametrize("days_ahead", ["0", "366", "abc", "-1"])
def test_days_ahead_out_of_range_is_400(api, days_ahead):
    response = api.get(f"/ipam/statistics/forecast/country/IN?days_ahead={days_ahead}")
    assert response.status_code == 400
    assert "days_ahead" in response.json()["details"]


def test_unknown_resource_type_is_400(api):
    response = api.get("/ipam/statistics/forecast/planet/earth")
    assert response.status_code == 400
    assert response.json()["details"] == {"resource_type": ["Must be one of country, region."]}


def test_unknown_country_or_region_is_404_and_other_users_regions_too(api, bob):
    assert api.get("/ipam/statistics/forecast/country/Atlantis").json()["error"] == "country_not_found"
    assert api.get("/ipam/statistics/forecast/region/not-a-uuid").status_code == 404
    bobs = make_region(bob)
    response = api.get(f"/ipam/statistics/forecast/region/{bobs.pk}")
    assert response.status_code == 404 and response.json()["error"] == "region_not_found"


def test_forecast_is_cached_and_invalidated_when_the_resource_changes(api, alice, django_capture_on_commit_callbacks):
    region = make_region(alice)
    hits = cache_count("forecast", "hit")
    first = api.get(f"/ipam/statistics/forecast/region/{region.pk}")
    assert first["X-Cache"] == "MISS" and first.json()["allocated"] == 0
    second = api.get(f"/ipam/statistics/forecast/region/{region.pk}")
    assert second["X-Cache"] == "HIT" and cache_count("forecast", "hit") == hits + 1
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "new"}, format="json")
    third = api.get(f"/ipam/statistics/forecast/region/{region.pk}")
    assert third["X-Cache"] == "MISS" and third.json()["allocated"] == 1
    assert Host.objects.filter(region=region).count() == 1


def test_a_cached_forecast_is_per_user_and_per_period(api, client_for, alice, bob):
    make_region(alice, "US")
    assert api.get("/ipam/statistics/forecast/country/US").json()["allocated"] == 1
    assert api.get("/ipam/statistics/forecast/country/US?days_ahead=30")["X-Cache"] == "MISS"
    bobs = client_for(bob).get("/ipam/statistics/forecast/country/US")
    assert bobs["X-Cache"] == "MISS" and bobs.json()["allocated"] == 0


def test_readers_may_read_forecasts(client_for, reader):
    assert client_for(reader).get("/ipam/statistics/forecast/country/IN").status_code == 200
