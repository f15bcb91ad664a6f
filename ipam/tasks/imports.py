"""Celery task for background imports (load by id, call one service)."""

from __future__ import annotations

from celery import shared_task

from ipam.services.imports.jobs import import_job_run


@shared_task(name="import_run_job")
def import_run_job(job_id: str) -> str | None:
    """Run a background import job (a duplicate delivery is a no-op)."""
    job = import_job_run(job_id=job_id)
    return job.status if job is not None else None
