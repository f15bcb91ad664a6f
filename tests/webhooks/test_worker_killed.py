"""A real worker killed with SIGKILL in the middle of a webhook delivery, on Redis and on RabbitMQ.

The receiver is slow (each POST takes seconds), so the kill lands after the request reached it and before
the worker recorded the outcome. Promise (docs/webhooks.md "Delivery guarantee"): nothing is lost (on RabbitMQ
the unacknowledged task message goes to the next worker at once; the interrupted attempt, and on Redis the
whole message, are recovered by the dispatch job)
and a repeat carries the same `X-IPAM-Delivery`, so the receiver can deduplicate by it.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest

from foundation import queue
from tests.factories import make_region
from tests.ops_support import BIN, Background, subprocess_env, wait_for
from webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]


def _worker(tmp_path, broker, n: int) -> Background:
    env = subprocess_env(
        tmp_path,
        **broker.env(),
        IPAM_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        IPAM_WEBHOOK_TIMEOUT_SECONDS="5",
        IPAM_WEBHOOK_STALE_CLAIM_SECONDS="1",  # floored at timeout + 5 s = 10 s
        CELERY_VISIBILITY_TIMEOUT="8",  # Redis: an unacknowledged message comes back after 8 s
    )
    args = [
        str(BIN / "celery"),
        "-A",
        "ipam_project",
        "worker",
        "--loglevel=INFO",
        "--concurrency=1",
        "--without-mingle",
        "--without-gossip",
    ]
    return Background(args, env, tmp_path / f"worker-{n}.out")


def test_a_worker_killed_mid_delivery_loses_nothing_and_a_repeat_carries_the_same_delivery_id(
    tmp_path, broker, alice, receiver, subscribe, monkeypatch
):
    monkeypatch.setattr(queue, "dispatch", lambda name, args, kwargs: None)  # the test sends the task itself
    subscribe(alice, receiver.url, ["region.created"])
    for i in range(3):
        make_region(alice, name=f"killed-{i}")
    deliveries = list(WebhookDelivery.objects.order_by("created_at"))
    assert [d.status for d in deliveries] == ["pending"] * 3
    receiver.delay_seconds = 3.0

    first = _worker(tmp_path, broker, 1)
    try:
        wait_for(lambda: "ready." in first.output(), 90, lambda: f"worker 1 to start:\n{first.output()}")
        broker.send("webhook_deliver", [str(d.pk) for d in deliveries])
        wait_for(lambda: len(receiver.requests) >= 1, 60, lambda: f"the first POST:\n{first.output()}")
        os.killpg(first.proc.pid, signal.SIGKILL)  # the worker and its pool process, mid-request
        first.proc.wait(10)
    finally:
        first.stop()
    killed = WebhookDelivery.objects.get(pk=deliveries[0].pk)
    assert killed.status == "sending" and killed.attempts == 1  # claimed, sent, outcome never recorded

    others = [d.pk for d in deliveries[1:]]
    with _worker(tmp_path, broker, 2) as second:
        if broker.name == "amqp":
            # RabbitMQ requeues the unacknowledged task message as soon as the dead worker's connection
            # drops: the new worker sends the two deliveries the dead one never reached (the claimed one is
            # left to the recovery below). On Redis the message only returns after the visibility timeout
            # (checked about every 100 s by kombu), so there the dispatch job below does all of it.
            wait_for(
                lambda: WebhookDelivery.objects.filter(pk__in=others, status="delivered").count() == 2,
                60,
                lambda: f"the redelivered task:\n{second.output()}",
            )

        # The dispatch job (every minute from beat; sent here) recovers the stale claim and sends what is due.
        def all_delivered() -> bool:
            broker.send("webhook_dispatch_due")
            return WebhookDelivery.objects.filter(status="delivered").count() == 3

        wait_for(all_delivered, 90, lambda: f"the interrupted delivery to be sent again:\n{second.output()}", interval=3)

    per_id = Counter(r.headers["x-ipam-delivery"] for r in receiver.requests)
    event_ids = [str(d.event_id) for d in deliveries]
    assert set(per_id) == set(event_ids)  # none lost, nothing unknown
    assert per_id[event_ids[0]] == 2  # the interrupted one: seen again, with the same delivery id
    assert per_id[event_ids[1]] == per_id[event_ids[2]] == 1  # the redelivered task repeated nothing visible
    bodies = {r.body for r in receiver.requests if r.headers["x-ipam-delivery"] == event_ids[0]}
    assert len(bodies) == 1  # the repeat is byte-identical
    log = list(WebhookDelivery.objects.get(pk=deliveries[0].pk).attempt_log.order_by("attempt_number"))
    assert [a.status for a in log] == ["retrying", "delivered"] and "interrupted" in log[0].error_message
    for pk in others:
        assert [a.status for a in WebhookDelivery.objects.get(pk=pk).attempt_log.all()] == ["delivered"]
