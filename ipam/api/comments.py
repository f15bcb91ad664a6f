"""Append-only comments on regions and hosts: `GET/POST /ipam/{regions|hosts}/{id}/comments`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from foundation.http import uuid_path, valid_body
from foundation.permissions import IPAMPermission
from foundation.types import actor_of
from ipam.models import Comment
from ipam.services.comments import COMMENT_MAX, comment_create, comment_target


class CommentSerializer(serializers.ModelSerializer):
    comment_id = serializers.UUIDField(source="id", read_only=True)

    class Meta:
        model = Comment
        fields = ["comment_id", "text", "author", "created_at"]
        read_only_fields = fields


class CommentCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=COMMENT_MAX + 1000, trim_whitespace=False, help_text=f"1-{COMMENT_MAX} characters")


class _CommentListCreateView(generics.ListCreateAPIView):
    serializer_class = CommentSerializer
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read", "POST": "update"}
    filter_backends: list[Any] = []
    resource_type = ""
    url_kwarg = ""

    def get_queryset(self) -> QuerySet[Comment]:
        if getattr(self, "swagger_fake_view", False):
            return Comment.objects.none()
        user: Any = self.request.user
        target = comment_target(user=user, resource_type=self.resource_type, resource_id=self.kwargs[self.url_kwarg])
        return Comment.objects.filter(user=user, resource_type=self.resource_type, resource_id=target.pk).order_by("created_at", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_body(CommentCreateSerializer, request)
        comment = comment_create(
            actor=actor_of(request), resource_type=self.resource_type, resource_id=kwargs[self.url_kwarg], text=data["text"]
        )
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Comments on a region, oldest first", tags=["comments"], parameters=[uuid_path("region_id")]),
    post=extend_schema(
        summary="Add a comment to a region",
        tags=["comments"],
        parameters=[uuid_path("region_id")],
        request=CommentCreateSerializer,
        responses={201: CommentSerializer},
    ),
)
class RegionCommentsView(_CommentListCreateView):
    resource_type = "region"
    url_kwarg = "region_id"


@extend_schema_view(
    get=extend_schema(summary="Comments on a host, oldest first", tags=["comments"], parameters=[uuid_path("host_id")]),
    post=extend_schema(
        summary="Add a comment to a host",
        tags=["comments"],
        parameters=[uuid_path("host_id")],
        request=CommentCreateSerializer,
        responses={201: CommentSerializer},
    ),
)
class HostCommentsView(_CommentListCreateView):
    resource_type = "host"
    url_kwarg = "host_id"
