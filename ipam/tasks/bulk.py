"""Celery tasks for bulk jobs: each has the name of the service it runs (load by id, call one service)."""

from __future__ import annotations

from celery import shared_task

from ipam.services import bulk


@shared_task(name="bulk_tags_run")
def bulk_tags_run(job_id: str) -> None:
    """Run a bulk tag job to completion (progress is saved chunk by chunk; see `bulk_job_step`)."""
    bulk.bulk_tags_run(job_id=job_id)


@shared_task(name="bulk_jobs_resume")
def bulk_jobs_resume() -> int:
    """Re-send bulk jobs still pending after 10 minutes (their message was lost with the broker)."""
    return bulk.bulk_jobs_resume(older_than_minutes=10)
