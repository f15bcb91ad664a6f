"""The caller's audit trail: `GET /ipam/audit/history` (alias `/ipam/audit`), the history of one address,
and `POST /ipam/audit/export` (202 job, downloaded like any export)."""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.dbrouter import ReplicaReadsMixin
from foundation.http import str_path, valid_body
from foundation.newest_pages import newest_first_page
from foundation.pagination import CURSOR_PARAM
from foundation.permissions import IPAMPermission, owned
from foundation.rows import NOT_FILTERS, current_timezone
from foundation.types import actor_of
from ipam.api.exports import ExportJobSerializer
from ipam.api.list_rows import AUDIT_VALUES, audit_row
from ipam.models import AUDIT_DAYS, AuditLog, ExportJob
from ipam.selectors.audit import AUDIT_FIELDS, AUDIT_FILTERS, AUDIT_ORDERINGS, audit_filters_clean, audit_queryset
from ipam.services.exports import export_job_create


def audit_trail_rows(user_id: Any) -> QuerySet[AuditLog]:
    """All of a user's audit rows as the trail's list rows: its page statement, compiled once per thread for any
    user (`newest_first_page(rows_of=…)`)."""
    return AuditLog.objects.filter(user_id=user_id).values(*AUDIT_VALUES)  # type: ignore[return-value]


@functools.cache
def _trail_rows() -> QuerySet[AuditLog]:
    """Every audit row as the trail's list rows, newest first, built once (as `audit_queryset(...).values(…)` gives
    them for no filter): each request filters a clone. Never evaluated itself, and without a database alias of its
    own (the router picks it per request)."""
    return AuditLog.objects.order_by(*AUDIT_ORDERINGS["-timestamp"]).values(*AUDIT_VALUES)  # type: ignore[return-value]


class AuditChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old_value = serializers.JSONField(allow_null=True)
    new_value = serializers.JSONField(allow_null=True)


_CHANGES = AuditChangeSerializer(many=True, read_only=True)  # built once: the fallback of list_rows.audit_row


class AuditEntrySerializer(serializers.ModelSerializer):
    audit_id = serializers.UUIDField(source="id", read_only=True)
    changes = AuditChangeSerializer(many=True, read_only=True)
    snapshot = serializers.DictField(child=serializers.JSONField(allow_null=True), read_only=True)

    class Meta:
        model = AuditLog
        fields = list(AUDIT_FIELDS)  # one list for the API and the audit export
        read_only_fields = fields


class AuditFilterSerializer(serializers.Serializer):
    """The audit filters (query string of the history endpoints, `filters` of an audit export)."""

    action_type = serializers.CharField(
        required=False, max_length=40, help_text="create, update, delete, retire, comment, rotate_secret, webhook_disabled, …"
    )
    resource_type = serializers.CharField(
        required=False,
        max_length=40,
        help_text="region, host, reservation, share, preferences, saved_filter, quota, webhook, notification_rule, …",
    )
    resource_id = serializers.CharField(required=False, max_length=64)
    ip_address = serializers.CharField(required=False, max_length=64, help_text="exact address in 10.0.0.0/8")
    cidr = serializers.CharField(
        required=False, max_length=64, help_text="network in 10.0.0.0/8: rows of the /24s it covers (or of its addresses below /24)"
    )
    actor = serializers.CharField(required=False, max_length=150, help_text="username, or system")
    date_from = serializers.CharField(required=False, max_length=64, help_text="ISO 8601 date or datetime (inclusive)")
    date_to = serializers.CharField(required=False, max_length=64, help_text="ISO 8601 date or datetime (a date includes the day)")
    ordering = serializers.ChoiceField(choices=["-timestamp", "timestamp"], required=False, help_text="default -timestamp")


class AuditExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["csv", "json"], default="csv")
    filters = AuditFilterSerializer(required=False)


def _query_filters(request: Request) -> dict[str, str]:
    return audit_filters_clean({key: request.query_params.get(key, "") for key in AUDIT_FILTERS})


class AuditHistoryView(ReplicaReadsMixin, generics.ListAPIView):
    serializer_class = AuditEntrySerializer
    cursor_ordering = ("-timestamp", "-id")  # index audit_user_time_id
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read"}
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[AuditLog]:
        if getattr(self, "swagger_fake_view", False):
            return AuditLog.objects.none()
        return audit_queryset(self.request.user, _query_filters(self.request))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if CURSOR_PARAM in request.query_params:  # keyset pages read their position from model instances
            return super().list(request, *args, **kwargs)
        # Plain rows and a plain function instead of model instances through AuditEntrySerializer: the same JSON.
        rows = owned(self, _trail_rows()) if self._whole_trail() else self.get_queryset().values(*AUDIT_VALUES)
        page = self.paginate_queryset(rows)
        tz = current_timezone()
        return self.get_paginated_response([audit_row(row, _CHANGES.to_representation, tz) for row in page])

    def paginate_queryset(self, queryset: Any) -> Any:
        # The whole trail newest first (no filter, no cursor; `queryset` is then the list's `.values()` rows): on
        # PostgreSQL the total, the page's keys and its rows in one prepared statement from the per-day counts,
        # without COUNT(*) or OFFSET over the user's rows (foundation/day_counts.py); elsewhere total and page in
        # one statement too.
        if self._whole_trail():
            newest = AUDIT_ORDERINGS["-timestamp"]
            days = (AUDIT_DAYS, self.request.user.pk)
            queryset = newest_first_page(queryset, order=newest, day_counts=days, rows_of=audit_trail_rows)
        return super().paginate_queryset(queryset)

    def _whole_trail(self) -> bool:
        """No filter, newest first: all of the caller's rows in the trail's own order."""
        params = self.request.query_params
        return set(params) <= NOT_FILTERS and params.get("ordering", "-timestamp") == "-timestamp"

    @extend_schema(parameters=[AuditFilterSerializer], summary="The caller's audit trail, newest first", tags=["audit"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AuditAddressHistoryView(ReplicaReadsMixin, generics.ListAPIView):
    serializer_class = AuditEntrySerializer
    cursor_ordering = ("-timestamp", "-id")
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read"}
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[AuditLog]:
        if getattr(self, "swagger_fake_view", False):
            return AuditLog.objects.none()
        return audit_queryset(self.request.user, _query_filters(self.request), ip_address=self.kwargs["ip_address"])

    @extend_schema(
        parameters=[str_path("ip_address", "an address in 10.0.0.0/8"), AuditFilterSerializer],
        summary="Everything that happened at one address",
        operation_id="audit_address_history",
        tags=["audit"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AuditExportView(APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"POST": "read"}

    @extend_schema(
        request=AuditExportRequestSerializer,
        responses={202: ExportJobSerializer},
        summary="Export the audit trail as CSV or JSON (202 job; download at /ipam/export/{job_id}/download)",
        tags=["audit"],
    )
    def post(self, request: Request) -> Response:
        data = valid_body(AuditExportRequestSerializer, request)
        job = export_job_create(
            actor=actor_of(request),
            kind=ExportJob.Kind.AUDIT_EXPORT,
            format=data["format"],
            params={"filters": request.data.get("filters") or {}},
        )
        return Response(ExportJobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)
