"""Celery tasks of webhooks (load by id, call one service)."""

from __future__ import annotations

from celery import shared_task

from webhooks import delivery


@shared_task(name="webhook_deliver")
def webhook_deliver(delivery_ids: list[str]) -> int:
    """Send these deliveries now (sent after the commit that created them)."""
    return delivery.deliveries_send(delivery_ids=delivery_ids)


@shared_task(name="webhook_dispatch_due")
def webhook_dispatch_due() -> int:
    """Every minute: send every due delivery (retries, lost messages, interrupted attempts)."""
    return delivery.deliveries_dispatch_due()
