"""Delivery logs older than the retention are deleted (the housekeeping job calls this daily)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from foundation import queue
from tests.factories import make_region
from webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent
from webhooks.services import delivery_logs_prune

pytestmark = pytest.mark.django_db


def test_old_finished_deliveries_and_their_logs_are_pruned_pending_ones_kept(
    alice, subscribe, receiver, django_capture_on_commit_callbacks, monkeypatch
):
    subscribe(alice, receiver.url, ["region.created"])
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            make_region(alice)
    monkeypatch.setattr(queue, "dispatch", lambda *a: (_ for _ in ()).throw(ConnectionError("broker down")))
    make_region(alice)  # stays pending
    old = timezone.now() - timedelta(days=31)
    delivered = list(WebhookDelivery.objects.filter(status="delivered").order_by("created_at"))
    assert len(delivered) == 3
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in delivered[:2]]).update(created_at=old)
    WebhookDelivery.objects.filter(status="pending").update(created_at=old)
    WebhookEvent.objects.update(created_at=old)
    assert delivery_logs_prune(older_than_days=30) == 2
    assert WebhookDelivery.objects.count() == 2
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered", "pending"}
    assert WebhookDeliveryAttempt.objects.count() == 1
    assert WebhookEvent.objects.count() == 2  # events without deliveries left are gone too
    assert delivery_logs_prune(older_than_days=30) == 0
