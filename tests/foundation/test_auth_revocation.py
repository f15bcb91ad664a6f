"""Issue 14 item 6: changing or resetting a password, deactivating the user, or logging out revokes every JWT
issued before (access and refresh), at once and even with a warm auth cache."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from foundation.models import TokenVersion
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-staple"
NEW_PASSWORD = "another-long-pass-phrase-9"


def _login(username: str, password: str = PASSWORD) -> dict[str, str]:
    response = APIClient().post("/auth/token", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def _get(access: str, url: str = "/ipam/quotas/me") -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(url)


def _refresh(refresh: str) -> Any:
    return APIClient().post("/auth/token/refresh", {"refresh": refresh}, format="json")


def _assert_revoked(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "token_revoked"
    assert set(response.json()) == {"error", "message", "details"}


def _assert_old_tokens_dead_and_new_login_works(alice: Any, tokens: dict[str, str], password: str) -> None:
    _assert_revoked(_get(tokens["access"]))
    _assert_revoked(_refresh(tokens["refresh"]))
    fresh = _login("alice", password)
    assert _get(fresh["access"]).status_code == 200
    assert _refresh(fresh["refresh"]).status_code == 200


def test_set_password_revokes_earlier_access_and_refresh_tokens_with_a_warm_cache(alice):
    tokens = _login("alice")
    minted = _refresh(tokens["refresh"]).json()["access"]  # an access token minted by refresh, too
    assert _get(tokens["access"]).status_code == 200  # the snapshot is cached now
    assert _get(minted).status_code == 200
    alice.set_password(NEW_PASSWORD)
    alice.save(update_fields=["password"])  # a password-only save does not bump the permission generation
    _assert_revoked(_get(minted))
    _assert_old_tokens_dead_and_new_login_works(alice, tokens, NEW_PASSWORD)


def test_the_admin_password_form_revokes_tokens(alice):
    tokens = _login("alice")
    assert _get(tokens["access"]).status_code == 200
    staff = Client()
    staff.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = staff.post(
        f"/admin/auth/user/{alice.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    )
    assert response.status_code == 302, response.content[:2000]
    _assert_old_tokens_dead_and_new_login_works(alice, tokens, NEW_PASSWORD)


def test_the_changepassword_command_revokes_tokens(alice, monkeypatch):
    tokens = _login("alice")
    assert _get(tokens["access"]).status_code == 200
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", "alice")
    _assert_old_tokens_dead_and_new_login_works(alice, tokens, NEW_PASSWORD)


def test_logout_blacklists_the_refresh_token_and_revokes_the_users_jwts(alice):
    tokens = _login("alice")
    other_session = _login("alice")
    assert _get(tokens["access"]).status_code == 200
    response = APIClient().post("/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204, response.content
    assert BlacklistedToken.objects.filter(token__user=alice).count() == 1
    _assert_revoked(_get(tokens["access"]))
    _assert_revoked(_refresh(tokens["refresh"]))
    _assert_revoked(_get(other_session["access"]))  # logout ends every JWT session of the user
    _assert_revoked(APIClient().post("/auth/logout", {"refresh": tokens["refresh"]}, format="json"))
    assert _get(_login("alice")["access"]).status_code == 200


def test_the_blacklist_alone_refuses_a_logged_out_refresh_token(alice):
    """Even if the version had not moved (e.g. restored from a backup), the blacklisted token is refused."""
    tokens = _login("alice")
    assert APIClient().post("/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 204
    TokenVersion.objects.filter(user=alice).update(version=0)
    _assert_revoked(_refresh(tokens["refresh"]))


@pytest.mark.parametrize("body", [{}, {"refresh": "garbage"}, {"refresh": ""}])
def test_logout_with_a_bad_body_is_a_clear_4xx(body):
    response = APIClient().post("/auth/logout", body, format="json")
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("validation_error", "token_invalid")


def test_deactivation_revokes_jwts_and_api_tokens_immediately_with_a_warm_cache(alice):
    tokens = _login("alice")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    secret = api.post("/auth/tokens", {"name": "ci", "scope": "read"}, format="json").json()["token"]
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert _get(tokens["access"]).status_code == 200 and by_token.get("/ipam/quotas/me").status_code == 200  # warm
    user = get_user_model().objects.get(pk=alice.pk)
    user.is_active = False
    user.save(update_fields=["is_active"])
    _assert_revoked(_get(tokens["access"]))
    _assert_revoked(_refresh(tokens["refresh"]))
    _assert_revoked(by_token.get("/ipam/quotas/me"))
    # Reactivation re-enables the API token (it was disabled, not revoked) but not the old JWTs.
    user.is_active = True
    user.save(update_fields=["is_active"])
    assert by_token.get("/ipam/quotas/me").status_code == 200
    _assert_revoked(_get(tokens["access"]))


def test_saving_a_user_for_other_reasons_keeps_their_tokens(alice):
    tokens = _login("alice")
    user = get_user_model().objects.get(pk=alice.pk)
    user.first_name = "Alice"
    user.save()
    assert _get(tokens["access"]).status_code == 200
    assert _refresh(tokens["refresh"]).status_code == 200


def test_jwts_carry_the_version_claim(alice):
    from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

    tokens = _login("alice")
    assert AccessToken(tokens["access"])["ver"] == 0 and RefreshToken(tokens["refresh"])["ver"] == 0
    alice.set_password(NEW_PASSWORD)
    alice.save()
    assert AccessToken(_login("alice", NEW_PASSWORD)["access"])["ver"] == 1


def test_housekeeping_prunes_the_blacklist_records_of_expired_refresh_tokens(alice):
    import datetime

    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    from foundation.credentials import expired_jwts_prune

    tokens = _login("alice")
    APIClient().post("/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    _login("alice")
    assert OutstandingToken.objects.count() == 2 and BlacklistedToken.objects.count() == 1
    assert expired_jwts_prune() == 0
    OutstandingToken.objects.filter(jti=OutstandingToken.objects.order_by("pk").first().jti).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert expired_jwts_prune() == 2  # the outstanding row and its blacklist row
    assert OutstandingToken.objects.count() == 1 and BlacklistedToken.objects.count() == 0
