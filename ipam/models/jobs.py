"""Export (and audit export) jobs: built by a Celery task, downloadable until they expire."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class ExportJob(models.Model):
    class Kind(models.TextChoices):
        EXPORT = "export"
        AUDIT_EXPORT = "audit_export"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.EXPORT)
    format = models.CharField(max_length=10)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    content = models.BinaryField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    filename = models.CharField(max_length=200, blank=True, default="")
    row_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="export_user_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"


class ImportJob(models.Model):
    """An import too large to run inside the request (IPAM_IMPORT_SYNC_MAX_ROWS / _BYTES): the upload is kept
    here until a worker has run it, then dropped; the outcome is the same summary (or error body) the
    synchronous import answers, with the per-row results limited to the failed rows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    format = models.CharField(max_length=10)
    mode = models.CharField(max_length=10)
    force = models.BooleanField(default=False)
    placement = models.CharField(max_length=10, blank=True, default="")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    content = models.BinaryField(null=True, blank=True)  # the upload, cleared once the job has run
    size = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)  # the summary (completed) or the error body (failed)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="import_user_created")]

    def __str__(self) -> str:
        return f"import {self.id} ({self.status})"
