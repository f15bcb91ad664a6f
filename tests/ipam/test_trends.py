"""Allocation trends: buckets across week, month and year boundaries, filters, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone

from ipam.models import AuditLog
from ipam.services.audit import audit_entry, audit_save_many
from ipam.services.hosts import host_retire, host_update
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def redate(rows, day: date, hour: int = 12) -> None:
    AuditLog.objects.filter(pk__in=[row.pk for row in rows]).update(timestamp=datetime.combine(day, time(hour), tzinfo=UTC))


def last_audit(user, n: int = 1) -> list[AuditLog]:
    return list(AuditLog.objects.filter(user=user).order_by("-timestamp", "-pk")[:n])


def allocate_on(user, day: date, country: str = "IN") -> None:
    make_region(user, country)
    redate(last_audit(user), day)


def test_weekly_buckets_start_on_monday_across_the_year_boundary(api, alice):
    # 2024-12-30 is a Monday.
    for day in (date(2024, 12, 29), date(2024, 12, 30), date(2025, 1, 5), date(2025, 1, 6)):
        allocate_on(alice, day)
    response = api.get("/ipam/statistics/trends?group_by=week&start_date=2024-12-25&end_date=2025-01-08")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["group_by"] == "week" and body["start_date"] == "2024-12-25" and body["end_date"] == "2025-01-08"
    assert [(p["period_start"], p["period_end"], p["allocations"]) for p in body["time_series"]] == [
        ("2024-12-25", "2024-12-29", 1),  # clipped: the week began on Monday 23 December
        ("2024-12-30", "2025-01-05", 2),
        ("2025-01-06", "2025-01-08", 1),
    ]
    assert body["summary"] == {"total_allocations": 4, "total_releases": 0, "net_growth": 4, "average_daily_rate": 0.2667, "days": 15}


def test_monthly_buckets_follow_calendar_months_including_leap_february(api, alice):
    for day in (date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 29), date(2024, 2, 29), date(2024, 3, 1)):
        allocate_on(alice, day)
    body = api.get("/ipam/statistics/trends?group_by=month&start_date=2024-01-15&end_date=2024-03-10").json()
    assert [(p["period_start"], p["period_end"], p["allocations"]) for p in body["time_series"]] == [
        ("2024-01-15", "2024-01-31", 1),
        ("2024-02-01", "2024-02-29", 3),
        ("2024-03-01", "2024-03-10", 1),
    ]


def test_daily_series_has_every_day_with_zeros(api, alice):
    allocate_on(alice, date(2024, 5, 2))
    body = api.get("/ipam/statistics/trends?start_date=2024-05-01&end_date=2024-05-04").json()
    assert [(p["period_start"], p["allocations"], p["net_growth"]) for p in body["time_series"]] == [
        ("2024-05-01", 0, 0),
        ("2024-05-02", 1, 1),
        ("2024-05-03", 0, 0),
        ("2024-05-04", 0, 0),
    ]
    assert all(p["period_start"] == p["period_end"] for p in body["time_series"])


def test_retire_and_release_both_count_as_releases_and_updates_do_not(api, alice):
    day = date(2024, 7, 10)
    region = make_region(alice)
    host = make_host(alice, region)
    other = make_host(alice, region)
    host_update(actor=alice, host_id=other.pk, data={"notes": "an update is not an allocation"})
    host_retire(actor=alice, host_id=host.pk, reason="gone")
    release = audit_entry(
        actor=alice, user_id=alice.pk, action_type="release", resource_type="host", resource_id=other.pk, country_code="IN"
    )
    audit_save_many([release])
    redate(AuditLog.objects.filter(user=alice), day)
    body = api.get("/ipam/statistics/trends?start_date=2024-07-10&end_date=2024-07-10").json()
    assert body["time_series"] == [
        {"period_start": "2024-07-10", "period_end": "2024-07-10", "allocations": 3, "releases": 2, "net_growth": 1}
    ]
    assert body["summary"]["average_daily_rate"] == 1.0


def test_resource_type_and_country_filters(api, alice):
    day = date(2024, 9, 3)
    region = make_region(alice, "Japan")
    make_host(alice, region)
    make_region(alice, "Brazil")
    redate(AuditLog.objects.filter(user=alice), day)
    url = "/ipam/statistics/trends?start_date=2024-09-03&end_date=2024-09-03"
    assert api.get(url).json()["summary"]["total_allocations"] == 3
    assert api.get(url + "&resource_type=all").json()["summary"]["total_allocations"] == 3
    assert api.get(url + "&resource_type=region").json()["summary"]["total_allocations"] == 2
    hosts = api.get(url + "&resource_type=host").json()
    assert hosts["summary"]["total_allocations"] == 1 and hosts["resource_type"] == "host"
    for spelling in ("JP", "jpn", "japan"):
        japan = api.get(url + f"&country={spelling}").json()
        assert japan["summary"]["total_allocations"] == 2 and japan["country"] == "JP"


def test_other_users_allocations_are_not_counted(api, alice, bob):
    allocate_on(bob, date(2024, 2, 2))
    allocate_on(alice, date(2024, 2, 2))
    body = api.get("/ipam/statistics/trends?start_date=2024-02-01&end_date=2024-02-03").json()
    assert body["summary"]["total_allocations"] == 1


def test_default_ranges_end_today(api, alice):
    make_region(alice)
    today = timezone.now().date()
    for group_by, days in (("day", 30), ("week", 84), ("month", 365)):
        body = api.get(f"/ipam/statistics/trends?group_by={group_by}").json()
        assert body["end_date"] == today.isoformat()
        assert body["start_date"] == (today - timedelta(days=days - 1)).isoformat()
        assert body["summary"]["total_allocations"] == 1 and body["summary"]["days"] == days
        assert body["time_series"][-1]["period_end"] == today.isoformat()


def test_trends_are_cached_until_the_next_write(api, alice, django_capture_on_commit_callbacks):
    make_region(alice)
    assert api.get("/ipam/statistics/trends").json()["summary"]["total_allocations"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    assert api.get("/ipam/statistics/trends").json()["summary"]["total_allocations"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=year", "group_by"),
        ("start_date=2024-13-01", "start_date"),
        ("end_date=yesterday", "end_date"),
        ("start_date=2024-05-02&end_date=2024-05-01", "start_date"),
        ("start_date=2020-01-01&end_date=2024-01-01", "end_date"),
        ("resource_type=country", "resource_type"),
    ],
)
def test_bad_parameters_are_400_with_details(api, query, field):
    response = api.get(f"/ipam/statistics/trends?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error" and field in body["details"]


def test_unknown_country_is_404(api):
    response = api.get("/ipam/statistics/trends?country=Atlantis")
    assert response.status_code == 404 and response.json()["error"] == "country_not_found"


def test_trends_need_read_permission_only(client_for, reader, anon):
    assert client_for(reader).get("/ipam/statistics/trends").status_code == 200
    assert anon.get("/ipam/statistics/trends").status_code == 401
