"""Webhook subscriptions, events (the transactional outbox), deliveries and the log of every attempt.

Retry state lives in rows: a delivery is `pending` with a `next_attempt_at`, claimed by a conditional
UPDATE to `sending` (with a `claim_token`), then settled as `pending` again (retry), `delivered` or
`failed`. See `webhooks.delivery`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from foundation.day_counts import DayCounts


class Webhook(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_webhooks")
    webhook_url = models.CharField(max_length=500)
    events = models.JSONField(default=list, help_text="subscribed event types")
    description = models.CharField(max_length=500, blank=True, default="")
    secret_encrypted = models.TextField(help_text="Fernet token of the signing secret (FERNET_KEY)")
    is_active = models.BooleanField(default=True)
    failure_count = models.PositiveIntegerField(default=0, help_text="consecutive failed deliveries")
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    legacy_id = models.CharField(
        max_length=24, null=True, blank=True, unique=True, editable=False, help_text="ObjectId in the original system (import_original)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["user", "is_active"], name="webhook_user_active")]

    def __str__(self) -> str:
        return f"{self.webhook_url} ({'active' if self.is_active else 'disabled'})"


class WebhookEvent(models.Model):
    """One published event: its id (`X-IPAM-Delivery`) and the exact JSON body every attempt sends."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=40)
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="webhookevent_created")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_time_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    redelivery_of = models.UUIDField(null=True, blank=True, help_text="the delivery this one re-sends")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_status_due"),
            models.Index(fields=["webhook", "-created_at", "-id"], name="delivery_webhook_created_id"),  # keyset pages
            models.Index(fields=["created_at"], name="delivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.webhook_id} ({self.status})"


class DeliveryDayCount(models.Model):
    """How many deliveries of `webhook_id` were created in the UTC day starting at `day` (issue 19). Written
    only by PostgreSQL triggers on the delivery table (migration 0005, `DELIVERY_DAYS`): delta rows, inserted
    in the writers' transactions, folded by the `day_counts_compact` job. A webhook's delivery page numbers
    and total come from these instead of counting and skipping its rows (foundation/day_counts.py). Empty
    on SQLite."""

    webhook_id = models.UUIDField()
    day = models.DateTimeField()
    n = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["webhook_id", "day"], include=["n"], name="deliverydaycount_webhook_day_n")]  # index-only reads

    def __str__(self) -> str:
        return f"webhook {self.webhook_id} {self.day:%Y-%m-%d}: {self.n:+d}"


DELIVERY_DAYS = DayCounts(table="webhooks_deliverydaycount", source="webhooks_webhookdelivery", owner="webhook_id", time="created_at")


class AttemptOutcome(models.TextChoices):
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"


class WebhookDeliveryAttempt(models.Model):
    """The log: one row per HTTP attempt (or per attempt that was interrupted)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempt_number = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_time_ms = models.PositiveIntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=500, blank=True, default="")
    attempted_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=AttemptOutcome.choices)

    class Meta:
        ordering = ["attempt_number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "attempt_number"], name="attempt_unique_delivery_number")]

    def __str__(self) -> str:
        return f"attempt {self.attempt_number} of {self.delivery_id}: {self.status}"
