"""The webhooks API: create (secret once, encrypted at rest), list, detail, patch, delete, deliveries,
test, rotate-secret, redeliver; isolation, permissions, rate limit, schema."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from foundation import queue
from tests.factories import make_region
from webhooks import crypto, signing
from webhooks.models import Webhook, WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent

pytestmark = pytest.mark.django_db


def test_create_returns_the_secret_once_and_stores_it_encrypted(api, alice, receiver):
    response = api.post(
        "/ipam/webhooks",
        {"webhook_url": receiver.url, "events": ["host.allocated", "host.released", "host.allocated"], "description": "ci"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    secret = body["secret_key"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert body["events"] == ["host.allocated", "host.released"] and body["is_active"] and body["failure_count"] == 0
    webhook = Webhook.objects.get(pk=body["webhook_id"])
    assert webhook.user == alice and webhook.description == "ci"
    assert secret not in webhook.secret_encrypted and crypto.secret_decrypt(webhook.secret_encrypted) == secret
    listed = api.get("/ipam/webhooks").json()
    assert listed["count"] == 1 and "secret_key" not in listed["results"][0]
    detail = api.get(f"/ipam/webhooks/{webhook.pk}").json()
    assert detail["webhook_url"] == receiver.url and "secret_key" not in detail and secret not in json.dumps(detail)


def test_create_validates_events_url_and_description(api):
    cases = [
        {"webhook_url": "https://example.com/x", "events": []},
        {"webhook_url": "https://example.com/x", "events": ["region.deleted"]},
        {"webhook_url": "https://example.com/x"},
        {"events": ["region.created"]},
        {"webhook_url": "x" * 501, "events": ["region.created"]},
        {"webhook_url": "https://example.com/x", "events": ["region.created"], "description": "d" * 501},
        {"webhook_url": "https://example.com/x", "events": "region.created"},
    ]
    for data in cases:
        response = api.post("/ipam/webhooks", data, format="json")
        assert response.status_code == 400, data
        assert response.json()["error"] == "validation_error"
    assert not Webhook.objects.exists()


def test_other_users_webhooks_are_invisible(client_for, alice, bob, subscribe, receiver):
    webhook, _ = subscribe(alice, receiver.url)
    bob_client = client_for(bob)
    base = f"/ipam/webhooks/{webhook.pk}"
    assert bob_client.get("/ipam/webhooks").json()["count"] == 0
    assert bob_client.get(base).status_code == 404
    assert bob_client.patch(base, {"description": "x"}, format="json").status_code == 404
    assert bob_client.get(f"{base}/deliveries").status_code == 404
    assert bob_client.post(f"{base}/test").status_code == 404
    assert bob_client.post(f"{base}/rotate-secret").status_code == 404
    assert bob_client.delete(base).status_code == 404
    assert Webhook.objects.filter(pk=webhook.pk, description="").exists()


def test_readers_can_list_but_not_manage_webhooks(client_for, reader, receiver):
    client = client_for(reader)
    assert client.get("/ipam/webhooks").status_code == 200
    response = client.post("/ipam/webhooks", {"webhook_url": receiver.url, "events": ["region.created"]}, format="json")
    assert response.status_code == 403 and response.json()["details"]["required_permission"] == "update"


def test_patch_changes_url_events_and_description(api, alice, subscribe, receiver):
    webhook, _ = subscribe(alice, receiver.url)
    response = api.patch(
        f"/ipam/webhooks/{webhook.pk}",
        {"webhook_url": receiver.url + "/v2", "events": ["capacity.critical"], "description": "pager"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    webhook.refresh_from_db()
    assert (webhook.webhook_url, webhook.events, webhook.description) == (receiver.url + "/v2", ["capacity.critical"], "pager")
    assert api.patch(f"/ipam/webhooks/{webhook.pk}", {"events": ["nope"]}, format="json").status_code == 400
    assert api.patch(f"/ipam/webhooks/{webhook.pk}", {"secret_key": "mine"}, format="json").status_code == 200  # ignored field
    webhook.refresh_from_db()
    assert webhook.events == ["capacity.critical"]


def test_delete_removes_the_webhook_and_its_deliveries(api, alice, subscribe, receiver, django_capture_on_commit_callbacks):
    webhook, _ = subscribe(alice, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    assert WebhookDelivery.objects.count() == 1
    assert api.delete(f"/ipam/webhooks/{webhook.pk}").status_code == 204
    assert not Webhook.objects.exists() and not WebhookDelivery.objects.exists() and not WebhookDeliveryAttempt.objects.exists()
    assert api.delete(f"/ipam/webhooks/{webhook.pk}").status_code == 404


def test_test_endpoint_sends_a_signed_webhook_test_event(api, alice, subscribe, receiver, django_capture_on_commit_callbacks):
    webhook, secret = subscribe(alice, receiver.url, ["region.created"])  # test events go whatever it subscribes to
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/ipam/webhooks/{webhook.pk}/test/")
    assert response.status_code == 202, response.json()
    assert response.json()["event_type"] == "webhook.test"
    [request] = receiver.requests
    assert request.headers["x-ipam-event"] == "webhook.test"
    assert signing.verify(secret, request.headers["x-ipam-timestamp"], request.body, request.headers["x-ipam-signature"])
    assert json.loads(request.body)["data"]["webhook_id"] == str(webhook.pk)
    delivery = WebhookDelivery.objects.get(pk=response.json()["delivery_id"])
    assert delivery.status == "delivered"


def test_test_endpoint_needs_an_active_webhook_and_delivery_turned_on(settings, api, alice, subscribe, receiver):
    webhook, _ = subscribe(alice, receiver.url)
    Webhook.objects.filter(pk=webhook.pk).update(is_active=False)
    response = api.post(f"/ipam/webhooks/{webhook.pk}/test")
    assert response.status_code == 409 and response.json()["error"] == "webhook_inactive"
    Webhook.objects.filter(pk=webhook.pk).update(is_active=True)
    settings.IPAM_ENABLE_WEBHOOKS = False
    response = api.post(f"/ipam/webhooks/{webhook.pk}/test")
    assert response.status_code == 409 and response.json()["error"] == "webhooks_disabled"
    assert not WebhookEvent.objects.exists()


def test_deliveries_are_paginated_newest_first_with_their_attempt_log(api, alice, subscribe, receiver, django_capture_on_commit_callbacks):
    receiver.respond(500)
    webhook, _ = subscribe(alice, receiver.url, ["region.created"])
    for i in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            make_region(alice, name=f"r{i}")
    response = api.get(f"/ipam/webhooks/{webhook.pk}/deliveries", {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    newest, oldest = (
        body["results"][0],
        api.get(f"/ipam/webhooks/{webhook.pk}/deliveries", {"page": 2, "page_size": 2}).json()["results"][0],
    )
    assert json.loads(WebhookEvent.objects.get(pk=newest["event_id"]).body)["data"]["region_name"] == "r2"
    assert oldest["status"] == "pending" and oldest["attempt_number"] == 1 and oldest["status_code"] == 500
    [attempt] = oldest["attempts"]
    assert set(attempt) == {
        "delivery_id",
        "event_type",
        "attempt_number",
        "status_code",
        "response_time_ms",
        "error_message",
        "attempted_at",
        "delivered_at",
        "next_attempt_at",
        "status",
    }
    assert attempt["status"] == "retrying" and attempt["delivered_at"] is None and attempt["next_attempt_at"]
    assert newest["attempts"][0]["delivered_at"] is not None and newest["status"] == "delivered"
    with CaptureQueriesContext(connection) as one_page:
        api.get(f"/ipam/webhooks/{webhook.pk}/deliveries", {"page_size": 1})
    with CaptureQueriesContext(connection) as three_per_page:
        api.get(f"/ipam/webhooks/{webhook.pk}/deliveries", {"page_size": 3})
    assert len(one_page.captured_queries) == len(three_per_page.captured_queries)  # no N+1
    filtered = api.get(f"/ipam/webhooks/{webhook.pk}/deliveries", {"status": "pending"}).json()
    assert filtered["count"] == 1
    assert api.get(f"/ipam/webhooks/{webhook.pk}/deliveries", {"status": "bogus"}).status_code == 400


def test_redeliver_sends_the_same_event_again_as_a_new_delivery(api, alice, subscribe, receiver, django_capture_on_commit_callbacks):
    receiver.respond(404)
    webhook, _ = subscribe(alice, receiver.url, ["region.created"])
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    failed = WebhookDelivery.objects.get()
    assert failed.status == "failed"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/ipam/webhooks/{webhook.pk}/deliveries/{failed.pk}/redeliver")
    assert response.status_code == 202, response.json()
    again = WebhookDelivery.objects.get(pk=response.json()["delivery_id"])
    assert again.pk != failed.pk and again.event_id == failed.event_id and again.redelivery_of == failed.pk
    assert again.status == "delivered"
    assert [r.headers["x-ipam-delivery"] for r in receiver.requests] == [str(failed.event_id)] * 2
    assert receiver.requests[0].body == receiver.requests[1].body


def test_redeliver_refuses_a_delivery_still_in_progress_and_unknown_ones(api, alice, subscribe, receiver, monkeypatch):
    monkeypatch.setattr(queue, "dispatch", lambda *a: (_ for _ in ()).throw(ConnectionError("broker down")))
    webhook, _ = subscribe(alice, receiver.url, ["region.created"])
    make_region(alice)
    pending = WebhookDelivery.objects.get()
    response = api.post(f"/ipam/webhooks/{webhook.pk}/deliveries/{pending.pk}/redeliver")
    assert response.status_code == 409 and response.json()["error"] == "delivery_in_progress"
    other, _ = subscribe(alice, receiver.url, ["region.created"])
    response = api.post(f"/ipam/webhooks/{other.pk}/deliveries/{pending.pk}/redeliver")
    assert response.status_code == 404


def test_webhook_creation_has_its_own_rate_limit(settings, api, receiver):
    settings.IPAM_RATE_LIMITS_ENABLED = True
    settings.IPAM_WEBHOOK_CREATE_RATE_LIMIT_PER_HOUR = 2
    data = {"webhook_url": receiver.url, "events": ["region.created"]}
    for _ in range(2):
        response = api.post("/ipam/webhooks", data, format="json")
        assert response.status_code == 201 and response["X-RateLimit-Limit"] == "2"
    response = api.post("/ipam/webhooks", data, format="json")
    assert response.status_code == 429 and response.json()["error"] == "rate_limited" and "Retry-After" in response
    assert Webhook.objects.count() == 2
    assert api.get("/ipam/webhooks").status_code == 200  # reads are not in that budget


def test_every_webhook_endpoint_is_in_the_openapi_schema(anon):
    paths = anon.get("/openapi.json").json()["paths"]
    expected = {
        "/ipam/webhooks": {"get", "post"},
        "/ipam/webhooks/{webhook_id}": {"get", "patch", "delete"},
        "/ipam/webhooks/{webhook_id}/deliveries": {"get"},
        "/ipam/webhooks/{webhook_id}/test": {"post"},
        "/ipam/webhooks/{webhook_id}/rotate-secret": {"post"},
        "/ipam/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    created = paths["/ipam/webhooks"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("/WebhookWithSecret")
