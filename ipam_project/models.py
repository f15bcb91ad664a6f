"""Operations records: the last run of every background job (SPEC §6), one row per job name."""

from __future__ import annotations

from django.db import models


class JobRunStatus(models.TextChoices):
    NEVER = "never"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    RETRY = "retry"


class JobRun(models.Model):
    """Start, finish, duration and outcome of the latest run of a scheduled job, plus running totals.

    Written by Celery task signals in whichever worker ran the job (see `ipam_project.jobs`); kept in the
    database so that every web process, on every host, reports the same state in /health and /metrics.
    """

    name = models.CharField(max_length=100, primary_key=True)
    last_status = models.CharField(max_length=10, choices=JobRunStatus.choices, default=JobRunStatus.NEVER)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.FloatField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_task_id = models.CharField(max_length=64, blank=True, default="")
    last_hostname = models.CharField(max_length=255, blank=True, default="")
    run_count = models.PositiveBigIntegerField(default=0)
    failure_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        verbose_name = "background job run"

    def __str__(self) -> str:
        return f"{self.name} ({self.last_status})"
