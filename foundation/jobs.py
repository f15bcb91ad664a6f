"""Run records of the scheduled jobs (contract §6): last start, finish, duration and outcome.

Celery task signals in the worker that runs a job write one `ops.JobRun` row per job name, in the
database, so /health and /metrics show the same state from every web process on every host, and it
survives restarts. Only the jobs of `settings.IPAM_JOBS` (ipam_project/schedule.py) are recorded (two small UPDATEs per
run); on-demand tasks (webhook sends, exports) are not. Recording never fails a job: a database error
here is logged and the job's own outcome stands.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import datetime
from typing import Any

from celery import signals
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from foundation import metrics
from foundation.logging import redact

logger = logging.getLogger("ipam.tasks")

_started: dict[str, tuple[float, str]] = {}  # task id -> (perf_counter at start, job name)


def _upsert(name: str, **fields: Any) -> None:
    from foundation.models import JobRun

    if JobRun.objects.filter(name=name).update(**fields):
        return
    plain = {k: v for k, v in fields.items() if not hasattr(v, "resolve_expression")}
    counters = {k: 1 for k, v in fields.items() if hasattr(v, "resolve_expression")}
    try:
        with transaction.atomic():
            JobRun.objects.create(name=name, **plain, **counters)
    except IntegrityError:  # another worker created it first
        JobRun.objects.filter(name=name).update(**fields)


def record_start(name: str, *, task_id: str, started_at: datetime | None = None) -> None:
    _upsert(
        name,
        last_status="running",
        last_started_at=started_at or timezone.now(),
        last_task_id=task_id[:64],
        last_hostname=socket.gethostname()[:255],
    )


def record_finish(name: str, *, outcome: str, duration_s: float, error: str = "", finished_at: datetime | None = None) -> None:
    """outcome: success | failure | retry."""
    now = finished_at or timezone.now()
    fields: dict[str, Any] = {
        "last_status": outcome,
        "last_finished_at": now,
        "last_duration_ms": round(duration_s * 1000, 3),
        "last_error": redact(error)[:500],
        "run_count": F("run_count") + 1,
    }
    if outcome == "success":
        fields["last_success_at"] = now
    elif outcome == "failure":
        fields["last_failure_at"] = now
        fields["failure_count"] = F("failure_count") + 1
    _upsert(name, **fields)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def last_runs() -> dict[str, dict[str, Any]]:
    """Per scheduled job: schedule label, last_run (start), last_status, finish, duration, last success."""
    if not settings.IPAM_ENABLE_BACKGROUND_TASKS:
        return {}
    from foundation.models import JobRun

    rows = {row.name: row for row in JobRun.objects.filter(name__in=list(settings.IPAM_JOBS))}
    result: dict[str, dict[str, Any]] = {}
    for name, job in settings.IPAM_JOBS.items():
        row = rows.get(name)
        result[name] = {
            "schedule": job["label"],
            "last_run": _iso(row.last_started_at) if row else None,
            "last_status": row.last_status if row else "never",
            "last_finished": _iso(row.last_finished_at) if row else None,
            "last_duration_ms": row.last_duration_ms if row else None,
            "last_success": _iso(row.last_success_at) if row else None,
            "last_error": (row.last_error or None) if row else None,
        }
    return result


def _log_id(task_id: str) -> dict[str, str]:
    from foundation.logging import current_request_id

    return {"request_id": current_request_id() or f"task-{task_id}"}


def _job_name(task: Any) -> str | None:
    name = getattr(task, "name", None)
    return name if name in settings.IPAM_JOBS else None


@signals.task_prerun.connect
def _on_job_start(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    name = _job_name(task)
    if name is None:
        return
    _started[task_id] = (time.perf_counter(), name)
    logger.info("[BackgroundTasks] %s started", name, extra=_log_id(task_id))
    try:
        record_start(name, task_id=task_id)
    except Exception as exc:
        logger.warning("[BackgroundTasks] Could not record the start of %s: %s", name, exc.__class__.__name__)


@signals.task_postrun.connect
def _on_job_finish(task_id: str = "", task: Any = None, retval: Any = None, state: str | None = None, **kwargs: Any) -> None:
    name = _job_name(task)
    if name is None:
        return
    started, _ = _started.pop(task_id, (time.perf_counter(), name))
    duration = time.perf_counter() - started
    outcome = {"SUCCESS": "success", "RETRY": "retry"}.get(state or "", "failure")
    error = f"{retval.__class__.__name__}: {retval}" if isinstance(retval, BaseException) else ""
    metrics.BACKGROUND_TASK_DURATION.labels(task=name, outcome=outcome).observe(duration)
    if outcome == "failure":
        logger.error("[BackgroundTasks] %s error after %.0f ms: %s", name, duration * 1000, error or state, extra=_log_id(task_id))
    else:
        logger.info("[BackgroundTasks] %s finished: %s in %.0f ms", name, outcome, duration * 1000, extra=_log_id(task_id))
    try:
        record_finish(name, outcome=outcome, duration_s=duration, error=error)
    except Exception as exc:
        logger.warning("[BackgroundTasks] Could not record the end of %s: %s", name, exc.__class__.__name__)
