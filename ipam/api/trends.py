"""Allocation trends: GET /ipam/statistics/trends."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.dbrouter import ReplicaReadsMixin
from foundation.permissions import IPAMPermission
from ipam.selectors.trends import allocation_trends


class TrendsQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=["day", "week", "month"], default="day", help_text="weeks start on Monday")
    start_date = serializers.DateField(required=False, help_text="YYYY-MM-DD; default 30 days, 12 weeks or 12 months before end_date")
    end_date = serializers.DateField(required=False, help_text="YYYY-MM-DD, inclusive; default today (UTC)")
    resource_type = serializers.ChoiceField(choices=["region", "host", "all"], required=False, default="all")
    country = serializers.CharField(required=False, max_length=100, help_text="name, ISO alpha-2 or alpha-3")


class TrendPointSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="inclusive; buckets are clipped to the requested range")
    allocations = serializers.IntegerField()
    releases = serializers.IntegerField(help_text="retirements and releases")
    net_growth = serializers.IntegerField()


class TrendSummarySerializer(serializers.Serializer):
    total_allocations = serializers.IntegerField()
    total_releases = serializers.IntegerField()
    net_growth = serializers.IntegerField()
    average_daily_rate = serializers.FloatField(help_text="net growth ÷ days in the range")
    days = serializers.IntegerField()


class TrendsSerializer(serializers.Serializer):
    group_by = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    resource_type = serializers.CharField()
    country = serializers.CharField(allow_null=True, help_text="ISO alpha-2 code of the country filter")
    time_series = TrendPointSerializer(many=True)
    summary = TrendSummarySerializer()
    generated_at = serializers.DateTimeField()


class TrendsView(ReplicaReadsMixin, APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read"}

    @extend_schema(
        parameters=[TrendsQuerySerializer],
        responses=TrendsSerializer,
        summary="Allocations, releases and net growth per day, week or month",
        tags=["statistics"],
    )
    def get(self, request: Request) -> Response:
        query = TrendsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        trends = allocation_trends(
            request.user,
            group_by=data["group_by"],
            start_date=data.get("start_date"),
            end_date=data.get("end_date"),
            resource_type=data.get("resource_type"),
            country=data.get("country"),
        )
        return Response(TrendsSerializer(trends).data)
