"""Celery application (worker and beat).

Broker: Redis when REDIS_URL is set, else kombu's file-system transport under var/ (settings). The beat
schedule is `CELERY_BEAT_SCHEDULE`, built from `ipam_project/schedule.py` (empty when
IPAM_ENABLE_BACKGROUND_TASKS=false). Run records of the scheduled jobs: `foundation/jobs.py`.

    celery -A ipam_project worker -l info     # runs tasks; logs `[BackgroundTasks] Registered: ...` at start
    celery -A ipam_project beat -l info       # sends the scheduled jobs (run exactly one)
"""

from __future__ import annotations

import logging
import logging.config
import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipam_project.settings")

app = Celery("ipam_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("ipam.tasks")

# Header carrying the id of the request that sent a task, so the task's log lines can be traced back to it.
REQUEST_ID_HEADER = "ipam_request_id"


@signals.setup_logging.connect
def _use_django_logging(**kwargs: Any) -> None:
    """Workers and beat log through the project's LOGGING (logs/app.log, guide format), not Celery's own."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@signals.worker_ready.connect
def _log_registrations(sender: Any = None, **kwargs: Any) -> None:
    """contract §6: at worker start, one `[BackgroundTasks] Registered: <name> (<schedule>)` line per job."""
    from django.conf import settings

    from ipam_project.schedule import label_of

    schedule: dict[str, Any] = app.conf.beat_schedule or {}
    if not settings.IPAM_ENABLE_BACKGROUND_TASKS:
        logger.info("[BackgroundTasks] Disabled (IPAM_ENABLE_BACKGROUND_TASKS=false): no periodic jobs registered")
        return
    for name, entry in schedule.items():
        logger.info("[BackgroundTasks] Registered: %s (%s)", name, label_of(name))
        if entry["task"] not in app.tasks:
            logger.error("[BackgroundTasks] Registration error: no task %r is registered for job %s; it will not run", entry["task"], name)


@signals.beat_init.connect
def _log_beat_start(sender: Any = None, **kwargs: Any) -> None:
    schedule: dict[str, Any] = app.conf.beat_schedule or {}
    logger.info("[BackgroundTasks] Beat started: %d periodic jobs scheduled (%s)", len(schedule), ", ".join(schedule) or "none")


@signals.before_task_publish.connect
def _attach_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    from foundation import context

    request_id = context.current().request_id
    if headers is not None and request_id:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@signals.task_prerun.connect
def _enter_task_log_context(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """Log lines written by a task carry the sending request's id (or the task id for scheduled jobs)."""
    from foundation.logging import set_log_request_id

    origin = getattr(getattr(task, "request", None), REQUEST_ID_HEADER, None) if task is not None else None
    set_log_request_id(str(origin) if origin else f"task-{task_id}")


@signals.task_postrun.connect
def _leave_task_log_context(**kwargs: Any) -> None:
    from foundation.logging import set_log_request_id

    set_log_request_id("")


@signals.worker_process_shutdown.connect
def _forget_process_metrics(pid: int | None = None, **kwargs: Any) -> None:
    """Prometheus multiprocess mode: a pool process that exits no longer contributes live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
