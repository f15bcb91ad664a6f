"""Notifications (the caller's inbox) and notification rules. Each write calls exactly one service."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Count, Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from foundation.conditional import ConditionalMixin
from foundation.filtering import TotalOrderingFilter
from foundation.http import valid_body
from foundation.newest_pages import NEWEST_FIRST, newest_first_page
from foundation.pagination import CURSOR_PARAM, with_count_hint
from foundation.permissions import IPAMPermission, owned
from foundation.routers import UUID_PATTERN
from foundation.rows import NOT_FILTERS, current_timezone, unfiltered_or_filter
from foundation.types import actor_of
from notifications import services
from notifications.api import serializers as s
from notifications.api.rows import NOTIFICATION_VALUES, notification_row
from notifications.models import NOTIFICATION_DAYS, Notification, NotificationRule, Severity

RECENT_UNREAD = 10


def inbox_rows(user_id: Any) -> QuerySet[Notification]:
    """All of a user's notifications as the list's rows: the list's statement, compiled once per thread for any
    user (`newest_first_page(rows_of=…)`)."""
    return Notification.objects.filter(user_id=user_id).values(*NOTIFICATION_VALUES)  # type: ignore[return-value]


class NotificationFilter(django_filters.FilterSet):
    is_read = django_filters.BooleanFilter()
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    notification_type = django_filters.CharFilter()
    resource_type = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = Notification
        fields = ["is_read", "severity", "notification_type", "resource_type"]


@extend_schema_view(retrieve=extend_schema(summary="One notification", tags=["notifications"]))
class NotificationViewSet(ConditionalMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.NotificationSerializer
    permission_classes = [IPAMPermission]
    filterset_class = NotificationFilter
    ordering_fields = ["created_at", "severity", "is_read"]
    ordering = list(NEWEST_FIRST)  # newest first, equal created_at by id: a total order (index notification_user_created_id)
    cursor_ordering = NEWEST_FIRST
    lookup_url_kwarg = "notification_id"
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # Everyone reads and tidies their own inbox.
    ipam_permissions = {
        "list": "read",
        "retrieve": "read",
        "unread": "read",
        "partial_update": "read",
        "destroy": "read",
        "mark_all_read": "read",
    }

    def get_queryset(self) -> QuerySet[Notification]:
        return owned(self, Notification.objects.all())

    @extend_schema(
        responses=s.NotificationPageSerializer,
        summary="List the caller's notifications (filters is_read, severity) with the unread count",
        tags=["notifications"],
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if CURSOR_PARAM in request.query_params:  # keyset pages read their position from model instances
            response = super().list(request, *args, **kwargs)
            response.data["unread_count"] = self.get_queryset().filter(is_read=False).count()
            return response
        # Plain rows and a plain function instead of 50 instances through NotificationSerializer: the same JSON.
        mine = self.get_queryset()
        rows = unfiltered_or_filter(self, mine).values(*NOTIFICATION_VALUES)
        counted: dict[str, int] = {}
        # is_read is NOT NULL, so COUNT(is_read) is COUNT(*), and it is in the (user, is_read, -created_at) index.
        total, unread = Count("is_read"), Count("is_read", filter=Q(is_read=False))
        if set(request.query_params) <= NOT_FILTERS and tuple(rows.query.order_by) == NEWEST_FIRST:
            # All of the caller's rows newest first: the total, the unread count and the page in one statement.
            # On PostgreSQL the counts and the page's position come from the per-day counts (no COUNT/OFFSET).
            days = (NOTIFICATION_DAYS, request.user.pk)
            rows = newest_first_page(rows, total=total, counts={"unread": unread}, counted=counted, day_counts=days, rows_of=inbox_rows)
        elif set(request.query_params) <= NOT_FILTERS:
            # Another order of all of the caller's rows: the total and the unread count in one statement (one snapshot).
            def count_both() -> int:
                totals = mine.aggregate(total=total, unread=unread)
                counted["unread"] = totals["unread"]
                return int(totals["total"])

            rows = with_count_hint(rows, count_both)
        page = self.paginate_queryset(rows) or []  # (always paginated: StandardPagination)
        tz = current_timezone()  # once per page, not once per datetime
        response = self.get_paginated_response([notification_row(row, tz) for row in page])
        unread_count = counted.get("unread")
        response.data["unread_count"] = mine.filter(is_read=False).count() if unread_count is None else unread_count
        return response

    @extend_schema(responses=s.NotificationUnreadSerializer, summary="Unread count and the 10 newest unread", tags=["notifications"])
    @action(detail=False, methods=["get"])
    def unread(self, request: Request) -> Response:
        unread = self.get_queryset().filter(is_read=False).order_by(*NEWEST_FIRST)  # ties by id: the list's order
        body = {"unread_count": unread.count(), "recent": s.NotificationSerializer(unread[:RECENT_UNREAD], many=True).data}
        return Response(body)

    @extend_schema(
        request=s.NotificationUpdateSerializer,
        responses=s.NotificationSerializer,
        summary="Mark a notification read or unread",
        tags=["notifications"],
    )
    def partial_update(self, request: Request, notification_id: str) -> Response:
        data = valid_body(s.NotificationUpdateSerializer, request)
        notification = services.notification_mark_read(actor=actor_of(request), notification_id=notification_id, is_read=data["is_read"])
        return Response(s.NotificationSerializer(notification).data)

    @extend_schema(responses={204: None}, summary="Delete a notification", tags=["notifications"])
    def destroy(self, request: Request, notification_id: str) -> Response:
        services.notification_delete(actor=actor_of(request), notification_id=notification_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None, responses=s.NotificationMarkAllResultSerializer, summary="Mark every notification read", tags=["notifications"]
    )
    @action(detail=False, methods=["post"], url_path="mark-all-read")
    def mark_all_read(self, request: Request) -> Response:
        return Response({"updated": services.notifications_mark_all_read(actor=actor_of(request))})


@extend_schema_view(
    list=extend_schema(summary="List the caller's notification rules", tags=["notification rules"]),
    retrieve=extend_schema(summary="One notification rule", tags=["notification rules"]),
)
class NotificationRuleViewSet(ConditionalMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.NotificationRuleSerializer
    permission_classes = [IPAMPermission]
    ordering_fields = ["created_at", "rule_name", "utilization_threshold"]
    ordering = ["created_at"]
    filter_backends = [TotalOrderingFilter]
    lookup_url_kwarg = "rule_id"
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    ipam_permissions = {"list": "read", "retrieve": "read", "create": "update", "partial_update": "update", "destroy": "update"}

    def get_queryset(self) -> QuerySet[NotificationRule]:
        return owned(self, NotificationRule.objects.all())

    @extend_schema(
        request=s.NotificationRuleCreateSerializer,
        responses={201: s.NotificationRuleSerializer},
        summary="Create a utilization rule",
        tags=["notification rules"],
    )
    def create(self, request: Request) -> Response:
        data = s.rule_input(valid_body(s.NotificationRuleCreateSerializer, request))
        rule = services.notification_rule_create(actor=actor_of(request), **data)
        return Response(s.NotificationRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.NotificationRuleUpdateSerializer,
        responses=s.NotificationRuleSerializer,
        summary="Update a rule (any field; nested conditions are merged)",
        tags=["notification rules"],
    )
    def partial_update(self, request: Request, rule_id: str) -> Response:
        data = valid_body(s.NotificationRuleUpdateSerializer, request)
        if "conditions" in data:
            data["conditions"] = dict(data["conditions"])
        rule = services.notification_rule_update(actor=actor_of(request), rule_id=rule_id, data=data)
        return Response(s.NotificationRuleSerializer(rule).data)

    @extend_schema(responses={204: None}, summary="Delete a rule", tags=["notification rules"])
    def destroy(self, request: Request, rule_id: str) -> Response:
        services.notification_rule_delete(actor=actor_of(request), rule_id=rule_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
