"""Quota administration (admin permission): `GET /ipam/admin/quotas`, `GET/PATCH /ipam/admin/quotas/{user_id}`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.conditional import ConditionalMixin
from foundation.http import valid_body
from foundation.permissions import IPAMPermission
from foundation.types import actor_of
from ipam.api.serializers import QuotaUsageSerializer
from ipam.exceptions import NotFound
from ipam.models import UserQuota
from ipam.services.quota_admin import QUOTA_LIMIT_MAX, quota_limits_update

WARNING_PERCENT = 80


def _usage(limit: int, used: int) -> dict[str, Any]:
    percent = round(used * 100 / limit, 2) if limit else 100.0
    return {
        "limit": limit,
        "used": used,
        "available": max(0, limit - used),
        "usage_percent": percent,
        "warning": percent >= WARNING_PERCENT,
    }


def quota_admin_row(user: Any) -> dict[str, Any]:
    """Limits (overrides and effective) and usage of one user; `user.ipam_quota` must be loaded or absent."""
    quota: UserQuota | None = getattr(user, "ipam_quota", None)  # no row yet: the reverse accessor raises → None
    region_limit = quota.region_limit if quota else None
    host_limit = quota.host_limit if quota else None
    effective_regions = region_limit if region_limit is not None else settings.IPAM_DEFAULT_REGION_QUOTA
    effective_hosts = host_limit if host_limit is not None else settings.IPAM_DEFAULT_HOST_QUOTA
    return {
        "user_id": user.pk,
        "username": user.get_username(),
        "region_limit": region_limit,
        "host_limit": host_limit,
        "regions": _usage(effective_regions, quota.regions_used if quota else 0),
        "hosts": _usage(effective_hosts, quota.hosts_used if quota else 0),
        "updated_at": quota.updated_at if quota else None,
    }


class QuotaAdminSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    region_limit = serializers.IntegerField(allow_null=True, help_text="override; null = IPAM_DEFAULT_REGION_QUOTA")
    host_limit = serializers.IntegerField(allow_null=True, help_text="override; null = IPAM_DEFAULT_HOST_QUOTA")
    regions = QuotaUsageSerializer(help_text="effective limit and usage")
    hosts = QuotaUsageSerializer()
    updated_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return super().to_representation(quota_admin_row(instance))


class QuotaAdminUpdateSerializer(serializers.Serializer):
    region_limit = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=QUOTA_LIMIT_MAX)
    host_limit = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=QUOTA_LIMIT_MAX)


def _users() -> QuerySet[Any]:
    return get_user_model().objects.select_related("ipam_quota").order_by("id")


class QuotaAdminListView(generics.ListAPIView):
    serializer_class = QuotaAdminSerializer
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "admin"}
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Any]:
        users = _users()
        username = self.request.query_params.get("username", "").strip()
        if username:
            users = users.filter(username__icontains=username)
        return users

    @extend_schema(
        parameters=[OpenApiParameter("username", str, description="contains")],
        summary="Every user's quota limits and usage",
        tags=["quotas"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class QuotaAdminDetailView(ConditionalMixin, APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "admin", "PATCH": "admin"}
    etag_read_actions = frozenset({"get"})
    etag_write_actions = precondition_actions = frozenset({"patch"})

    def precondition_lock(self) -> None:  # quota_limits_update locks the quota row
        list(UserQuota.objects.select_for_update().filter(user_id=self._user(self.kwargs["user_id"]).pk).values_list("pk"))

    def precondition_data(self) -> Any:
        return QuotaAdminSerializer(self._user(self.kwargs["user_id"])).data

    def _user(self, user_id: str) -> Any:
        user = _users().filter(pk=user_id).first()
        if user is None:
            raise NotFound("User not found.", code="user_not_found")
        return user

    @extend_schema(
        parameters=[OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses=QuotaAdminSerializer,
        summary="One user's quota limits and usage",
        tags=["quotas"],
    )
    def get(self, request: Request, user_id: str) -> Response:
        return Response(QuotaAdminSerializer(self._user(user_id)).data)

    @extend_schema(
        parameters=[OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        request=QuotaAdminUpdateSerializer,
        responses=QuotaAdminSerializer,
        summary="Set a user's limits (null = back to the default); applies at once",
        tags=["quotas"],
    )
    def patch(self, request: Request, user_id: str) -> Response:
        valid_body(QuotaAdminUpdateSerializer, request)
        quota_limits_update(actor=actor_of(request), user_id=int(user_id), data=dict(request.data))
        return Response(QuotaAdminSerializer(self._user(user_id)).data)
