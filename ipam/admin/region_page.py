"""The region page's actions: allocate next host, reserve, release, retire, and add a comment.

Each is a POST from the region's change view that calls the same service as the API, in the owner's
namespace (`actor` = the region's user) with the staff user as `performed_by`, so it is validated,
locked, audited with the staff user as the actor and evented exactly like an API write. A service's
refusal is shown as an admin error message with the usual text.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse

from ipam import exceptions
from ipam.admin.charts import level
from ipam.models import Host, Region
from ipam.selectors.console import region_page
from ipam.services.comments import comment_create
from ipam.services.hosts import host_allocate, host_retire
from ipam.services.regions import region_retire
from ipam.services.reservations import reservation_create

ACTIONS = ("allocate", "reserve", "release", "retire", "comment")


def _optional_int(value: str | None, field: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise exceptions.ValidationFailed(f"{field} must be a number.", details={field: ["Must be a whole number."]})
    return int(value)


def _describe(error: exceptions.ServiceError) -> str:
    details = error.details if isinstance(error.details, dict) else {}
    problems = [f"{key}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for key, v in details.items() if isinstance(v, list)]
    return " ".join([error.message, *problems])


def _allocate(request: HttpRequest, region: Region) -> str:
    host = host_allocate(
        actor=region.user,
        region_id=region.pk,
        hostname=request.POST.get("hostname", ""),
        z_octet=_optional_int(request.POST.get("z_octet"), "z_octet"),
        performed_by=request.user,
    )
    return f"Allocated {host.ip_address} to {host.hostname}."


def _reserve(request: HttpRequest, region: Region) -> str:
    reservation = reservation_create(
        actor=region.user,
        resource_type="host",
        x_octet=region.x_octet,
        y_octet=region.y_octet,
        z_octet=_optional_int(request.POST.get("z_octet"), "z_octet"),
        reason=request.POST.get("reason", ""),
        expires_in_days=_optional_int(request.POST.get("expires_in_days"), "expires_in_days"),
        performed_by=request.user,
    )
    return f"Reserved {reservation.reserved_address}."


def _release(request: HttpRequest, region: Region) -> str:
    z = _optional_int(request.POST.get("z_octet"), "z_octet")
    host = Host.objects.filter(region=region, z_octet=z).first() if z is not None else None
    if host is None:
        raise exceptions.NotFound(f"No host at 10.{region.x_octet}.{region.y_octet}.{z} in this region.", code="host_not_found")
    host_retire(actor=region.user, host_id=host.pk, reason=request.POST.get("reason", "") or "released in admin", performed_by=request.user)
    return f"Released {host.ip_address} ({host.hostname})."


def _retire(request: HttpRequest, region: Region) -> str:
    result = region_retire(
        actor=region.user,
        region_id=region.pk,
        reason=request.POST.get("reason", ""),
        cascade=request.POST.get("cascade") == "on",
        performed_by=request.user,
    )
    return f"Retired {region.cidr} ({region.region_name}) and {result['hosts_retired']} host(s)."


def _comment(request: HttpRequest, region: Region) -> str:
    # Comments are append-only (the API has no edit or delete), so the console only adds them.
    comment_create(
        actor=region.user, resource_type="region", resource_id=region.pk, text=request.POST.get("text", ""), performed_by=request.user
    )
    return f"Comment added to {region.cidr}."


_RUN = {"allocate": _allocate, "reserve": _reserve, "release": _release, "retire": _retire, "comment": _comment}


def region_action_view(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
    """POST /admin/ipam/region/<id>/act/<action>/ → back to the region page (or the list after retire)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    region = get_object_or_404(model_admin.get_queryset(request).select_related("user", "country"), pk=object_id)
    if action not in _RUN or not model_admin.has_change_permission(request, region):
        raise PermissionDenied
    page = reverse("admin:ipam_region_change", args=[region.pk])
    try:
        done = _RUN[action](request, region)
    except exceptions.ServiceError as exc:
        model_admin.message_user(request, f"{action.capitalize()} refused: {_describe(exc)}", messages.ERROR)
        return HttpResponseRedirect(page)
    model_admin.message_user(request, done, messages.SUCCESS)
    if action == "retire":
        return HttpResponseRedirect(reverse("admin:ipam_region_changelist"))
    return HttpResponseRedirect(page)


def region_change_context(region: Region) -> dict[str, Any]:
    page = region_page(region)
    return {"page": page, "level": level(page["utilization"])}
