"""Reservations over HTTP: create, list, detail, convert, delete (contract §5.1). Rules live in
`ipam.services.reservations`; this module parses and shapes."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from foundation.conditional import ConditionalMixin
from foundation.idempotency import idempotent
from foundation.newest_pages import NEWEST_FIRST, newest_first_page
from foundation.pagination import CURSOR_PARAM, cursor_ordering_of
from foundation.permissions import IPAMPermission, owned
from foundation.routers import UUID_PATTERN
from foundation.rows import current_timezone
from foundation.types import actor_of
from ipam.api import serializers as core
from ipam.api.detail import LightRetrieveMixin
from ipam.api.reservation_rows import RESERVATION_VALUES, reservation_row
from ipam.models import Host, Region, Reservation, ReservationStatus
from ipam.selectors.filters import country_q
from ipam.services import reservations as reservation_services
from ipam.services.reservation_conversion import reservation_convert


# --- Serializers ------------------------------------------------------------------------------------
class ReservationSerializer(serializers.ModelSerializer):
    reservation_id = serializers.UUIDField(source="id", read_only=True)
    country = serializers.CharField(source="country.name", read_only=True)
    continent = serializers.CharField(source="country.continent", read_only=True)
    z_octet = serializers.IntegerField(allow_null=True, read_only=True, help_text="host reservations only")
    reserved_address = serializers.CharField(read_only=True, help_text="10.X.Y.0/24 for a region, 10.X.Y.Z for a host")
    status = serializers.ChoiceField(
        choices=ReservationStatus.choices,
        source="current_status",
        read_only=True,
        help_text="`expired` as soon as `expires_at` has passed, even before the hourly job runs",
    )
    expires_at = serializers.DateTimeField(allow_null=True, read_only=True, help_text="null = no expiry")
    converted_resource_id = serializers.UUIDField(allow_null=True, read_only=True, help_text="the region or host it became")

    class Meta:
        model = Reservation
        fields = [
            "reservation_id",
            "resource_type",
            "country",
            "continent",
            "x_octet",
            "y_octet",
            "z_octet",
            "reserved_address",
            "reason",
            "status",
            "expires_at",
            "converted_resource_id",
            "created_by",
            "created_at",
            "updated_at",
            "legacy_id",
        ]
        read_only_fields = fields


class ReservationCreateSerializer(serializers.Serializer):
    resource_type = serializers.ChoiceField(choices=Reservation.ResourceType.choices)
    x_octet = serializers.IntegerField(min_value=0, max_value=255)
    y_octet = serializers.IntegerField(min_value=0, max_value=255)
    z_octet = serializers.IntegerField(min_value=1, max_value=254, required=False, allow_null=True, help_text="host only, 1-254")
    reason = serializers.CharField(max_length=500, help_text="1-500 characters")
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=90, required=False, allow_null=True, help_text="1-90; absent or null = no expiry"
    )


class ReservationConvertSerializer(core.HostMetadataSerializer):
    """Region reservations: `region_name` (+ `description`, `tags`, `owner`). Host reservations: `hostname`
    (+ host metadata and `tags`)."""

    region_name = serializers.CharField(required=False, max_length=200, help_text="region reservations")
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000, help_text="region reservations")
    owner = serializers.CharField(required=False, allow_blank=True, max_length=150, help_text="region reservations")
    hostname = serializers.CharField(required=False, max_length=253, help_text="host reservations")


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="ConvertedAllocation",
        serializers=[core.RegionSerializer, core.HostSerializer],
        resource_type_field_name=None,
    )
)
class ConvertedAllocationField(serializers.JSONField):
    pass


class ReservationConvertResultSerializer(serializers.Serializer):
    reservation_id = serializers.UUIDField()
    resource_type = serializers.ChoiceField(choices=Reservation.ResourceType.choices)
    resource_id = serializers.UUIDField(help_text="region_id or host_id")
    allocation = ConvertedAllocationField(help_text="the region or host, as GET /ipam/regions/{id} or /ipam/hosts/{id} shows it")


# --- Filters ----------------------------------------------------------------------------------------
class ReservationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReservationStatus.choices, method="filter_status", help_text="status as of now")
    resource_type = django_filters.ChoiceFilter(choices=Reservation.ResourceType.choices)
    country = django_filters.CharFilter(method="filter_country", help_text="name, ISO alpha-2 or alpha-3")
    legacy_id = django_filters.CharFilter(field_name="legacy_id", help_text="ObjectId in the original system")

    class Meta:
        model = Reservation
        fields = ["status", "resource_type", "country", "legacy_id"]

    def filter_status(self, queryset: QuerySet[Reservation], name: str, value: str) -> QuerySet[Reservation]:
        now = timezone.now()
        not_yet_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        if value == ReservationStatus.ACTIVE:
            return queryset.filter(Q(status=value) & not_yet_expired)
        if value == ReservationStatus.EXPIRED:
            return queryset.filter(Q(status=value) | (Q(status=ReservationStatus.ACTIVE) & ~not_yet_expired))
        return queryset.filter(status=value)

    def filter_country(self, queryset: QuerySet[Reservation], name: str, value: str) -> QuerySet[Reservation]:
        return queryset.filter(country_q(value))


# --- Views ------------------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="List the caller's reservations", tags=["reservations"]),
    retrieve=extend_schema(summary="Reservation detail", tags=["reservations"]),
)
class ReservationViewSet(ConditionalMixin, LightRetrieveMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReservationSerializer
    permission_classes = [IPAMPermission]
    filterset_class = ReservationFilter
    ordering_fields = ["created_at", "updated_at", "expires_at", "status", "x_octet", "y_octet", "z_octet"]
    ordering = ["-created_at"]  # newest first (TotalOrderingFilter adds -id: one order for one instant's reservations)
    lookup_url_kwarg = "reservation_id"
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "delete", "head", "options"]
    ipam_permissions = {
        "list": "read",
        "retrieve": "read",
        "create": "allocate",
        "convert": "allocate",
        "destroy": "release",
    }

    def get_queryset(self) -> QuerySet[Reservation]:
        return owned(self, Reservation.objects.select_related("country"))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if CURSOR_PARAM in request.query_params and cursor_ordering_of(self) is not None:  # keyset pages read instances
            return super().list(request, *args, **kwargs)
        # Plain rows and a plain function instead of 50 model instances through ReservationSerializer: the same JSON
        # (the country's name and continent from the same join; the status as of one `now` for the whole page).
        mine = self.filter_queryset(self.get_queryset())
        rows = mine.values(*RESERVATION_VALUES)
        if tuple(rows.query.order_by) == NEWEST_FIRST:  # the default order: the count and the page in one statement
            # (counted and keyed without the country join of the body's columns: `country` is a non-null key)
            rows = newest_first_page(rows, keys_from=mine.select_related(None))
        page = self.paginate_queryset(rows)
        now, tz = timezone.now(), current_timezone()
        return self.get_paginated_response([reservation_row(row, now, tz) for row in page or []])

    @extend_schema(
        request=ReservationCreateSerializer,
        responses={201: ReservationSerializer},
        summary="Reserve a region (X.Y) or host (X.Y.Z) address",
        description=(
            "409 `address_in_use` if the caller already has the address allocated, 409 `address_reserved` if an "
            "active reservation of the caller covers it, 409 `reserved_range` for X 208-255 without `admin`. "
            "A host reservation needs the caller's region at X.Y (404 `region_not_found`)."
        ),
        tags=["reservations"],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ReservationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reservation = reservation_services.reservation_create(actor=actor_of(request), **serializer.validated_data)
        return Response(ReservationSerializer(reservation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ReservationConvertSerializer,
        responses={201: ReservationConvertResultSerializer},
        summary="Allocate exactly the reserved address (consumes quota)",
        description="Only `active` reservations convert (409 `reservation_not_active` otherwise).",
        tags=["reservations"],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def convert(self, request: Request, reservation_id: str) -> Response:
        serializer = ReservationConvertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reservation, resource = reservation_convert(
            actor=actor_of(request),
            reservation_id=reservation_id,
            data=dict(serializer.validated_data),
        )
        if isinstance(resource, Region):
            shown: dict[str, Any] = core.RegionSerializer(Region.objects.select_related("country").get(pk=resource.pk)).data
        else:
            shown = core.HostSerializer(Host.objects.select_related("region__country").get(pk=resource.pk)).data
        body = {
            "reservation_id": str(reservation.id),
            "resource_type": reservation.resource_type,
            "resource_id": str(resource.pk),
            "allocation": shown,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted")}, summary="Delete a reservation", tags=["reservations"])
    def destroy(self, request: Request, reservation_id: str) -> Response:
        reservation_services.reservation_delete(actor=actor_of(request), reservation_id=reservation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
