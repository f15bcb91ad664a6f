"""Admin views of the enhancement stores: reservations, shares, preferences, saved filters, bulk jobs
(read-mostly). Writes go through the services, as actions, so they keep their locks and audit rows; nothing
here edits a reservation or share row directly."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ipam import exceptions
from ipam.models import BulkJob, Reservation, SavedFilter, Share, UserPreference
from ipam.services.reservations import reservation_delete
from ipam.services.shares import share_revoke


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # use the actions: they go through the services (locked, audited)


@admin.action(description="Delete selected reservations (frees their addresses; audited)")
def delete_reservations(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
    done = 0
    for reservation in queryset.select_related("user"):
        try:
            reservation_delete(actor=reservation.user, reservation_id=reservation.pk)
            done += 1
        except exceptions.ServiceError as exc:
            modeladmin.message_user(request, f"{reservation}: {exc.message}", messages.ERROR)
    modeladmin.message_user(request, f"Deleted {done} reservation(s).")


@admin.register(Reservation)
class ReservationAdmin(_ReadOnlyAdmin):
    list_display = ["reserved_address", "resource_type", "user", "current_status", "expires_at", "created_at"]
    list_filter = ["status", "resource_type"]
    search_fields = ["user__username", "reason"]
    list_select_related = ["user"]
    actions = [delete_reservations]

    @admin.display(description="status now")
    def current_status(self, obj: Reservation) -> str:
        return obj.current_status


@admin.action(description="Revoke selected shares (audited)")
def revoke_shares(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Share]) -> None:
    done = 0
    for share in queryset.select_related("user"):
        try:
            share_revoke(actor=share.user, share_id=share.pk)
            done += 1
        except exceptions.ServiceError as exc:
            modeladmin.message_user(request, f"{share}: {exc.message}", messages.ERROR)
    modeladmin.message_user(request, f"Revoked {done} share(s).")


@admin.register(Share)
class ShareAdmin(_ReadOnlyAdmin):
    list_display = ["id", "resource_type", "resource_id", "user", "is_active", "view_count", "last_accessed", "expires_at"]
    list_filter = ["is_active", "resource_type"]
    search_fields = ["user__username", "resource_id", "description"]
    list_select_related = ["user"]
    exclude = ["token_hash"]
    actions = [revoke_shares]


@admin.register(UserPreference)
class UserPreferenceAdmin(_ReadOnlyAdmin):
    list_display = ["user", "theme_preference", "default_country", "updated_at"]
    search_fields = ["user__username"]


@admin.register(SavedFilter)
class SavedFilterAdmin(_ReadOnlyAdmin):
    list_display = ["name", "user", "created_at"]
    search_fields = ["name", "user__username"]


@admin.register(BulkJob)
class BulkJobAdmin(admin.ModelAdmin):
    list_display = ["id", "operation", "user", "status", "total", "processed", "created_at"]
    list_filter = ["status", "operation"]
