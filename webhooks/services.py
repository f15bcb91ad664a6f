"""Webhook services. `event_publish` is the one entry point every write path calls.

Transactional outbox: `event_publish` writes the event and one pending delivery per subscribed active
webhook in the caller's transaction; after commit one `webhook_deliver` task per webhook is sent. If
that message is lost (broker down, worker crash) the `webhook_dispatch_due` job (every minute) sends
the deliveries anyway: a committed change always reaches its webhooks. Sending lives in
`webhooks.delivery`; the HTTP itself in `webhooks.transport`. Configuration writes are audited through
`webhooks.signals`, sent inside their transaction (ADR 0005).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from foundation import errors, partitions, queue
from foundation.types import Actor
from webhooks import crypto, ssrf
from webhooks.delivery import cancel_pending
from webhooks.events import EVENT_TYPES, EventType, payload_body
from webhooks.models import DELIVERY_DAYS, DeliveryStatus, Webhook, WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent
from webhooks.oncommit import collect_on_commit
from webhooks.signals import snapshot_changes, webhook_changed_send, webhook_snapshot

logger = logging.getLogger("ipam.webhooks")

WEBHOOK_UPDATABLE = ("webhook_url", "events", "description", "is_active")


# --- Publishing (the outbox) --------------------------------------------------------------------------
def event_publish(*, user: Any, event_type: str, data: dict[str, Any]) -> None:
    """Publish `event_type` with `data` to the active webhooks of `user` subscribed to it.

    Costs one indexed query when the user has no webhook. Must be called inside the transaction of the
    change it reports (it joins it); nothing is sent before that transaction commits.
    """
    if not settings.IPAM_ENABLE_WEBHOOKS or user is None:
        return
    if event_type not in EVENT_TYPES:
        logger.warning("Unknown webhook event type %r not published", event_type)
        return
    user_id = getattr(user, "pk", user)
    subscribed = [
        wid for wid, events in Webhook.objects.filter(user_id=user_id, is_active=True).values_list("id", "events") if event_type in events
    ]
    if subscribed:
        _event_create(user_id=user_id, event_type=event_type, data=data, webhook_ids=subscribed)


def _event_create(*, user_id: Any, event_type: str, data: dict[str, Any], webhook_ids: list[Any]) -> list[WebhookDelivery]:
    now = timezone.now()
    event = WebhookEvent(user_id=user_id, event_type=event_type, created_at=now)
    event.body = payload_body(event_id=event.id, event_type=event_type, timestamp=now, user_id=user_id, data=data)
    with transaction.atomic(savepoint=False):  # joins the caller's transaction without a savepoint round trip
        event.save(force_insert=True)
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(webhook_id=wid, event=event, event_type=event_type, next_attempt_at=now, created_at=now)
                for wid in webhook_ids
            ]
        )
        _send_after_commit(deliveries)
    return deliveries


def _send_after_commit(deliveries: Iterable[WebhookDelivery]) -> None:
    collect_on_commit("webhooks.deliver", [(str(d.webhook_id), str(d.pk)) for d in deliveries], _enqueue_sends)


def _enqueue_sends(pairs: list[tuple[str, str]]) -> None:
    """One task per webhook (its deliveries in order); a refused send is left to the dispatch job."""
    by_webhook: dict[str, list[str]] = {}
    for webhook_id, delivery_id in pairs:
        by_webhook.setdefault(webhook_id, []).append(delivery_id)
    for delivery_ids in by_webhook.values():
        queue.send_now("webhook_deliver", delivery_ids)


# --- Subscriptions -----------------------------------------------------------------------------------
def _clean_url(url: Any) -> str:
    try:
        ssrf.url_check(url)
    except ssrf.UnsafeTarget as exc:
        raise errors.ValidationFailed(f"webhook_url: {exc}", details={"webhook_url": [str(exc)]}, code="unsafe_webhook_url") from None
    return str(url)


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events:
        raise errors.ValidationFailed(details={"events": ["Must be a non-empty list of event types."]})
    unknown = [str(e) for e in events if e not in EVENT_TYPES]
    if unknown:
        raise errors.ValidationFailed(
            details={"events": [f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(EventType.values)}."]}
        )
    return list(dict.fromkeys(events))


def _clean_description(description: Any) -> str:
    text = "" if description is None else str(description)
    if len(text) > 500:
        raise errors.ValidationFailed(details={"description": ["At most 500 characters."]})
    return text


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"  # logs name the host only: paths and query strings may hold tokens


def _get(actor: Actor, webhook_id: Any, *, lock: bool = False) -> Webhook:
    rows = Webhook.objects.select_for_update() if lock else Webhook.objects.all()
    webhook = rows.filter(user=actor, pk=webhook_id).first()
    if webhook is None:
        raise errors.NotFound("Webhook not found.", code="webhook_not_found")
    return webhook


def webhook_create(*, actor: Actor, webhook_url: str, events: list[str], description: str = "") -> tuple[Webhook, str]:
    """Subscribe `webhook_url` to `events`; returns the webhook and its secret (shown this once)."""
    url = _clean_url(webhook_url)
    events = _clean_events(events)
    description = _clean_description(description)
    secret = crypto.secret_generate()
    with transaction.atomic():
        webhook = Webhook.objects.create(
            user=actor, webhook_url=url, events=events, description=description, secret_encrypted=crypto.secret_encrypt(secret)
        )
        webhook_changed_send(action_type="create", actor=actor, user_id=actor.pk, snapshot=webhook_snapshot(webhook))
    logger.info("Created webhook %s for user %s (host %s, %s events)", webhook.pk, actor.pk, _host(url), len(events))
    return webhook, secret


def webhook_update(
    *, actor: Actor, webhook_id: Any, data: dict[str, Any], now: datetime | None = None, performed_by: Any = None
) -> Webhook:
    """Change `webhook_url, events, description, is_active`. Re-enabling resets the failure count;
    disabling cancels the deliveries not yet sent.

    `performed_by`: a staff user acting on the actor's webhook (the admin), recorded as the audit actor.
    """
    by = performed_by or actor
    unknown = set(data) - set(WEBHOOK_UPDATABLE)
    if unknown:
        raise errors.ValidationFailed(details={key: ["This field cannot be changed."] for key in sorted(unknown)})
    changes: dict[str, Any] = {}
    if "webhook_url" in data:
        changes["webhook_url"] = _clean_url(data["webhook_url"])
    if "events" in data:
        changes["events"] = _clean_events(data["events"])
    if "description" in data:
        changes["description"] = _clean_description(data["description"])
    if "is_active" in data and not isinstance(data["is_active"], bool):
        raise errors.ValidationFailed(details={"is_active": ["Must be a boolean."]})
    now = now or timezone.now()
    with transaction.atomic():
        webhook = _get(actor, webhook_id, lock=True)
        before = webhook_snapshot(webhook)
        for key, value in changes.items():
            setattr(webhook, key, value)
        if data.get("is_active") is True and not webhook.is_active:
            webhook.is_active, webhook.failure_count, webhook.disabled_at, webhook.disabled_reason = True, 0, None, ""
            logger.info("Webhook %s re-enabled by user %s", webhook.pk, by.pk)
        elif data.get("is_active") is False and webhook.is_active:
            webhook.is_active, webhook.disabled_at, webhook.disabled_reason = False, now, "disabled by its owner"
            cancel_pending(webhook_id=webhook.pk, reason="Webhook disabled; not sent.", now=now)
            logger.info("Webhook %s disabled by user %s", webhook.pk, by.pk)
        webhook.save()
        after = webhook_snapshot(webhook)
        changed = snapshot_changes(before, after)
        if changed:  # a PATCH that changes nothing is not a write worth a row (as for regions)
            webhook_changed_send(action_type="update", actor=by, user_id=webhook.user_id, snapshot=after, changes=changed)
    return webhook


def webhook_delete(*, actor: Actor, webhook_id: Any) -> None:
    """Delete the subscription with its deliveries and their logs (the audit row keeps its snapshot)."""
    with transaction.atomic():
        webhook = _get(actor, webhook_id, lock=True)
        snapshot = webhook_snapshot(webhook)
        user_id = webhook.user_id
        webhook.delete()
        webhook_changed_send(action_type="delete", actor=actor, user_id=user_id, snapshot=snapshot)
    logger.info("Deleted webhook %s of user %s", webhook_id, actor.pk)


def webhook_secret_rotate(*, actor: Actor, webhook_id: Any) -> tuple[Webhook, str]:
    """Replace the signing secret; the new one is returned this once and signs every later attempt.

    The audit row records that (and when) the secret changed, never the secret."""
    secret = crypto.secret_generate()
    with transaction.atomic():
        webhook = _get(actor, webhook_id, lock=True)
        before = webhook_snapshot(webhook)
        webhook.secret_encrypted = crypto.secret_encrypt(secret)
        webhook.secret_rotated_at = timezone.now()
        webhook.save(update_fields=["secret_encrypted", "secret_rotated_at", "updated_at"])
        after = webhook_snapshot(webhook)
        webhook_changed_send(
            action_type="rotate_secret", actor=actor, user_id=webhook.user_id, snapshot=after, changes=snapshot_changes(before, after)
        )
    logger.info("Rotated the secret of webhook %s", webhook.pk)
    return webhook, secret


def _ensure_can_send(webhook: Webhook) -> None:
    if not settings.IPAM_ENABLE_WEBHOOKS:
        raise errors.StateConflict("Webhook delivery is turned off (IPAM_ENABLE_WEBHOOKS=false).", code="webhooks_disabled")
    if not webhook.is_active:
        raise errors.StateConflict(
            "The webhook is disabled; re-enable it first (PATCH is_active=true).",
            code="webhook_inactive",
            details={"webhook_id": str(webhook.pk), "disabled_reason": webhook.disabled_reason},
        )


def webhook_test(*, actor: Actor, webhook_id: Any) -> WebhookDelivery:
    """Send a `webhook.test` event to this webhook (whatever it subscribes to)."""
    with transaction.atomic():
        webhook = _get(actor, webhook_id)
        _ensure_can_send(webhook)
        data = {"webhook_id": str(webhook.pk), "message": "Test event from IPAM: your endpoint is reachable and verifies signatures."}
        delivery = _event_create(user_id=actor.pk, event_type=EventType.WEBHOOK_TEST, data=data, webhook_ids=[webhook.pk])[0]
    return WebhookDelivery.objects.select_related("event").get(pk=delivery.pk)


def delivery_redeliver(*, actor: Actor, webhook_id: Any, delivery_id: Any) -> WebhookDelivery:
    """Send a finished delivery's event again as a new delivery (same event id and body)."""
    with transaction.atomic():
        webhook = _get(actor, webhook_id)
        original = WebhookDelivery.objects.filter(webhook=webhook, pk=delivery_id).first()
        if original is None:
            raise errors.NotFound("Delivery not found.", code="delivery_not_found")
        if original.status not in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
            raise errors.StateConflict(
                "The delivery is still being sent; redeliver it once it has finished.",
                code="delivery_in_progress",
                details={"delivery_id": str(original.pk), "status": original.status},
            )
        _ensure_can_send(webhook)
        now = timezone.now()
        delivery = WebhookDelivery.objects.create(
            webhook=webhook,
            event_id=original.event_id,
            event_type=original.event_type,
            next_attempt_at=now,
            created_at=now,
            redelivery_of=original.pk,
        )
        _send_after_commit([delivery])
    logger.info("Redelivery %s of %s queued", delivery.pk, original.pk)
    return delivery


# --- Retention ------------------------------------------------------------------------------------------
def delivery_logs_prune(*, older_than_days: int, batch_size: int = 5000) -> int:
    """Delete finished deliveries (with their attempt logs) older than `older_than_days`, then the events
    no delivery refers to any more; returns how many deliveries were deleted. Pending ones are kept.

    On PostgreSQL a month whose deliveries are all finished goes at once: its attempt logs are deleted and
    its partition dropped (ADR 0016); the rest (the boundary month, a month with unfinished deliveries,
    SQLite) row by row, in batches."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    attempts = connection.ops.quote_name(WebhookDeliveryAttempt._meta.db_table)

    def drop_attempts(partition: str) -> None:
        with connection.cursor() as cursor:
            partition_table = connection.ops.quote_name(partition)
            cursor.execute(f"DELETE FROM {attempts} a USING {partition_table} d WHERE a.delivery_id = d.id")  # noqa: S608
        DELIVERY_DAYS.forget_partition(partition)  # a dropped partition fires no trigger (foundation/day_counts.py)

    unfinished = f"status IN ('{DeliveryStatus.PENDING.value}', '{DeliveryStatus.SENDING.value}')"
    total = partitions.drop_expired(WebhookDelivery._meta.db_table, cutoff, keep=unfinished, before_drop=drop_attempts).rows
    finished = WebhookDelivery.objects.filter(created_at__lt=cutoff, status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED])
    while True:
        ids = list(finished.values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        WebhookDelivery.objects.filter(id__in=ids).delete()
        total += len(ids)
    while True:
        ids = list(WebhookEvent.objects.filter(created_at__lt=cutoff, deliveries__isnull=True).values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        WebhookEvent.objects.filter(id__in=ids).delete()
    if total:
        logger.info("Deleted %s webhook delivery logs older than %s days", total, older_than_days)
    return total


def delivery_pending_count() -> int:
    """Deliveries waiting to be sent or retried (pending or being sent), for /metrics."""
    return WebhookDelivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]).count()


def delivery_health() -> dict[str, Any]:
    """Webhook delivery health for the operator console: subscriptions by state and the outbox backlog.

    Two aggregate queries (the webhooks table, and deliveries pending/being sent by the status index)."""
    hooks = Webhook.objects.aggregate(
        active=Count("id", filter=Q(is_active=True)),
        disabled=Count("id", filter=Q(is_active=False)),
        failing=Count("id", filter=Q(is_active=True, failure_count__gt=0)),
    )
    return {**hooks, "pending": delivery_pending_count()}
