from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from foundation import metrics, partitions
        from webhooks.models import WebhookDelivery

        partitions.register(WebhookDelivery._meta.db_table, "created_at")  # monthly partitions (ADR 0016)
        from webhooks.services import delivery_pending_count

        metrics.register_database_gauge(
            "ipam_webhook_deliveries_pending", "Webhook deliveries waiting to be sent or retried", delivery_pending_count
        )
