"""Dashboard statistics: GET /ipam/statistics/dashboard and its alias GET /ipam/dashboard/stats."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.dbrouter import ReplicaReadsMixin
from foundation.permissions import IPAMPermission
from ipam.selectors.dashboard import dashboard_stats

CACHE_HEADER_HELP = "`X-Cache: HIT` when served from the per-user cache, `MISS` when computed."


class DashboardTopCountrySerializer(serializers.Serializer):
    country = serializers.CharField()
    code = serializers.CharField()
    regions = serializers.IntegerField()
    hosts = serializers.IntegerField()
    utilization = serializers.FloatField(help_text="percent of the country's /24s the caller holds (as in /ipam/countries)")
    host_utilization = serializers.FloatField(help_text="hosts ÷ (regions × 254) × 100 within the country")


class DashboardStatsSerializer(serializers.Serializer):
    total_countries = serializers.IntegerField(help_text="countries in which the caller holds at least one region")
    total_regions = serializers.IntegerField()
    total_hosts = serializers.IntegerField()
    overall_utilization = serializers.FloatField(help_text="hosts ÷ (regions × 254) × 100")
    mean_region_utilization = serializers.FloatField(help_text="mean of the regions' utilization percentages")
    top_countries = DashboardTopCountrySerializer(many=True, help_text="top 5 by utilization")
    recent_activity_count = serializers.IntegerField(help_text="writes (audit rows) in the last 7 days")
    capacity_warnings = serializers.IntegerField(help_text="regions above the warning threshold")
    capacity_warning_threshold = serializers.IntegerField(help_text="IPAM_CAPACITY_WARNING_THRESHOLD, percent")
    active_reservations = serializers.IntegerField()
    generated_at = serializers.DateTimeField(help_text="when these numbers were computed")


class DashboardStatsView(ReplicaReadsMixin, APIView):
    """The caller's dashboard. Cached per user for IPAM_CACHE_TTL; any write of the caller invalidates it."""

    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read"}

    @extend_schema(
        responses={200: OpenApiResponse(DashboardStatsSerializer, description=CACHE_HEADER_HELP)},
        summary="Dashboard statistics (cached, never stale)",
        tags=["statistics"],
    )
    def get(self, request: Request) -> Response:
        # The serialized form is what is cached: a hit is served without serializing again.
        stats, hit = dashboard_stats(request.user, present=lambda computed: dict(DashboardStatsSerializer(computed).data))
        response = Response(stats)
        response["X-Cache"] = "HIT" if hit else "MISS"
        return response
