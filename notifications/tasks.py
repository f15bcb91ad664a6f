"""Celery tasks of notifications (load by id, call one service)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from notifications import services


@shared_task(name="notification_cleanup")
def notification_cleanup() -> int:
    """Daily: delete notifications older than IPAM_NOTIFICATION_RETENTION_DAYS (90)."""
    return services.notifications_prune(older_than_days=settings.IPAM_NOTIFICATION_RETENTION_DAYS)


@shared_task(name="notification_email_send")
def notification_email_send(user_id: Any, subject: str, body: str) -> bool:
    """Send one notification e-mail (enqueued after the commit that produced it)."""
    return services.notification_email_send(user_id=user_id, subject=subject, body=body)
