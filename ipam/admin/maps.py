"""The address-space map: countries by utilization (global), and for one namespace and country the grid of
its /24s — one row per X, 256 cells per row — coloured by host utilization, reserved /24s marked; hovering a
cell gives its CIDR, name and numbers, clicking it opens the region page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ipam import cache
from ipam.admin.charts import heat, level
from ipam.models import HOSTS_PER_REGION, AllocationCursor
from ipam.selectors import console

NAMESPACES_SHOWN = 500


def _context(model_admin: admin.ModelAdmin, request: HttpRequest, title: str) -> dict[str, Any]:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    return {**model_admin.admin_site.each_context(request), "title": title, "opts": model_admin.model._meta}


def global_map_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Every country by utilization, with the namespaces that use it (fullest first) linking to their grids."""
    context = _context(model_admin, request, "Address-space map")
    overview = console.space_overview()
    used = {row["country"].pk: row for row in overview["countries"]}
    cursors = AllocationCursor.objects.select_related("user").filter(region_count__gt=0).order_by("-region_count")[:NAMESPACES_SHOWN]
    by_country: dict[int, list[AllocationCursor]] = {}
    for cursor in cursors:
        by_country.setdefault(cursor.country_id, []).append(cursor)
    rows: list[dict[str, Any]] = []
    for country in cache.countries():
        row = used.get(country.pk)
        percent = row["space_utilization"] if row else 0.0
        rows.append(
            {
                "country": country,
                "regions": row["regions"] if row else 0,
                "hosts": row["hosts"] if row else 0,
                "percent": percent,
                "level": level(percent),
                "namespaces": by_country.get(country.pk, [])[:6],
            }
        )
    rows.sort(key=lambda r: (-r["percent"], -r["regions"], r["country"].x_start))
    return TemplateResponse(request, "admin/ipam/map_global.html", {**context, "rows": rows})


def _cells(x: int, slots: dict[str, Any], change: str) -> SafeString:
    """The 256 cells of row X as HTML, built here rather than in a template loop: a country has up to 20 × 256
    cells, and the template engine would spend most of the page's time on them. Every value is escaped."""
    parts = []
    for y in range(256):
        cidr = f"10.{x}.{y}.0/24"
        region = slots["regions"].get((x, y))
        if region is not None:
            hosts = region["allocated_hosts"]
            percent = round(hosts * 100 / HOSTS_PER_REGION, 1)
            title = f"{cidr} {region['region_name']}: {hosts}/{HOSTS_PER_REGION} hosts ({percent} %), {region['status']}"
            parts.append(
                f'<a class="cell {heat(percent)}" href="{change}{region["id"]}/change/" title="{escape(title)}" data-xy="{x}.{y}"></a>'
            )
        elif (x, y) in slots["reserved"]:
            parts.append(f'<span class="mres" title="{cidr} reserved" data-xy="{x}.{y}"></span>')
        else:
            parts.append(f'<span class="mfree" title="{cidr} free" data-xy="{x}.{y}"></span>')
    return mark_safe("".join(parts))  # noqa: S308 — built from integers, choices and escaped names only


def owner_map_view(model_admin: admin.ModelAdmin, request: HttpRequest, user_id: int, code: str) -> HttpResponse:
    """One namespace's /24s in one country: X rows × 256 Y cells."""
    context = _context(model_admin, request, "Address-space map")
    country = cache.country_find(code)
    owner = get_user_model().objects.filter(pk=user_id).first()
    if country is None or owner is None:
        raise Http404("No such country or user.")
    slots = console.owner_country_slots(owner, country)
    change = reverse("admin:ipam_region_changelist")  # + "<id>/change/": one reverse, not 65,536
    rows = [{"x": x, "cells": _cells(x, slots, change)} for x in range(country.x_start, country.x_end + 1)]
    count = len(slots["regions"])
    percent = round(count * 100 / country.total_capacity, 2)
    context.update(
        {
            "title": f"{country.name}: {owner.get_username()}'s /24s",
            "country": country,
            "owner": owner,
            "rows": rows,
            "regions": count,
            "reserved": len(slots["reserved"]),
            "percent": percent,
            "level": level(percent),
            "namespaces": console.namespaces_in_country(country),
        }
    )
    return TemplateResponse(request, "admin/ipam/map_owner.html", context)
