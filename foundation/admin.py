"""The platform's rows in the admin: background job runs and Idempotency-Key records (read-only), and every
user's API tokens (staff see and revoke them; the secret is never stored, so never shown)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from . import apitokens
from .models import ApiToken, IdempotencyRecord, JobRun


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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only but for the "Revoke" action (revoking drops the cached token at once)."""

    list_display = ["name", "user", "key_id", "scope", "created_at", "expires_at", "revoked_at", "last_used_at", "last_used_ip"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "name", "key_id"]
    readonly_fields = [f.name for f in ApiToken._meta.fields if f.name != "secret_hash"]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected API tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        tokens = [token for token in queryset if token.revoked_at is None]
        for token in tokens:
            apitokens.revoke(token)
        self.message_user(request, f"{len(tokens)} API token(s) revoked.", messages.SUCCESS)
