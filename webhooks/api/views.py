"""Webhook subscriptions and their deliveries. Each write calls exactly one service."""

from __future__ import annotations

import functools
from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from foundation.compiled import Guard
from foundation.conditional import ConditionalMixin
from foundation.http import valid_body
from foundation.newest_pages import NEWEST_FIRST, newest_first_page
from foundation.pagination import CURSOR_PARAM, StandardPagination
from foundation.permissions import IPAMPermission, owned, owned_guard
from foundation.routers import UUID_PATTERN
from foundation.types import actor_of
from webhooks import services
from webhooks.api import serializers as s
from webhooks.api.rows import delivery_rows, delivery_values
from webhooks.events import EventType
from webhooks.models import DELIVERY_DAYS, DeliveryStatus, Webhook, WebhookDelivery

DELIVERY_FILTERS = [
    OpenApiParameter("status", str, enum=DeliveryStatus.values, description="pending, sending, delivered or failed"),
    OpenApiParameter("event_type", str, enum=EventType.values, description="one event type"),
]


def delivery_log_rows(webhook_id: Any) -> QuerySet[WebhookDelivery]:
    """All of a webhook's deliveries as the delivery list's rows: the list's statement, compiled once per thread
    for any webhook (`newest_first_page(rows_of=…)`)."""
    return delivery_values(WebhookDelivery.objects.filter(webhook_id=webhook_id))


@functools.cache
def _delivery_rows() -> QuerySet[WebhookDelivery]:
    """Every delivery as the list's rows, newest first, built once (resolving the columns and the attempt log per
    request cost about 0.2 ms): each request filters a clone; never evaluated itself, and without a database alias
    of its own (the router picks it per request)."""
    return delivery_values(WebhookDelivery.objects.order_by(*NEWEST_FIRST))


def _with_secret(webhook: Webhook, secret: str) -> dict[str, Any]:
    webhook.secret_key = secret  # type: ignore[attr-defined]  # shown in this response only
    return dict(s.WebhookWithSecretSerializer(webhook).data)


@extend_schema_view(
    list=extend_schema(summary="List the caller's webhooks (no secrets)", tags=["webhooks"]),
    retrieve=extend_schema(summary="One webhook (no secret)", tags=["webhooks"]),
)
class WebhookViewSet(ConditionalMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.WebhookSerializer
    permission_classes = [IPAMPermission]
    filter_backends: list[Any] = []
    lookup_url_kwarg = "webhook_id"
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    throttle_scopes = {"create": "webhook_create"}
    etag_write_actions = frozenset({"partial_update"})  # create answers with the secret: not the GET representation
    ipam_permissions = {
        "list": "read",
        "retrieve": "read",
        "deliveries": "read",
        "create": "update",
        "partial_update": "update",
        "destroy": "update",
        "test": "update",
        "rotate_secret": "update",
        "redeliver": "update",
    }

    def get_queryset(self) -> QuerySet[Webhook]:
        return owned(self, Webhook.objects.all()).order_by("created_at")

    def get_cursor_ordering(self) -> tuple[str, ...] | None:
        # A webhook's deliveries grow without bound; the webhook list itself is short (page numbers only).
        return ("-created_at", "-id") if self.action == "deliveries" else None  # index delivery_webhook_created_id

    @extend_schema(
        request=s.WebhookCreateSerializer,
        responses={201: s.WebhookWithSecretSerializer},
        summary="Subscribe a URL to events (the secret is shown only in this response)",
        tags=["webhooks"],
    )
    def create(self, request: Request) -> Response:
        data = valid_body(s.WebhookCreateSerializer, request)
        webhook, secret = services.webhook_create(actor=actor_of(request), **data)
        return Response(_with_secret(webhook, secret), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.WebhookUpdateSerializer,
        responses=s.WebhookSerializer,
        summary="Change URL, events or description; is_active=true re-enables",
        tags=["webhooks"],
    )
    def partial_update(self, request: Request, webhook_id: str) -> Response:
        data = valid_body(s.WebhookUpdateSerializer, request)
        webhook = services.webhook_update(actor=actor_of(request), webhook_id=webhook_id, data=data)
        return Response(s.WebhookSerializer(webhook).data)

    @extend_schema(responses={204: None}, summary="Delete a webhook with its delivery logs", tags=["webhooks"])
    def destroy(self, request: Request, webhook_id: str) -> Response:
        services.webhook_delete(actor=actor_of(request), webhook_id=webhook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=DELIVERY_FILTERS,
        responses=s.WebhookDeliverySerializer(many=True),
        summary="Deliveries of this webhook, newest first, each with its attempt log",
        tags=["webhooks"],
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, webhook_id: str) -> Response:
        webhook, owner = owned_guard(self, Webhook, webhook_id)  # only the webhook's key is needed, not the object
        guard: Guard | None = owner
        if not StandardPagination.plain_page(request.query_params):
            owner.check()  # a 404 before anything else, as get_object() gave; a plain page reads it with the page
            guard = None
        filters: dict[str, str] = {}
        status_filter = request.query_params.get("status")
        if status_filter:
            if status_filter not in DeliveryStatus.values:
                raise serializers.ValidationError({"status": [f"Must be one of {', '.join(DeliveryStatus.values)}."]})
            filters["status"] = status_filter
        event_type = request.query_params.get("event_type")
        if event_type:
            filters["event_type"] = event_type
        if CURSOR_PARAM in request.query_params:  # keyset pages read their position from model instances
            rows = WebhookDelivery.objects.filter(webhook_id=webhook, **filters).prefetch_related("attempt_log").order_by(*NEWEST_FIRST)
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(s.WebhookDeliverySerializer(page, many=True).data)
        # Plain rows (each with its attempt log, in the same statement) and plain functions instead of instances
        # through the serializers; without a filter the total and the page are one statement, and on PostgreSQL
        # the total and the page's position come from the per-day counts (no COUNT/OFFSET).
        values = _delivery_rows().filter(webhook_id=webhook, **filters)
        if not filters:
            values = newest_first_page(values, day_counts=(DELIVERY_DAYS, webhook), rows_of=delivery_log_rows, guard=guard)
        page = self.paginate_queryset(values) or []
        return self.get_paginated_response(delivery_rows(cast(list[dict[str, Any]], page)))  # `.values()` rows

    @extend_schema(
        request=None,
        responses={202: s.WebhookDeliverySerializer},
        summary="Send a webhook.test event to this webhook now",
        tags=["webhooks"],
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, webhook_id: str) -> Response:
        delivery = services.webhook_test(actor=actor_of(request), webhook_id=webhook_id)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses=s.WebhookWithSecretSerializer,
        summary="Replace the signing secret (the new one is shown only in this response)",
        tags=["webhooks"],
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, webhook_id: str) -> Response:
        webhook, secret = services.webhook_secret_rotate(actor=actor_of(request), webhook_id=webhook_id)
        return Response(_with_secret(webhook, secret))

    @extend_schema(
        parameters=[OpenApiParameter("delivery_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        request=None,
        responses={202: s.WebhookDeliverySerializer},
        summary="Send a finished delivery's event again (a new delivery, same event id)",
        tags=["webhooks"],
    )
    @action(detail=True, methods=["post"], url_path=rf"deliveries/(?P<delivery_id>{UUID_PATTERN})/redeliver")
    def redeliver(self, request: Request, webhook_id: str, delivery_id: str) -> Response:
        delivery = services.delivery_redeliver(actor=actor_of(request), webhook_id=webhook_id, delivery_id=delivery_id)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
