"""Shareable links over HTTP (contract §5.2): create, list, revoke, and the public view.

`/ipam/shares/{share_key}` carries two operations: GET is the **public** view (no authentication,
rate-limited per client IP; the key is the share token) and DELETE revokes (authenticated; the key is
the `share_id`). One view class serves both and picks authentication, permissions and throttles by
method, so the public GET never touches credentials and the DELETE never skips them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from foundation.permissions import IPAMPermission, owned
from foundation.throttling import PublicShareThrottle
from foundation.types import actor_of
from ipam.models import Share
from ipam.services import shares as share_services


# --- Serializers ------------------------------------------------------------------------------------
class ShareSerializer(serializers.ModelSerializer):
    share_id = serializers.UUIDField(source="id", read_only=True)
    resource_id = serializers.CharField(read_only=True, help_text="country ISO alpha-2 code, region_id or host_id")
    last_accessed = serializers.DateTimeField(allow_null=True, read_only=True)

    class Meta:
        model = Share
        fields = [
            "share_id",
            "resource_type",
            "resource_id",
            "description",
            "expires_at",
            "is_active",
            "view_count",
            "last_accessed",
            "created_at",
            "legacy_id",
        ]
        read_only_fields = fields


class ShareCreatedSerializer(ShareSerializer):
    share_token = serializers.CharField(read_only=True, help_text="shown only in this response; stored hashed")
    share_url = serializers.URLField(read_only=True, help_text="absolute public link")

    class Meta(ShareSerializer.Meta):
        fields = ["share_id", "share_token", "share_url", *ShareSerializer.Meta.fields[1:]]
        read_only_fields = fields


class ShareCreateSerializer(serializers.Serializer):
    resource_type = serializers.ChoiceField(choices=Share.ResourceType.choices)
    resource_id = serializers.CharField(max_length=100, help_text="country name/ISO code, region_id or host_id")
    expires_in_days = serializers.IntegerField(min_value=1, max_value=90, required=False, allow_null=True, help_text="1-90, default 7")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PublicShareSerializer(serializers.Serializer):
    resource_type = serializers.ChoiceField(choices=Share.ResourceType.choices)
    resource_data = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text=(
            "allow-listed fields only. country: country, code, code3, continent, x_start, x_end, total_capacity, "
            "allocated_regions, utilization_percentage. region: region_name, cidr, country, continent, status, "
            "description, tags, total_hosts, allocated_hosts, utilization_percentage, created_at, updated_at. "
            "host: hostname, ip_address, region_name, cidr, country, continent, device_type, os_type, application, "
            "status, tags, created_at, updated_at."
        ),
    )
    shared_by = serializers.CharField(help_text="the sharer's display name")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


_datetime = serializers.DateTimeField().to_representation  # one field instance for the process


def public_share_body(shared: dict[str, Any]) -> dict[str, Any]:
    """`PublicShareSerializer(shared).data` without building the serializer per request (issue 19): the same
    keys, order and values (tests/ipam/test_share_view_counter.py compares the bytes for every resource type).
    `resource_data` is already JSON-ready (the allow-listed fields of `share_services.public_resource_data`)."""
    data = shared["resource_data"]
    return {
        "resource_type": shared["resource_type"],
        "resource_data": {str(key): value for key, value in data.items()},
        "shared_by": str(shared["shared_by"]),
        "created_at": _datetime(shared["created_at"]),
        "expires_at": _datetime(shared["expires_at"]),
    }


# --- Views ------------------------------------------------------------------------------------------
@extend_schema_view(list=extend_schema(summary="The caller's active shares", tags=["shares"]))
class ShareViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ShareSerializer
    permission_classes = [IPAMPermission]
    filter_backends: list[Any] = []
    ipam_permissions = {"list": "read", "create": "update"}

    def get_queryset(self) -> QuerySet[Share]:
        return owned(self, Share.objects.active()).order_by("-created_at")

    @extend_schema(
        request=ShareCreateSerializer,
        responses={201: ShareCreatedSerializer},
        summary="Create a public read-only link to a country, region or host",
        description="The token is ≥ 32 random bytes, shown only in this response and stored as a SHA-256 hash.",
        tags=["shares"],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ShareCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        share, token = share_services.share_create(actor=actor_of(request), **serializer.validated_data)
        shown = dict(ShareSerializer(share).data)
        body = {
            "share_id": shown.pop("share_id"),
            "share_token": token,
            "share_url": share_services.share_url(token, request_base_url=request.build_absolute_uri("/")),
            **shown,
        }
        return Response(body, status=status.HTTP_201_CREATED)


SHARE_KEY = OpenApiParameter(
    "share_key",
    str,
    location=OpenApiParameter.PATH,
    description="GET: the share token from `share_url` (public). DELETE: the `share_id`.",
)


def _is_public(request: Any) -> bool:
    return (getattr(request, "method", "") or "").upper() != "DELETE"


class ShareDetailView(APIView):
    """GET = public view by token; DELETE = revoke by share_id (authenticated)."""

    ipam_permissions = {"DELETE": "update"}

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [] if _is_public(self.request) else super().get_authenticators()

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if _is_public(self.request) else [IPAMPermission()]

    def get_throttles(self) -> list[BaseThrottle]:
        return [PublicShareThrottle()] if _is_public(self.request) else super().get_throttles()

    @extend_schema(
        parameters=[SHARE_KEY],
        responses={200: PublicShareSerializer},
        auth=[],  # public: no security requirement, no 401/403
        summary="Public view of a shared resource (no authentication)",
        description="Rate-limited per client IP. Unknown, revoked or expired links answer 404. Counts views.",
        tags=["shares"],
    )
    def get(self, request: Request, share_key: str) -> Response:
        return Response(public_share_body(share_services.share_access(token=share_key)))

    @extend_schema(
        parameters=[SHARE_KEY],
        responses={204: OpenApiResponse(description="Revoked")},
        summary="Revoke a share",
        tags=["shares"],
    )
    def delete(self, request: Request, share_key: str) -> Response:
        share_services.share_revoke(actor=actor_of(request), share_id=share_key)
        return Response(status=status.HTTP_204_NO_CONTENT)
