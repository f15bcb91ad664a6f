"""`POST /ipam/hosts/bulk-lookup` and `POST /ipam/hosts/bulk-release`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.http import valid_body
from foundation.permissions import IPAMPermission
from foundation.types import actor_of
from ipam.services.bulk_hosts import LOOKUP_MAX, LOOKUP_STATUSES, RELEASE_ITEM_STATUSES, RELEASE_MAX, hosts_bulk_lookup, hosts_bulk_release


class HostBulkLookupRequestSerializer(serializers.Serializer):
    ip_addresses = serializers.ListField(
        child=serializers.CharField(max_length=64, trim_whitespace=True), allow_empty=False, max_length=LOOKUP_MAX
    )


class HostBulkLookupItemSerializer(serializers.Serializer):
    ip_address = serializers.CharField()
    found = serializers.BooleanField(help_text="the caller has a host at this address")
    status = serializers.ChoiceField(choices=LOOKUP_STATUSES)
    hierarchy = serializers.DictField(child=serializers.JSONField(allow_null=True), help_text="as in POST /ipam/interpret")


class HostBulkLookupResultSerializer(serializers.Serializer):
    results = HostBulkLookupItemSerializer(many=True)
    found = serializers.IntegerField(help_text="addresses with a host")
    not_found = serializers.IntegerField()


class HostBulkReleaseRequestSerializer(serializers.Serializer):
    host_ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=False, max_length=RELEASE_MAX)
    reason = serializers.CharField(max_length=500, help_text="why (1-500 characters), kept in the audit rows")


class HostBulkReleaseItemSerializer(serializers.Serializer):
    host_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=RELEASE_ITEM_STATUSES)
    ip_address = serializers.CharField(required=False, help_text="released items")
    error = serializers.CharField(required=False, help_text="failed items: error code")
    message = serializers.CharField(required=False, help_text="failed items: human text")


class HostBulkReleaseResultSerializer(serializers.Serializer):
    released = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = HostBulkReleaseItemSerializer(many=True)


class HostBulkLookupView(APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"POST": "read"}
    throttle_scopes = {"POST": "read"}

    @extend_schema(
        request=HostBulkLookupRequestSerializer,
        responses=HostBulkLookupResultSerializer,
        summary=f"Interpret up to {LOOKUP_MAX} addresses at once",
        tags=["hosts"],
    )
    def post(self, request: Request) -> Response:
        data = valid_body(HostBulkLookupRequestSerializer, request)
        return Response(hosts_bulk_lookup(user=request.user, ip_addresses=data["ip_addresses"]))


class HostBulkReleaseView(APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"POST": "release"}

    @extend_schema(
        request=HostBulkReleaseRequestSerializer,
        responses=HostBulkReleaseResultSerializer,
        summary=f"Retire up to {RELEASE_MAX} hosts; per-item results, successes commit together",
        tags=["hosts"],
    )
    def post(self, request: Request) -> Response:
        data = valid_body(HostBulkReleaseRequestSerializer, request)
        return Response(hosts_bulk_release(actor=actor_of(request), host_ids=data["host_ids"], reason=data["reason"]))
