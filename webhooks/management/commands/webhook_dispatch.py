"""Send due webhook deliveries now (what the `webhook_dispatch_due` beat job does every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from webhooks.delivery import deliveries_dispatch_due
from webhooks.models import DeliveryStatus, WebhookDelivery


class Command(BaseCommand):
    help = "Send every due webhook delivery now (retries, lost messages); prints what is left pending."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="at most this many deliveries (default 500)")

    def handle(self, *args: Any, **options: Any) -> None:
        sent = deliveries_dispatch_due(limit=options["limit"], budget_seconds=float("inf"))
        pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count()
        self.stdout.write(f"Attempted {sent} deliveries; {pending} pending (waiting for their retry time).")
