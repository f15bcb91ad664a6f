"""Sending deliveries: claim, POST, log the attempt, settle (delivered / retry later / failed).

- A delivery is claimed with a conditional UPDATE (`status='pending' AND next_attempt_at <= now` →
  `sending` + a fresh `claim_token`), committed before any HTTP: two workers never send one delivery.
  The outcome is written only by the claim holder (`WHERE claim_token = …`).
- 2xx = delivered. 408, 429, 5xx, network errors and timeouts = retry with exponential backoff and
  jitter until `IPAM_WEBHOOK_MAX_ATTEMPTS`. Any other status (3xx: redirects are not followed, 4xx)
  and refused targets = failed at once.
- Every attempt gets a `WebhookDeliveryAttempt` row. A delivery that ends failed counts toward the
  webhook's consecutive failures; 10 in a row disable the webhook and notify its owner.
- A claim older than `IPAM_WEBHOOK_STALE_CLAIM_SECONDS` (a worker died mid-send, e.g. kill -9) is logged as
  an interrupted attempt and sent again at once by `deliveries_dispatch_due`, with the same
  `X-IPAM-Delivery`: the dead worker may have sent it already, so delivery is at-least-once and receivers
  deduplicate by that id (docs/webhooks.md).

`now` parameters exist so tests control time; production passes nothing.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from foundation import metrics
from notifications.services import notification_create
from webhooks import crypto, signing, transport
from webhooks.models import AttemptOutcome, DeliveryStatus, Webhook, WebhookDelivery, WebhookDeliveryAttempt
from webhooks.signals import webhook_changed_send, webhook_snapshot

logger = logging.getLogger("ipam.webhooks")

AUTO_DISABLE_AFTER = 10  # consecutive failed deliveries
BACKOFF_BASE_SECONDS = 30  # waits 30 s, 90 s, 4.5 min, 13.5 min, 40.5 min (± 20 %): ~1 h over 6 attempts
BACKOFF_FACTOR = 3
JITTER = 0.2
MAX_RETRY_AFTER_SECONDS = 3600
STALE_CLAIM_SECONDS = 300  # default of IPAM_WEBHOOK_STALE_CLAIM_SECONDS
RETRY_STATUSES = frozenset({408, 429})


def retry_delay(attempt_number: int, retry_after: int | None = None) -> float:
    """Seconds to wait after failed attempt `attempt_number` (1-based): exponential, ± 20 % jitter."""
    delay = BACKOFF_BASE_SECONDS * BACKOFF_FACTOR ** (attempt_number - 1) * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


def is_retryable(result: transport.TransportResult) -> bool:
    if result.refused:
        return False
    if result.status_code is None:
        return True
    return result.status_code in RETRY_STATUSES or result.status_code >= 500


@dataclass(frozen=True)
class Claim:
    delivery: WebhookDelivery
    token: uuid.UUID


def _claim(delivery_id: Any, now: datetime) -> Claim | None:
    token = uuid.uuid4()
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now).update(
        status=DeliveryStatus.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("webhook", "event").get(pk=delivery_id)
    return Claim(delivery, token)


def delivery_attempt(*, delivery_id: Any, now: datetime | None = None) -> str | None:
    """Send one due delivery if this caller wins the claim; returns the attempt outcome or None."""
    if not settings.IPAM_ENABLE_WEBHOOKS:
        return None
    started_at = now or timezone.now()
    claim = _claim(delivery_id, started_at)  # autocommit: the claim is visible to others before any HTTP
    if claim is None:
        return None
    delivery = claim.delivery
    webhook = delivery.webhook
    if not webhook.is_active:
        return _settle(claim, None, started_at, cancelled="Webhook disabled; not sent.")
    try:
        secret = crypto.secret_decrypt(webhook.secret_encrypted)
    except InvalidToken:
        logger.error("Cannot decrypt the secret of webhook %s (was FERNET_KEY changed?)", webhook.pk)
        return _settle(claim, None, started_at, cancelled="The webhook secret cannot be decrypted with the current FERNET_KEY.")
    body = delivery.event.body.encode()
    timestamp = str(int(started_at.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "X-IPAM-Event": delivery.event_type,
        "X-IPAM-Delivery": str(delivery.event_id),
        "X-IPAM-Timestamp": timestamp,
        "X-IPAM-Signature": signing.signature(secret, timestamp, body),
    }
    result = transport.post(webhook.webhook_url, body, headers)
    return _settle(claim, result, started_at if now else timezone.now())


def stale_claim_seconds() -> int:
    """A live sender finishes within the HTTP timeout: a claim is only stale well after that."""
    return max(int(settings.IPAM_WEBHOOK_STALE_CLAIM_SECONDS), int(settings.IPAM_WEBHOOK_TIMEOUT_SECONDS) + 5)


def _settle(
    claim: Claim, result: transport.TransportResult | None, now: datetime, *, cancelled: str = "", retry_now: bool = False
) -> str | None:
    """Write the outcome of the claimed attempt: its log row, the delivery state and the webhook health."""
    delivery = claim.delivery
    number = delivery.attempts
    next_at: datetime | None = None
    delivered_at: datetime | None = None
    if cancelled:
        outcome, error = AttemptOutcome.FAILED, cancelled
    else:
        assert result is not None
        error = result.error
        if result.status_code is not None and 200 <= result.status_code < 300:
            outcome, delivered_at = AttemptOutcome.DELIVERED, now
        elif is_retryable(result) and number < settings.IPAM_WEBHOOK_MAX_ATTEMPTS:
            outcome = AttemptOutcome.RETRYING
            # An interrupted attempt (our worker died, not the receiver's fault) is due again at once.
            next_at = now if retry_now else now + timedelta(seconds=retry_delay(number, result.retry_after))
        else:
            outcome = AttemptOutcome.FAILED
            if is_retryable(result):
                error = f"{error} (gave up after {number} attempts)"
    status = {
        AttemptOutcome.DELIVERED: DeliveryStatus.DELIVERED,
        AttemptOutcome.RETRYING: DeliveryStatus.PENDING,
        AttemptOutcome.FAILED: DeliveryStatus.FAILED,
    }[outcome]
    code = result.status_code if result else None
    elapsed = result.response_time_ms if result else None
    with transaction.atomic():
        settled = WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claim_token=claim.token).update(
            status=status,
            next_attempt_at=next_at,
            claim_token=None,
            last_status_code=code,
            last_response_time_ms=elapsed,
            last_error=error[:500],
            delivered_at=delivered_at,
            updated_at=now,
        )
        if not settled:
            return None  # the claim expired and someone else took over
        WebhookDeliveryAttempt.objects.create(
            delivery=delivery,
            attempt_number=number,
            status_code=code,
            response_time_ms=elapsed,
            error_message=error[:500],
            attempted_at=now,
            next_attempt_at=next_at,
            status=outcome,
        )
        if not cancelled:
            _record_health(delivery.webhook, outcome, now)
    metrics.record_webhook_delivery(str(outcome), elapsed / 1000 if elapsed is not None else None)
    _log(delivery, number, outcome, code, elapsed, error, next_at)
    return str(outcome)


def _record_health(webhook: Webhook, outcome: str, now: datetime) -> None:
    rows = Webhook.objects.filter(pk=webhook.pk)
    if outcome == AttemptOutcome.DELIVERED:
        rows.update(failure_count=0, last_delivery_at=now, last_success_at=now)
    elif outcome == AttemptOutcome.RETRYING:
        rows.update(last_delivery_at=now, last_failure_at=now)
    else:
        rows.update(failure_count=F("failure_count") + 1, last_delivery_at=now, last_failure_at=now)
        reason = f"{AUTO_DISABLE_AFTER} consecutive failed deliveries"
        # Conditional: exactly one settling worker disables the webhook and notifies.
        if rows.filter(is_active=True, failure_count__gte=AUTO_DISABLE_AFTER).update(
            is_active=False, disabled_at=now, disabled_reason=reason
        ):
            cancel_pending(webhook_id=webhook.pk, reason="Webhook disabled; not sent.", now=now)
            _announce_disabled(webhook.pk, reason)
            notification_create(
                user=webhook.user_id,
                notification_type="webhook_disabled",
                severity="critical",
                message=(
                    f"Webhook {webhook.webhook_url} was disabled after {reason}. Fix the receiver, then re-enable it "
                    f'with PATCH /ipam/webhooks/{webhook.pk} {{"is_active": true}}.'
                ),
                resource_type="webhook",
                resource_id=str(webhook.pk),
                resource_link=f"/ipam/webhooks/{webhook.pk}",
            )
            logger.warning("Webhook disabled after %s consecutive failed deliveries: %s", AUTO_DISABLE_AFTER, webhook.pk)


def _announce_disabled(webhook_id: Any, reason: str) -> None:
    """Audit the automatic disable as a system write, in the transaction that settled the attempt."""
    webhook = Webhook.objects.get(pk=webhook_id)
    after = webhook_snapshot(webhook)
    # The conditional UPDATE matched an active webhook, and an active one has no disabled_at/_reason.
    before = {"is_active": True, "disabled_at": None, "disabled_reason": ""}
    changes = [{"field": field, "old_value": old, "new_value": after[field]} for field, old in before.items()]
    webhook_changed_send(
        action_type="webhook_disabled", actor=None, user_id=webhook.user_id, snapshot=after, changes=changes, reason=reason
    )


def cancel_pending(*, webhook_id: Any, reason: str, now: datetime | None = None) -> int:
    """Mark the webhook's not-yet-sent deliveries failed (it was disabled); in-flight ones settle themselves."""
    return WebhookDelivery.objects.filter(webhook_id=webhook_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=reason, updated_at=now or timezone.now()
    )


def _log(delivery: WebhookDelivery, number: int, outcome: str, code: int | None, elapsed: int | None, error: str, next_at: Any) -> None:
    if outcome == AttemptOutcome.DELIVERED:
        logger.info("Webhook delivered: %s (%sms) %s %s attempt %s", code, elapsed, delivery.event_type, delivery.pk, number)
    elif outcome == AttemptOutcome.RETRYING:
        logger.warning("Webhook attempt %s failed (%s), retry at %s: %s %s", number, error, next_at, delivery.event_type, delivery.pk)
    else:
        logger.warning("Webhook delivery failed after attempt %s (%s): %s %s", number, error, delivery.event_type, delivery.pk)


def stale_claims_recover(*, now: datetime | None = None) -> int:
    """Settle attempts whose worker died mid-send (claimed long ago, never settled) as interrupted."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=stale_claim_seconds())
    recovered = 0
    stale = WebhookDelivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff).select_related("webhook", "event")
    for delivery in stale[:500]:
        if delivery.claim_token is None:
            continue
        interrupted = transport.TransportResult(None, 0, "Attempt interrupted (worker lost before the outcome was recorded)")
        if _settle(Claim(delivery, delivery.claim_token), interrupted, now, retry_now=True):
            recovered += 1
    return recovered


def deliveries_dispatch_due(*, now: datetime | None = None, limit: int = 500, budget_seconds: float = 45.0) -> int:
    """Send whatever is due (first attempts whose message was lost, retries, interrupted attempts).

    Safe on several workers at once: each delivery is claimed before it is sent. Stops after `limit`
    deliveries or `budget_seconds` so a run finishes before the next one starts; the rest waits a minute.
    """
    if not settings.IPAM_ENABLE_WEBHOOKS:
        return 0
    stale_claims_recover(now=now)
    due_at = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=due_at)
        .order_by("next_attempt_at", "created_at")
        .values_list("id", flat=True)[:limit]
    )
    started = time.monotonic()
    sent = 0
    for delivery_id in due:
        if time.monotonic() - started > budget_seconds:
            break
        if delivery_attempt(delivery_id=delivery_id, now=now) is not None:
            sent += 1
    return sent


def deliveries_send(*, delivery_ids: list[Any]) -> int:
    """Send the given deliveries now if they are due and unclaimed (the after-commit task)."""
    return sum(1 for delivery_id in delivery_ids if delivery_attempt(delivery_id=delivery_id) is not None)
