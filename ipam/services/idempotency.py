"""Idempotency-Key records (SPEC §3): the first response to an allocating POST, replayed for 24 h."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ipam.models import IdempotencyRecord


def idempotency_prune(*, older_than_hours: int = 24) -> int:
    """Delete records older than the replay window; returns how many were deleted."""
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
