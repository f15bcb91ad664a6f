"""Bulk jobs: tag changes over many regions/hosts, run by a Celery task in batches.

Like every enhancement store, the table belongs to the `enhancements` app (`Meta.app_label`), a schema unit
with no code of its own: `manage.py rollback` migrates it to zero after a backup, and `migrate` restores it
(docs/decisions/0007). The model lives here, next to the services that use it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from .jobs import JobStatus

BulkJobStatus = JobStatus  # one set of job states for bulk, export and import jobs


class BulkJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_bulk_jobs")
    operation = models.CharField(max_length=40)  # e.g. "tags"
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=BulkJobStatus.choices, default=BulkJobStatus.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    successful = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "enhancements"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="bulkjob_user_created"),
            models.Index(fields=["status", "created_at"], name="bulkjob_status_created"),
        ]

    def __str__(self) -> str:
        return f"bulk {self.operation} {self.id} ({self.status})"
