"""Celery tasks for exports (load by id, call one service)."""

from __future__ import annotations

from celery import shared_task

from ipam.services.exports import export_job_run


@shared_task(name="export_build")
def export_build(job_id: str) -> str | None:
    """Build the file of an export or audit-export job (a duplicate delivery is a no-op)."""
    job = export_job_run(job_id=job_id)
    return job.status if job is not None else None
