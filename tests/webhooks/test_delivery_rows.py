"""The webhook delivery list page's plain rows render byte for byte what `WebhookDeliverySerializer`
renders, attempts included (issue 19)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from webhooks.api.rows import delivery_rows, delivery_values
from webhooks.api.serializers import WebhookDeliverySerializer
from webhooks.models import Webhook, WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent

pytestmark = pytest.mark.django_db
render = JSONRenderer().render


def _deliveries(user: Any) -> Webhook:
    webhook = Webhook.objects.create(user=user, webhook_url="https://example.com/h", events=["region.created"], secret_encrypted="x")
    now = timezone.now()
    for i, (status, tries) in enumerate([("delivered", 3), ("failed", 2), ("pending", 0), ("sending", 1)]):
        at = now - dt.timedelta(days=i * 20, microseconds=i * 7)
        event = WebhookEvent.objects.create(user=user, event_type="region.created", body="{}", created_at=at)
        delivery = WebhookDelivery.objects.create(
            webhook=webhook,
            event=event,
            event_type="region.created",
            status=status,
            attempts=tries,
            last_status_code=None if tries == 0 else 200 if status == "delivered" else 503,
            last_response_time_ms=None if tries == 0 else 12 * i + 1,
            last_error="" if status == "delivered" else 'HTTP 503 "busy" ü',
            delivered_at=at.replace(microsecond=0) if status == "delivered" else None,
            next_attempt_at=at + dt.timedelta(minutes=5) if status == "sending" else None,
            redelivery_of=uuid.uuid4() if i == 1 else None,
            created_at=at,
        )
        for number in range(tries, 0, -1):  # inserted out of order: the log is ordered by attempt_number
            ok = status == "delivered" and number == tries
            WebhookDeliveryAttempt.objects.create(
                delivery=delivery,
                attempt_number=number,
                status_code=None if number == 1 and not ok else 200 if ok else 503,
                response_time_ms=None if number == 1 and not ok else 40 + number,
                error_message="" if ok else "timeout",
                attempted_at=at + dt.timedelta(seconds=number),
                next_attempt_at=None if ok else at + dt.timedelta(minutes=number),
                status="delivered" if ok else ("failed" if status == "failed" and number == tries else "retrying"),
            )
    return webhook


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
def test_delivery_rows_render_exactly_as_the_serializer(alice: Any, zone: str) -> None:
    webhook = _deliveries(alice)
    with timezone.override(zone):
        ordered = WebhookDelivery.objects.filter(webhook=webhook).order_by("-created_at", "-id")
        instances = list(ordered.prefetch_related("attempt_log"))
        rows = list(delivery_values(ordered))
        assert len(instances) == len(rows) == 4
        assert render(delivery_rows(rows)) == render(WebhookDeliverySerializer(instances, many=True).data)
    assert delivery_rows([]) == []


def test_the_delivery_list_answers_the_serializer_bytes(api: Any, alice: Any) -> None:
    webhook = _deliveries(alice)
    instances = list(WebhookDelivery.objects.filter(webhook=webhook).prefetch_related("attempt_log").order_by("-created_at", "-id"))
    base = f"/ipam/webhooks/{webhook.pk}/deliveries"
    expected = {"count": 4, "next": None, "previous": None, "results": WebhookDeliverySerializer(instances, many=True).data}
    with CaptureQueriesContext(connection) as queries:
        response = api.get(base)
    assert response.status_code == 200 and response.content == render(expected)
    # the count with the page, each delivery's attempt log and, on PostgreSQL, the webhook's owner (was: the webhook, the
    # count, the page, the page's attempts; foundation/newest_pages.py)
    assert len([q for q in queries.captured_queries if "webhooks_" in q["sql"]]) == (1 if connection.vendor == "postgresql" else 2)
    failed = api.get(base, {"status": "failed"}).json()
    assert failed["count"] == 1 and failed["results"] == WebhookDeliverySerializer([instances[1]], many=True).data
    page = api.get(base, {"page": 2, "page_size": 3}).json()
    assert page["results"] == WebhookDeliverySerializer(instances[3:], many=True).data
    cursor = api.get(base, {"cursor": "", "page_size": 3}).json()  # the keyset path keeps the serializer
    assert cursor["results"] == WebhookDeliverySerializer(instances[:3], many=True).data


def test_a_page_reads_its_webhook_and_its_rows_from_statements_compiled_once(
    client_for: Any, alice: Any, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook's ownership and the page with its attempt logs: on PostgreSQL each statement is compiled once
    per thread and bound to every webhook, user and page (foundation/compiled.py), and the pages are still the
    serializer's bytes; another user's webhook is still a 404."""
    import threading

    from django.db.models.sql.compiler import SQLCompiler

    from foundation import compiled as compiled_statements

    monkeypatch.setattr(compiled_statements, "_cache", threading.local())
    hooks = {alice: _deliveries(alice), bob: _deliveries(bob)}
    compiles: list[Any] = []
    during: list[Any] = []  # compiled while serving the pages
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: (compiles.append(self.query.model), original(self, *a, **k))[1])
    for owner in (alice, bob, alice, bob):
        client, webhook = client_for(owner), hooks[owner]
        instances = list(WebhookDelivery.objects.filter(webhook=webhook).prefetch_related("attempt_log").order_by("-created_at", "-id"))
        for page, size in ((1, 4), (1, 3), (2, 3), (2, 2)):
            before = len(compiles)
            response = client.get(f"/ipam/webhooks/{webhook.pk}/deliveries", {"page": page, "page_size": size})
            during += compiles[before:]
            expected = WebhookDeliverySerializer(instances[(page - 1) * size : page * size], many=True).data
            assert response.status_code == 200
            assert render(response.json()["results"]) == render(expected) and len(expected) == min(size, 4 - (page - 1) * size)
        other = hooks[bob if owner == alice else alice]
        before = len(compiles)
        assert client.get(f"/ipam/webhooks/{other.pk}/deliveries").status_code == 404
        during += compiles[before:]
    if connection.vendor == "postgresql":
        assert during.count(Webhook) == 1 and WebhookDeliveryAttempt not in during, during


def test_another_users_webhook_is_a_404_on_every_path_of_the_list(client_for: Any, alice: Any, bob: Any) -> None:
    """The owner check folded into the page's statement (a plain page) or run first (anything else): another user,
    or a webhook that does not exist, gets the standard 404 whatever the query string, as `get_object()` gave,
    while the owner gets the page or the parameter's own error."""
    webhook = _deliveries(alice)
    owner, other = client_for(alice), client_for(bob)
    queries: list[dict[str, Any]] = [
        {},
        {"page": 2, "page_size": 3},
        {"page": "last"},
        {"page": 99},
        {"page": 2**31},
        {"page": "abc"},
        {"page_size": 0},
        {"page_size": "x"},
        {"status": "failed"},
        {"status": "bogus"},
        {"event_type": "region.created", "page": 1},
        {"cursor": ""},
    ]
    not_found = {"error": "not_found", "message": "Not found.", "details": {}}
    for params in queries:
        mine = owner.get(f"/ipam/webhooks/{webhook.pk}/deliveries", params)
        assert mine.status_code in (200, 400, 404), (params, mine.status_code)
        if mine.status_code == 404:
            assert mine.json()["message"] == "Invalid page.", params  # the owner's 404 is the page's, not the webhook's
        for path in (f"/ipam/webhooks/{webhook.pk}/deliveries", f"/ipam/webhooks/{uuid.uuid4()}/deliveries"):
            theirs = other.get(path, params)
            assert (theirs.status_code, theirs.json()) == (404, not_found), (path, params)


def test_the_delivery_rows_template_is_the_query_built_per_request_and_is_never_evaluated(alice: Any, bob: Any) -> None:
    """The list filters a clone of one `.values()` template per request: the same statement as building the rows
    from the webhook's deliveries, with and without filters, and the template never holds rows."""
    from foundation.newest_pages import NEWEST_FIRST
    from webhooks.api.views import _delivery_rows

    for webhook in (_deliveries(alice), _deliveries(bob)):
        for filters in ({}, {"status": "failed"}, {"status": "delivered", "event_type": "region.created"}):
            built = delivery_values(WebhookDelivery.objects.filter(webhook_id=webhook.pk, **filters).order_by(*NEWEST_FIRST))
            clone = _delivery_rows().filter(webhook_id=webhook.pk, **filters)
            assert str(clone.query) == str(built.query) and list(clone) == list(built)
    assert _delivery_rows()._result_cache is None
