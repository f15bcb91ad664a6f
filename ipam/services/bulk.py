"""Bulk operations (tags) and their jobs (contract §5.7).

`bulk_tags_update` is the one entry point of the API: up to BULK_SYNC_MAX ids are changed at once and
answered with per-item results; more (up to BULK_MAX) become a `BulkJob` run by a Celery task in chunks,
each chunk one transaction that also records the job's progress (so progress is exact, and a job
re-delivered after a worker crash resumes where it stopped).

Every item is changed like `region_update`/`host_update` would: rows locked, tags validated, one audit
row and one `region.updated`/`host.updated` event per changed item, in the same transaction. Ids the
caller does not own fail per item with `not_found` (another user's ids look exactly like unknown ones).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from foundation import queue
from foundation.types import Actor
from ipam import exceptions
from ipam.models import BulkJob, BulkJobStatus, Host, Region
from ipam.services.audit import audit_save_many, host_audit, region_audit
from ipam.snapshots import host_snapshot, region_snapshot
from ipam.validation import TAG_KEY_RE, clean_tags
from webhooks.services import event_publish

logger = logging.getLogger("ipam.bulk")

BULK_SYNC_MAX = 100
BULK_MAX = 500
BULK_CHUNK_SIZE = 50
RESOURCE_TYPES = ("region", "host")
OPERATIONS = ("add", "remove", "replace")
OPERATION_NAME = "tags"


@dataclass(frozen=True)
class BulkTagsRequest:
    resource_type: str
    resource_ids: list[str]
    operation: str
    tags: dict[str, str]  # for remove: the keys to remove (values unused)

    def as_params(self) -> dict[str, Any]:
        return {"resource_type": self.resource_type, "resource_ids": self.resource_ids, "operation": self.operation, "tags": self.tags}


@dataclass(frozen=True)
class BulkTagsOutcome:
    """Either `result` (done synchronously) or `job` (accepted, runs in the background)."""

    result: dict[str, Any] | None = None
    job: BulkJob | None = None


def _normalise_id(value: Any) -> str:
    text = str(value).strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text  # not a UUID: reported per item as not found


def bulk_tags_clean(*, resource_type: Any, resource_ids: Any, operation: Any, tags: Any) -> BulkTagsRequest:
    """Validate a bulk tag request as a whole (400 with details on any problem)."""
    errors: dict[str, list[str]] = {}
    if resource_type not in RESOURCE_TYPES:
        errors["resource_type"] = [f"Must be one of {', '.join(RESOURCE_TYPES)}."]
    if operation not in OPERATIONS:
        errors["operation"] = [f"Must be one of {', '.join(OPERATIONS)}."]
    ids: list[str] = []
    if not isinstance(resource_ids, list) or not resource_ids:
        errors["resource_ids"] = [f"A list of 1 to {BULK_MAX} ids."]
    elif len(resource_ids) > BULK_MAX:
        errors["resource_ids"] = [f"At most {BULK_MAX} ids per request ({len(resource_ids)} given)."]
    elif not all(isinstance(item, str) and 0 < len(item) <= 64 for item in resource_ids):
        errors["resource_ids"] = ["Every id must be a non-empty string of at most 64 characters."]
    else:
        ids = [_normalise_id(item) for item in resource_ids]
        duplicates = sorted(item for item, count in Counter(ids).items() if count > 1)
        if duplicates:
            errors["resource_ids"] = [f"Ids must be unique; repeated: {', '.join(duplicates[:10])}."]
    cleaned_tags: dict[str, str] = {}
    if operation == "remove":
        keys = list(tags) if isinstance(tags, (list, dict)) else None
        if not keys or not all(isinstance(key, str) and TAG_KEY_RE.match(key) for key in keys):
            errors["tags"] = ["For remove: a non-empty list of tag keys (or an object whose keys are removed)."]
        else:
            cleaned_tags = {key: "" for key in keys}
    elif operation in ("add", "replace"):
        try:
            cleaned_tags = clean_tags(tags)
        except exceptions.ValidationFailed as exc:
            errors.update(exc.details)
        else:
            if operation == "add" and not cleaned_tags:
                errors["tags"] = ["For add: at least one tag."]
    if errors:
        raise exceptions.ValidationFailed(details=errors)
    return BulkTagsRequest(resource_type=str(resource_type), resource_ids=ids, operation=str(operation), tags=cleaned_tags)


def new_tags(current: dict[str, str], operation: str, tags: dict[str, str]) -> dict[str, str]:
    if operation == "add":
        return {**current, **tags}
    if operation == "remove":
        return {key: value for key, value in current.items() if key not in tags}
    return dict(tags)


def _item_error(resource_id: str, code: str, message: str) -> dict[str, Any]:
    return {"resource_id": resource_id, "status": "failed", "error": message, "error_code": code}


def _apply_chunk(*, actor: Actor, request: BulkTagsRequest, ids: list[str]) -> list[dict[str, Any]]:
    """Change the tags of `ids` (must run inside a transaction); per-item results in the order of `ids`."""
    model: type[Model] = Region if request.resource_type == "region" else Host
    valid = []
    for item in ids:
        try:
            valid.append(uuid.UUID(item))
        except ValueError:
            continue
    queryset = model.objects.filter(user=actor, pk__in=valid).order_by("pk")  # type: ignore[attr-defined]
    related = "country" if model is Region else "region__country"
    # Rows are locked in primary-key order so two bulk requests over the same ids cannot deadlock.
    rows = {str(row.pk): row for row in queryset.select_for_update(of=("self",)).select_related(related)}
    now = timezone.now()
    username = actor.get_username()
    changed_rows: list[Any] = []
    entries = []
    events: list[dict[str, Any]] = []
    results = []
    label = request.resource_type.capitalize()
    for item in ids:
        row = rows.get(item)
        if row is None:
            results.append(_item_error(item, f"{request.resource_type}_not_found", f"{label} not found."))
            continue
        before = dict(row.tags or {})
        after = new_tags(before, request.operation, request.tags)
        try:
            after = clean_tags(after)
        except exceptions.ValidationFailed as exc:
            messages = exc.details.get("tags", [exc.message])
            results.append(_item_error(item, "validation_error", str(messages[0])))
            continue
        results.append({"resource_id": item, "status": "success"})
        if after == before:
            continue  # nothing to change: no audit row, no event (like a PATCH with the same value)
        row.tags = after
        row.updated_by = username
        row.updated_at = now
        changed_rows.append(row)
        changes = [{"field": "tags", "old_value": before, "new_value": after}]
        if model is Region:
            snapshot = region_snapshot(row)
            entries.append(
                region_audit(
                    actor=actor, region=row, action_type="update", country_code=row.country.code, changes=changes, snapshot=snapshot
                )
            )
            events.append({"event_type": "region.updated", "data": {**snapshot, "changes": changes}})
        else:
            snapshot = host_snapshot(row)
            entries.append(
                host_audit(
                    actor=actor,
                    host=row,
                    region=row.region,
                    action_type="update",
                    country_code=row.region.country.code,
                    changes=changes,
                    snapshot=snapshot,
                )
            )
            events.append({"event_type": "host.updated", "data": {**snapshot, "changes": changes}})
    if changed_rows:
        model.objects.bulk_update(changed_rows, ["tags", "updated_by", "updated_at"])  # type: ignore[attr-defined]
        audit_save_many(entries)
        for event in events:
            event_publish(user=actor, event_type=event["event_type"], data=event["data"])
    return results


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    successful = sum(1 for item in results if item["status"] == "success")
    return {"total_requested": len(results), "successful": successful, "failed": len(results) - successful, "results": results}


def bulk_tags_apply(*, actor: Actor, request: BulkTagsRequest) -> dict[str, Any]:
    """Apply a (validated) request now, in one transaction: `{total_requested, successful, failed, results}`."""
    with transaction.atomic():
        return _summary(_apply_chunk(actor=actor, request=request, ids=request.resource_ids))


def bulk_tags_update(*, actor: Actor, resource_type: Any, resource_ids: Any, operation: Any, tags: Any) -> BulkTagsOutcome:
    """Add, remove or replace tags on many regions or hosts of `actor`.

    Up to BULK_SYNC_MAX ids: done now (`outcome.result`). Up to BULK_MAX: a job is created and sent to the
    worker after commit (`outcome.job`). More, or repeated ids: ValidationFailed.
    """
    request = bulk_tags_clean(resource_type=resource_type, resource_ids=resource_ids, operation=operation, tags=tags)
    if len(request.resource_ids) <= BULK_SYNC_MAX:
        return BulkTagsOutcome(result=bulk_tags_apply(actor=actor, request=request))
    with transaction.atomic():
        job = BulkJob.objects.create(user=actor, operation=OPERATION_NAME, params=request.as_params(), total=len(request.resource_ids))
        queue.enqueue("bulk_tags_run", str(job.pk))
    logger.info("Bulk tag job %s accepted: %s ids", job.pk, job.total)
    return BulkTagsOutcome(job=job)


def bulk_job_step(*, job_id: Any, chunk_size: int = BULK_CHUNK_SIZE) -> bool:
    """Process the next chunk of a job; True when the job is finished (or gone).

    The job row is locked for the chunk, so two workers running the same job share it without ever
    processing an item twice.
    """
    with transaction.atomic():
        job = BulkJob.objects.select_for_update(of=("self",)).select_related("user").filter(pk=job_id).first()
        if job is None or job.status in (BulkJobStatus.COMPLETED, BulkJobStatus.FAILED):
            return True
        params = job.params
        request = BulkTagsRequest(
            resource_type=params["resource_type"], resource_ids=params["resource_ids"], operation=params["operation"], tags=params["tags"]
        )
        now = timezone.now()
        if job.status == BulkJobStatus.PENDING:
            job.status = BulkJobStatus.PROCESSING
            job.started_at = now
        ids = request.resource_ids[job.processed : job.processed + chunk_size]
        results = _apply_chunk(actor=job.user, request=request, ids=ids)
        successful = sum(1 for item in results if item["status"] == "success")
        job.results = [*job.results, *results]
        job.processed += len(results)
        job.successful += successful
        job.failed += len(results) - successful
        done = job.processed >= job.total
        if done:
            job.status = BulkJobStatus.COMPLETED
            job.completed_at = now
        job.save(update_fields=["status", "started_at", "results", "processed", "successful", "failed", "completed_at"])
    return done


def bulk_tags_run(*, job_id: Any, chunk_size: int = BULK_CHUNK_SIZE) -> None:
    """Run a job to completion, chunk by chunk; an unexpected error marks it failed (with the error)."""
    try:
        while not bulk_job_step(job_id=job_id, chunk_size=chunk_size):
            pass
    except Exception as exc:
        logger.exception("Bulk job %s failed", job_id)
        BulkJob.objects.filter(pk=job_id).exclude(status=BulkJobStatus.COMPLETED).update(
            status=BulkJobStatus.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:2000], completed_at=timezone.now()
        )


def bulk_job_progress(job: BulkJob) -> dict[str, Any]:
    """The public picture of a job: `{job_id, status, progress, progress_percent, results, ...}`."""
    return {
        "job_id": str(job.pk),
        "operation": job.operation,
        "resource_type": job.params.get("resource_type"),
        "tag_operation": job.params.get("operation"),
        "status": job.status,
        "progress": {"total": job.total, "processed": job.processed, "successful": job.successful, "failed": job.failed},
        "progress_percent": round(job.processed * 100 / job.total, 2) if job.total else 100.0,
        "results": job.results,
        "error": job.error or None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
    }


def bulk_jobs_resume(*, older_than_minutes: int = 10) -> int:
    """Send again the jobs still pending `older_than_minutes` after creation (broker was down); how many.

    Safe to call while a worker runs the same job: chunks are claimed under the job's row lock.
    """
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    ids = list(BulkJob.objects.filter(status=BulkJobStatus.PENDING, created_at__lt=cutoff).values_list("pk", flat=True))
    for job_id in ids:
        queue.enqueue("bulk_tags_run", str(job_id))
    return len(ids)


def bulk_jobs_prune(*, older_than_days: int) -> int:
    """Delete bulk jobs created more than `older_than_days` ago; returns how many were deleted."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = BulkJob.objects.filter(status__in=BulkJobStatus.values, created_at__lt=cutoff).delete()
    return deleted
