"""The platform's rows in the admin: background job runs and Idempotency-Key records, both read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import IdempotencyRecord, JobRun


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["name", "last_status", "last_started_at", "last_duration_ms", "last_success_at", "run_count", "failure_count"]
    list_filter = ["last_status"]
    readonly_fields = [f.name for f in JobRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    """Read-only; deleting a record frees its key before the 24 h window ends."""

    list_display = ["user", "key", "method_path", "status_code", "created_at"]
    search_fields = ["user__username", "key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
