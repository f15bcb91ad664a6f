"""Issue 14 item 7: one login limit for every way in. `/admin/login/` (posted with Django's real test client)
and `/auth/token` share the counters, per client address and per username; over the limit the admin page
answers 429 with Retry-After and a clear message, does not check the password, and so yields no session
that could be used on the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def limit_two(settings):
    settings.IPAM_RATE_LIMITS_ENABLED = True
    settings.IPAM_LOGIN_RATE_LIMIT_PER_HOUR = 2
    return settings


@pytest.fixture
def staff(db):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    return user


def _admin_login(client: Client, username: str, password: str) -> Any:
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def _session_reaches_the_api(client: Client) -> bool:
    return client.get("/ipam/quotas/me").status_code == 200


def test_admin_login_is_throttled_and_the_session_is_not_given_beyond_the_limit(limit_two, staff):
    client = Client()
    assert _admin_login(client, "root", "wrong-1").status_code == 200  # the form again, with an error
    assert _admin_login(client, "root", "wrong-2").status_code == 200
    response = _admin_login(client, "root", PASSWORD)  # the right password, too late
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many login attempts" in response.content.decode()
    assert "sessionid" not in response.cookies
    assert not _session_reaches_the_api(client)
    assert client.get("/ipam/quotas/me").json()["error"] == "not_authenticated"


def test_the_admin_login_still_works_within_the_limit_and_its_session_reaches_the_api(limit_two, staff):
    client = Client()
    response = _admin_login(client, "root", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert _session_reaches_the_api(client)
    assert client.get("/admin/login/").status_code == 302  # GETs are not counted: already logged in


def test_the_api_login_and_the_admin_login_share_one_budget_per_address(limit_two, staff):
    api = APIClient()
    for _ in range(2):
        assert api.post("/auth/token", {"username": "root", "password": "wrong"}, format="json").status_code == 401
    assert _admin_login(Client(), "root", PASSWORD).status_code == 429
    # ... and the other way round, for another address and user.
    UserFactory(username="carol", is_staff=True)
    elsewhere = {"REMOTE_ADDR": "127.0.0.9"}
    for _ in range(2):
        assert Client(**elsewhere).post("/admin/login/", {"username": "carol", "password": "x"}).status_code == 200
    response = APIClient(**elsewhere).post("/auth/token", {"username": "carol", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited" and int(response["Retry-After"]) >= 1


def test_one_username_is_limited_across_addresses(limit_two, staff):
    for n in range(2):
        assert Client(REMOTE_ADDR=f"127.0.1.{n}").post("/admin/login/", {"username": "root", "password": "x"}).status_code == 200
    assert _admin_login(Client(REMOTE_ADDR="127.0.1.99"), "root", PASSWORD).status_code == 429
    response = APIClient(REMOTE_ADDR="127.0.1.98").post("/auth/token", {"username": "ROOT ", "password": PASSWORD}, format="json")
    assert response.status_code == 429  # usernames are compared trimmed and case-insensitively


def test_limits_off_leaves_the_admin_login_alone(settings, staff):
    settings.IPAM_RATE_LIMITS_ENABLED = False
    settings.IPAM_LOGIN_RATE_LIMIT_PER_HOUR = 1
    for _ in range(3):
        assert _admin_login(Client(), "root", "wrong").status_code == 200
    assert _admin_login(Client(), "root", PASSWORD).status_code == 302
