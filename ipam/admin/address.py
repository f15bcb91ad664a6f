"""Django admin for operators. Every write goes through a service, so it is validated, locked, audited
(with the staff user as the actor) and evented exactly like an API write:

- countries: `country_create` / `country_update` (no overlaps, no shrinking below allocations);
- regions and hosts: a small form of the updatable fields saved with `region_update` / `host_update`
  in the owner's namespace; "retire" admin actions call `region_retire` / `host_retire`; no add, no delete;
- derived rows (allocation cursors, audit log, idempotency records) are read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from foundation.types import actor_of
from ipam import bitmaps, exceptions
from ipam.admin.dashboard import can_see_everything
from ipam.admin.lists import AddressSearchMixin, CappedPaginator, utilization_bar
from ipam.models import AllocationCursor, Comment, Country, DeviceType, ExportJob, Host, UserQuota
from ipam.services.countries import COUNTRY_FIELDS, country_clean, country_create, country_update
from ipam.services.exports import export_job_content
from ipam.services.hosts import HOST_UPDATABLE, clean_host_metadata, host_retire, host_update
from ipam.services.quota_admin import quota_limits_update
from ipam.validation import clean_hostname, clean_tags


class _ServiceRejected(Exception):
    """A service refused a save after the form validated (e.g. a name taken meanwhile)."""

    def __init__(self, error: exceptions.ServiceError):
        super().__init__(error.message)
        self.error = error


def _form_errors(form: forms.BaseForm, error: exceptions.ServiceError) -> None:
    """Put a service's ValidationFailed details on the form fields (unknown keys on the form)."""
    if not error.details:
        form.add_error(None, error.message)
    for field, problems in error.details.items():
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(field if field in form.fields else None, str(problem))


def _clean_with(form: forms.BaseForm, field: str, cleaner: Callable[[Any], Any]) -> Any:
    """Run a shared validation rule on one form field; its message becomes the field's error."""
    try:
        return cleaner(form.cleaned_data.get(field))
    except exceptions.ValidationFailed as exc:
        raise forms.ValidationError([str(m) for problems in exc.details.values() for m in problems] or [exc.message]) from None


class ConsoleAccess(admin.ModelAdmin):
    """Staff with the IPAM admin permission see (and act on, through the services) every namespace's IPAM
    rows; other staff get exactly what their Django model permissions allow."""

    def _ipam_admin(self, request: HttpRequest) -> bool:
        return can_see_everything(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._ipam_admin(request) or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._ipam_admin(request) or super().has_view_permission(request, obj)


class ServiceAdmin(ConsoleAccess):
    """A model admin whose saves call a service (`save_with_service`) instead of `obj.save()`.

    The change view runs in one transaction: a domain error from the service rolls it back and the staff
    user is sent back to the form with the error message.
    """

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._ipam_admin(request) or super().has_change_permission(request, obj)

    def save_with_service(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        try:
            self.save_with_service(request, obj, form, change)
        except exceptions.ServiceError as exc:
            raise _ServiceRejected(exc) from exc

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().changeform_view(request, *args, **kwargs)
        except _ServiceRejected as rejected:
            self.message_user(request, f"Not saved: {rejected.error.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# --- Countries ------------------------------------------------------------------------------------
class CountryForm(forms.ModelForm):
    class Meta:
        model = Country
        fields = list(COUNTRY_FIELDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            try:
                data.update(country_clean(data, country_id=self.instance.pk))
            except exceptions.ValidationFailed as exc:
                _form_errors(self, exc)
        return data


@admin.register(Country)
class CountryAdmin(ServiceAdmin):
    form = CountryForm
    list_display = ["name", "code", "code3", "continent", "x_start", "x_end", "is_reserved", "utilization"]
    list_filter = ["continent", "is_reserved"]
    search_fields = ["name", "code", "code3"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Country]:
        # One GROUP BY over the regions for the page (the regions' counters, never the hosts).
        return (
            super()
            .get_queryset(request)
            .annotate(used=Count("regions"), hosts=Sum("regions__allocated_hosts"), owners=Count("regions__user", distinct=True))
        )

    @admin.display(description="utilization (all namespaces)", ordering="used")
    def utilization(self, obj: Country) -> str:
        used, owners = getattr(obj, "used", 0), getattr(obj, "owners", 0)
        percent = round(used * 100 / (obj.total_capacity * owners), 2) if owners else 0.0
        return utilization_bar(percent, f"{used} /24 · {owners} ns")

    def save_with_service(self, request: HttpRequest, obj: Country, form: forms.ModelForm, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in COUNTRY_FIELDS}
        if change:
            saved = country_update(actor=actor_of(request), country_id=obj.pk, data=data)
        else:
            saved = country_create(actor=actor_of(request), data=data)
        obj.pk = saved.pk  # the admin's log entry and redirect use it


# --- Hosts ----------------------------------------------------------------------------------------
class HostAdminForm(forms.ModelForm):
    """The fields `host_update` accepts; everything else is read-only in the admin."""

    device_type = forms.ChoiceField(choices=[("", "—"), *DeviceType.choices], required=False)

    class Meta:
        model = Host
        fields = list(HOST_UPDATABLE)

    def clean_hostname(self) -> str:
        return str(_clean_with(self, "hostname", clean_hostname))

    def clean_tags(self) -> dict[str, str]:
        return dict(_clean_with(self, "tags", clean_tags))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        metadata = {name: data[name] for name in HOST_UPDATABLE if name in data and name not in ("hostname", "status", "tags")}
        try:
            clean_host_metadata(metadata)
        except exceptions.ValidationFailed as exc:
            _form_errors(self, exc)
        return data


@admin.action(description="Retire selected hosts (free their addresses)")
def retire_hosts(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Host]) -> None:
    done = 0
    for host in queryset.select_related("user"):
        try:
            host_retire(actor=host.user, host_id=host.pk, reason=f"retired in admin by {request.user}", performed_by=request.user)
            done += 1
        except exceptions.ServiceError as exc:
            modeladmin.message_user(request, f"{host}: {exc.message}", messages.ERROR)
    modeladmin.message_user(request, f"Retired {done} host(s).")


@admin.register(Host)
class HostAdmin(AddressSearchMixin, ServiceAdmin):
    form = HostAdminForm
    list_display = ["hostname", "ip_address", "region", "user", "status", "device_type", "created_at"]
    list_filter = ["status", "device_type"]
    search_fields = ["hostname", "user__username"]
    search_help_text = "Hostname or user; an exact address (10.153.0.2), a prefix (10.153) or CIDR (10.153.0.0/24); tag:key=value"
    list_select_related = ["region", "user"]
    show_full_result_count = False
    paginator = CappedPaginator
    list_per_page = 50
    address_field = "ip_int"
    object_history_template = "admin/ipam/object_history.html"
    fields = [*HOST_UPDATABLE, "ip_address", "region", "user", "id", "created_at", "created_by", "updated_at", "updated_by"]
    readonly_fields = ["ip_address", "region", "user", "id", "created_at", "created_by", "updated_at", "updated_by"]
    actions = [retire_hosts]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # use the "retire" action: audited and evented

    def save_with_service(self, request: HttpRequest, obj: Host, form: forms.ModelForm, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in HOST_UPDATABLE}
        if data:
            host_update(actor=obj.user, host_id=obj.pk, data=data, performed_by=request.user)


# --- Read-only and plain rows ---------------------------------------------------------------------
class ReadOnlyAdmin(ConsoleAccess):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AllocationCursor)
class AllocationCursorAdmin(ReadOnlyAdmin):
    """Derived from the regions (repair with `manage.py verify_counters --fix`)."""

    list_display = ["user", "country", "region_count", "bits_set"]
    exclude = ["bitmap"]

    @admin.display(description="bits set")
    def bits_set(self, obj: AllocationCursor) -> int:
        return bitmaps.from_bytes(obj.bitmap).bit_count()


@admin.register(UserQuota)
class UserQuotaAdmin(ServiceAdmin):
    """Limits change through `quota_limits_update` (audited in the user's history, user notified)."""

    list_display = ["user", "region_limit", "host_limit", "regions_used", "hosts_used", "updated_at"]
    fields = ["user", "region_limit", "host_limit", "regions_used", "hosts_used"]
    readonly_fields = ["regions_used", "hosts_used"]
    search_fields = ["user__username"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "user"] if obj is not None else list(self.readonly_fields)

    def save_with_service(self, request: HttpRequest, obj: UserQuota, form: forms.ModelForm, change: bool) -> None:
        data = {key: form.cleaned_data.get(key) for key in ("region_limit", "host_limit")}
        saved = quota_limits_update(actor=actor_of(request), user_id=obj.user_id, data=data)
        obj.pk = saved.pk


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["resource_type", "resource_id", "author", "created_at"]


@admin.register(ExportJob)
class ExportJobAdmin(ConsoleAccess):
    list_display = ["id", "user", "kind", "format", "status", "row_count", "created_at", "expires_at", "download"]
    exclude = ["content"]
    readonly_fields = ["user", "kind", "format", "params", "status", "row_count", "error", "completed_at", "expires_at", "download"]
    list_select_related = ["user"]

    @admin.display(description="file")
    def download(self, obj: ExportJob) -> str:
        if obj.status != "completed":
            return "—"
        return format_html('<a href="{}">download</a>', reverse("admin:ipam_exportjob_download", args=[obj.pk]))

    def download_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The job's file, through the same service as GET /ipam/export/{id}/download (expiry, readiness)."""
        job = self.get_object(request, object_id)
        if job is None or not self.has_view_permission(request, job):
            raise PermissionDenied
        try:
            job = export_job_content(user=job.user_id, job_id=job.pk)
        except exceptions.ServiceError as exc:
            self.message_user(request, f"Download refused: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:ipam_exportjob_change", args=[object_id]))
        response = HttpResponse(bytes(job.content or b""), content_type=job.content_type or "application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{job.filename or "export"}"'
        return response

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.download_view)
        return [path("<path:object_id>/download/", view, name="ipam_exportjob_download"), *super().get_urls()]
