"""Issue 17, API tokens: CRUD, the secret shown once and stored only hashed, never logged, cheap cached
authentication, last use written at most once a minute, scopes, the user's permissions as a cap, the
user's rate limits, the admin, and the OpenAPI schema."""

from __future__ import annotations

import datetime
import io
import logging
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from foundation import apitokens
from foundation.logging import redact
from foundation.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
FIELDS = {"id", "name", "scope", "expires_at", "allowed_networks", "created_at", "last_used_at", "last_used_ip"}


@pytest.fixture(autouse=True)
def _fresh_use_memo() -> None:
    apitokens._recent_writes.clear()


def _create(client: APIClient, **body: Any) -> dict[str, Any]:
    response = client.post("/auth/tokens", {"name": "ci", **body}, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def _by_token(secret: str, **extra: Any) -> APIClient:
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_create_list_show_revoke(api, alice):
    expires = (timezone.now() + datetime.timedelta(days=365)).replace(microsecond=0)
    created = _create(api, scope="write", expires_at=expires.isoformat(), allowed_networks=["10.1.2.3/8", "2001:db8::/48"])
    assert set(created) == FIELDS | {"token"}
    assert created["scope"] == "write" and created["allowed_networks"] == ["10.0.0.0/8", "2001:db8::/48"]
    assert created["token"].startswith("ipam_") and len(created["token"]) == 5 + 12 + 1 + 43
    assert created["last_used_at"] is None and created["last_used_ip"] is None
    listed = api.get("/auth/tokens").json()
    assert listed["count"] == 1 and set(listed["results"][0]) == FIELDS  # no secret, ever again
    shown = api.get(f"/auth/tokens/{created['id']}").json()
    assert shown == {key: created[key] for key in FIELDS}
    assert _by_token(created["token"], REMOTE_ADDR="10.9.9.9").get("/ipam/quotas/me").status_code == 200
    assert api.delete(f"/auth/tokens/{created['id']}").status_code == 204
    assert api.get(f"/auth/tokens/{created['id']}").status_code == 404
    assert api.delete(f"/auth/tokens/{created['id']}").status_code == 404
    assert api.get("/auth/tokens").json()["count"] == 0
    assert ApiToken.objects.get(pk=created["id"]).revoked_at is not None  # kept for the record
    assert _by_token(created["token"], REMOTE_ADDR="10.9.9.9").get("/ipam/quotas/me").json()["error"] == "token_revoked"


def test_defaults_are_read_scope_no_expiry_any_network(api):
    created = _create(api)
    assert (created["scope"], created["expires_at"], created["allowed_networks"]) == ("read", None, [])


def test_the_list_is_paginated_and_only_the_callers(api, client_for, bob):
    for n in range(3):
        _create(api, name=f"t{n}")
    _create(client_for(bob), name="bobs")
    page = api.get("/auth/tokens?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert [t["name"] for t in page["results"]] == ["t2", "t1"]  # newest first


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"scope": "admin"}, "scope"),
        ({"expires_at": "yesterday"}, "expires_at"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"allowed_networks": ["10.0.0.0/33"]}, "allowed_networks"),
        ({"allowed_networks": ["example.com"]}, "allowed_networks"),
        ({"allowed_networks": "10.0.0.0/8"}, "allowed_networks"),
        ({"allowed_networks": ["10.0.0.0/8"] * 51}, "allowed_networks"),
    ],
)
def test_bad_input_is_400_and_creates_nothing(api, body, field):
    response = api.post("/auth/tokens", {"name": "ci", **body}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation_error" and field in response.json()["details"]
    assert ApiToken.objects.count() == 0


def test_the_number_of_tokens_is_bounded(api, settings):
    settings.IPAM_API_TOKENS_PER_USER = 2
    first = _create(api)
    _create(api)
    response = api.post("/auth/tokens", {"name": "third"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "token_limit_reached"
    api.delete(f"/auth/tokens/{first['id']}")
    _create(api, name="third")


def test_a_token_cannot_create_tokens(api):
    client = _by_token(_create(api, scope="write")["token"])
    response = client.post("/auth/tokens", {"name": "child", "scope": "write"}, format="json")
    assert response.status_code == 403 and response.json()["error"] == "token_cannot_create_tokens"
    assert client.get("/auth/tokens").status_code == 200  # listing (and revoking) are fine


def test_the_secret_is_stored_only_as_a_hash(api):
    created = _create(api, scope="write")
    secret = created["token"]
    row = ApiToken.objects.get(pk=created["id"])
    assert row.secret_hash == apitokens.hash_secret(secret) and len(row.secret_hash) == 64
    out = io.StringIO()
    call_command("dumpdata", stdout=out)  # every column of every table
    dump = out.getvalue()
    assert row.key_id in dump
    assert secret not in dump and secret[18:] not in dump


def test_the_secret_never_reaches_a_log_line(api, caplog):
    caplog.set_level(logging.DEBUG)
    secret = _create(api)["token"]
    _by_token(secret).get("/ipam/quotas/me")
    _by_token(secret + "x").get("/ipam/quotas/me")  # a refused one, too
    logging.getLogger("ipam.test").warning("curl -H 'Authorization: Token %s' ; raw %s", secret, secret)
    handler_filter = __import__("foundation.logging", fromlist=["RedactSecretsFilter"]).RedactSecretsFilter()
    ours = [record for record in caplog.records if record.name != "ipam.test"]
    assert ours and not [r for r in ours if secret[18:] in r.getMessage()]  # our code never logs it
    for record in caplog.records:  # and the production filter redacts it where someone else does
        handler_filter.filter(record)
        assert secret[18:] not in record.getMessage()
    assert redact(f"Authorization: Token {secret}") == "Authorization: Token [REDACTED]"
    assert redact(f"token is {secret}") == f"token is {secret[:18]}[REDACTED]"


def test_token_authentication_is_served_from_the_cache_without_a_query(api, django_assert_num_queries):
    secret = _create(api)["token"]
    client = _by_token(secret)
    assert client.get("/ipam/statistics/dashboard").status_code == 200  # loads token, user and the dashboard
    with django_assert_num_queries(0):  # last use was just written: no write either
        assert client.get("/ipam/statistics/dashboard").status_code == 200


def test_last_use_is_written_at_most_once_a_minute(api, settings):
    created = _create(api)
    client = _by_token(created["token"], REMOTE_ADDR="127.0.0.5")
    client.get("/ipam/quotas/me")
    first = ApiToken.objects.get(pk=created["id"])
    assert first.last_used_at is not None and first.last_used_ip == "127.0.0.5"
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            _by_token(created["token"], REMOTE_ADDR="127.0.0.6").get("/ipam/quotas/me")
    assert not [q for q in queries if "ops_apitoken" in q["sql"] and q["sql"].startswith("UPDATE")]
    # Another process (empty memo) within the minute: its UPDATE matches no row.
    apitokens._recent_writes.clear()
    _by_token(created["token"], REMOTE_ADDR="127.0.0.7").get("/ipam/quotas/me")
    assert ApiToken.objects.get(pk=created["id"]).last_used_ip == "127.0.0.5"
    # A minute later it is written again.
    ApiToken.objects.filter(pk=created["id"]).update(last_used_at=timezone.now() - datetime.timedelta(seconds=61))
    apitokens._recent_writes.clear()
    _by_token(created["token"], REMOTE_ADDR="127.0.0.8").get("/ipam/quotas/me")
    assert ApiToken.objects.get(pk=created["id"]).last_used_ip == "127.0.0.8"
    assert api.get(f"/auth/tokens/{created['id']}").json()["last_used_ip"] == "127.0.0.8"


def test_revoking_drops_the_cached_token_at_once(api):
    created = _create(api)
    client = _by_token(created["token"])
    assert client.get("/ipam/quotas/me").status_code == 200  # cached
    api.delete(f"/auth/tokens/{created['id']}")
    assert client.get("/ipam/quotas/me").status_code == 401


def test_deleting_the_row_or_the_user_refuses_the_token_at_once(api, alice):
    created = _create(api)
    client = _by_token(created["token"])
    assert client.get("/ipam/quotas/me").status_code == 200
    type(alice).objects.filter(pk=alice.pk).delete()
    assert client.get("/ipam/quotas/me").json()["error"] == "token_invalid"


def test_a_token_counts_against_its_users_rate_limit(api, settings, alice):
    client = _by_token(_create(api, scope="write")["token"])
    settings.IPAM_RATE_LIMITS_ENABLED = True
    settings.IPAM_RATE_LIMIT_PER_HOUR = 2
    assert client.post("/ipam/regions", {"country": "IN", "region_name": "a"}, format="json").status_code == 201
    assert api.post("/ipam/regions", {"country": "IN", "region_name": "b"}, format="json").status_code == 201
    response = client.post("/ipam/regions", {"country": "IN", "region_name": "c"}, format="json")
    assert response.status_code == 429  # one budget for the user, however they authenticate


def test_audit_rows_name_the_token_auth_method(api, alice):
    from ipam.models import AuditLog

    client = _by_token(_create(api, scope="write")["token"])
    assert client.post("/ipam/regions", {"country": "IN", "region_name": "audited"}, format="json").status_code == 201
    row = AuditLog.objects.order_by("-pk").first()
    assert row is not None and row.auth_method == "token"


def test_staff_see_and_revoke_anyones_tokens_in_the_admin(client_for, alice, bob):
    tokens = [_create(client_for(alice), name="alice-ci"), _create(client_for(bob), name="bob-ci")]
    staff = Client()
    staff.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = staff.get("/admin/ops/apitoken/").content.decode()
    assert "alice-ci" in page and "bob-ci" in page
    assert tokens[0]["token"] not in page and "secret_hash" not in page
    detail = staff.get(f"/admin/ops/apitoken/{tokens[1]['id']}/change/").content.decode()
    assert ApiToken.objects.get(pk=tokens[1]["id"]).secret_hash not in detail
    assert _by_token(tokens[1]["token"]).get("/ipam/quotas/me").status_code == 200  # cached
    response = staff.post("/admin/ops/apitoken/", {"action": "revoke", "_selected_action": [tokens[1]["id"]]})
    assert response.status_code == 302
    assert _by_token(tokens[1]["token"]).get("/ipam/quotas/me").json()["error"] == "token_revoked"
    assert _by_token(tokens[0]["token"]).get("/ipam/quotas/me").status_code == 200
    assert staff.get("/admin/ops/apitoken/add/").status_code == 403


def test_the_schema_documents_token_auth_and_the_endpoints(anon):
    schema = anon.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["tokenAuth"]["description"],
    }
    for path, methods in {"/auth/tokens": ["get", "post"], "/auth/tokens/{token_id}": ["get", "delete"], "/auth/logout": ["post"]}.items():
        for method in methods:
            assert schema["paths"][path][method]["tags"] == ["auth"], (path, method)
    assert {"tokenAuth": []} in schema["paths"]["/ipam/regions"]["get"]["security"]
    created = schema["paths"]["/auth/tokens"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert "token" in schema["components"]["schemas"][created.rsplit("/", 1)[1]]["properties"]


def test_a_warm_token_authentication_costs_the_cache_reads_of_a_warm_jwt_one(api, alice, monkeypatch):
    """As cheap as the cached JWT path: no query and the same number of cache reads (one `get_many`)."""
    from django.core.cache import cache
    from rest_framework_simplejwt.tokens import AccessToken

    from foundation.auth import ApiTokenAuthentication, TrackedJWTAuthentication

    secret = _create(api)["token"]
    factory = __import__("rest_framework.test", fromlist=["APIRequestFactory"]).APIRequestFactory()
    from rest_framework.request import Request

    cases = {
        "jwt": (TrackedJWTAuthentication(), factory.get("/", HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(alice)}")),
        "token": (ApiTokenAuthentication(), factory.get("/", HTTP_AUTHORIZATION=f"Token {secret}")),
    }
    reads: dict[str, list[str]] = {}
    for name, (auth, raw) in cases.items():
        auth.authenticate(Request(raw))  # warm
        calls: list[str] = []
        for method in ("get", "get_many"):
            original = getattr(cache, method)
            monkeypatch.setattr(cache, method, lambda *a, _o=original, _m=method, _c=calls, **k: _c.append(_m) or _o(*a, **k))
        with CaptureQueriesContext(connection) as queries:
            assert auth.authenticate(Request(raw))[0].pk == alice.pk
        monkeypatch.undo()
        assert len(queries) == 0, (name, queries.captured_queries)
        reads[name] = [c for c in calls if c == "get_many"]
    assert reads["token"] == reads["jwt"] == ["get_many"]
