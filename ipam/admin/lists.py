"""List-page pieces that fit IP work: utilization bars, address search (exact IP, prefix, CIDR), tag search.

`10.153.0.2` finds that host only (and the region holding it); `10.153.0.0/24` and `10.153` find the
regions inside; `tag:env=prod` (or `tag:env`) matches a tag; anything else is the usual text search.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html

from ipam.admin.charts import level
from ipam.selectors.console import address_range

TAG_TERM = re.compile(r"^tag:([A-Za-z0-9_.-]{1,64})(?:=(.{0,200}))?$")


def utilization_bar(percent: float, label: str = "") -> str:
    return format_html(
        '<span class="ubar {}" title="{} %"><span style="width:{}%"></span></span> {}',
        level(percent),
        percent,
        min(100, round(percent)),
        label or f"{percent} %",
    )


def tag_q(term: str) -> Q | None:
    match = TAG_TERM.match(term.strip())
    if match is None:
        return None
    key, value = match.group(1), match.group(2)
    return Q(**{f"tags__{key}": value}) if value is not None else Q(tags__has_key=key)


class AddressSearchMixin:
    """For admins of models with `network_int` (regions) or `ip_int` (hosts)."""

    address_field = "network_int"

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        found = address_range(term)
        if found is not None:
            if self.address_field == "ip_int":
                return queryset.filter(found.host_q()), False
            return queryset.filter(found.region_q()), False
        tags = tag_q(term)
        if tags is not None:
            return queryset.filter(tags), False
        return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]


class TagKeyFilter(admin.SimpleListFilter):
    """Filter by a tag key, among the keys of the latest 500 rows (a bounded read, whatever the data size)."""

    title = "tag"
    parameter_name = "tag"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        keys: set[str] = set()
        for tags in model_admin.model.objects.order_by("-created_at").values_list("tags", flat=True)[:500]:
            if isinstance(tags, dict):
                keys.update(tags)
        return [(key, key) for key in sorted(keys)[:50]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(tags__has_key=value) if value else queryset


class CappedPaginator(Paginator):
    """Counts at most CAP rows (`SELECT COUNT(*) FROM (… LIMIT CAP+1)`), so a list over a million rows does not
    scan them all for its page links; beyond the cap the last page is CAP/per_page."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return int(self.object_list[: self.CAP + 1].count())  # type: ignore[attr-defined]


def recent_values_filter(field: str, title: str, *, order: str = "-timestamp", rows: int = 2000) -> type[admin.SimpleListFilter]:
    """A list filter on `field` whose choices are the values of the latest `rows` rows (one bounded,
    index-ordered read) instead of Django's SELECT DISTINCT over the whole table."""

    class RecentValues(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
            latest = model_admin.model.objects.order_by(order).values_list(field, flat=True)[:rows]
            return [(str(value), str(value)) for value in sorted({v for v in latest if v not in (None, "")}, key=str)]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    RecentValues.title = title
    return RecentValues
