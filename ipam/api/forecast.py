"""Capacity forecast: GET /ipam/statistics/forecast/{resource_type}/{resource_id}?days_ahead=."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.dbrouter import ReplicaReadsMixin
from foundation.permissions import IPAMPermission
from ipam.selectors.forecast import capacity_forecast


class ForecastQuerySerializer(serializers.Serializer):
    days_ahead = serializers.IntegerField(min_value=1, max_value=365, default=90, help_text="forecast period in days (1-365)")


class ForecastSerializer(serializers.Serializer):
    resource_type = serializers.ChoiceField(choices=["country", "region"])
    resource_id = serializers.CharField(help_text="the country's name, or the region id")
    resource_name = serializers.CharField(help_text="the country's or the region's name")
    current_utilization = serializers.FloatField(help_text="percent")
    allocated = serializers.IntegerField(help_text="regions (country) or hosts (region) allocated now")
    capacity = serializers.IntegerField()
    available = serializers.IntegerField()
    daily_allocation_rate = serializers.FloatField(help_text="least-squares slope of the net allocations per day")
    days_until_exhaustion = serializers.IntegerField(allow_null=True, help_text="null: no exhaustion foreseen or not enough data")
    estimated_exhaustion_date = serializers.DateField(allow_null=True)
    projected_utilization = serializers.FloatField(allow_null=True, help_text="percent at the end of the forecast period")
    confidence_level = serializers.ChoiceField(choices=["high", "medium", "low", "insufficient_data"])
    recommendation = serializers.CharField()
    data_points = serializers.IntegerField(help_text="allocation events in the last 90 days")
    release_events = serializers.IntegerField()
    active_days = serializers.IntegerField(help_text="days of the last 90 with allocation activity")
    required_data_points = serializers.IntegerField(help_text="allocation events needed for a forecast")
    history_days = serializers.IntegerField()
    forecast_period_days = serializers.IntegerField()
    generated_at = serializers.DateTimeField()


class ForecastView(ReplicaReadsMixin, APIView):
    """Forecast for a country (name, ISO alpha-2 or alpha-3) or one of the caller's regions (id)."""

    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read"}

    @extend_schema(
        parameters=[
            OpenApiParameter("resource_type", str, OpenApiParameter.PATH, enum=["country", "region"]),
            OpenApiParameter("resource_id", str, OpenApiParameter.PATH, description="country name/code/code3, or region id"),
            ForecastQuerySerializer,
        ],
        responses={200: OpenApiResponse(ForecastSerializer, description="`X-Cache: HIT|MISS` tells whether it came from the cache.")},
        summary="Capacity forecast for a country or a region",
        tags=["statistics"],
    )
    def get(self, request: Request, resource_type: str, resource_id: str) -> Response:
        query = ForecastQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        forecast, hit = capacity_forecast(request.user, resource_type, resource_id, days_ahead=query.validated_data["days_ahead"])
        response = Response(ForecastSerializer(forecast).data)
        response["X-Cache"] = "HIT" if hit else "MISS"
        return response
