"""`GET /ipam/search`: the caller's regions and hosts together, filtered, ordered and paginated."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from foundation.dbrouter import ReplicaReadsMixin
from foundation.pagination import StandardPagination
from foundation.permissions import IPAMPermission
from ipam.api.serializers import HostSerializer, RegionSerializer, represent
from ipam.models import Region
from ipam.selectors.search import ORDERING_COLUMNS, STATUSES, search_load, search_params_clean, search_rows


class SearchRegionResultSerializer(RegionSerializer):
    resource_type = serializers.ChoiceField(choices=["region"], read_only=True)

    class Meta(RegionSerializer.Meta):
        fields = ["resource_type", *RegionSerializer.Meta.fields]
        read_only_fields = fields


class SearchHostResultSerializer(HostSerializer):
    resource_type = serializers.ChoiceField(choices=["host"], read_only=True)

    class Meta(HostSerializer.Meta):
        fields = ["resource_type", *HostSerializer.Meta.fields]
        read_only_fields = fields


SEARCH_RESULT = PolymorphicProxySerializer(
    component_name="SearchResult",
    serializers={"region": SearchRegionResultSerializer, "host": SearchHostResultSerializer},
    resource_type_field_name="resource_type",
    many=True,
)

_P = OpenApiParameter
SEARCH_PARAMETERS = [
    _P(
        "q",
        str,
        description="free text over region names/descriptions, hostnames, application, purpose, notes; "
        "an address prefix or CIDR also matches by address",
    ),
    _P("resource_type", str, enum=["region", "host"], description="only regions or only hosts"),
    _P("ip_address", str, description="whole-octet prefix: 10.5 = 10.5.*.*, 10.5.3.7 = one address"),
    _P("cidr", str, description="containment, e.g. 10.5.0.0/16 (regions overlapping it, hosts inside it)"),
    _P("ip_range", str, description="first-last, e.g. 10.0.0.1-10.0.3.254 (inclusive)"),
    _P("country", str, description="name, ISO alpha-2 or alpha-3"),
    _P("continent", str),
    _P("status", str, enum=STATUSES, description="region or host status"),
    _P("owner", str, description="the region's owner label (exact, any case)"),
    _P("hostname", str, description="contains (hosts only)"),
    _P("region_name", str, description="contains (regions, and hosts by their region)"),
    _P("device_type", str, description="hosts only"),
    _P("tag", str, many=True, description="key:value, repeatable"),
    _P("tags", str, description="key:value,key2:value2"),
    _P("tag_logic", str, enum=["and", "or"], description="how tag filters combine (default and)"),
    _P("created_after", str, description="ISO 8601 date or datetime"),
    _P("created_before", str, description="ISO 8601 date or datetime (a date includes the whole day)"),
    _P("ordering", str, description=f"comma-separated of {', '.join(ORDERING_COLUMNS)}; prefix - for descending (default address)"),
]


class SearchView(ReplicaReadsMixin, generics.ListAPIView):
    permission_classes = [IPAMPermission]
    pagination_class = StandardPagination
    filter_backends: list[Any] = []
    serializer_class = SearchRegionResultSerializer  # the schema uses SEARCH_RESULT
    queryset = Region.objects.none()

    @extend_schema(parameters=SEARCH_PARAMETERS, responses=SEARCH_RESULT, summary="Search regions and hosts", tags=["search"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = search_params_clean(request.query_params, request.query_params.getlist("tag"))
        rows = search_rows(request.user, params)
        paginator = self.paginator
        assert paginator is not None
        page = paginator.paginate_queryset(rows, request, view=self)
        # One serializer per kind for the whole page: building a serializer (its fields) per row cost ~2 ms a
        # row, 100+ ms for a page of 50 (docs/performance.md).
        classes = {"region": RegionSerializer, "host": HostSerializer}
        items = [{"resource_type": kind, **represent(classes[kind], obj)} for kind, obj in search_load(list(page or []))]
        return paginator.get_paginated_response(items)
