"""Admin views of the enhancement stores (read-mostly; writes belong to the API services)."""

from django.contrib import admin

from enhancements.models import BulkJob, Reservation, SavedFilter, Share, UserPreference


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ["reserved_address", "resource_type", "user", "status", "expires_at", "created_at"]
    list_filter = ["status", "resource_type"]
    search_fields = ["user__username", "reason"]


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ["id", "resource_type", "resource_id", "user", "is_active", "view_count", "expires_at"]
    list_filter = ["is_active", "resource_type"]
    exclude = ["token_hash"]


@admin.register(UserPreference)
class UserPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "theme_preference", "default_country", "updated_at"]


@admin.register(SavedFilter)
class SavedFilterAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "created_at"]


@admin.register(BulkJob)
class BulkJobAdmin(admin.ModelAdmin):
    list_display = ["id", "operation", "user", "status", "total", "processed", "created_at"]
    list_filter = ["status", "operation"]
