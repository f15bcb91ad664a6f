"""Admin views of the enhancement stores: reservations, shares, preferences, saved filters, bulk jobs
(read-mostly). Writes go through the services, as actions, so they keep their locks and audit rows; nothing
here edits a reservation or share row directly."""

from __future__ import annotations

from collections.abc import Callable
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


def _act_on_each(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any], act: Callable[[Any], None], done_message: str
) -> None:
    """Run `act` (a service call in the owner's namespace, with the staff user as the audit actor) on each
    selected object; a refusal is reported for that object and the others go on."""
    done = 0
    for obj in queryset.select_related("user"):
        try:
            act(obj)
            done += 1
        except exceptions.ServiceError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    modeladmin.message_user(request, done_message.format(done))


@admin.action(description="Delete selected reservations (frees their addresses; audited)")
def delete_reservations(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
    def delete(reservation: Reservation) -> None:
        reservation_delete(actor=reservation.user, reservation_id=reservation.pk, performed_by=request.user)

    _act_on_each(modeladmin, request, queryset, delete, "Deleted {} reservation(s).")


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
    def revoke(share: Share) -> None:
        share_revoke(actor=share.user, share_id=share.pk, performed_by=request.user)

    _act_on_each(modeladmin, request, queryset, revoke, "Revoked {} share(s).")


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
