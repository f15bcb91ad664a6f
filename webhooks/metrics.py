"""Webhook series at /metrics: deliveries by outcome and how many are waiting."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge

logger = logging.getLogger("ipam.webhooks")

DELIVERY_ATTEMPTS = Counter(
    "ipam_webhook_delivery_attempts_total", "Webhook delivery attempts by outcome (delivered, retrying, failed)", ["outcome"]
)
DELIVERIES_PENDING = Gauge("ipam_webhook_deliveries_pending", "Webhook deliveries waiting to be sent (pending or sending)")


def _pending_count() -> float:
    from webhooks.models import DeliveryStatus, WebhookDelivery

    try:
        return float(WebhookDelivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]).count())
    except Exception as exc:  # a scrape must not fail because the database is away
        logger.warning("Could not count pending deliveries: %s", exc.__class__.__name__)
        return float("nan")


DELIVERIES_PENDING.set_function(_pending_count)
