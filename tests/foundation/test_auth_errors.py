"""Issue 14 item 8: every 401 has the standard body `{"error", "message", "details"}` with a specific code
and a plain message (never a Python repr such as `ErrorDetail(string=...)`), with DEBUG off."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from foundation.models import ApiToken

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _debug_off(settings):
    settings.DEBUG = False


def _assert_401(response: Any, code: str) -> dict[str, Any]:
    assert response.status_code == 401, response.content
    body = response.json()
    assert set(body) == {"error", "message", "details"}, body
    assert body["error"] == code, body
    text = response.content.decode()
    assert "ErrorDetail" not in text and "{'" not in text and "string=" not in text, text
    assert response["WWW-Authenticate"]
    return dict(body)


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _token_client(secret: str, **extra: Any) -> APIClient:
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_no_credentials_is_not_authenticated(anon):
    _assert_401(anon.get("/ipam/regions"), "not_authenticated")


def test_an_expired_jwt_is_token_expired(alice):
    token = AccessToken.for_user(alice)
    token.set_exp(from_time=timezone.now() - datetime.timedelta(hours=2))
    body = _assert_401(_bearer(str(token)).get("/ipam/regions"), "token_expired")
    assert "expired" in body["message"]


@pytest.mark.parametrize("raw", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"])
def test_a_garbage_jwt_is_token_invalid(alice, raw):
    _assert_401(_bearer(raw).get("/ipam/regions"), "token_invalid")


def test_a_tampered_or_refresh_jwt_is_token_invalid(alice):
    good = str(AccessToken.for_user(alice))
    _assert_401(_bearer(good[:-2] + ("AA" if not good.endswith("AA") else "BB")).get("/ipam/regions"), "token_invalid")
    _assert_401(_bearer(str(RefreshToken.for_user(alice))).get("/ipam/regions"), "token_invalid")


def test_a_jwt_of_a_deleted_user_is_token_invalid(alice):
    token = str(AccessToken.for_user(alice))
    type(alice).objects.filter(pk=alice.pk).delete()
    _assert_401(_bearer(token).get("/ipam/regions"), "token_invalid")


def test_refresh_errors_are_specific(alice, anon):
    _assert_401(anon.post("/auth/token/refresh", {"refresh": "garbage"}, format="json"), "token_invalid")
    expired = RefreshToken.for_user(alice)
    expired.set_exp(from_time=timezone.now() - datetime.timedelta(days=30))
    _assert_401(anon.post("/auth/token/refresh", {"refresh": str(expired)}, format="json"), "token_expired")


def test_wrong_password_is_invalid_credentials(alice, anon):
    body = _assert_401(anon.post("/auth/token", {"username": "alice", "password": "nope"}, format="json"), "invalid_credentials")
    assert body["message"] == "No active account found with the given credentials"


def test_api_token_errors_are_specific(api, alice):
    created = api.post(
        "/auth/tokens", {"name": "ci", "scope": "read", "allowed_networks": ["127.0.0.0/8", "2001:db8::/32"]}, format="json"
    ).json()
    secret = created["token"]
    assert _token_client(secret).get("/ipam/regions").status_code == 200  # REMOTE_ADDR 127.0.0.1
    assert _token_client(secret, REMOTE_ADDR="2001:db8::5").get("/ipam/regions").status_code == 200
    _assert_401(_token_client(secret, REMOTE_ADDR="192.0.2.7").get("/ipam/regions"), "token_network_refused")
    _assert_401(_token_client(secret, REMOTE_ADDR="2001:db9::1").get("/ipam/regions"), "token_network_refused")
    _assert_401(_token_client(secret[:-1] + ("A" if secret[-1] != "A" else "B")).get("/ipam/regions"), "token_invalid")
    _assert_401(_token_client("ipam_not-a-token").get("/ipam/regions"), "token_invalid")
    ApiToken.objects.filter(pk=created["id"]).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    from django.core.cache import cache

    cache.clear()  # the update above bypassed the model's signals (an expiry passing needs no write at all)
    _assert_401(_token_client(secret).get("/ipam/regions"), "token_expired")
    assert api.delete(f"/auth/tokens/{created['id']}").status_code == 204
    _assert_401(_token_client(secret).get("/ipam/regions"), "token_revoked")


def test_an_api_token_passing_its_expiry_is_refused_without_any_write(api):
    soon = timezone.now() + datetime.timedelta(seconds=2)
    secret = api.post("/auth/tokens", {"name": "short", "expires_at": soon.isoformat()}, format="json").json()["token"]
    assert _token_client(secret).get("/ipam/regions").status_code == 200  # cached now
    import time

    time.sleep(max(0.0, (soon - timezone.now()).total_seconds()) + 0.05)
    _assert_401(_token_client(secret).get("/ipam/regions"), "token_expired")
