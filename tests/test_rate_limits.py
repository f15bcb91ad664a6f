"""Rate limits: headers on every response, 429 with Retry-After past the limit, per-scope budgets."""

from __future__ import annotations

import pytest

from tests.factories import make_region

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
