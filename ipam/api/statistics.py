"""Statistics of the caller's namespace (records area): continent, top-utilized, allocation velocity,
and the dashboard's top-countries and recent-activity widgets. Aggregated in the database."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.dbrouter import ReplicaReadsMixin
from foundation.http import str_path, valid_query
from foundation.permissions import IPAMPermission
from ipam.selectors import statistics


class CountryStatisticsSerializer(serializers.Serializer):
    country = serializers.CharField()
    code = serializers.CharField()
    code3 = serializers.CharField()
    continent = serializers.CharField()
    x_start = serializers.IntegerField()
    x_end = serializers.IntegerField()
    total_capacity = serializers.IntegerField(help_text="regions (/24s) the country holds")
    allocated_regions = serializers.IntegerField()
    available_regions = serializers.IntegerField()
    utilization_percent = serializers.FloatField(help_text="allocated regions of the capacity")
    total_hosts = serializers.IntegerField()
    host_capacity = serializers.IntegerField(help_text="allocated regions × 254")
    host_utilization_percent = serializers.FloatField()


class ContinentStatisticsSerializer(serializers.Serializer):
    continent = serializers.CharField()
    total_countries = serializers.IntegerField()
    total_capacity = serializers.IntegerField()
    allocated_regions = serializers.IntegerField()
    available_regions = serializers.IntegerField()
    utilization_percent = serializers.FloatField()
    total_hosts = serializers.IntegerField()
    host_capacity = serializers.IntegerField()
    host_utilization_percent = serializers.FloatField()
    country_breakdown = CountryStatisticsSerializer(many=True)
    generated_at = serializers.DateTimeField()


class TopRegionSerializer(serializers.Serializer):
    region_id = serializers.UUIDField()
    region_name = serializers.CharField()
    cidr = serializers.CharField()
    country = serializers.CharField()
    continent = serializers.CharField()
    status = serializers.CharField()
    allocated_hosts = serializers.IntegerField()
    total_capacity = serializers.IntegerField()
    utilization_percent = serializers.FloatField()


class TopUtilizedSerializer(serializers.Serializer):
    top_regions = TopRegionSerializer(many=True)
    top_countries = CountryStatisticsSerializer(many=True)
    generated_at = serializers.DateTimeField()


class LimitQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, required=False, default=10)


class VelocityQuerySerializer(serializers.Serializer):
    time_range = serializers.ChoiceField(
        choices=list(statistics.TIME_RANGES),
        required=False,
        default="30d",
        help_text="day = last 24 h by hour; week/7d, month/30d, 90d = by day",
    )


class VelocityTotalsSerializer(serializers.Serializer):
    allocated = serializers.IntegerField()
    released = serializers.IntegerField()
    net = serializers.IntegerField()
    per_day = serializers.FloatField(help_text="allocations per day over the range")


class VelocityPointSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    regions_allocated = serializers.IntegerField()
    regions_released = serializers.IntegerField()
    hosts_allocated = serializers.IntegerField()
    hosts_released = serializers.IntegerField()


class VelocitySerializer(serializers.Serializer):
    time_range = serializers.CharField()
    granularity = serializers.ChoiceField(choices=["hour", "day"])
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    regions = VelocityTotalsSerializer()
    hosts = VelocityTotalsSerializer()
    time_series = VelocityPointSerializer(many=True)
    generated_at = serializers.DateTimeField()


class TopCountriesQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=18, required=False, default=5)


class TopCountriesSerializer(serializers.Serializer):
    top_countries = CountryStatisticsSerializer(many=True)
    generated_at = serializers.DateTimeField()


class RecentActivityQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, required=False, default=20)
    resource_type = serializers.CharField(required=False, max_length=40, help_text="e.g. region, host")


class ActivitySerializer(serializers.Serializer):
    audit_id = serializers.UUIDField()
    action_type = serializers.CharField()
    resource_type = serializers.CharField()
    resource_id = serializers.CharField()
    ip_address = serializers.CharField()
    cidr = serializers.CharField()
    actor = serializers.CharField()
    actor_type = serializers.CharField()
    reason = serializers.CharField()
    timestamp = serializers.DateTimeField()
    summary = serializers.CharField()


class RecentActivitySerializer(serializers.Serializer):
    activities = ActivitySerializer(many=True)
    count = serializers.IntegerField()
    generated_at = serializers.DateTimeField()


class _StatisticsView(ReplicaReadsMixin, APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read"}


class ContinentStatisticsView(_StatisticsView):
    @extend_schema(
        parameters=[str_path("continent", "e.g. Asia, Europe, north-america")],
        responses=ContinentStatisticsSerializer,
        summary="Totals of a continent with a per-country breakdown",
        tags=["statistics"],
    )
    def get(self, request: Request, continent: str) -> Response:
        data = statistics.continent_statistics(request.user, continent)
        return Response(ContinentStatisticsSerializer(data).data)


class TopUtilizedView(_StatisticsView):
    @extend_schema(
        parameters=[LimitQuerySerializer],
        responses=TopUtilizedSerializer,
        summary="Most utilized regions and countries",
        tags=["statistics"],
    )
    def get(self, request: Request) -> Response:
        query = valid_query(LimitQuerySerializer, request)
        return Response(TopUtilizedSerializer(statistics.top_utilized(request.user, query["limit"])).data)


class AllocationVelocityView(_StatisticsView):
    @extend_schema(
        parameters=[VelocityQuerySerializer],
        responses=VelocitySerializer,
        summary="Regions and hosts allocated and released per period",
        tags=["statistics"],
    )
    def get(self, request: Request) -> Response:
        query = valid_query(VelocityQuerySerializer, request)
        return Response(VelocitySerializer(statistics.allocation_velocity(request.user, query["time_range"])).data)


class DashboardTopCountriesView(_StatisticsView):
    @extend_schema(
        parameters=[TopCountriesQuerySerializer],
        responses=TopCountriesSerializer,
        summary="Countries with the most regions",
        tags=["dashboard"],
    )
    def get(self, request: Request) -> Response:
        query = valid_query(TopCountriesQuerySerializer, request)
        return Response(TopCountriesSerializer(statistics.dashboard_top_countries(request.user, query["limit"])).data)


class DashboardRecentActivityView(_StatisticsView):
    @extend_schema(
        parameters=[RecentActivityQuerySerializer],
        responses=RecentActivitySerializer,
        summary="The latest writes in the caller's namespace (from the audit log)",
        tags=["dashboard"],
    )
    def get(self, request: Request) -> Response:
        query = valid_query(RecentActivityQuerySerializer, request)
        data = statistics.recent_activity(request.user, query["limit"], query.get("resource_type", ""))
        return Response(RecentActivitySerializer(data).data)
