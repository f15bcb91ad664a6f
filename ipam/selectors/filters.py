"""List filters for regions and hosts (django-filter), shared by the list endpoints and search."""

from __future__ import annotations

import math
from typing import Any

import django_filters
from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from rest_framework.exceptions import ValidationError

from ipam.models import DeviceType, Host, HostStatus, Region, RegionStatus
from ipam.validation import TAG_KEY_RE, parse_private_ip


def parse_tag_filters(values: list[str], field: str = "tag") -> list[tuple[str, str]]:
    pairs = []
    for raw in values:
        key, sep, value = raw.partition(":")
        if not sep or not TAG_KEY_RE.match(key) or "\x00" in value:
            raise ValidationError({field: [f"{raw!r} is not key:value with a valid tag key."]})
        pairs.append((key, value))
    return pairs


def filter_by_tags(queryset: QuerySet[Any], pairs: list[tuple[str, str]], *, logic: str = "and") -> QuerySet[Any]:
    """Tag filters compare the JSON value as text; keys never go through lookup parsing (no `__` surprises)."""
    if not pairs:
        return queryset
    conditions = []
    for index, (key, value) in enumerate(pairs):
        alias = f"_tag_{index}"
        queryset = queryset.alias(**{alias: Cast(KeyTextTransform(key, "tags"), TextField())})
        conditions.append(Q(**{alias: value}))
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = (combined | condition) if logic == "or" else (combined & condition)
    return queryset.filter(combined)


def country_q(value: str, prefix: str = "country") -> Q:
    return Q(**{f"{prefix}__name__iexact": value}) | Q(**{f"{prefix}__code__iexact": value}) | Q(**{f"{prefix}__code3__iexact": value})


class TagFilterMixin(django_filters.FilterSet):
    tag = django_filters.CharFilter(method="filter_tag", help_text="key:value; repeat for AND")

    def filter_tag(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return filter_by_tags(queryset, parse_tag_filters(self.request.query_params.getlist("tag")) if self.request else [])


class RegionFilter(TagFilterMixin):
    country = django_filters.CharFilter(method="filter_country", help_text="name, ISO alpha-2 or alpha-3")
    continent = django_filters.CharFilter(field_name="country__continent", lookup_expr="iexact")
    status = django_filters.ChoiceFilter(choices=RegionStatus.choices)
    owner = django_filters.CharFilter(field_name="owner", lookup_expr="iexact")
    name = django_filters.CharFilter(field_name="region_name", lookup_expr="icontains")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    utilization_gte = django_filters.NumberFilter(method="filter_utilization_gte", min_value=0, max_value=100, help_text="percent 0-100")
    utilization_lte = django_filters.NumberFilter(method="filter_utilization_lte", min_value=0, max_value=100, help_text="percent 0-100")
    legacy_id = django_filters.CharFilter(field_name="legacy_id", help_text="ObjectId in the original system")

    class Meta:
        model = Region
        fields = ["country", "continent", "status", "owner", "name"]

    def filter_country(self, queryset: QuerySet[Region], name: str, value: str) -> QuerySet[Region]:
        return queryset.filter(country_q(value))

    def filter_utilization_gte(self, queryset: QuerySet[Region], name: str, value: Any) -> QuerySet[Region]:
        return queryset.filter(allocated_hosts__gte=math.ceil(float(value) * 254 / 100 - 1e-9))

    def filter_utilization_lte(self, queryset: QuerySet[Region], name: str, value: Any) -> QuerySet[Region]:
        return queryset.filter(allocated_hosts__lte=math.floor(float(value) * 254 / 100 + 1e-9))


class HostFilter(TagFilterMixin):
    region_id = django_filters.UUIDFilter(field_name="region_id")
    country = django_filters.CharFilter(method="filter_country")
    status = django_filters.ChoiceFilter(choices=HostStatus.choices)
    hostname = django_filters.CharFilter(field_name="hostname", lookup_expr="icontains")
    device_type = django_filters.ChoiceFilter(choices=DeviceType.choices)
    owner = django_filters.CharFilter(field_name="region__owner", lookup_expr="iexact")
    ip_address = django_filters.CharFilter(method="filter_ip")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    legacy_id = django_filters.CharFilter(field_name="legacy_id", help_text="ObjectId in the original system")

    class Meta:
        model = Host
        fields = ["region_id", "status", "device_type"]

    def filter_country(self, queryset: QuerySet[Host], name: str, value: str) -> QuerySet[Host]:
        return queryset.filter(country_q(value, "region__country"))

    def filter_ip(self, queryset: QuerySet[Host], name: str, value: str) -> QuerySet[Host]:
        x, y, z = parse_private_ip(value)
        return queryset.filter(x_octet=x, y_octet=y, z_octet=z)
