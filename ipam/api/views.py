"""Core endpoints: countries, regions, hosts, interpretation, own quotas.

Views parse and shape; each write calls exactly one service.
"""

from __future__ import annotations

import functools
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.conditional import ConditionalMixin
from foundation.dbrouter import ReplicaReadsMixin
from foundation.http import valid_body, valid_patch, valid_query
from foundation.idempotency import idempotent
from foundation.pagination import CURSOR_PARAM
from foundation.permissions import IPAMPermission, owned
from foundation.routers import UUID_PATTERN
from foundation.rows import NOT_FILTERS, current_timezone
from foundation.types import actor_of
from ipam import cache as ipam_cache
from ipam.api import serializers as s
from ipam.api.detail import LightRetrieveMixin
from ipam.api.list_rows import HOST_VALUES, REGION_VALUES, host_row, region_row
from ipam.exceptions import NotFound
from ipam.models import Country, Host, Region, ip_to_int
from ipam.selectors import utilization
from ipam.selectors.countries import country_get
from ipam.selectors.filters import HostFilter, RegionFilter
from ipam.selectors.host_pages import host_list_unfiltered
from ipam.selectors.region_pages import region_list_unfiltered
from ipam.services import hosts as host_services
from ipam.services import regions as region_services
from ipam.validation import parse_private_ip


@extend_schema_view(
    list=extend_schema(summary="List countries with the caller's utilization", tags=["countries"]),
    retrieve=extend_schema(summary="One country by name, ISO alpha-2 or alpha-3", tags=["countries"]),
)
class CountryViewSet(ConditionalMixin, ReplicaReadsMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.CountrySerializer
    permission_classes = [IPAMPermission]
    pagination_class = None
    lookup_field = "country"
    lookup_value_regex = r"[^/]+"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Country]:
        queryset = Country.objects.all()
        continent = valid_query(s.CountryListQuerySerializer, self.request).get("continent")
        if continent:
            queryset = queryset.filter(continent__iexact=continent)
        return queryset

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["allocated_by_country"] = utilization.allocated_regions_by_country(self.request.user)
        return context

    def get_object(self) -> Country:
        return country_get(self.kwargs["country"])

    @extend_schema(
        parameters=[s.CountryListQuerySerializer],
        summary="List countries with the caller's utilization",
        tags=["countries"],
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=s.CountryUtilizationSerializer, summary="Country utilization with x_breakdown", tags=["countries"])
    @action(detail=True, methods=["get"])
    def utilization(self, request: Request, country: str) -> Response:
        return Response(utilization.country_utilization(request.user, self.get_object()))


@extend_schema_view(
    list=extend_schema(summary="List the caller's regions", tags=["regions"]),
    retrieve=extend_schema(summary="Region detail", tags=["regions"]),
)
class RegionViewSet(
    ConditionalMixin,
    ReplicaReadsMixin,
    LightRetrieveMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.RegionSerializer
    permission_classes = [IPAMPermission]
    filterset_class = RegionFilter
    ordering_fields = ["created_at", "updated_at", "region_name", "x_octet", "y_octet", "allocated_hosts", "status"]
    ordering = ["x_octet", "y_octet"]
    cursor_ordering = ("x_octet", "y_octet")  # unique per user: index region_unique_user_xy
    lookup_url_kwarg = "region_id"
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    ipam_permissions = {
        "list": "read",
        "retrieve": "read",
        "preview_next": "read",
        "utilization": "read",
        "create": "allocate",
        "partial_update": "update",
        "destroy": "release",
    }

    def get_queryset(self) -> QuerySet[Region]:
        return owned(self, Region.objects.select_related("country"))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if CURSOR_PARAM in request.query_params:  # keyset pages read their position from model instances
            return super().list(request, *args, **kwargs)
        # Plain rows and a plain function instead of 50 model instances through RegionSerializer: the same JSON.
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()).values(*REGION_VALUES))
        tz = current_timezone()
        return self.get_paginated_response([region_row(row, tz) for row in page or []])

    def paginate_queryset(self, queryset: Any) -> Any:
        # All of the caller's regions in the default order: the count and the page in one statement, the page
        # read from the unique (user, x_octet, y_octet) index from the k-th key on (ipam/selectors/region_pages.py).
        if self.action == "list" and set(self.request.query_params) <= NOT_FILTERS:
            queryset = region_list_unfiltered(queryset, self.request.user)
        return super().paginate_queryset(queryset)

    def precondition_lock(self) -> None:
        region_services.region_lock_for_write(actor=actor_of(self.request), region_id=self.kwargs["region_id"])

    @extend_schema(request=s.RegionCreateSerializer, responses={201: s.RegionSerializer}, summary="Allocate a region", tags=["regions"])
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_body(s.RegionCreateSerializer, request)
        region = region_services.region_allocate(actor=actor_of(request), **data)
        return Response(s.represent(s.RegionSerializer, region), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.RegionUpdateSerializer, responses=s.RegionSerializer, summary="Update a region", tags=["regions"])
    def partial_update(self, request: Request, region_id: str) -> Response:
        data = valid_patch(s.RegionUpdateSerializer, request)
        region = region_services.region_update(actor=actor_of(request), region_id=region_id, data=data)
        return Response(s.represent(s.RegionSerializer, region))

    @extend_schema(
        parameters=[s.RegionRetireQuerySerializer],
        responses=s.RegionRetireResultSerializer,
        summary="Retire a region (hard delete, audit snapshot kept)",
        tags=["regions"],
    )
    def destroy(self, request: Request, region_id: str) -> Response:
        query = valid_query(s.RegionRetireQuerySerializer, request)
        result = region_services.region_retire(
            actor=actor_of(request),
            region_id=region_id,
            reason=query["reason"],
            cascade=query["cascade"],
        )
        return Response(result)

    @extend_schema(
        parameters=[s.RegionPreviewQuerySerializer],
        responses=s.RegionPreviewSerializer,
        summary="The region the next allocation would get",
        tags=["regions"],
    )
    @action(detail=False, methods=["get"], url_path="preview-next")
    def preview_next(self, request: Request) -> Response:
        query = valid_query(s.RegionPreviewQuerySerializer, request)
        return Response(utilization.region_preview_next(request.user, country_get(query["country"])))

    @extend_schema(responses=s.UtilizationSerializer, summary="Region utilization", tags=["regions"])
    @action(detail=True, methods=["get"])
    def utilization(self, request: Request, region_id: str) -> Response:
        return Response(utilization.region_utilization(self.get_object()))


@functools.cache
def _host_rows() -> QuerySet[Host]:
    """Every host as the list's `.values()` rows, built once: resolving the rows' 25 columns through the region and
    country joins costs about 0.6 ms per request; filtering a clone of this costs a fifth of that. Never evaluated
    itself (each request filters a clone), and without a database alias of its own (the router picks it per request)."""
    return Host.objects.values(*HOST_VALUES)  # type: ignore[return-value]


@extend_schema_view(
    list=extend_schema(summary="List the caller's hosts", tags=["hosts"]),
    retrieve=extend_schema(summary="Host detail", tags=["hosts"]),
)
class HostViewSet(
    ConditionalMixin,
    ReplicaReadsMixin,
    LightRetrieveMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.HostSerializer
    permission_classes = [IPAMPermission]
    filterset_class = HostFilter
    ordering_fields = ["created_at", "updated_at", "hostname", "ip_int", "status"]
    ordering = ["ip_int"]
    cursor_ordering = ("ip_int",)  # unique per user: index host_unique_user_ip
    lookup_url_kwarg = "host_id"
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    throttle_scopes = {"create": "host_create", "batch": "host_create"}
    etag_read_actions = frozenset({"retrieve", "by_ip"})
    ipam_permissions = {
        "list": "read",
        "retrieve": "read",
        "preview_next": "read",
        "by_ip": "read",
        "create": "allocate",
        "batch": "allocate",
        "partial_update": "update",
        "destroy": "release",
    }

    def get_queryset(self) -> QuerySet[Host]:
        return owned(self, Host.objects.select_related("region__country"))

    def precondition_lock(self) -> None:
        host_services.host_lock_for_write(actor=actor_of(self.request), host_id=self.kwargs["host_id"])

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if CURSOR_PARAM in request.query_params:  # keyset pages read their position from model instances
            return super().list(request, *args, **kwargs)
        # Plain rows and a plain function instead of 50 model instances through HostSerializer: the same JSON.
        if set(request.query_params) <= NOT_FILTERS:  # all of the caller's hosts: the rows' template, owned
            rows = self.filter_queryset(owned(self, _host_rows()))
        else:
            rows = self.filter_queryset(self.get_queryset()).values(*HOST_VALUES)
        page = self.paginate_queryset(rows)
        tz = current_timezone()
        return self.get_paginated_response([host_row(row, tz) for row in page])

    def paginate_queryset(self, queryset: Any) -> Any:
        # All of the caller's hosts: the total is the sum of the regions' counters (kept by allocation in the
        # same transactions as the rows) — a GROUP BY over ~4,000 regions instead of COUNT(*) over a million hosts.
        # In address order the same counters locate any page without OFFSET (ipam/selectors/host_pages.py).
        # (A `cursor` request is keyset-paged, without a total: `cursor` is not in NOT_FILTERS.)
        if self.action == "list" and set(self.request.query_params) <= NOT_FILTERS:
            queryset = host_list_unfiltered(queryset, self.request.user)
        return super().paginate_queryset(queryset)

    @extend_schema(request=s.HostCreateSerializer, responses={201: s.HostSerializer}, summary="Allocate a host", tags=["hosts"])
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_body(s.HostCreateSerializer, request)
        host = host_services.host_allocate(actor=actor_of(request), **data)
        return Response(s.represent(s.HostSerializer, _with_country(host)), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.HostBatchSerializer,
        responses={201: s.HostBatchResultSerializer},
        summary="Allocate up to 100 hosts at once (all or nothing)",
        tags=["hosts"],
    )
    @action(detail=False, methods=["post"])
    @idempotent
    def batch(self, request: Request) -> Response:
        data = valid_body(s.HostBatchSerializer, request)
        hosts = host_services.hosts_allocate_batch(actor=actor_of(request), **data)
        # The rows as inserted (in address order, tags as stored): what reading them back would answer, without the read.
        rows = [s.represent(s.HostSerializer, _with_country(host)) for host in hosts]
        body = {"region_id": str(data["region_id"]), "count": len(hosts), "hosts": rows}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.HostUpdateSerializer, responses=s.HostSerializer, summary="Update a host", tags=["hosts"])
    def partial_update(self, request: Request, host_id: str) -> Response:
        data = valid_patch(s.HostUpdateSerializer, request)
        host = host_services.host_update(actor=actor_of(request), host_id=host_id, data=data)
        return Response(s.represent(s.HostSerializer, _reload_host(host)))

    @extend_schema(
        parameters=[s.HostRetireQuerySerializer],
        responses=s.HostRetireResultSerializer,
        summary="Retire a host (hard delete, address freed at once)",
        tags=["hosts"],
    )
    def destroy(self, request: Request, host_id: str) -> Response:
        query = valid_query(s.HostRetireQuerySerializer, request)
        return Response(host_services.host_retire(actor=actor_of(request), host_id=host_id, reason=query["reason"]))

    @extend_schema(
        parameters=[OpenApiParameter("region_id", str, required=True)],
        responses=s.HostPreviewSerializer,
        summary="The address the next host in a region would get",
        tags=["hosts"],
    )
    @action(detail=False, methods=["get"], url_path="preview-next")
    def preview_next(self, request: Request) -> Response:
        query = valid_query(_RegionIdQuery, request)
        return Response(utilization.host_preview_next(request.user, query["region_id"]))

    def _host_row(self, **lookup: Any) -> dict[str, Any] | None:
        """One of the caller's hosts as `HostSerializer` renders it, from a `.values()` row: the columns the body
        shows (not every column of host, region and country) and no Host, Region and Country instances to build.
        One row by a unique key: no ORDER BY."""
        row = next(iter(self.get_queryset().filter(**lookup).order_by().values(*HOST_VALUES)[:1]), None)
        return None if row is None else host_row(row)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.query_params:  # filter parameters apply to the detail: DRF's get_object (LightRetrieveMixin)
            return super().retrieve(request, *args, **kwargs)
        # IPAMPermission has no object-level rule: the ownership check is `get_queryset` (`owned`), as in the list.
        try:
            body = self._host_row(pk=self.kwargs[self.lookup_url_kwarg])
        except (TypeError, ValueError, DjangoValidationError):  # as django's get_object_or_404 under DRF
            body = None
        if body is None:
            raise Http404
        return Response(body)

    @extend_schema(responses=s.HostSerializer, summary="The caller's host at an address", tags=["hosts"])
    @action(detail=False, methods=["get"], url_path=r"by-ip/(?P<ip_address>[^/]+)")
    def by_ip(self, request: Request, ip_address: str) -> Response:
        x, y, z = parse_private_ip(ip_address)
        # (user_id, ip_int) is a unique index: one index probe, where filtering on the three octets scanned the user's hosts
        body = self._host_row(ip_int=ip_to_int(x, y, z))
        if body is None:
            raise NotFound(f"You have no host at {ip_address}.", code="host_not_found")
        return Response(body)


class _RegionIdQuery(s.serializers.Serializer):
    region_id = s.serializers.UUIDField()


class InterpretView(APIView):
    permission_classes = [IPAMPermission]

    @extend_schema(
        request=s.InterpretRequestSerializer,
        responses=s.InterpretResultSerializer,
        summary="Where an address sits in the hierarchy",
        tags=["interpret"],
    )
    def post(self, request: Request) -> Response:
        data = valid_body(s.InterpretRequestSerializer, request)
        x, y, z = parse_private_ip(data["ip_address"])
        return Response(utilization.interpret(request.user, x, y, z))


class QuotaMeView(APIView):
    permission_classes = [IPAMPermission]

    @extend_schema(responses=s.QuotaSerializer, summary="The caller's quotas and usage", tags=["quotas"])
    def get(self, request: Request) -> Response:
        return Response(utilization.quota_usage(request.user))


def _reload_host(host: Host) -> Host:
    return Host.objects.select_related("region__country").get(pk=host.pk)


def _with_country(host: Host) -> Host:
    """A host just created by a service (its region row is attached, with the country `lock_region` joined;
    otherwise the country comes from the country cache): the response needs no extra query."""
    if Region.country.is_cached(host.region):  # joined by the service's region lock
        return host
    country = next((c for c in ipam_cache.countries() if c.pk == host.region.country_id), None)
    if country is None:
        return _reload_host(host)
    host.region.country = country
    return host
