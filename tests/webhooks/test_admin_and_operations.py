"""Operator surfaces: the Django admin pages, the dispatch command, the /metrics series."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from foundation import queue
from notifications.models import AlertState, Notification, NotificationRule
from notifications.services import notification_create, notification_rule_create
from tests.factories import make_region
from webhooks.models import Webhook, WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-not-used"))
    return client


def test_admin_pages_list_and_show_every_model_without_secrets(
    staff_client, alice, receiver, subscribe, django_capture_on_commit_callbacks
):
    webhook, secret = subscribe(alice, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    notification_create(user=alice, notification_type="t", severity="info", message="hello")
    rule = notification_rule_create(actor=alice, rule_name="r", utilization_threshold=0, notification_channels=["in_app"])
    AlertState.objects.create(user=alice, key="quota:hosts", value=80)
    for model in (Webhook, WebhookEvent, WebhookDelivery, WebhookDeliveryAttempt, Notification, NotificationRule, AlertState):
        opts = model._meta
        response = staff_client.get(f"/admin/{opts.app_label}/{opts.model_name}/")
        assert response.status_code == 200, opts.model_name
        obj = model.objects.first()
        response = staff_client.get(f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/")
        assert response.status_code == 200, opts.model_name
        assert secret not in response.content.decode() and webhook.secret_encrypted not in response.content.decode()
    # Enabling/disabling from the admin goes through the service.
    response = staff_client.post(
        "/admin/webhooks/webhook/", {"action": "disable_webhooks", "_selected_action": [str(webhook.pk)]}, follow=True
    )
    assert response.status_code == 200
    webhook.refresh_from_db()
    assert not webhook.is_active and webhook.disabled_reason == "disabled by its owner"
    staff_client.post("/admin/webhooks/webhook/", {"action": "enable_webhooks", "_selected_action": [str(webhook.pk)]})
    webhook.refresh_from_db()
    assert webhook.is_active and webhook.failure_count == 0
    assert rule.is_active


def test_the_dispatch_command_sends_what_is_due(alice, receiver, subscribe, monkeypatch, capsys):
    subscribe(alice, receiver.url, ["region.created"])
    monkeypatch.setattr(queue, "dispatch", lambda *a: (_ for _ in ()).throw(ConnectionError("broker down")))
    make_region(alice)
    call_command("webhook_dispatch")
    assert "Attempted 1 deliveries; 0 pending" in capsys.readouterr().out
    assert len(receiver.requests) == 1 and WebhookDelivery.objects.get().status == "delivered"


def test_metrics_show_webhook_attempts_by_outcome_and_the_pending_count(anon, alice, receiver, subscribe, monkeypatch):
    subscribe(alice, receiver.url, ["region.created"])
    monkeypatch.setattr(queue, "dispatch", lambda *a: (_ for _ in ()).throw(ConnectionError("broker down")))
    make_region(alice)
    text = anon.get("/metrics").content.decode()
    assert "ipam_webhook_deliveries_pending 1.0" in text
    call_command("webhook_dispatch")
    text = anon.get("/metrics").content.decode()
    assert "ipam_webhook_deliveries_pending 0.0" in text
    assert 'ipam_webhook_deliveries_total{outcome="delivered"}' in text
