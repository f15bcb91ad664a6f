"""Celery task for capacity alerts (the `capacity_monitor` beat job, every 15 minutes)."""

from __future__ import annotations

from celery import shared_task

from ipam.services.capacity import capacity_monitor_run


@shared_task(name="capacity_monitor")
def capacity_monitor() -> dict[str, int]:
    """Evaluate every notification rule and quota threshold (idempotent, safe on several workers)."""
    return capacity_monitor_run()
