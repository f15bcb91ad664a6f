"""Bulk tag changes: POST /ipam/bulk/tags and GET /ipam/bulk/jobs/{job_id}."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from foundation.conditional import ConditionalMixin
from foundation.permissions import IPAMPermission, owned
from foundation.types import actor_of
from ipam.exceptions import NotFound
from ipam.models import BulkJob, JobStatus
from ipam.services import bulk as bulk_services


class BulkTagsRequestSerializer(serializers.Serializer):
    resource_type = serializers.ChoiceField(choices=list(bulk_services.RESOURCE_TYPES))
    resource_ids = serializers.ListField(
        child=serializers.CharField(max_length=64),
        allow_empty=False,
        max_length=bulk_services.BULK_MAX,
        help_text=f"1-{bulk_services.BULK_MAX} unique region or host ids; more than {bulk_services.BULK_SYNC_MAX} run as a job",
    )
    operation = serializers.ChoiceField(choices=list(bulk_services.OPERATIONS))
    tags = serializers.JSONField(
        help_text="add/replace: an object of tags (replace with {} clears them); remove: a list of keys (or an object whose keys go)"
    )


class BulkItemResultSerializer(serializers.Serializer):
    resource_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["success", "failed"])
    error = serializers.CharField(required=False, help_text="why the item failed")
    error_code = serializers.CharField(required=False, help_text="e.g. region_not_found, host_not_found, validation_error")


class BulkTagsResultSerializer(serializers.Serializer):
    total_requested = serializers.IntegerField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BulkItemResultSerializer(many=True)


class BulkJobAcceptedSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    total_requested = serializers.IntegerField()
    status_url = serializers.CharField(help_text="GET it for progress")


class BulkJobProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()


class BulkJobSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    operation = serializers.CharField()
    resource_type = serializers.CharField()
    tag_operation = serializers.CharField(help_text="add, remove or replace")
    status = serializers.ChoiceField(choices=JobStatus.choices)
    progress = BulkJobProgressSerializer()
    progress_percent = serializers.FloatField()
    results = BulkItemResultSerializer(many=True)
    error = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class BulkTagsView(APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"POST": "update"}
    throttle_scopes = {"POST": "bulk"}

    @extend_schema(
        request=BulkTagsRequestSerializer,
        responses={
            200: OpenApiResponse(BulkTagsResultSerializer, description=f"≤ {bulk_services.BULK_SYNC_MAX} ids: done, per-item results"),
            202: OpenApiResponse(BulkJobAcceptedSerializer, description="more ids: a job; poll status_url"),
        },
        summary="Add, remove or replace tags on many regions or hosts",
        tags=["bulk"],
    )
    def post(self, request: Request) -> Response:
        serializer = BulkTagsRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = bulk_services.bulk_tags_update(actor=actor_of(request), **serializer.validated_data)
        if outcome.job is None:
            return Response(BulkTagsResultSerializer(outcome.result).data)
        job = outcome.job
        body: dict[str, Any] = {
            "job_id": job.pk,
            "status": job.status,
            "total_requested": job.total,
            "status_url": reverse("bulk-job", kwargs={"job_id": str(job.pk)}, request=request),
        }
        return Response(BulkJobAcceptedSerializer(body).data, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class BulkJobView(ConditionalMixin, APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read"}
    etag_read_actions = frozenset({"get"})
    queryset = BulkJob.objects.all()

    @extend_schema(responses=BulkJobSerializer, summary="Progress and results of a bulk job", tags=["bulk"])
    def get(self, request: Request, job_id: str) -> Response:
        try:
            pk = uuid.UUID(job_id)
        except ValueError:
            raise NotFound("Job not found.", code="job_not_found") from None
        job = owned(self, BulkJob.objects.all()).filter(pk=pk).first()
        if job is None:
            raise NotFound("Job not found.", code="job_not_found")
        return Response(BulkJobSerializer(bulk_services.bulk_job_progress(job)).data)
