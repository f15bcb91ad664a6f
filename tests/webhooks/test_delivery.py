"""Delivering events to a real local receiver: wire format, signature, retries, failures, auto-disable.

Time is controlled, not slept: retries are sent by calling the dispatcher with `now` set to the
delivery's `next_attempt_at`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from foundation import queue
from notifications.models import Notification
from tests.factories import make_host, make_region
from webhooks import signing
from webhooks.delivery import AUTO_DISABLE_AFTER, deliveries_dispatch_due
from webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from webhooks.services import event_publish

pytestmark = pytest.mark.django_db


def test_delivery_is_signed_over_the_exact_bytes_received_and_carries_every_header(
    api, alice, receiver, subscribe, django_capture_on_commit_callbacks
):
    webhook, secret = subscribe(alice, receiver.url, ["region.created"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/ipam/regions", {"country": "Japan", "region_name": "tokyo-1"}, format="json")
    assert response.status_code == 201
    [request] = receiver.requests
    headers, body = request.headers, request.body
    assert headers["content-type"] == "application/json"
    assert headers["x-ipam-event"] == "region.created"
    payload = json.loads(body)
    event = WebhookEvent.objects.get()
    assert headers["x-ipam-delivery"] == payload["event_id"] == str(event.pk)
    timestamp = headers["x-ipam-timestamp"]
    assert timestamp.isdigit() and abs(time.time() - int(timestamp)) < signing.TOLERANCE_SECONDS
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-ipam-signature"], expected)
    assert signing.verify(secret, timestamp, body, headers["x-ipam-signature"])
    assert not signing.verify(secret, timestamp, body + b" ", headers["x-ipam-signature"])  # any byte changed fails
    assert not signing.verify("whsec_other", timestamp, body, headers["x-ipam-signature"])
    assert not signing.verify(secret, timestamp, body, headers["x-ipam-signature"], now=int(timestamp) + 301)  # too old
    assert body == event.body.encode()
    assert payload["event_type"] == "region.created" and payload["user_id"] == alice.pk
    assert payload["timestamp"].endswith("+00:00")
    assert payload["data"]["region_id"] == response.json()["region_id"] and payload["data"]["cidr"] == "10.46.0.0/24"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert [(a.attempt_number, a.status, a.status_code) for a in delivery.attempt_log.all()] == [(1, "delivered", 200)]
    webhook.refresh_from_db()
    assert webhook.last_success_at is not None and webhook.failure_count == 0


def test_receiver_failing_twice_then_accepting_gets_exactly_three_attempts_with_growing_delays(
    alice, receiver, subscribe, django_capture_on_commit_callbacks
):
    receiver.respond(500, 500)  # then 200
    subscribe(alice, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    first_retry = delivery.next_attempt_at
    assert deliveries_dispatch_due(now=first_retry - timedelta(seconds=1)) == 0  # not due yet
    assert len(receiver.requests) == 1
    assert deliveries_dispatch_due(now=first_retry) == 1
    delivery.refresh_from_db()
    second_retry = delivery.next_attempt_at
    assert deliveries_dispatch_due(now=second_retry) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("delivered", 3, None)
    assert len(receiver.requests) == 3
    assert len({r.headers["x-ipam-delivery"] for r in receiver.requests}) == 1  # one event, three tries
    attempts = list(delivery.attempt_log.order_by("attempt_number"))
    assert [(a.status, a.status_code) for a in attempts] == [("retrying", 500), ("retrying", 500), ("delivered", 200)]
    gaps = [(attempts[i + 1].attempted_at - attempts[i].attempted_at).total_seconds() for i in range(2)]
    assert 24 <= gaps[0] <= 36 and 72 <= gaps[1] <= 108 and gaps[0] < gaps[1]  # 30 s then 90 s, ± 20 % jitter
    assert attempts[0].next_attempt_at == attempts[1].attempted_at
    assert deliveries_dispatch_due(now=second_retry + timedelta(days=1)) == 0
    assert len(receiver.requests) == 3


@pytest.mark.parametrize("status", [408, 429, 502, 503])
def test_timeouts_rate_limits_and_server_errors_are_retried(status, alice, receiver, subscribe, django_capture_on_commit_callbacks):
    receiver.respond(status)
    subscribe(alice, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code == status
    deliveries_dispatch_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(receiver.requests) == 2


def test_retry_after_header_is_honoured(alice, receiver, subscribe, django_capture_on_commit_callbacks):
    receiver.respond(429)
    receiver.extra_headers = {"Retry-After": "600"}
    subscribe(alice, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    delivery = WebhookDelivery.objects.get()
    attempt = delivery.attempt_log.get()
    assert (delivery.next_attempt_at - attempt.attempted_at).total_seconds() == pytest.approx(600)


def test_a_404_receiver_gets_one_attempt_and_the_delivery_fails(alice, receiver, subscribe, django_capture_on_commit_callbacks):
    receiver.default_status = 404
    webhook, _ = subscribe(alice, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
    assert delivery.last_error.startswith("HTTP 404")
    assert deliveries_dispatch_due(now=delivery.created_at + timedelta(days=1)) == 0
    assert len(receiver.requests) == 1
    webhook.refresh_from_db()
    assert webhook.failure_count == 1 and webhook.is_active


def test_redirects_are_not_followed(alice, receiver, subscribe, django_capture_on_commit_callbacks):
    receiver.default_status = 302
    receiver.extra_headers = {"Location": f"{receiver.url}/elsewhere"}
    subscribe(alice, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "redirect not followed" in delivery.last_error
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_retries_stop_after_the_maximum_number_of_attempts(settings, alice, receiver, subscribe, django_capture_on_commit_callbacks):
    settings.IPAM_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.default_status = 503
    subscribe(alice, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    delivery = WebhookDelivery.objects.get()
    while delivery.status == "pending":
        deliveries_dispatch_due(now=delivery.next_attempt_at)
        delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert "gave up after 3 attempts" in delivery.last_error
    assert [a.status for a in delivery.attempt_log.order_by("attempt_number")] == ["retrying", "retrying", "failed"]
    assert len(receiver.requests) == 3


def test_network_errors_and_timeouts_are_retried(settings, alice, receiver, subscribe, django_capture_on_commit_callbacks):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    subscribe(alice, f"http://127.0.0.1:{closed_port}/hook", ["region.created"])
    settings.IPAM_WEBHOOK_TIMEOUT_SECONDS = 0.2
    receiver.delay_seconds = 1.0
    subscribe(alice, receiver.url, ["region.created"])
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    errors = sorted(d.last_error.split(":")[0] for d in WebhookDelivery.objects.all())
    assert errors == ["Connection error", "Timed out after 0.2 s"]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}


def test_ten_consecutive_failed_deliveries_disable_the_webhook_and_notify_the_owner(
    api, alice, receiver, subscribe, django_capture_on_commit_callbacks
):
    receiver.default_status = 410
    webhook, _ = subscribe(alice, receiver.url, ["host.allocated"])
    region = make_region(alice)
    for _ in range(AUTO_DISABLE_AFTER - 1):
        with django_capture_on_commit_callbacks(execute=True):
            make_host(alice, region)
    webhook.refresh_from_db()
    assert webhook.is_active and webhook.failure_count == AUTO_DISABLE_AFTER - 1
    assert not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        make_host(alice, region)
    webhook.refresh_from_db()
    assert not webhook.is_active and webhook.failure_count == AUTO_DISABLE_AFTER and webhook.disabled_at is not None
    note = Notification.objects.get(user=alice)
    assert (note.notification_type, note.severity, note.resource_id) == ("webhook_disabled", "critical", str(webhook.pk))
    assert len(receiver.requests) == AUTO_DISABLE_AFTER
    # Disabled: later changes produce nothing for it.
    with django_capture_on_commit_callbacks(execute=True):
        make_host(alice, region)
    assert len(receiver.requests) == AUTO_DISABLE_AFTER and WebhookDelivery.objects.count() == AUTO_DISABLE_AFTER
    # Re-enabled by its owner: the count starts again and events flow.
    receiver.default_status = 200
    response = api.patch(f"/ipam/webhooks/{webhook.pk}", {"is_active": True}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] and response.json()["failure_count"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        make_host(alice, region)
    assert WebhookDelivery.objects.filter(status="delivered").count() == 1


def test_a_success_resets_the_consecutive_failure_count(alice, receiver, subscribe, django_capture_on_commit_callbacks):
    receiver.respond(404, 404, 404)
    webhook, _ = subscribe(alice, receiver.url, ["region.created"])
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            make_region(alice)
    webhook.refresh_from_db()
    assert webhook.failure_count == 0 and webhook.is_active


def test_pending_deliveries_of_a_webhook_that_gets_disabled_are_not_sent(
    api, alice, receiver, subscribe, django_capture_on_commit_callbacks, monkeypatch
):
    webhook, _ = subscribe(alice, receiver.url)
    monkeypatch.setattr(queue, "dispatch", lambda *a: (_ for _ in ()).throw(ConnectionError("broker down")))
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    assert api.patch(f"/ipam/webhooks/{webhook.pk}", {"is_active": False}, format="json").status_code == 200
    assert deliveries_dispatch_due() == 0
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "disabled" in delivery.last_error and not receiver.requests


def test_events_go_only_to_the_owners_active_webhooks_subscribed_to_them(
    alice, bob, receiver, subscribe, django_capture_on_commit_callbacks
):
    subscribe(alice, receiver.url, ["host.allocated"])
    subscribe(bob, receiver.url, ["region.created"])
    with django_capture_on_commit_callbacks(execute=True):
        region = make_region(alice)  # alice's webhook does not want region.created; bob's is not alice's
        make_host(alice, region)
    assert [r.headers["x-ipam-event"] for r in receiver.requests] == ["host.allocated"]
    assert json.loads(receiver.requests[0].body)["user_id"] == alice.pk


def test_every_write_path_of_regions_and_hosts_emits_its_event(api, alice, receiver, subscribe, django_capture_on_commit_callbacks):
    subscribe(
        alice, receiver.url, ["region.created", "region.updated", "region.retired", "host.allocated", "host.updated", "host.released"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        region_id = api.post("/ipam/regions", {"country": "IN", "region_name": "r"}, format="json").json()["region_id"]
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/ipam/regions/{region_id}", {"description": "edge"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        host_id = api.post("/ipam/hosts", {"region_id": region_id, "hostname": "h1"}, format="json").json()["host_id"]
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/ipam/hosts/{host_id}", {"os_type": "linux"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/ipam/hosts/{host_id}?reason=done")
    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/ipam/regions/{region_id}?reason=done")
    events = [r.headers["x-ipam-event"] for r in receiver.requests]
    assert events == ["region.created", "region.updated", "host.allocated", "host.updated", "host.released", "region.retired"]
    updated = json.loads(receiver.requests[1].body)["data"]
    assert updated["description"] == "edge" and updated["changes"][0]["field"] == "description"


def test_a_batch_allocation_sends_one_message_per_webhook_and_delivers_in_order(
    alice, receiver, subscribe, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    original = queue.dispatch
    monkeypatch.setattr(queue, "dispatch", lambda name, args, kwargs: (sent.append(name), original(name, args, kwargs)))
    subscribe(alice, receiver.url, ["host.allocated"])
    region = make_region(alice)
    from ipam.services.hosts import hosts_allocate_batch

    with django_capture_on_commit_callbacks(execute=True):
        hosts_allocate_batch(actor=alice, region_id=region.pk, count=5, hostname_prefix="node")
    assert sent == ["webhook_deliver"]
    assert [json.loads(r.body)["data"]["hostname"] for r in receiver.requests] == [f"node-00{i}" for i in range(1, 6)]


def test_nothing_is_published_or_sent_when_the_change_rolls_back(alice, receiver, subscribe, django_capture_on_commit_callbacks):
    subscribe(alice, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                make_region(alice)
                raise RuntimeError("the caller fails after the write")
        except RuntimeError:
            pass
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists() and not receiver.requests


def test_publishing_for_a_user_without_webhooks_costs_one_query(alice, django_assert_num_queries):
    with django_assert_num_queries(1):
        event_publish(user=alice, event_type="host.allocated", data={"x": 1})


def test_turning_webhooks_off_stops_publishing_and_sending(settings, alice, receiver, subscribe, django_capture_on_commit_callbacks):
    subscribe(alice, receiver.url)
    settings.IPAM_ENABLE_WEBHOOKS = False
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    assert not WebhookDelivery.objects.exists() and not receiver.requests
    settings.IPAM_ENABLE_WEBHOOKS = True
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    pending = WebhookDelivery.objects.get()
    settings.IPAM_ENABLE_WEBHOOKS = False
    WebhookDelivery.objects.filter(pk=pending.pk).update(status="pending", attempts=0)
    assert deliveries_dispatch_due() == 0
    assert len(receiver.requests) == 1


def test_a_rotated_secret_signs_the_following_deliveries(api, alice, receiver, subscribe, django_capture_on_commit_callbacks):
    webhook, old_secret = subscribe(alice, receiver.url, ["region.created"])
    new_secret = api.post(f"/ipam/webhooks/{webhook.pk}/rotate-secret").json()["secret_key"]
    assert new_secret != old_secret
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    [request] = receiver.requests
    args = (request.headers["x-ipam-timestamp"], request.body, request.headers["x-ipam-signature"])
    assert signing.verify(new_secret, *args) and not signing.verify(old_secret, *args)
    assert Webhook.objects.get().secret_rotated_at is not None


def test_reservation_events_reach_subscribed_webhooks(api, alice, receiver, subscribe, django_capture_on_commit_callbacks):
    from ipam.services.reservations import reservations_expire_due

    subscribe(alice, receiver.url, ["reservation.created", "reservation.converted", "reservation.expired", "region.created"])
    with django_capture_on_commit_callbacks(execute=True):
        held = api.post("/ipam/reservations", {"resource_type": "region", "x_octet": 5, "y_octet": 7, "reason": "lab"}, format="json")
    assert held.status_code == 201, held.json()
    with django_capture_on_commit_callbacks(execute=True):
        converted = api.post(f"/ipam/reservations/{held.json()['reservation_id']}/convert", {"region_name": "lab"}, format="json")
    assert converted.status_code == 201, converted.json()
    with django_capture_on_commit_callbacks(execute=True):
        expiring = api.post(
            "/ipam/reservations",
            {"resource_type": "region", "x_octet": 5, "y_octet": 8, "reason": "soon", "expires_in_days": 1},
            format="json",
        )
    with django_capture_on_commit_callbacks(execute=True):
        reservations_expire_due(now=timezone.now() + timedelta(days=2))
    events = [(r.headers["x-ipam-event"], json.loads(r.body)["data"]) for r in receiver.requests]
    assert [name for name, _ in events] == [
        "reservation.created",
        "region.created",
        "reservation.converted",
        "reservation.created",
        "reservation.expired",
    ]
    assert events[0][1]["reserved_address"] == "10.5.7.0/24"
    assert events[2][1]["converted_resource_id"] == converted.json()["resource_id"]
    assert events[4][1]["reservation_id"] == expiring.json()["reservation_id"]
