"""The platform's rows: the last run of every scheduled job (one row per job name), the Idempotency-Key
records of allocating requests, the per-user JWT version and the API tokens."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class JobRunStatus(models.TextChoices):
    NEVER = "never"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    RETRY = "retry"


class JobRun(models.Model):
    """Start, finish, duration and outcome of the latest run of a scheduled job, plus running totals.

    Written by Celery task signals in whichever worker ran the job (see `foundation.jobs`); kept in the
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


class IdempotencyRecord(models.Model):
    """First response to an allocating POST with an `Idempotency-Key`, replayed for 24 h."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method_path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        # The table was created by the ipam app, where this model lived until 0.2 (migrations: ipam 0004, ops 0002).
        db_table = "ipam_idempotencyrecord"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key")]

    def __str__(self) -> str:
        return f"idempotency {self.user_id}:{self.key}"


class TokenVersion(models.Model):
    """The user's JWT generation: every JWT carries the version it was issued at (claim `ver`).

    Bumped when the password changes, the user is deactivated or logs out (`foundation.credentials`); a JWT
    whose `ver` differs is refused (401 `token_revoked`), access and refresh alike. No row = version 0.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"token version {self.user_id}:{self.version}"


class ApiTokenScope(models.TextChoices):
    READ = "read"
    WRITE = "write"


class ApiToken(models.Model):
    """A long-lived API token (`Authorization: Token <secret>`). Only a SHA-256 of the secret is stored.

    The secret is `ipam_<key_id>_<43 random characters>`: `key_id` (public, unique) finds the row, the
    hash proves the rest. See `foundation.apitokens` and docs/decisions/0010-api-tokens-and-revocation.md.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scope = models.CharField(max_length=5, choices=ApiTokenScope.choices, default=ApiTokenScope.READ)
    expires_at = models.DateTimeField(null=True, blank=True)
    allowed_networks = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"
        indexes = [models.Index(fields=["user", "-created_at"], name="ops_apitoken_user_created")]

    def __str__(self) -> str:
        return f"{self.name} (ipam_{self.key_id}_…)"
