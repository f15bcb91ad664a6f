"""Admin views of webhooks, events, deliveries and attempts. Secrets are never shown; changes that
matter (enable, disable) go through the services like API writes."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks.models import Webhook, WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent


def _set_active(request: HttpRequest, queryset: QuerySet[Webhook], active: bool) -> None:
    from webhooks.services import webhook_update

    for webhook in queryset.select_related("user"):
        webhook_update(actor=webhook.user, webhook_id=webhook.pk, data={"is_active": active}, performed_by=request.user)
    messages.success(request, f"{queryset.count()} webhook(s) {'re-enabled' if active else 'disabled'}.")


@admin.action(description="Re-enable selected webhooks (resets the failure count)")
def enable_webhooks(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
    _set_active(request, queryset, True)


@admin.action(description="Disable selected webhooks (cancels unsent deliveries)")
def disable_webhooks(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
    _set_active(request, queryset, False)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ["webhook_url", "user", "is_active", "failure_count", "last_success_at", "last_failure_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["webhook_url", "user__username", "description"]
    exclude = ["secret_encrypted"]
    actions = [enable_webhooks, disable_webhooks]


class AttemptInline(admin.TabularInline):
    model = WebhookDeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempt_number", "status", "status_code", "response_time_ms", "error_message", "attempted_at", "next_attempt_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "webhook", "status", "attempts", "last_status_code", "next_attempt_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["id", "event__id", "webhook__webhook_url"]
    date_hierarchy = "created_at"
    exclude = ["claim_token"]
    inlines = [AttemptInline]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "user", "id"]
    list_filter = ["event_type"]
    search_fields = ["id", "user__username"]
    date_hierarchy = "created_at"


@admin.register(WebhookDeliveryAttempt)
class WebhookDeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ["attempted_at", "delivery", "attempt_number", "status", "status_code", "response_time_ms"]
    list_filter = ["status"]
