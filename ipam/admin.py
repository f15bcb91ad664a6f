"""Django admin for operators. Region and host changes go through the services so they are audited
and evented like API writes; countries are validated (no overlaps, no shrinking below allocations)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ipam import exceptions
from ipam.models import AllocationCursor, AuditLog, Comment, Country, ExportJob, Host, IdempotencyRecord, Region, UserQuota
from ipam.services import bitmaps


class CountryForm(forms.ModelForm):
    class Meta:
        model = Country
        fields = ["name", "code", "code3", "continent", "x_start", "x_end", "is_reserved"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        x_start, x_end = data.get("x_start"), data.get("x_end")
        if x_start is None or x_end is None:
            return data
        if x_start > x_end or x_end > 255:
            raise forms.ValidationError("The X range must satisfy 0 ≤ x_start ≤ x_end ≤ 255.")
        overlapping = Country.objects.filter(x_start__lte=x_end, x_end__gte=x_start).exclude(pk=self.instance.pk)
        if overlapping.exists():
            raise forms.ValidationError(f"The range overlaps {', '.join(c.name for c in overlapping)}.")
        if self.instance.pk:
            outside = Region.objects.filter(country=self.instance).exclude(x_octet__gte=x_start, x_octet__lte=x_end)
            if outside.exists():
                raise forms.ValidationError("The range cannot shrink below allocated regions (some lie outside it).")
        return data


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    form = CountryForm
    list_display = ["name", "code", "code3", "continent", "x_start", "x_end", "is_reserved"]
    list_filter = ["continent", "is_reserved"]
    search_fields = ["name", "code", "code3"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description="Retire selected regions (cascade to their hosts)")
def retire_regions(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Region]) -> None:
    from ipam.services.regions import region_retire

    done = 0
    for region in queryset.select_related("user"):
        try:
            region_retire(actor=region.user, region_id=region.pk, reason=f"retired in admin by {request.user}", cascade=True)
            done += 1
        except exceptions.IPAMError as exc:
            modeladmin.message_user(request, f"{region}: {exc.message}", messages.ERROR)
    modeladmin.message_user(request, f"Retired {done} region(s).")


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["region_name", "cidr", "country", "user", "status", "allocated_hosts", "created_at"]
    list_filter = ["status", "country"]
    search_fields = ["region_name", "user__username", "owner"]
    list_select_related = ["country", "user"]
    readonly_fields = [f.name for f in Region._meta.fields]
    actions = [retire_regions]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # allocation goes through the API so it is first-fit, locked and audited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # use the "retire" action: audited and evented


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ["hostname", "ip_address", "region", "user", "status", "device_type", "created_at"]
    list_filter = ["status", "device_type"]
    search_fields = ["hostname", "ip_address", "user__username"]
    list_select_related = ["region", "user"]
    readonly_fields = [f.name for f in Host._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AllocationCursor)
class AllocationCursorAdmin(admin.ModelAdmin):
    list_display = ["user", "country", "region_count", "bits_set"]
    readonly_fields = ["user", "country", "region_count"]
    exclude = ["bitmap"]

    @admin.display(description="bits set")
    def bits_set(self, obj: AllocationCursor) -> int:
        return bitmaps.from_bytes(obj.bitmap).bit_count()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["timestamp", "action_type", "resource_type", "resource_id", "ip_address", "cidr", "actor", "actor_type"]
    list_filter = ["action_type", "resource_type", "actor_type"]
    search_fields = ["resource_id", "ip_address", "cidr", "actor", "request_id"]
    readonly_fields = [f.name for f in AuditLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UserQuota)
class UserQuotaAdmin(admin.ModelAdmin):
    list_display = ["user", "region_limit", "host_limit", "regions_used", "hosts_used", "updated_at"]
    readonly_fields = ["regions_used", "hosts_used"]
    search_fields = ["user__username"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["resource_type", "resource_id", "author", "created_at"]
    readonly_fields = [f.name for f in Comment._meta.fields]


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "kind", "format", "status", "row_count", "created_at", "expires_at"]
    exclude = ["content"]
    readonly_fields = ["user", "kind", "format", "params", "status", "row_count", "error", "completed_at", "expires_at"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["user", "key", "method_path", "status_code", "created_at"]
