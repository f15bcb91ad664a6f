"""No event is lost and none is sent twice: the outbox, the dispatch job and the delivery claim.

These run with real transactions (commits happen, on-commit hooks fire by themselves) and, for the
concurrency cases, several threads with their own database connections.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from foundation import queue
from tests.factories import make_region
from webhooks.delivery import STALE_CLAIM_SECONDS, deliveries_dispatch_due, delivery_attempt
from webhooks.models import WebhookDelivery
from webhooks.tasks import webhook_dispatch_due

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(name, args, kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(queue, "dispatch", refuse)


def test_with_the_broker_down_changes_still_create_pending_deliveries_that_the_dispatch_job_sends(
    api, alice, receiver, subscribe, broker_down
):
    subscribe(alice, receiver.url, ["region.created"])
    response = api.post("/ipam/regions", {"country": "Chile", "region_name": "santiago"}, format="json")
    assert response.status_code == 201  # the request never fails because of the broker
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 0) and not receiver.requests
    # The broker is back; the beat job (every minute) finds the delivery and sends it once.
    assert webhook_dispatch_due.apply().get() == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert [r.headers["x-ipam-event"] for r in receiver.requests] == ["region.created"]
    assert webhook_dispatch_due.apply().get() == 0
    assert len(receiver.requests) == 1


def test_an_attempt_interrupted_by_a_crashed_worker_is_logged_and_sent_again(alice, receiver, subscribe, broker_down):
    subscribe(alice, receiver.url, ["region.created"])
    make_region(alice)
    crashed_at = timezone.now() - timedelta(seconds=STALE_CLAIM_SECONDS + 1)
    # A worker claimed it and died before recording the outcome.
    WebhookDelivery.objects.update(status="sending", attempts=1, claimed_at=crashed_at, claim_token="00000000-0000-0000-0000-000000000001")
    # Recovered as interrupted (our worker died, not the receiver's fault) and sent again in the same run.
    assert deliveries_dispatch_due() == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.attempts == 2
    log = list(delivery.attempt_log.order_by("attempt_number"))
    assert [a.status for a in log] == ["retrying", "delivered"] and "interrupted" in log[0].error_message
    assert log[0].next_attempt_at == log[0].attempted_at  # due at once, no backoff
    assert len(receiver.requests) == 1


def _in_threads(count: int, work) -> list:
    def run(i: int):
        try:
            return work(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_two_workers_dispatching_at_once_never_send_a_delivery_twice(alice, receiver, subscribe, broker_down):
    subscribe(alice, receiver.url, ["region.created"])
    subscribe(alice, receiver.url, ["region.created"])
    for i in range(15):
        make_region(alice, name=f"r{i}")
    assert WebhookDelivery.objects.filter(status="pending").count() == 30
    sent = _in_threads(4, lambda i: deliveries_dispatch_due())
    assert sum(sent) == 30
    assert WebhookDelivery.objects.filter(status="delivered", attempts=1).count() == 30
    received = [(r.headers["x-ipam-delivery"], r.headers["x-ipam-signature"]) for r in receiver.requests]
    assert len(received) == 30
    per_event = {}
    for event_id, _ in received:
        per_event[event_id] = per_event.get(event_id, 0) + 1
    assert len(per_event) == 15 and set(per_event.values()) == {2}  # each event once per webhook


def test_many_workers_racing_for_one_delivery_send_it_once(alice, receiver, subscribe, broker_down):
    subscribe(alice, receiver.url, ["region.created"])
    make_region(alice)
    delivery_id = WebhookDelivery.objects.get().pk
    outcomes = _in_threads(8, lambda i: delivery_attempt(delivery_id=delivery_id))
    assert outcomes.count("delivered") == 1 and outcomes.count(None) == 7
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().attempt_log.count() == 1


def test_after_commit_the_change_is_delivered_without_waiting_for_the_job(api, alice, receiver, subscribe):
    subscribe(alice, receiver.url, ["region.created"])
    response = api.post("/ipam/regions", {"country": "Chile", "region_name": "valparaiso"}, format="json")
    assert response.status_code == 201
    assert WebhookDelivery.objects.get().status == "delivered" and len(receiver.requests) == 1
