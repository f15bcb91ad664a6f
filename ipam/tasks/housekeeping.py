"""Periodic maintenance tasks that span areas (the `housekeeping` and `capacity_monitor` jobs)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import shared_task
from django.conf import settings

from foundation.credentials import expired_jwts_prune
from foundation.idempotency import idempotency_prune
from ipam.services.audit import audit_prune
from ipam.services.bulk import bulk_jobs_prune
from ipam.services.exports import export_jobs_prune
from ipam.services.imports.jobs import import_jobs_prune
from ipam.services.integrity import day_counts_compact as compact_day_counts
from webhooks.services import delivery_logs_prune

logger = logging.getLogger("ipam.housekeeping")


def _steps() -> list[tuple[str, Callable[[], int]]]:
    return [
        ("webhook_delivery_logs", lambda: delivery_logs_prune(older_than_days=settings.IPAM_WEBHOOK_DELIVERY_RETENTION_DAYS)),
        ("bulk_jobs", lambda: bulk_jobs_prune(older_than_days=settings.IPAM_BULK_JOB_RETENTION_DAYS)),
        ("export_jobs", export_jobs_prune),
        ("import_jobs", import_jobs_prune),
        ("audit_log", lambda: audit_prune(older_than_days=settings.IPAM_AUDIT_RETENTION_DAYS)),
        ("idempotency_keys", idempotency_prune),
        ("expired_refresh_tokens", expired_jwts_prune),
    ]


@shared_task(name="housekeeping")
def housekeeping() -> dict[str, int]:
    """Daily: delete delivery logs > 30 d, bulk jobs > 7 d, expired exports and import jobs, audit rows past
    retention, replayed idempotency keys, and the blacklist's records of expired refresh tokens. Each step runs
    even if another fails; the run fails if any step did. Idempotent: running it twice, or on two workers at
    once, deletes nothing more."""
    deleted: dict[str, int] = {}
    failed: list[str] = []
    for name, step in _steps():
        try:
            deleted[name] = int(step())
        except Exception:
            logger.exception("Housekeeping step %s failed", name)
            failed.append(name)
    logger.info("Housekeeping deleted %s", ", ".join(f"{name}={count}" for name, count in deleted.items()) or "nothing")
    if failed:
        raise RuntimeError(f"housekeeping steps failed: {', '.join(failed)}")
    return deleted


@shared_task(name="partitions_maintain")
def partitions_maintain() -> dict[str, list[str]]:
    """Daily: create this month's and the next IPAM_PARTITIONS_AHEAD_MONTHS months' partitions of the history
    tables (audit log, webhook deliveries, notifications) on PostgreSQL; a no-op on SQLite. Idempotent.
    Returns {table: [partitions created]}."""
    from foundation import partitions

    created = partitions.maintain(ahead=settings.IPAM_PARTITIONS_AHEAD_MONTHS)
    logger.info("Partitions created: %s", ", ".join(name for names in created.values() for name in names) or "none")
    return created


@shared_task(name="day_counts_compact")
def day_counts_compact() -> int:
    """Every minute: fold the delta rows of the history lists' day counts (written by the triggers of the
    audit, notification and delivery tables, one per statement) so a deep page of `GET /ipam/audit`,
    `/ipam/notifications` or a webhook's deliveries sums a few rows per day, not one per write of the day
    (PostgreSQL; a no-op on SQLite). Idempotent; returns the rows written."""
    written = compact_day_counts()
    logger.info("Day counts compacted: %s row(s) written", written)
    return written
