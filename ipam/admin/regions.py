"""Regions in the operator console: the list (utilization bars, address/CIDR/tag search, filters by user,
country, status and tag), the region page (utilization, the 254-address grid, hosts, comments,
reservations, audit trail, the allocate/reserve/release/retire actions and the comment form —
ipam/admin/region_page.py),
and the address-space map (ipam/admin/maps.py), mounted under /admin/ipam/region/.

Edits go through `region_update`, retirement through `region_retire`: the staff user is the audit actor.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse

from ipam import exceptions
from ipam.admin import maps, region_page, transfer
from ipam.admin.address import ServiceAdmin, _clean_with
from ipam.admin.lists import AddressSearchMixin, CappedPaginator, TagKeyFilter, utilization_bar
from ipam.models import Region
from ipam.services.comments import COMMENT_MAX
from ipam.services.regions import REGION_UPDATABLE, region_retire, region_update
from ipam.validation import clean_region_name, clean_tags


class RegionAdminForm(forms.ModelForm):
    """The fields `region_update` accepts; everything else is read-only in the admin."""

    class Meta:
        model = Region
        fields = list(REGION_UPDATABLE)

    def clean_region_name(self) -> str:
        return str(_clean_with(self, "region_name", clean_region_name))

    def clean_tags(self) -> dict[str, str]:
        return dict(_clean_with(self, "tags", clean_tags))


@admin.action(description="Retire selected regions (cascade to their hosts)")
def retire_regions(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Region]) -> None:
    done = 0
    for region in queryset.select_related("user"):
        try:
            reason = f"retired in admin by {request.user}"
            region_retire(actor=region.user, region_id=region.pk, reason=reason, cascade=True, performed_by=request.user)
            done += 1
        except exceptions.ServiceError as exc:
            modeladmin.message_user(request, f"{region}: {exc.message}", messages.ERROR)
    modeladmin.message_user(request, f"Retired {done} region(s).")


@admin.register(Region)
class RegionAdmin(AddressSearchMixin, ServiceAdmin):
    form = RegionAdminForm
    change_form_template = "admin/ipam/region/change_form.html"
    change_list_template = "admin/ipam/region/change_list.html"
    object_history_template = "admin/ipam/object_history.html"
    list_display = ["region_name", "cidr", "country", "user", "status", "utilization", "created_at"]
    list_filter = ["status", "country", ("user", admin.RelatedOnlyFieldListFilter), TagKeyFilter]
    search_fields = ["region_name", "user__username", "owner"]
    search_help_text = "Name, user or owner; an address (10.153.0.2), prefix (10.153) or CIDR (10.153.0.0/24); tag:key=value"
    list_select_related = ["country", "user"]
    show_full_result_count = False  # no second COUNT(*) over every region on each page
    paginator = CappedPaginator
    list_per_page = 50
    fields = [*REGION_UPDATABLE, "cidr", "country", "user", "allocated_hosts", "id", "created_at", "created_by", "updated_at", "updated_by"]
    readonly_fields = ["cidr", "country", "user", "allocated_hosts", "id", "created_at", "created_by", "updated_at", "updated_by"]
    actions = [retire_regions]
    address_field = "network_int"

    @admin.display(description="utilization", ordering="allocated_hosts")
    def utilization(self, obj: Region) -> str:
        return utilization_bar(obj.utilization_percentage, f"{obj.allocated_hosts}/254")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # allocation goes through the API so it is first-fit, locked and audited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # use the "retire" action: audited and evented

    def save_with_service(self, request: HttpRequest, obj: Region, form: forms.ModelForm, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in REGION_UPDATABLE}
        if data:
            region_update(actor=obj.user, region_id=obj.pk, data=data, performed_by=request.user)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        region = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if region is not None:
            context.update(region_page.region_change_context(region))
            context["can_act"] = self.has_change_permission(request, region)
            context["comment_max"] = COMMENT_MAX
            context["audit_url"] = reverse("admin:ipam_auditlog_changelist") + f"?region_id={region.pk}"
            # one reverse each, not one per host and audit row (a region has up to 254 hosts)
            context["host_pages"] = reverse("admin:ipam_host_changelist")
            context["audit_pages"] = reverse("admin:ipam_auditlog_changelist")
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("map/", wrap(lambda request: maps.global_map_view(self, request)), name="ipam_region_map"),
            path(
                "map/<int:user_id>/<str:code>/",
                wrap(lambda request, user_id, code: maps.owner_map_view(self, request, user_id, code)),
                name="ipam_region_map_owner",
            ),
            path("transfer/", wrap(lambda request: transfer.transfer_view(self, request)), name="ipam_region_transfer"),
            path(
                "<path:object_id>/act/<str:action>/",
                wrap(lambda request, object_id, action: region_page.region_action_view(self, request, object_id, action)),
                name="ipam_region_act",
            ),
            *super().get_urls(),
        ]
