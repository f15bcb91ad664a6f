"""Celery tasks for bulk (load by id, call one service)."""

from __future__ import annotations

from celery import shared_task

from ipam.services.bulk import bulk_job_run


@shared_task(name="bulk_tags_run")
def bulk_tags_run(job_id: str) -> None:
    """Run a bulk tag job to completion (progress is saved chunk by chunk; see `bulk_job_step`)."""
    bulk_job_run(job_id=job_id)
