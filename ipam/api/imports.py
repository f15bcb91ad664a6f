"""Import of an inventory file (the export formats): preview, then import."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.http import uuid_path
from foundation.idempotency import idempotent
from foundation.parsers import FormParser, JSONParser, MultiPartParser
from foundation.permissions import IPAMPermission
from foundation.types import actor_of
from ipam.exceptions import ValidationFailed
from ipam.services import imports


# --- Export ----------------------------------------------------------------------------------------
class ImportJsonRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["csv", "json"])
    content = serializers.JSONField(help_text="CSV text, or JSON text / a JSON value (see docs/api.md for the layouts)")
    mode = serializers.ChoiceField(choices=imports.MODES, required=False, help_text="default auto (also accepted as ?mode=)")
    force = serializers.BooleanField(required=False, help_text="commit the rows that succeed even if others fail (also ?force=)")
    placement = serializers.ChoiceField(
        choices=imports.PLACEMENTS,
        required=False,
        help_text="preview only: simulate auto or manual (default: manual if every row has its address)",
    )


class ImportMultipartRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="UTF-8 CSV or JSON, at most IPAM_IMPORT_MAX_BYTES")
    format = serializers.ChoiceField(choices=["csv", "json"], required=False, help_text="default: from the file name")
    mode = serializers.ChoiceField(choices=imports.MODES, required=False)
    force = serializers.BooleanField(required=False)
    placement = serializers.ChoiceField(choices=imports.PLACEMENTS, required=False)


class ImportRowResultSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="CSV: line in the file (header = 1); JSON: record number")
    path = serializers.CharField(required=False, help_text="JSON: where the record is")
    resource_type = serializers.ChoiceField(choices=imports.RECORD_KINDS)
    status = serializers.ChoiceField(choices=imports.ROW_STATUSES)
    region_id = serializers.UUIDField(required=False)
    host_id = serializers.UUIDField(required=False)
    cidr = serializers.CharField(required=False)
    ip_address = serializers.CharField(required=False)
    name = serializers.CharField(required=False, help_text="region name or hostname")
    error = serializers.CharField(required=False, help_text="failed rows: error code (as the API would answer)")
    message = serializers.CharField(required=False)


class ImportCountsSerializer(serializers.Serializer):
    regions = serializers.IntegerField()
    hosts = serializers.IntegerField()


class ImportResultSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=imports.MODES)
    format = serializers.ChoiceField(choices=["csv", "json"])
    force = serializers.BooleanField()
    placement = serializers.ChoiceField(choices=imports.PLACEMENTS, help_text="where rows were (or would be) placed")
    dry_run = serializers.BooleanField(help_text="true for preview: nothing was written")
    total_rows = serializers.IntegerField()
    created = ImportCountsSerializer(help_text="created (or, in preview, would be created)")
    failed = serializers.IntegerField()
    results = ImportRowResultSerializer(many=True)


class ImportProgressSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=["queued", "parsing", "writing", "done"])
    rows_read = serializers.IntegerField(help_text="rows parsed so far (reported every 1,000 rows)")
    rows_written = serializers.IntegerField(help_text="rows written so far (regions, then hosts region by region)")


class ImportJobSerializer(serializers.Serializer):
    job_id = serializers.UUIDField(source="id")
    status = serializers.ChoiceField(choices=["pending", "processing", "completed", "failed"])
    format = serializers.ChoiceField(choices=["csv", "json"])
    mode = serializers.ChoiceField(choices=imports.MODES)
    force = serializers.BooleanField()
    size = serializers.IntegerField(help_text="bytes of the uploaded file")
    progress = serializers.SerializerMethodField()
    result = serializers.JSONField(
        allow_null=True,
        help_text="completed: the import summary (as the synchronous answer, `results` listing only the failed rows); "
        "failed: the error body the synchronous import would have answered, plus `http_status`",
    )
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    status_url = serializers.SerializerMethodField()

    @extend_schema_field(ImportProgressSerializer)
    def get_progress(self, job: Any) -> dict[str, Any]:
        return imports.import_job_progress(job)

    def get_status_url(self, job: Any) -> str:
        path = reverse("import-job", kwargs={"job_id": str(job.id)}).rstrip("/")
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


_IMPORT_QUERY = [
    OpenApiParameter("mode", str, enum=list(imports.MODES), description="preview | auto (default) | manual"),
    OpenApiParameter("force", bool, description="commit the successful rows even if some fail"),
    OpenApiParameter("placement", str, enum=list(imports.PLACEMENTS), description="preview only: simulate auto or manual placement"),
]
_IMPORT_REQUEST = {"application/json": ImportJsonRequestSerializer, "multipart/form-data": ImportMultipartRequestSerializer}


class ImportView(APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"POST": "allocate"}
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    preview_only = False

    @extend_schema(
        parameters=_IMPORT_QUERY,
        request=_IMPORT_REQUEST,
        responses={200: ImportResultSerializer, 201: ImportResultSerializer, 202: ImportJobSerializer},
        summary="Import regions and hosts from CSV or JSON (201 all created; 200 preview or forced partial import; "
        "202 a background job for files above IPAM_IMPORT_SYNC_MAX_ROWS rows or IPAM_IMPORT_SYNC_MAX_BYTES bytes)",
        tags=["import"],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        return self._run(request)

    def _run(self, request: Request) -> Response:
        raw = _import_input(request)
        mode = "preview" if self.preview_only else raw["mode"]
        if imports.runs_in_background(raw["content"], raw["format"]):
            job = imports.import_job_create(
                actor=actor_of(request),
                content=raw["content"],
                format=raw["format"],
                mode=mode,
                force=raw["force"],
                placement=raw["placement"],
            )
            return Response(ImportJobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)
        result = imports.import_run(
            actor=actor_of(request), content=raw["content"], format=raw["format"], mode=mode, force=raw["force"], placement=raw["placement"]
        )
        partial_or_preview = result["dry_run"] or result["failed"]
        return Response(result, status=status.HTTP_200_OK if partial_or_preview else status.HTTP_201_CREATED)


class ImportPreviewView(ImportView):
    ipam_permissions = {"POST": "allocate"}
    preview_only = True

    @extend_schema(
        request=_IMPORT_REQUEST,
        responses={200: ImportResultSerializer, 202: ImportJobSerializer},
        summary="Validate an import and show what it would create (writes nothing; 202 a background job for large files)",
        tags=["import"],
    )
    def post(self, request: Request) -> Response:
        return self._run(request)


class ImportJobView(APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read"}

    @extend_schema(
        parameters=[uuid_path("job_id")],
        responses=ImportJobSerializer,
        summary="Status, progress and outcome of a background import (404 once expired)",
        tags=["import"],
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = imports.import_job_get(user=request.user, job_id=job_id)
        return Response(ImportJobSerializer(job, context={"request": request}).data)


def _flag(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise ValidationFailed(details={field: ["Must be true or false."]})


def _import_input(request: Request) -> dict[str, Any]:
    """The file or JSON content, its format, mode and force flag (body wins over the query string)."""
    try:
        data = request.data
    except RequestDataTooBig:
        raise ValidationFailed(
            "The request body is too large.", code="file_too_large", details={"max_bytes": imports.max_bytes()}
        ) from None
    if not hasattr(data, "get"):
        raise ValidationFailed(details={"non_field_errors": ["Send a JSON object or a multipart form."]})
    mode = data.get("mode") or request.query_params.get("mode") or "auto"
    if mode not in imports.MODES:
        raise ValidationFailed(details={"mode": [f"Must be one of {', '.join(imports.MODES)}."]})
    force = _flag(data.get("force", request.query_params.get("force")), "force")
    placement = data.get("placement") or request.query_params.get("placement") or ""
    if placement not in ("", *imports.PLACEMENTS):
        raise ValidationFailed(details={"placement": ["Must be auto or manual."]})
    upload = request.FILES.get("file") if hasattr(request, "FILES") else None
    fmt = data.get("format") or ""
    if upload is not None:
        if upload.size is not None and upload.size > imports.max_bytes():
            raise imports.too_large(upload.size)
        fmt = fmt or imports.format_from_name(upload.name or "", getattr(upload, "content_type", "") or "")
        content: Any = upload.read(imports.max_bytes() + 1)
    elif "content" in data:
        content = data.get("content")
        if not fmt:
            raise ValidationFailed(details={"format": ["Required with content: csv or json."]})
    else:
        raise ValidationFailed(details={"file": ["Send a multipart `file`, or JSON {format, content}."]})
    if fmt not in ("csv", "json"):
        raise ValidationFailed(details={"format": ["Must be csv or json."]})
    return {"content": content, "format": fmt, "mode": mode, "force": force, "placement": placement}
