"""Notification services. `notification_create` is the one entry point other apps call.

In-app notifications are rows; e-mail goes through Django's mail backend from a Celery task sent after
commit. `IPAM_ENABLE_NOTIFICATIONS=false` turns notifications off (nothing is created or sent).

Rules are stored and validated here; they are *evaluated* by `ipam.services.capacity`, which knows
utilization, using `alert_fire` / `alert_clear` so that a rule fires once per crossing.
This module imports no other app of ours (validation errors are DRF's, which the API maps to 400); rule
writes are audited through `notifications.signals`, sent inside their transaction (ADR 0005).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from foundation import partitions
from foundation.types import Actor
from notifications.models import NOTIFICATION_DAYS, AlertState, Channel, Notification, NotificationRule, RuleResourceType, Severity
from notifications.signals import notification_rule_changed_send, rule_snapshot, snapshot_changes

logger = logging.getLogger("ipam.notifications")

RULE_FIELDS = ("rule_name", "utilization_threshold", "resource_type", "resource_ids", "notification_channels", "severity", "is_active")
# Changing any of these makes the rule watch something else: its fired conditions are re-armed.
CONDITION_FIELDS = ("utilization_threshold", "resource_type", "resource_ids")
RULE_SCOPE_FIELDS = ("utilization_threshold", "resource_type", "resource_ids", "is_active")
MAX_RESOURCE_IDS = 100


def _limit(value: Any, length: int) -> str:
    return ("" if value is None else str(value))[:length]


# --- Notifications -----------------------------------------------------------------------------------
def notification_create(
    *,
    user: Any,
    notification_type: str,
    severity: str,
    message: str,
    resource_type: str = "",
    resource_id: str = "",
    resource_link: str = "",
) -> Notification | None:
    """Create an in-app notification for `user` (severity: info | warning | critical).

    Returns None when notifications are turned off. Runs in the caller's transaction, if any.
    """
    if not settings.IPAM_ENABLE_NOTIFICATIONS or user is None:
        return None
    if severity not in Severity.values:
        logger.warning("Unknown notification severity %r for %s; using info", severity, notification_type)
        severity = Severity.INFO
    notification = Notification.objects.create(
        user_id=getattr(user, "pk", user),
        notification_type=_limit(notification_type, 50),
        severity=severity,
        message=str(message),
        resource_type=_limit(resource_type, 50),
        resource_id=_limit(resource_id, 100),
        resource_link=_limit(resource_link, 500),
    )
    logger.info("Notification %s (%s) for user %s", notification.notification_type, severity, notification.user_id)
    return notification


def notification_mark_read(*, actor: Actor, notification_id: Any, is_read: bool) -> Notification:
    """Mark one notification read or unread. The row is locked before it is read, as the rule and webhook
    writes do: a delete racing with it either went first (404) or waits for this commit, never leaving the
    update with no row to write (that was a 500, found by the race table)."""
    with transaction.atomic():
        notification = get_object_or_404(Notification.objects.select_for_update(), user=actor, pk=notification_id)
        if notification.is_read != is_read:
            notification.is_read = is_read
            notification.read_at = timezone.now() if is_read else None
            notification.save(update_fields=["is_read", "read_at"])
    return notification


def notifications_mark_all_read(*, actor: Actor) -> int:
    """Mark every unread notification of `actor` read; returns how many changed."""
    return Notification.objects.filter(user=actor, is_read=False).update(is_read=True, read_at=timezone.now())


def notification_delete(*, actor: Actor, notification_id: Any) -> None:
    get_object_or_404(Notification, user=actor, pk=notification_id).delete()


def notifications_prune(*, older_than_days: int, batch_size: int = 5000) -> int:
    """Delete notifications older than `older_than_days`; returns how many were deleted. On PostgreSQL whole
    months go at once (their partitions are dropped, ADR 0016), the rest in batches."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    # A dropped partition fires no trigger: its rows leave the day counts first (foundation/day_counts.py).
    total = partitions.drop_expired(Notification._meta.db_table, cutoff, before_drop=NOTIFICATION_DAYS.forget_partition).rows
    while True:
        ids = list(Notification.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        deleted, _ = Notification.objects.filter(id__in=ids).delete()
        total += deleted
    if total:
        logger.info("Deleted %s notifications older than %s days", total, older_than_days)
    return total


def notification_email_send(*, user_id: Any, subject: str, body: str) -> bool:
    """Send one e-mail to the user through Django's mail backend; False when there is nothing to send."""
    if not settings.IPAM_ENABLE_NOTIFICATIONS:
        return False
    user = get_user_model().objects.filter(pk=user_id).first()
    email = getattr(user, "email", "") if user else ""
    if not email:
        logger.info("No e-mail address for user %s; e-mail notification skipped", user_id)
        return False
    send_mail(subject=subject[:200], message=body, from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[email])
    logger.info("E-mail notification sent to user %s", user_id)
    return True


# --- Rules -------------------------------------------------------------------------------------------
def _clean_rule(data: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise rule fields (the whole rule, after a PATCH is merged)."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    name = str(data.get("rule_name") or "").strip()
    if not 1 <= len(name) <= 100:
        errors["rule_name"] = ["Must be 1 to 100 characters."]
    cleaned["rule_name"] = name

    threshold = data.get("utilization_threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 100:
        errors["utilization_threshold"] = ["Must be a number between 0 and 100."]
    else:
        cleaned["utilization_threshold"] = float(threshold)

    resource_type = data.get("resource_type") or ""
    if resource_type not in ("", *RuleResourceType.values):
        errors["resource_type"] = ["Must be country or region (or absent for both)."]
    cleaned["resource_type"] = resource_type

    ids = data.get("resource_ids") or []
    cleaned_ids: list[str] = []
    if not isinstance(ids, list) or len(ids) > MAX_RESOURCE_IDS:
        errors["resource_ids"] = [f"Must be a list of at most {MAX_RESOURCE_IDS} ids."]
    else:
        for value in ids:
            text = str(value).strip() if isinstance(value, str | uuid.UUID) else ""
            if not 1 <= len(text) <= 100:
                errors["resource_ids"] = ["Each id must be a string of 1 to 100 characters."]
                break
            if resource_type == RuleResourceType.REGION:
                try:
                    text = str(uuid.UUID(text))
                except ValueError:
                    errors["resource_ids"] = [f"{text!r} is not a region id."]
                    break
            if text not in cleaned_ids:
                cleaned_ids.append(text)
        if cleaned_ids and not resource_type and "resource_type" not in errors:
            errors["resource_type"] = ["Required when resource_ids are given."]
    cleaned["resource_ids"] = cleaned_ids

    channels = data.get("notification_channels")
    if not isinstance(channels, list) or not channels or any(c not in Channel.values for c in channels):
        errors["notification_channels"] = [f"Must be a non-empty list of {', '.join(Channel.values)}."]
    else:
        cleaned["notification_channels"] = list(dict.fromkeys(channels))

    severity = data.get("severity") or ""
    if severity not in ("", *Severity.values):
        errors["severity"] = [f"Must be one of {', '.join(Severity.values)}."]
    cleaned["severity"] = severity

    is_active = data.get("is_active", True)
    if not isinstance(is_active, bool):
        errors["is_active"] = ["Must be a boolean."]
    cleaned["is_active"] = is_active
    if errors:
        raise ValidationError(errors)
    return cleaned


def _rule_data(rule: NotificationRule) -> dict[str, Any]:
    return {field: getattr(rule, field) for field in RULE_FIELDS}


def notification_rule_create(
    *,
    actor: Actor,
    rule_name: str,
    utilization_threshold: float,
    notification_channels: list[str],
    resource_type: str = "",
    resource_ids: list[str] | None = None,
    severity: str = "",
    is_active: bool = True,
) -> NotificationRule:
    cleaned = _clean_rule(
        {
            "rule_name": rule_name,
            "utilization_threshold": utilization_threshold,
            "notification_channels": notification_channels,
            "resource_type": resource_type,
            "resource_ids": resource_ids or [],
            "severity": severity,
            "is_active": is_active,
        }
    )
    with transaction.atomic():
        rule = NotificationRule.objects.create(user=actor, **cleaned)
        notification_rule_changed_send(action_type="create", actor=actor, user_id=actor.pk, snapshot=rule_snapshot(rule))
    logger.info("Created notification rule %s for user %s", rule.pk, actor.pk)
    return rule


def notification_rule_update(*, actor: Actor, rule_id: Any, data: dict[str, Any], performed_by: Any = None) -> NotificationRule:
    """Update any rule field; `data` may hold a partial `conditions` object (merged into the current one).

    `performed_by`: a staff user acting on the actor's rule (the admin), recorded as the audit actor.
    """
    data = dict(data)
    conditions = data.pop("conditions", None)
    unknown = set(data) - set(RULE_FIELDS)
    if conditions is not None and not isinstance(conditions, dict):
        raise ValidationError({"conditions": ["Must be an object."]})
    extra = set(conditions or {}) - set(CONDITION_FIELDS)
    if extra:
        raise ValidationError({"conditions": [f"Unknown keys: {', '.join(sorted(extra))}."]})
    if unknown:
        raise ValidationError({key: ["This field cannot be changed."] for key in sorted(unknown)})
    with transaction.atomic():
        rule = get_object_or_404(NotificationRule.objects.select_for_update(), user=actor, pk=rule_id)
        before = _rule_data(rule)
        snapshot_before = rule_snapshot(rule)
        merged = {**before, **data, **(conditions or {})}
        if conditions and "resource_type" in conditions and "resource_ids" not in conditions:
            merged["resource_ids"] = [] if conditions["resource_type"] != before["resource_type"] else before["resource_ids"]
        cleaned = _clean_rule(merged)
        for field, value in cleaned.items():
            setattr(rule, field, value)
        rule.save()
        if any(before[field] != cleaned[field] for field in RULE_SCOPE_FIELDS):
            AlertState.objects.filter(rule=rule).delete()  # watches something else now: re-arm
        after = rule_snapshot(rule)
        changed = snapshot_changes(snapshot_before, after)
        if changed:  # a PATCH that changes nothing is not a write worth a row (as for regions)
            notification_rule_changed_send(
                action_type="update", actor=performed_by or actor, user_id=rule.user_id, snapshot=after, changes=changed
            )
    return rule


def notification_rule_delete(*, actor: Actor, rule_id: Any) -> None:
    """Delete the rule with its alert states (the audit row keeps its snapshot)."""
    with transaction.atomic():
        rule = get_object_or_404(NotificationRule.objects.select_for_update(), user=actor, pk=rule_id)
        snapshot = rule_snapshot(rule)
        user_id = rule.user_id
        rule.delete()  # its alert states go with it
        notification_rule_changed_send(action_type="delete", actor=actor, user_id=user_id, snapshot=snapshot)


def rules_active_for(user: Any) -> list[NotificationRule]:
    """The user's active rules (one indexed query; empty when notifications are off)."""
    if not settings.IPAM_ENABLE_NOTIFICATIONS:
        return []
    return list(NotificationRule.objects.filter(user_id=getattr(user, "pk", user), is_active=True))


# --- Fire once, re-arm below ------------------------------------------------------------------------
def alert_states(*, user: Any, keys: Iterable[str]) -> set[str]:
    """Which of `keys` have fired and not re-armed (one query)."""
    keys = list(keys)
    if not keys:
        return set()
    return set(AlertState.objects.filter(user_id=getattr(user, "pk", user), key__in=keys).values_list("key", flat=True))


def alert_fire(*, user: Any, key: str, value: float, rule: NotificationRule | None = None) -> bool:
    """Record that `key` fired; True only for the caller that recorded it (check `alert_states` first).

    Safe under concurrency: the unique (user, key) constraint decides, inside a savepoint so a lost race
    never breaks the caller's transaction.
    """
    try:
        with transaction.atomic():
            AlertState.objects.create(user_id=getattr(user, "pk", user), key=key, rule=rule, value=round(value, 2))
    except IntegrityError:
        return False
    return True


def alert_clear(*, user: Any, keys: Iterable[str]) -> int:
    """Re-arm conditions that dropped below their threshold; returns how many were armed again."""
    keys = list(keys)
    if not keys:
        return 0
    deleted, _ = AlertState.objects.filter(user_id=getattr(user, "pk", user), key__in=keys).delete()
    return deleted
