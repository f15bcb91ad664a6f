"""Dashboard statistics: exact numbers, never stale, cached (hits counted), constant cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY

from ipam import cache
from ipam.models import AuditLog, Country, Host, Reservation, ReservationStatus
from ipam.selectors import dashboard
from ipam.services.audit import audit_entry
from ipam.services.bulk import bulk_tags_update
from ipam.services.hosts import host_allocate, host_retire, host_update, hosts_allocate_batch
from ipam.services.regions import region_allocate, region_retire, region_update
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db

DASHBOARD_KEYS = {
    "total_countries",
    "total_regions",
    "total_hosts",
    "overall_utilization",
    "mean_region_utilization",
    "top_countries",
    "recent_activity_count",
    "capacity_warnings",
    "capacity_warning_threshold",
    "active_reservations",
    "generated_at",
}


def cache_count(name: str, result: str) -> float:
    return REGISTRY.get_sample_value("ipam_cache_requests_total", {"cache": name, "result": result}) or 0.0


def fill(user, region, count: int, prefix: str = "h") -> None:
    done = 0
    while done < count:
        batch = min(100, count - done)
        hosts_allocate_batch(actor=user, region_id=region.pk, count=batch, hostname_prefix=f"{prefix}{done}")
        done += batch


@pytest.fixture
def known_dataset(alice, bob):
    """alice: India 2 regions (210 + 10 hosts), US 1 empty region, Japan 1 region with 100 hosts; bob: noise."""
    india_busy = make_region(alice, "India", "in-busy")
    fill(alice, india_busy, 210, "a")
    india_small = make_region(alice, "IN", "in-small")
    fill(alice, india_small, 10, "b")
    make_region(alice, "United States", "us-empty")
    japan = make_region(alice, "JPN", "jp")
    fill(alice, japan, 100, "c")
    # 10 of alice's writes happened 8 days ago: outside the 7-day activity window.
    old = list(AuditLog.objects.filter(user=alice, region_id=india_small.pk, resource_type="host").values_list("pk", flat=True))
    AuditLog.objects.filter(pk__in=old).update(timestamp=timezone.now() - timedelta(days=8))
    now = timezone.now()
    india = Country.objects.get(code="IN")
    Reservation.objects.create(user=alice, resource_type="region", country=india, x_octet=0, y_octet=9, reason="kept")
    Reservation.objects.create(
        user=alice, resource_type="region", country=india, x_octet=0, y_octet=8, reason="lapsed", expires_at=now - timedelta(minutes=1)
    )
    Reservation.objects.create(
        user=alice, resource_type="region", country=india, x_octet=0, y_octet=7, reason="gone", status=ReservationStatus.CANCELLED
    )
    bob_region = make_region(bob, "India", "bob")
    fill(bob, bob_region, 250, "z")
    Reservation.objects.create(user=bob, resource_type="region", country=india, x_octet=1, y_octet=0, reason="bob's")
    return {"india_busy": india_busy, "japan": japan}


def test_dashboard_numbers_are_exact_on_a_known_dataset(api, known_dataset):
    response = api.get("/ipam/statistics/dashboard")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == DASHBOARD_KEYS
    assert body["total_countries"] == 3
    assert body["total_regions"] == 4
    assert body["total_hosts"] == 320
    assert body["overall_utilization"] == round(320 * 100 / (4 * 254), 2) == 31.5
    assert body["mean_region_utilization"] == 31.5  # (210 + 10 + 0 + 100) / 254 / 4 regions
    assert body["recent_activity_count"] == 4 + 320 - 10
    assert body["capacity_warnings"] == 1  # 210/254 = 82.7 % > 80 %
    assert body["capacity_warning_threshold"] == 80
    assert body["active_reservations"] == 1  # the lapsed one is expired by the clock, the cancelled one is not active
    assert body["top_countries"] == [
        {"country": "Japan", "code": "JP", "regions": 1, "hosts": 100, "utilization": 0.05, "host_utilization": 39.37},
        {"country": "India", "code": "IN", "regions": 2, "hosts": 220, "utilization": 0.03, "host_utilization": 43.31},
        {"country": "United States", "code": "US", "regions": 1, "hosts": 0, "utilization": 0.03, "host_utilization": 0.0},
    ]
    assert body["generated_at"].endswith("Z")
    # The counters agree with the rows.
    assert Host.objects.filter(user=known_dataset["india_busy"].user).count() == 320


def test_an_empty_namespace_has_zeros(client_for, reader):
    body = client_for(reader).get("/ipam/statistics/dashboard").json()
    assert body["total_regions"] == body["total_hosts"] == body["total_countries"] == 0
    assert body["overall_utilization"] == body["mean_region_utilization"] == 0.0
    assert body["top_countries"] == [] and body["active_reservations"] == 0


def test_top_countries_keeps_the_five_most_utilized(alice, api):
    for code in ["IN", "AE", "SG", "JP", "KR", "ID", "TW"]:
        make_region(alice, code)
    make_region(alice, "SG")
    top = api.get("/ipam/statistics/dashboard").json()["top_countries"]
    # 8-X countries hold 2048 /24s, India 7680: Singapore (2 regions) first, India (1 of 7680) never in the top 5.
    assert [c["code"] for c in top] == ["SG", "ID", "JP", "KR", "TW"]
    assert top[0]["regions"] == 2


def test_alias_path_and_trailing_slash_serve_the_same_dashboard(api, alice):
    make_region(alice)
    first = api.get("/ipam/dashboard/stats")
    second = api.get("/ipam/statistics/dashboard/")
    assert first.status_code == second.status_code == 200
    assert first.json()["total_regions"] == second.json()["total_regions"] == 1


def test_dashboard_needs_authentication_and_read_permission(anon, client_for, reader):
    assert anon.get("/ipam/statistics/dashboard").status_code == 401
    assert client_for(reader).get("/ipam/dashboard/stats").status_code == 200


def test_a_write_is_visible_on_the_very_next_read(api, alice, django_capture_on_commit_callbacks):
    region = make_region(alice)
    first = api.get("/ipam/statistics/dashboard")
    assert first["X-Cache"] == "MISS" and first.json()["total_hosts"] == 0
    assert api.get("/ipam/statistics/dashboard")["X-Cache"] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "fresh"}, format="json")
    assert created.status_code == 201
    after = api.get("/ipam/statistics/dashboard")
    assert after["X-Cache"] == "MISS"
    assert after.json()["total_hosts"] == 1
    assert after.json()["recent_activity_count"] == first.json()["recent_activity_count"] + 1


def test_a_second_read_is_a_cache_hit_and_the_counter_moves(api, alice):
    make_region(alice)
    hits, misses = cache_count("dashboard", "hit"), cache_count("dashboard", "miss")
    api.get("/ipam/statistics/dashboard")
    assert (cache_count("dashboard", "hit"), cache_count("dashboard", "miss")) == (hits, misses + 1)
    second = api.get("/ipam/statistics/dashboard")
    assert second["X-Cache"] == "HIT"
    assert (cache_count("dashboard", "hit"), cache_count("dashboard", "miss")) == (hits + 1, misses + 1)


def test_users_have_separate_dashboard_caches(client_for, alice, bob, django_capture_on_commit_callbacks):
    make_region(alice)
    assert client_for(bob).get("/ipam/statistics/dashboard").json()["total_regions"] == 0
    assert client_for(alice).get("/ipam/statistics/dashboard").json()["total_regions"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    assert client_for(bob).get("/ipam/statistics/dashboard")["X-Cache"] == "HIT"  # alice's write leaves bob's cache alone


def test_dashboard_cost_does_not_grow_with_hosts_or_regions(alice, bob):
    cache.countries()  # the country table is cached once for everybody
    small = make_region(bob)
    make_host(bob, small)
    with CaptureQueriesContext(connection) as few:
        dashboard.dashboard_stats_compute(bob)
    for code in ["IN", "US", "JP", "BR"]:
        for _ in range(3):
            fill(alice, make_region(alice, code), 30)
    with CaptureQueriesContext(connection) as many:
        stats = dashboard.dashboard_stats_compute(alice)
    assert stats["total_hosts"] == 12 * 30
    # The first computation of the day also counts the completed days of the activity window once.
    assert len(few.captured_queries) == len(many.captured_queries) == 4
    assert not any("ipam_host" in query["sql"] for query in many.captured_queries), "hosts are never scanned"
    with CaptureQueriesContext(connection) as again:
        dashboard.dashboard_stats_compute(alice)
    assert len(again.captured_queries) == 3


def test_a_cached_dashboard_costs_no_query(alice, django_assert_num_queries):
    make_region(alice)
    dashboard.dashboard_stats(alice)
    with django_assert_num_queries(0):
        stats, hit = dashboard.dashboard_stats(alice)
    assert hit and stats["total_regions"] == 1


def _audit_at(user, *moments):
    entries = [audit_entry(actor=user, user_id=user.pk, action_type="update", resource_type="region") for _ in moments]
    for entry, moment in zip(entries, moments, strict=True):
        entry.timestamp = moment
    AuditLog.objects.bulk_create(entries)


def test_recent_activity_is_a_rolling_seven_day_window(alice):
    now = datetime(2025, 6, 15, 9, 30, tzinfo=UTC)
    _audit_at(
        alice,
        datetime(2025, 6, 8, 9, 0, tzinfo=UTC),  # 7 days and 30 minutes ago: out
        datetime(2025, 6, 8, 10, 0, tzinfo=UTC),  # partial first day: in
        datetime(2025, 6, 10, 12, 0, tzinfo=UTC),  # completed day: in
        datetime(2025, 6, 14, 23, 59, tzinfo=UTC),  # completed day: in
        datetime(2025, 6, 15, 8, 0, tzinfo=UTC),  # today: in
    )
    assert dashboard.recent_activity_count(alice, now=now) == 4
    _audit_at(alice, datetime(2025, 6, 15, 9, 0, tzinfo=UTC))  # a write today is counted at once
    assert dashboard.recent_activity_count(alice, now=now) == 5
    # Just after midnight the day that just ended is still counted live (writes may still be landing).
    just_after = datetime(2025, 6, 15, 0, 5, tzinfo=UTC)
    assert dashboard.recent_activity_count(alice, now=just_after) == 4  # 8 June 9:00 and 10:00 are still in
    _audit_at(alice, datetime(2025, 6, 14, 23, 59, 59, tzinfo=UTC))
    assert dashboard.recent_activity_count(alice, now=just_after) == 5


def test_completed_days_are_counted_once_until_the_history_is_rewritten(alice, django_assert_num_queries):
    now = datetime(2025, 6, 15, 9, 30, tzinfo=UTC)
    _audit_at(alice, datetime(2025, 6, 12, tzinfo=UTC))
    assert dashboard.recent_activity_count(alice, now=now) == 1
    with django_assert_num_queries(1):  # the completed days come from the cache
        assert dashboard.recent_activity_count(alice, now=now) == 1
    _audit_at(alice, datetime(2025, 6, 11, tzinfo=UTC))  # only a bulk loader writes into the past...
    cache.forget_user_history(alice.pk)  # ...and says so
    assert dashboard.recent_activity_count(alice, now=now) == 2


def test_cache_ttl_ends_when_the_next_reservation_expires_by_the_clock(settings):
    settings.IPAM_CACHE_TTL = 300
    soon = timezone.now() + timedelta(seconds=30)
    assert 1 <= dashboard._ttl(soon) <= 30
    assert dashboard._ttl(None) == 300
    assert dashboard._ttl(timezone.now() + timedelta(days=1)) == 300


def test_editing_a_country_invalidates_cached_dashboards(api, alice):
    make_region(alice, "SG")
    countries_misses = cache_count("countries", "miss")
    assert api.get("/ipam/statistics/dashboard").json()["top_countries"][0]["country"] == "Singapore"
    singapore = Country.objects.get(code="SG")
    singapore.name = "Republic of Singapore"
    singapore.save()  # what the Django admin does
    response = api.get("/ipam/statistics/dashboard")
    assert response["X-Cache"] == "MISS"
    assert response.json()["top_countries"][0]["country"] == "Republic of Singapore"
    assert cache_count("countries", "miss") >= countries_misses + 1


def _write_paths(alice):
    region = make_region(alice, "IN", "w-region")
    host = make_host(alice, region, "w-host")
    return {
        "region create": lambda: region_allocate(actor=alice, country="US", region_name="w2"),
        "region update": lambda: region_update(actor=alice, region_id=region.pk, data={"description": "changed"}),
        "host create": lambda: host_allocate(actor=alice, region_id=region.pk, hostname="w-host-2"),
        "host batch": lambda: hosts_allocate_batch(actor=alice, region_id=region.pk, count=3, hostname_prefix="wb"),
        "host update": lambda: host_update(actor=alice, host_id=host.pk, data={"notes": "n"}),
        "host retire": lambda: host_retire(actor=alice, host_id=host.pk, reason="done"),
        "region retire": lambda: region_retire(actor=alice, region_id=region.pk, reason="done", cascade=True),
        "bulk tags": lambda: bulk_tags_update(
            actor=alice, resource_type="region", resource_ids=[str(region.pk)], operation="add", tags={"k": "v"}
        ),
    }


@pytest.mark.parametrize(
    "write", ["region create", "region update", "host create", "host batch", "host update", "host retire", "region retire", "bulk tags"]
)
def test_every_write_bumps_the_writers_cache_version_on_commit(alice, bob, write, django_capture_on_commit_callbacks):
    action = _write_paths(alice)[write]
    key_before, bob_before = cache.user_version(alice.pk), cache.user_version(bob.pk)
    with django_capture_on_commit_callbacks(execute=True):
        action()
    assert cache.user_version(alice.pk) != key_before
    assert cache.user_version(bob.pk) == bob_before


def test_a_refused_write_does_not_bump_the_version(alice, django_capture_on_commit_callbacks):
    make_region(alice, "IN", "taken")
    key_before = cache.user_version(alice.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Exception, match="taken"):
        region_allocate(actor=alice, country="IN", region_name="taken")
    assert callbacks == []
    assert cache.user_version(alice.pk) == key_before


def test_an_evicted_version_never_brings_back_an_old_cached_value(alice):
    from django.core.cache import cache as django_cache

    make_region(alice)
    dashboard.dashboard_stats(alice)
    old_version = cache.user_version(alice.pk)
    django_cache.delete(f"ipam:user-version:{alice.pk}")  # evicted under memory pressure
    assert cache.user_version(alice.pk) != old_version
    _, hit = dashboard.dashboard_stats(alice)
    assert not hit


def test_statistics_and_bulk_endpoints_are_in_the_openapi_schema(anon):
    paths = anon.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/ipam/statistics/dashboard", "get"),
        ("/ipam/dashboard/stats", "get"),
        ("/ipam/statistics/forecast/{resource_type}/{resource_id}", "get"),
        ("/ipam/statistics/trends", "get"),
        ("/ipam/bulk/tags", "post"),
        ("/ipam/bulk/jobs/{job_id}", "get"),
    ]:
        assert method in paths[path], path
    assert set(paths["/ipam/bulk/tags"]["post"]["responses"]) >= {"200", "202", "400", "429"}


def test_a_value_computed_while_a_write_commits_is_never_served(alice):
    """The value is stored with the version read before computing: a write landing meanwhile outdates it."""

    def compute_during_a_write():
        cache.bump_user_version(alice.pk)  # another request's write commits while this read computes
        return "old"

    assert cache.user_lookup("probe", alice.pk, (), 60, compute_during_a_write) == ("old", False)
    assert cache.user_lookup("probe", alice.pk, (), 60, lambda: "new") == ("new", False)
    assert cache.user_lookup("probe", alice.pk, (), 60, lambda: "unused") == ("new", True)
