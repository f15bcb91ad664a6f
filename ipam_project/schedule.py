"""The beat schedule as data (SPEC §6). Task names are the registered Celery task names.

`label` is what the worker logs at start: `[BackgroundTasks] Registered: <name> (<label>)`.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

JOBS: dict[str, dict[str, Any]] = {
    "reservation_expiration_checker": {"schedule": crontab(minute=5), "label": "hourly"},
    "share_expiration_checker": {"schedule": crontab(minute=10), "label": "hourly"},
    "notification_cleanup": {"schedule": crontab(minute=20, hour=3), "label": "daily"},
    "capacity_monitor": {"schedule": crontab(minute="*/15"), "label": "every 15 minutes"},
    "webhook_dispatch_due": {"schedule": 60.0, "label": "every minute"},
    "housekeeping": {"schedule": crontab(minute=40, hour=3), "label": "daily"},
}
