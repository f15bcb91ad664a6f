"""Hardening checks: security headers, the request body limit, secrets at rest, nothing secret in logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from foundation.logging import AppFormatter, RedactSecretsFilter, RequestIdFilter, redact
from ipam.models import Region
from tests.factories import make_region

pytestmark = pytest.mark.django_db

PASSWORD = "Corr3ct-Horse-Battery-Staple!"


@pytest.mark.parametrize("url", ["/ipam/regions", "/health", "/ipam/does-not-exist", "/openapi.json"])
def test_responses_carry_the_security_headers(api, url):
    response = api.get(url)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_request_body_over_the_limit_gets_a_clean_4xx_with_the_standard_body(api, alice):
    response = api.post("/ipam/regions", {"country": "India", "description": "x" * 4096}, format="json")
    assert 400 <= response.status_code < 500, response.content
    body = response.json()
    assert set(body) == {"error", "message", "details"} and body["error"] == "request_too_large", body
    assert response.status_code == 413
    assert not Region.objects.filter(user=alice).exists()


def test_share_tokens_are_stored_only_as_a_hash(api, alice):
    from ipam.models import Share

    region = make_region(alice)
    created = api.post("/ipam/shares", {"resource_type": "region", "resource_id": str(region.pk)}, format="json").json()
    token = created["share_token"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Share._meta.db_table}")
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert all(token not in str(value) for value in rows[0])
    assert Share.objects.get().token_hash != token and len(Share.objects.get().token_hash) == 64
    assert APIClient().get(f"/ipam/shares/{token}").status_code == 200  # the hash still finds it


def test_webhook_secrets_are_encrypted_at_rest(api):
    from webhooks.models import Webhook

    with override_settings(IPAM_WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"]):
        created = api.post("/ipam/webhooks", {"webhook_url": "http://127.0.0.1:9/hook", "events": ["region.created"]}, format="json")
    assert created.status_code == 201, created.content
    secret = created.json()["secret_key"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Webhook._meta.db_table}")
        rows = cursor.fetchall()
    assert len(rows) == 1 and all(secret not in str(value) for value in rows[0])
    assert "secret_key" not in api.get(f"/ipam/webhooks/{created.json()['webhook_id']}").json()


class _Capture(logging.Handler):
    """Formats every record exactly as the configured handlers do (same filters, same formatter)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.addFilter(RedactSecretsFilter())
        self.setFormatter(AppFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured_logs() -> Iterator[_Capture]:
    """Everything logged at INFO and above by any logger (stricter than production's WARNING root)."""
    handler = _Capture()
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name, item in logging.root.manager.loggerDict.items() if isinstance(item, logging.Logger)
    ]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        if lg.level == logging.NOTSET or lg.level > logging.INFO:
            lg.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    for lg in loggers:
        if not lg.propagate:
            lg.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    for lg, level in saved:
        lg.setLevel(level)
        if handler in lg.handlers:
            lg.removeHandler(handler)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_full_flow_logs_no_token_secret_or_password(captured_logs):
    user = User.objects.create_user("carol", password=PASSWORD)
    user.groups.add(Group.objects.get(name="IPAM Operators"))
    client = APIClient()
    secrets: list[str] = [PASSWORD]

    login = client.post("/auth/token", {"username": "carol", "password": PASSWORD}, format="json")
    assert login.status_code == 200, login.content
    access, refresh = login.json()["access"], login.json()["refresh"]
    secrets += [access, refresh]
    failed = client.post("/auth/token", {"username": "carol", "password": PASSWORD + "-wrong"}, format="json")
    assert failed.status_code == 401
    secrets.append(PASSWORD + "-wrong")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    region = client.post("/ipam/regions", {"country": "IN", "region_name": "r1"}, format="json")
    assert region.status_code == 201, region.content
    region_id = region.json()["region_id"]
    host = client.post("/ipam/hosts", {"region_id": region_id, "hostname": "web-1"}, format="json")
    assert host.status_code == 201, host.content

    with override_settings(IPAM_WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"]):
        hook = client.post("/ipam/webhooks", {"webhook_url": "http://127.0.0.1:9/hook", "events": ["region.created"]}, format="json")
        assert hook.status_code == 201, hook.content
        secrets.append(hook.json()["secret_key"])
        rotated = client.post(f"/ipam/webhooks/{hook.json()['webhook_id']}/rotate-secret")
        secrets.append(rotated.json()["secret_key"])
        client.post("/ipam/regions", {"country": "IN", "region_name": "r2"}, format="json")  # a delivery attempt (refused port)

    share = client.post("/ipam/shares", {"resource_type": "region", "resource_id": region_id}, format="json").json()
    secrets.append(share["share_token"])
    assert APIClient().get(f"/ipam/shares/{share['share_token']}").status_code == 200
    client.delete(f"/ipam/shares/{share['share_id']}")
    assert APIClient().get(f"/ipam/shares/{share['share_token']}").status_code == 404  # logged as a 404

    refreshed = client.post("/auth/token/refresh", {"refresh": refresh}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    secrets += [value for value in refreshed.json().values() if isinstance(value, str)]
    client.credentials(HTTP_AUTHORIZATION="Bearer " + access[:-4] + "AAAA")  # a tampered token is logged?
    assert client.get("/ipam/regions").status_code == 401

    text = "\n".join(captured_logs.lines)
    assert captured_logs.lines, "the flow logged nothing: the capture is broken"
    leaked = [secret[:12] + "…" for secret in secrets if secret in text]
    assert leaked == [], text
    assert "AAAA" not in text or access[:-4] not in text


def test_a_gunicorn_access_line_for_the_public_share_view_hides_the_token():
    token = "Zx9" * 15
    line = f'127.0.0.1 "GET /ipam/shares/{token} HTTP/1.1" 200 512 3ms request_id=abc'
    assert token not in redact(line)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_form_encoded_and_multipart_bodies_over_the_limit_are_refused_with_the_standard_body(api, alice):
    form = api.post("/ipam/regions", "country=IN&region_name=" + "x" * 4096, content_type="application/x-www-form-urlencoded")
    assert form.status_code == 413 and form.json()["error"] == "request_too_large", form.content
    multipart = api.post("/ipam/regions", {"country": "IN", "region_name": "x" * 4096})
    # A multipart field over the limit: Django's own check (RequestDataTooBig) gets the same 413 and body.
    assert multipart.status_code == 413 and multipart.json()["error"] == "request_too_large", multipart.content
    assert set(multipart.json()) == {"error", "message", "details"}
    assert not Region.objects.filter(user=alice).exists()
