"""What every request pays (issue 19, the fixed part): the lighter request middleware records and answers
exactly what the middleware it replaced did."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from foundation import metrics

pytestmark = pytest.mark.django_db

LIBRARY_PROMETHEUS = {
    "foundation.metrics.PrometheusBeforeMiddleware": "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "foundation.metrics.PrometheusAfterMiddleware": "django_prometheus.middleware.PrometheusAfterMiddleware",
}


def _request_samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every django-prometheus request/response sample, except the values that depend on the clock (latency
    buckets and sums: their `_count` is kept)."""
    found = {}
    for family in REGISTRY.collect():
        if not family.name.startswith("django_http_"):
            continue
        for s in family.samples:
            if "latency" in s.name and not s.name.endswith("_count"):
                continue
            if s.name.endswith("_created"):
                continue
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def _traffic(user: Any) -> tuple[list[tuple[int, bytes]], int]:
    api = APIClient()
    api.force_authenticate(user=user)
    anon = APIClient()
    answers = []
    body_bytes = 0
    for response in (
        anon.get("/health"),
        api.get("/ipam/regions"),  # a DRF response: a template response (templatename "None")
        api.post("/ipam/regions", {"country": "nowhere"}, format="json"),  # 4xx with a body
        api.post("/ipam/regions", b"{", content_type="application/json"),  # parse error
        anon.get("/ipam/regions"),  # 401
        anon.get("/no/such/path"),  # 404 without a view
        anon.generic("BREW", "/health"),  # a method the library counts as "<invalid method>"
        anon.get("/health", HTTP_X_REQUESTED_WITH="XMLHttpRequest"),
        anon.get("/admin/login/"),  # a Django template response
    ):
        answers.append((response.status_code, response.content if response.status_code != 200 else b""))
        body_bytes += len(response.content)
    return answers, body_bytes


def _deltas(middleware: list[str], user: Any) -> tuple[dict[Any, float], list[tuple[int, bytes]]]:
    with override_settings(MIDDLEWARE=middleware):
        before = _request_samples()
        answers, body_bytes = _traffic(user)
        after = _request_samples()
    changed = {key: value - before.get(key, 0.0) for key, value in after.items() if value != before.get(key, 0.0)}
    # The bodies of some 200s (health figures, timestamps) vary in length between runs: the sum recorded must
    # be this run's own.
    assert changed.pop(("django_http_responses_body_total_bytes_sum", ())) == body_bytes
    return changed, answers


def test_prometheus_middleware_records_the_same_series_as_django_prometheus(settings, alice):
    ours = list(settings.MIDDLEWARE)
    assert set(LIBRARY_PROMETHEUS) <= set(ours)
    library = [LIBRARY_PROMETHEUS.get(name, name) for name in ours]
    library_deltas, library_answers = _deltas(library, alice)
    our_deltas, our_answers = _deltas(ours, alice)
    assert our_answers == library_answers
    assert our_deltas == library_deltas
    # The traffic above reached every branch that matters: per-view, per-status, invalid method, ajax,
    # template names, and the latency histograms of both middleware.
    names = {name for name, _labels in our_deltas}
    for expected in (
        "django_http_requests_total_by_view_transport_method_total",
        "django_http_responses_total_by_status_view_method_total",
        "django_http_requests_latency_seconds_by_view_method_count",
        "django_http_requests_latency_including_middlewares_seconds_count",
        "django_http_ajax_requests_total",
        "django_http_responses_total_by_templatename_total",
        "django_http_requests_body_total_bytes_count",
        "django_http_responses_body_total_bytes_count",
    ):
        assert expected in names, expected
    assert any(dict(labels).get("method") == "<invalid method>" for _name, labels in our_deltas)


def test_labelled_children_are_looked_up_once_per_label_values(monkeypatch):
    counter = metrics.ALLOCATIONS
    children = metrics._Children(counter)
    calls = []
    real = counter.labels

    def counting(*values: str) -> Any:
        calls.append(values)
        return real(*values)

    monkeypatch.setattr(counter, "labels", counting)
    first = children("host", "success")
    assert children("host", "success") is first
    assert children("region", "success") is not first
    assert calls == [("host", "success"), ("region", "success")]


def test_an_api_request_builds_no_message_storage_and_the_console_still_gets_its_messages(monkeypatch, alice):
    from foundation import middleware

    built = []
    real = middleware.default_storage

    def counting(request: Any) -> Any:
        built.append(request.path)
        return real(request)

    monkeypatch.setattr(middleware, "default_storage", counting)
    api = APIClient()
    api.force_authenticate(user=alice)
    assert api.get("/ipam/regions").status_code == 200
    assert api.get("/ipam/quotas/me").status_code == 200
    assert built == []

    # A request that adds a message builds the storage, and the next page shows it (cookie/session storage).
    from django.contrib import messages
    from django.test import RequestFactory

    request = RequestFactory().get("/console/")
    request.COOKIES = {}
    from django.contrib.sessions.backends.cache import SessionStore

    request.session = SessionStore()
    middleware.LazyMessageMiddleware(lambda r: None).process_request(request)
    assert built == []
    messages.info(request, "hello")
    assert built == ["/console/"]
    assert [str(m) for m in request._messages._queued_messages] == ["hello"]


def test_redaction_skips_the_patterns_only_for_lines_none_of_them_can_match(monkeypatch):
    from foundation import logging as ipam_logging

    def full(text: str) -> str:
        for pattern, replacement in ipam_logging._PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    pieces = [
        '127.0.0.1 "GET /ipam/quotas/me HTTP/1.1" 200 198 1ms request_id=abc',
        "Authorization: Bearer abcdefghijkl",
        "authorization=basic xyz",
        "bearer ABCDEFGHIJKLMNOP",
        "ipam_0123456789ab_ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        '{"password": "hunter2"}',
        "PassWord: hunter2",
        "api-key=xyz",
        "Api_Key: 1",
        "secret_key=abc",
        "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.abcdefghijk",
        "/ipam/shares/" + "a" * 40,
        "sha256=" + "0" * 64,
        "SHA256=" + "f" * 40,
        "X-IPAM-Signature: deadbeef",
        "cookie=abc; sessionid=1",
        "csrftoken: zz",
        "refresh_token='x'",
        "pwd=1",
        "region 10.1.2.0/24 allocated to user 5",
        "",
    ]
    for a in pieces:
        for b in pieces:
            text = f"{a} {b}"
            assert ipam_logging.redact(text) == full(text), text

    class Untouchable:
        def __iter__(self) -> Any:
            raise AssertionError("the nine patterns ran on a line none of them can match")

    monkeypatch.setattr(ipam_logging, "_PATTERNS", Untouchable())
    line = '127.0.0.1 "POST /ipam/hosts HTTP/1.1" 201 611 4ms request_id=3f2a9c'
    assert ipam_logging.redact(line) == line


def _bearer_client(token: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_jwt_seen_before_is_not_decoded_again_and_still_checked(monkeypatch, alice, settings):
    import datetime

    from rest_framework_simplejwt.backends import TokenBackend

    from foundation import auth, credentials
    from foundation.views import VersionedRefreshToken

    settings.DEBUG = False
    auth._VERIFIED.clear()
    decoded = []
    real_decode = TokenBackend.decode

    def counting(self: Any, token: Any, verify: bool = True) -> Any:
        decoded.append(token)
        return real_decode(self, token, verify)

    monkeypatch.setattr(TokenBackend, "decode", counting)
    access = VersionedRefreshToken.for_user(alice).access_token
    client = _bearer_client(access)
    assert [client.get("/ipam/quotas/me").status_code for _ in range(3)] == [200, 200, 200]
    assert len(decoded) == 1  # the signature is checked once per process, not per request

    # Another token (tampered signature) is not the one seen: decoded, and refused.
    tampered = str(access)[:-2] + ("AA" if not str(access).endswith("AA") else "BB")
    refused = _bearer_client(tampered).get("/ipam/quotas/me")
    assert refused.status_code == 401 and refused.json()["error"] == "token_invalid"
    assert len(decoded) == 2

    # Revocation is still read on every request: the seen token is refused after a logout.
    credentials.bump(alice.pk, reason="logout")
    revoked = client.get("/ipam/quotas/me")
    assert revoked.status_code == 401 and revoked.json()["error"] == "token_revoked"

    # Expiry is checked on every use, with the same answer as for a token never seen.
    short = VersionedRefreshToken.for_user(alice).access_token
    short.set_exp(lifetime=datetime.timedelta(seconds=3))
    seen = _bearer_client(short)
    first = seen.get("/ipam/quotas/me")
    assert first.status_code == 200, first.content
    import time

    time.sleep(max(0.0, short["exp"] - time.time()) + 0.2)
    auth_expired_seen = seen.get("/ipam/quotas/me")
    other = VersionedRefreshToken.for_user(alice).access_token
    other.set_exp(lifetime=datetime.timedelta(seconds=-5))
    auth_expired_fresh = _bearer_client(other).get("/ipam/quotas/me")
    assert auth_expired_seen.status_code == auth_expired_fresh.status_code == 401
    assert auth_expired_seen.content == auth_expired_fresh.content
    assert auth_expired_seen.json()["error"] == "token_expired"


def test_changing_the_jwt_settings_forgets_the_verified_tokens(alice, settings):
    from foundation import auth
    from foundation.views import VersionedRefreshToken

    access = VersionedRefreshToken.for_user(alice).access_token
    client = _bearer_client(access)
    assert client.get("/ipam/quotas/me").status_code == 200
    assert auth._VERIFIED
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "LEEWAY": 1}
    assert not auth._VERIFIED  # the next use checks the signature again, under the new settings
    assert client.get("/ipam/quotas/me").status_code == 200
    assert len(auth._VERIFIED) == 1


def test_the_verified_token_memory_is_bounded(alice, monkeypatch):
    from foundation import auth
    from foundation.views import VersionedRefreshToken

    auth._VERIFIED.clear()
    monkeypatch.setattr(auth, "VERIFIED_TOKENS_MAX", 3)
    tokens = [VersionedRefreshToken.for_user(alice).access_token for _ in range(5)]
    for token in tokens:
        assert _bearer_client(token).get("/ipam/quotas/me").status_code == 200
    assert len(auth._VERIFIED) == 3
    assert {raw for _cls, raw in auth._VERIFIED} == {str(t).encode() for t in tokens[2:]}
