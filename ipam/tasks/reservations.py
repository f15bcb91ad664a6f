"""Hourly jobs for reservations and shares (contract §6). Each calls one service; both are idempotent and
safe on several workers at once (rows are claimed with locks and conditional updates)."""

from __future__ import annotations

from celery import shared_task

from ipam.services.reservations import reservation_expiration_check
from ipam.services.shares import share_expiration_check


@shared_task(name="reservation_expiration_checker")
def reservation_expiration_checker() -> dict[str, int]:
    """Warn owners 24 h before expiry, then expire due reservations (audit, event, notification)."""
    return reservation_expiration_check()


@shared_task(name="share_expiration_checker")
def share_expiration_checker() -> dict[str, int]:
    """Deactivate shares past their expiry (audit `share_expired`)."""
    return {"expired": share_expiration_check()}
