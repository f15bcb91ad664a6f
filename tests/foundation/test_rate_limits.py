"""Rate limits: headers on every response, 429 with Retry-After past the limit, per-scope budgets that are
configurable, and a store outage that degrades to allowing requests (warned once, counted)."""

from __future__ import annotations

import logging
import time

import pytest

from foundation import metrics, throttling
from tests.factories import make_region
from tests.ops_support import closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits_on(settings):
    settings.IPAM_RATE_LIMITS_ENABLED = True
    settings.IPAM_RATE_LIMIT_PER_HOUR = 3
    return settings


def test_write_limit_gives_429_with_headers(limits_on, api):
    for i in range(3):
        response = api.post("/ipam/regions", {"country": "IN", "region_name": f"r{i}"}, format="json")
        assert response.status_code == 201
        assert response["X-RateLimit-Limit"] == "3"
        assert response["X-RateLimit-Remaining"] == str(2 - i)
        assert int(response["X-RateLimit-Reset"]) > 0
    response = api.post("/ipam/regions", {"country": "IN", "region_name": "r4"}, format="json")
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1
    # Reads have their own (5x) budget.
    response = api.get("/ipam/regions")
    assert response.status_code == 200 and response["X-RateLimit-Limit"] == "15"


def test_host_creation_has_ten_times_the_write_budget(limits_on, api, alice):
    region = make_region(alice)
    response = api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "h"}, format="json")
    assert response.status_code == 201 and response["X-RateLimit-Limit"] == "30"


def test_limits_are_per_user(limits_on, client_for, alice, bob):
    for i in range(3):
        client_for(alice).post("/ipam/regions", {"country": "IN", "region_name": f"a{i}"}, format="json")
    assert client_for(bob).post("/ipam/regions", {"country": "IN", "region_name": "b"}, format="json").status_code == 201


def test_login_is_limited_per_ip(limits_on, anon):
    limits_on.IPAM_LOGIN_RATE_LIMIT_PER_HOUR = 2
    codes = [anon.post("/auth/token", {"username": "x", "password": "y"}, format="json").status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_every_scope_is_configurable(limits_on, api, alice):
    limits_on.IPAM_READ_RATE_LIMIT_PER_HOUR = 2
    limits_on.IPAM_HOST_CREATE_RATE_LIMIT_PER_HOUR = 1
    assert [api.get("/ipam/regions").status_code for _ in range(3)] == [200, 200, 429]
    response = api.get("/ipam/countries")
    assert response.status_code == 429 and response["X-RateLimit-Limit"] == "2" and response["X-RateLimit-Remaining"] == "0"
    region = make_region(alice)
    first = api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "a"}, format="json")
    second = api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "b"}, format="json")
    assert (first.status_code, first["X-RateLimit-Limit"], second.status_code) == (201, "1", 429)


def test_retry_after_points_at_the_end_of_the_window(limits_on, api):
    limits_on.IPAM_READ_RATE_LIMIT_PER_HOUR = 1
    api.get("/ipam/regions")
    response = api.get("/ipam/regions")
    assert response.status_code == 429
    now = time.time()
    reset = int(response["X-RateLimit-Reset"])
    assert now < reset <= now + 3600
    assert 1 <= int(response["Retry-After"]) <= 3601
    # both headers are whole seconds (the reset floored, Retry-After rounded up) and `now` is read after the
    # response: up to 2 s apart by rounding, plus the time the request took
    assert abs(int(response["Retry-After"]) - (reset - now)) <= 3


def test_limits_can_be_switched_off(settings, api):
    settings.IPAM_RATE_LIMITS_ENABLED = False
    settings.IPAM_RATE_LIMIT_PER_HOUR = 1
    settings.IPAM_READ_RATE_LIMIT_PER_HOUR = 1
    responses = [api.get("/ipam/regions") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in responses[0]


@pytest.fixture
def redis_down(limits_on, monkeypatch):
    """The cache points at a port nothing listens on: a stopped Redis (the machine's Redis is not touched)."""
    monkeypatch.setitem(throttling._store, "down_until", 0.0)
    monkeypatch.setitem(throttling._store, "warned_at", 0.0)

    def use(ignore_exceptions: bool) -> None:
        limits_on.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1, "IGNORE_EXCEPTIONS": ignore_exceptions},
            }
        }

    return use


@pytest.mark.parametrize("ignore_exceptions", [True, False], ids=["errors-ignored-by-cache", "errors-raised"])
def test_rate_limit_store_down_allows_requests_with_a_warning_and_a_metric(redis_down, ignore_exceptions, api, caplog):
    redis_down(ignore_exceptions)
    before = metrics.RATE_LIMIT_DEGRADED._value.get()
    with caplog.at_level(logging.WARNING, logger="ipam.ratelimit"):
        responses = [api.get("/ipam/countries") for _ in range(6)]  # the limit is 3 x 5 = 15 reads; 6 < 15 anyway
        responses += [api.post("/ipam/regions", {"country": "IN", "region_name": f"d{i}"}, format="json") for i in range(4)]
    assert [r.status_code for r in responses] == [200] * 6 + [201] * 4  # 4 writes > the write limit of 3: not enforced
    assert responses[-1]["X-RateLimit-Limit"] == "3"
    assert metrics.RATE_LIMIT_DEGRADED._value.get() == before + 10
    warnings = [r.getMessage() for r in caplog.records if r.name == "ipam.ratelimit"]
    assert len(warnings) == 1  # once, not once per request
    assert warnings[0].startswith("Rate limit store unavailable")


def test_allocations_read_the_country_table_itself_while_the_cache_raises(redis_down, api, caplog):
    """Region and host allocation take the country from the cached table; a cache that raises (django-redis
    without IGNORE_EXCEPTIONS) must not turn them into 500s."""
    redis_down(False)
    with caplog.at_level(logging.WARNING, logger="ipam.cache"):
        region = api.post("/ipam/regions", {"country": "India", "region_name": "down"}, format="json")
        assert region.status_code == 201, region.content
        host = api.post("/ipam/hosts", {"region_id": region.json()["region_id"], "hostname": "h1"}, format="json")
    assert host.status_code == 201, host.content
    assert any(r.getMessage().startswith("Country cache unavailable") for r in caplog.records)


def test_limits_apply_again_when_the_store_is_back(limits_on, api, monkeypatch):
    monkeypatch.setitem(throttling._store, "down_until", time.time() + 60)  # it failed moments ago
    assert api.get("/ipam/regions").status_code == 200
    monkeypatch.setitem(throttling._store, "down_until", 0.0)
    limits_on.IPAM_READ_RATE_LIMIT_PER_HOUR = 1
    assert [api.get("/ipam/regions").status_code for _ in range(2)] == [200, 429]


def test_on_redis_one_pipeline_counts_and_the_window_key_expires(limits_on, api):
    """The machine's Redis (db 13): INCR + EXPIRE in one round trip; the window key carries a TTL."""
    from django.core.cache import cache

    limits_on.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/13"}}
    cache.clear()
    limits_on.IPAM_READ_RATE_LIMIT_PER_HOUR = 2
    responses = [api.get("/ipam/regions") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r["X-RateLimit-Remaining"] for r in responses] == ["1", "0", "0"]
    [key] = cache.keys("ipam:rl:read:*")
    assert cache.get(key) == 3
    assert 0 < cache.ttl(key) <= throttling.WINDOW_SECONDS + 60
    cache.clear()
