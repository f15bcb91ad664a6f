"""The beat schedule as data (contract §6). Task names are the registered Celery task names.

`label` is what the worker logs at start: `[BackgroundTasks] Registered: <name> (<label>)`.
`expires` (seconds): a run still queued after this long is dropped, the next one replaces it, so a
worker outage does not leave a pile of identical runs behind.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

JOBS: dict[str, dict[str, Any]] = {
    "reservation_expiration_checker": {"schedule": crontab(minute=5), "label": "hourly", "expires": 3600},
    "share_expiration_checker": {"schedule": crontab(minute=10), "label": "hourly", "expires": 3600},
    "notification_cleanup": {"schedule": crontab(minute=20, hour=3), "label": "daily", "expires": 86400},
    "capacity_monitor": {"schedule": crontab(minute="*/15"), "label": "every 15 minutes", "expires": 900},
    "webhook_dispatch_due": {"schedule": 60.0, "label": "every minute", "expires": 60},
    "housekeeping": {"schedule": crontab(minute=40, hour=3), "label": "daily", "expires": 86400},
    # Not in the contract §6 table: re-sends bulk tag jobs whose broker message was lost (they are rows, never lost).
    "bulk_jobs_resume": {"schedule": crontab(minute="*/10"), "label": "every 10 minutes", "expires": 600},
    # Not in the contract either: the coming months' partitions of the history tables (PostgreSQL, ADR 0016).
    "partitions_maintain": {"schedule": crontab(minute=30, hour=2), "label": "daily", "expires": 86400},
    # Nor this: folds the per-statement deltas of the history lists' day counts (their page numbers, PostgreSQL).
    "day_counts_compact": {"schedule": crontab(), "label": "every minute", "expires": 60},
}


def beat_schedule(*, enabled: bool) -> dict[str, dict[str, Any]]:
    """Celery's `beat_schedule` for the jobs above; empty when background tasks are disabled."""
    if not enabled:
        return {}
    return {name: {"task": name, "schedule": job["schedule"], "options": {"expires": job["expires"]}} for name, job in JOBS.items()}


def label_of(name: str) -> str:
    job = JOBS.get(name)
    return str(job["label"]) if job else "custom"
