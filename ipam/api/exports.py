"""Export of the inventory (CSV/JSON): a job built in the background, then downloaded."""

from __future__ import annotations

import io

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.conditional import ConditionalMixin
from foundation.errors import ErrorSerializer
from foundation.http import uuid_path, valid_body
from foundation.permissions import IPAMPermission
from foundation.types import actor_of
from ipam.models import ExportJob, JobStatus
from ipam.services.exports import export_job_content, export_job_create, export_job_get


# --- Export ----------------------------------------------------------------------------------------
class ExportFiltersSerializer(serializers.Serializer):
    country = serializers.CharField(required=False, max_length=100, help_text="name, ISO alpha-2 or alpha-3")
    continent = serializers.CharField(required=False, max_length=50)
    status = serializers.CharField(required=False, max_length=16, help_text="region status: active, reserved, retired")
    host_status = serializers.CharField(required=False, max_length=16, help_text="host status: active, reserved, released")


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["csv", "json"], default="csv")
    include_hierarchy = serializers.BooleanField(
        default=False, help_text="CSV: continent → country → region → hosts order with continent columns; JSON: nested"
    )
    filters = ExportFiltersSerializer(required=False)


class ExportJobSerializer(serializers.ModelSerializer):
    job_id = serializers.UUIDField(source="id", read_only=True)
    status = serializers.ChoiceField(choices=JobStatus.choices, read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "job_id",
            "kind",
            "status",
            "format",
            "params",
            "row_count",
            "error",
            "filename",
            "created_at",
            "completed_at",
            "expires_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != JobStatus.COMPLETED:
            return None
        path = reverse("export-download", kwargs={"job_id": str(job.id)}).rstrip("/")
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ExportView(APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"POST": "read"}

    @extend_schema(
        request=ExportRequestSerializer,
        responses={202: ExportJobSerializer},
        summary="Export the caller's regions and hosts (202 job, built in the background)",
        tags=["export"],
    )
    def post(self, request: Request) -> Response:
        data = valid_body(ExportRequestSerializer, request)
        job = export_job_create(
            actor=actor_of(request),
            kind=ExportJob.Kind.EXPORT,
            format=data["format"],
            # the raw filters: the service rejects unknown keys (the serializer would drop them silently)
            params={"include_hierarchy": data["include_hierarchy"], "filters": request.data.get("filters")},
        )
        return Response(ExportJobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class ExportJobView(ConditionalMixin, APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read"}
    etag_read_actions = frozenset({"get"})

    @extend_schema(
        parameters=[uuid_path("job_id")],
        responses=ExportJobSerializer,
        summary="Status of an export or audit-export job (404 once expired)",
        tags=["export"],
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = export_job_get(user=request.user, job_id=job_id)
        return Response(ExportJobSerializer(job, context={"request": request}).data)


class ExportDownloadView(APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read"}

    @extend_schema(
        parameters=[uuid_path("job_id")],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="the CSV file"),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.BINARY, description="the JSON file"),
            409: OpenApiResponse(ErrorSerializer, description="not finished yet (export_not_ready) or failed (export_failed)"),
        },
        summary="Download a finished export (409 until it is done, 404 once expired)",
        tags=["export"],
    )
    def get(self, request: Request, job_id: str) -> FileResponse:
        job = export_job_content(user=request.user, job_id=job_id)
        response = FileResponse(
            io.BytesIO(bytes(job.content or b"")), as_attachment=True, filename=job.filename, content_type=job.content_type
        )
        response["Content-Length"] = str(len(job.content or b""))
        return response


# --- Import ------------------------------------------------------------------------------------------
