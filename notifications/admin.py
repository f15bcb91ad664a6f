"""Admin views of notifications, rules and alert state (read-mostly: writes belong to the API)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from notifications.models import AlertState, Notification, NotificationRule


@admin.action(description="Mark selected notifications read")
def mark_read(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
    queryset.filter(is_read=False).update(is_read=True, read_at=timezone.now())


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "notification_type", "severity", "is_read", "short_message"]
    list_filter = ["severity", "is_read", "notification_type"]
    search_fields = ["user__username", "message", "resource_id"]
    date_hierarchy = "created_at"
    actions = [mark_read]
    readonly_fields = [f.name for f in Notification._meta.fields]

    @admin.display(description="message")
    def short_message(self, obj: Notification) -> str:
        return obj.message[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = ["rule_name", "user", "utilization_threshold", "resource_type", "severity", "is_active", "last_triggered_at"]
    list_filter = ["is_active", "resource_type", "severity"]
    search_fields = ["rule_name", "user__username"]
    readonly_fields = [f.name for f in NotificationRule._meta.fields if f.name != "is_active"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rules are validated by the API services

    def save_model(self, request: HttpRequest, obj: NotificationRule, form: Any, change: bool) -> None:
        from notifications.services import notification_rule_update

        notification_rule_update(actor=obj.user, rule_id=obj.pk, data={"is_active": obj.is_active}, performed_by=request.user)


@admin.register(AlertState)
class AlertStateAdmin(admin.ModelAdmin):
    """A row = a condition that fired and stays quiet until it drops below; delete one to re-arm it."""

    list_display = ["key", "user", "value", "fired_at"]
    search_fields = ["key", "user__username"]
    readonly_fields = ["user", "key", "rule", "value", "fired_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
