"""A bulk job whose broker message was lost is picked up by the scheduled resume task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ipam.models import BulkJob
from ipam.tasks.bulk import bulk_jobs_resume
from ipam_project.schedule import JOBS
from tests.factories import make_region

pytestmark = pytest.mark.django_db


def test_pending_bulk_job_is_resumed_and_completed(alice, django_capture_on_commit_callbacks):
    regions = [make_region(alice) for _ in range(2)]
    job = BulkJob.objects.create(
        user=alice,
        operation="tags",
        params={"resource_type": "region", "resource_ids": [str(r.pk) for r in regions], "operation": "add", "tags": {"k": "v"}},
        total=2,
    )
    BulkJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=True):
        assert bulk_jobs_resume.apply().get() == 1
    job.refresh_from_db()
    assert job.status == "completed" and job.processed == 2
    assert "bulk_jobs_resume" in JOBS
