"""Background imports: a file above IPAM_IMPORT_SYNC_MAX_ROWS rows or IPAM_IMPORT_SYNC_MAX_BYTES bytes is
not run inside the request. `POST /ipam/import` records an `ImportJob` holding the upload and answers 202 with
its status URL; the Celery task `import_run_job` (sent by name after commit) runs the very same `import_run`
and stores its summary — or the error body the synchronous import would have answered — on the job.

Progress: the parse phase reports the rows read every `PROGRESS_EVERY` rows, the write phase the hosts
written; both go to the cache (the write phase runs in one transaction, so a row update would stay invisible
until the end). Without a shared cache (development without Redis) the status shows the phase only.
"""

from __future__ import annotations

import csv
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from foundation import queue
from foundation.types import Actor
from ipam import exceptions
from ipam.models import ImportJob, JobStatus
from ipam.services.imports.parsing import MAX_REPORTED_ERRORS, check_header, csv_lines, max_bytes, too_large
from ipam.services.imports.running import import_run

logger = logging.getLogger("ipam.imports")

PROGRESS_TTL = 24 * 3600


def _size_and_lines(content: Any) -> tuple[int, int]:
    if isinstance(content, bytes | bytearray):
        return len(content), content.count(b"\n")
    if isinstance(content, str):
        return len(content.encode("utf-8", "surrogatepass")), content.count("\n")
    return 0, 0  # a JSON value sent inline: already parsed by the request, runs synchronously


def runs_in_background(content: Any, format: str) -> bool:
    """Whether an import of `content` is too large to run inside the request."""
    size, lines = _size_and_lines(content)
    return size > settings.IPAM_IMPORT_SYNC_MAX_BYTES or (format == "csv" and lines > settings.IPAM_IMPORT_SYNC_MAX_ROWS)


def import_job_create(*, actor: Actor, content: Any, format: str, mode: str, force: bool, placement: str) -> ImportJob:
    """Record a background import of `content` (bytes or text) and send its task after commit."""
    raw = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else bytes(content)
    if len(raw) > max_bytes():
        raise too_large(len(raw))
    if format == "csv":
        _check_csv_header(raw)
    with transaction.atomic():
        job = ImportJob.objects.create(
            user=actor,
            format=format,
            mode=mode,
            force=force,
            placement=placement,
            content=raw,
            size=len(raw),
            expires_at=timezone.now() + timedelta(hours=settings.IPAM_EXPORT_RETENTION_HOURS),
        )
        queue.enqueue("import_run_job", str(job.pk))
    return job


def _check_csv_header(raw: bytes) -> None:
    """A bad header (encoding, structure, columns) is a 400 in the request, not a failed job: only the lines up
    to the first non-empty row are read."""
    reader = csv.reader(csv_lines(raw), strict=True)
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                check_header(cells, reader.line_num)
                return
    except csv.Error as exc:
        raise exceptions.ValidationFailed(
            f"The CSV is malformed near line {reader.line_num}: {exc}.", details={"file": [str(exc)], "line": reader.line_num}
        ) from None


def import_job_get(*, user: Any, job_id: Any) -> ImportJob:
    """The caller's import job (without its upload), 404 when unknown, someone else's or expired."""
    job = ImportJob.objects.filter(user=user, pk=job_id).defer("content").first()
    if job is None or job.expires_at <= timezone.now():
        raise exceptions.NotFound("Import job not found.", code="import_job_not_found")
    return job


def import_job_progress(job: ImportJob) -> dict[str, Any]:
    """{phase, rows_read, rows_written} of a job: queued → parsing → writing → done."""
    if job.status == JobStatus.PENDING:
        return {"phase": "queued", "rows_read": 0, "rows_written": 0}
    if job.status in (JobStatus.COMPLETED, JobStatus.FAILED):
        total = (job.result or {}).get("total_rows", (job.result or {}).get("details", {}).get("total_rows", 0))
        created = (job.result or {}).get("created") or {}
        return {"phase": "done", "rows_read": total, "rows_written": sum(created.values()) if isinstance(created, dict) else 0}
    return cache.get(_progress_key(job.pk)) or {"phase": "parsing", "rows_read": 0, "rows_written": 0}


def _progress_key(job_id: Any) -> str:
    return f"import-progress:{job_id}"


def import_job_run(*, job_id: Any) -> ImportJob | None:
    """Run a pending job (the Celery task calls this); a duplicate delivery of the task is a no-op."""
    claimed = ImportJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(status=JobStatus.PROCESSING, started_at=timezone.now())
    if not claimed:
        return None
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    content = bytes(job.content or b"")
    ImportJob.objects.filter(pk=job.pk).update(content=None)  # the upload is not kept past its run
    job.content = None
    state = {"phase": "parsing", "rows_read": 0, "rows_written": 0}

    def progress(phase: str, count: int) -> None:
        state["phase"] = phase
        state["rows_read" if phase == "parsing" else "rows_written"] = count
        cache.set(_progress_key(job.pk), dict(state), PROGRESS_TTL)

    try:
        summary = import_run(
            actor=job.user,
            content=content,
            format=job.format,
            mode=job.mode,
            force=job.force,
            placement=job.placement,
            progress=progress,
            all_results=False,
        )
    except exceptions.ServiceError as exc:
        details = dict(exc.details)
        if isinstance(details.get("results"), list):
            details["results"] = _failed_only(details["results"])
        job.result = {"error": exc.code, "message": exc.message, "details": details, "http_status": exc.status_code}
        job.status = JobStatus.FAILED
    except Exception as exc:  # any other failure is the job's outcome, not the worker's
        logger.exception("Import job %s failed", job.pk)
        job.result = {"error": "import_error", "message": f"{exc.__class__.__name__}: {exc}"[:2000], "details": {}, "http_status": 500}
        job.status = JobStatus.FAILED
    else:
        job.result = {**summary, "results": _failed_only(summary["results"])}
        job.status = JobStatus.COMPLETED
    del content
    job.completed_at = timezone.now()
    job.save(update_fields=["result", "status", "completed_at"])
    cache.delete(_progress_key(job.pk))
    logger.info("Import job %s %s", job.pk, job.status)
    return job


def _failed_only(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A job keeps the rows that failed (at most MAX_REPORTED_ERRORS), not one entry per row of the file."""
    return [row for row in results if row.get("status") == "failed"][:MAX_REPORTED_ERRORS]


def import_jobs_prune() -> int:
    deleted, _ = ImportJob.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
