"""Export and audit-export jobs: created by the API (202), built by a Celery task, downloadable until
they expire (`IPAM_EXPORT_RETENTION_HOURS`, 24 h), then pruned by the housekeeping job.

Inventory file layouts (import reads all of them back, see `ipam.services.imports`):
- CSV flat: one row per region and per host (`resource_type` column); host rows carry their region's
  country, name and CIDR. Regions first, then hosts, each by address.
- CSV hierarchical: the same rows plus `continent` and `country_code`, walked continent → country →
  region → its hosts.
- JSON flat: `{"regions": [...], "hosts": [...]}`; JSON nested: `{"continents": [{"countries":
  [{"regions": [{..., "hosts": [...]}]}]}]}`.

CSV cells (inventory and audit) that a spreadsheet would evaluate as a formula are written with a leading
single quote (`ipam.csvsafe`); the import strips it again.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from foundation import queue
from foundation.dbrouter import lag_tolerant
from foundation.types import Actor
from ipam import exceptions
from ipam.csvsafe import neutralise_row
from ipam.models import ExportJob, Host, HostStatus, JobStatus, Region, RegionStatus
from ipam.selectors.audit import AUDIT_FIELDS, audit_filters_clean, audit_queryset, audit_row
from ipam.selectors.countries import country_get
from ipam.selectors.statistics import continent_name
from ipam.services.audit import audit_record

logger = logging.getLogger("ipam.exports")

FORMATS = ("csv", "json")
EXPORT_FILTERS = ("country", "continent", "status", "host_status")
REGION_COLUMNS = ("country", "region_name", "cidr", "x_octet", "y_octet")
HOST_COLUMNS = ("z_octet", "ip_address", "hostname")
DETAIL_COLUMNS = (
    "description",
    "owner",
    "status",
    "device_type",
    "os_type",
    "application",
    "cost_center",
    "purpose",
    "notes",
    "tags",
    "created_at",
    "updated_at",
)
CSV_FLAT_COLUMNS = ("resource_type", *REGION_COLUMNS, *HOST_COLUMNS, *DETAIL_COLUMNS)
CSV_HIERARCHY_COLUMNS = ("continent", "country_code", *CSV_FLAT_COLUMNS)
HOST_FIELDS = ("device_type", "os_type", "application", "cost_center", "purpose", "notes")


# --- Jobs -----------------------------------------------------------------------------------------
def export_filters_clean(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise exceptions.ValidationFailed(details={"filters": ["Must be an object."]})
    unknown = sorted(set(raw) - set(EXPORT_FILTERS))
    if unknown:
        raise exceptions.ValidationFailed(details={"filters": [f"Unknown filter {key!r}." for key in unknown]})
    cleaned = {key: str(raw[key]).strip() for key in EXPORT_FILTERS if raw.get(key) not in (None, "")}
    try:
        if "continent" in cleaned:
            cleaned["continent"] = continent_name(cleaned["continent"])
        if "country" in cleaned:
            cleaned["country"] = country_get(cleaned["country"]).name
    except exceptions.NotFound as exc:
        raise exceptions.ValidationFailed(exc.message, details={"filters": [exc.message]}) from None
    if cleaned.get("status") and cleaned["status"] not in RegionStatus.values:
        raise exceptions.ValidationFailed(details={"filters": [f"status must be one of {', '.join(RegionStatus.values)}."]})
    if cleaned.get("host_status") and cleaned["host_status"] not in HostStatus.values:
        raise exceptions.ValidationFailed(details={"filters": [f"host_status must be one of {', '.join(HostStatus.values)}."]})
    return cleaned


def export_job_create(*, actor: Actor, kind: str, format: str, params: dict[str, Any]) -> ExportJob:
    """Record an export (or audit export) job and send the task that builds it after commit."""
    if format not in FORMATS:
        raise exceptions.ValidationFailed(details={"format": ["Must be csv or json."]})
    if kind == ExportJob.Kind.AUDIT_EXPORT:
        filters = params.get("filters") or {}
        if not isinstance(filters, dict):
            raise exceptions.ValidationFailed(details={"filters": ["Must be an object."]})
        params = {"filters": audit_filters_clean(filters)}
    elif kind == ExportJob.Kind.EXPORT:
        params = {"include_hierarchy": bool(params.get("include_hierarchy")), "filters": export_filters_clean(params.get("filters"))}
    else:
        raise exceptions.ValidationFailed(details={"kind": ["Unknown export kind."]})
    with transaction.atomic():
        job = ExportJob.objects.create(
            user=actor,
            kind=kind,
            format=format,
            params=params,
            expires_at=timezone.now() + timedelta(hours=settings.IPAM_EXPORT_RETENTION_HOURS),
        )
        audit_record(
            actor=actor,
            user_id=actor.pk,
            action_type="export_requested",
            resource_type=kind,
            resource_id=job.pk,
            snapshot={"job_id": str(job.pk), "format": format, **params},
        )
        queue.enqueue("export_build", str(job.pk))
    return job


def export_job_get(*, user: Any, job_id: Any) -> ExportJob:
    """The caller's job, 404 when unknown, someone else's or expired."""
    job = ExportJob.objects.filter(user=user, pk=job_id).defer("content").first()
    if job is None:
        raise exceptions.NotFound("Export job not found.", code="export_not_found")
    if job.expires_at <= timezone.now():
        raise exceptions.NotFound("The export has expired; request a new one.", code="export_expired")
    return job


def export_job_content(*, user: Any, job_id: Any) -> ExportJob:
    """The caller's finished job with its file; 409 while it is being built or when it failed."""
    job = export_job_get(user=user, job_id=job_id)
    if job.status in (JobStatus.PENDING, JobStatus.PROCESSING):
        raise exceptions.StateConflict("The export is not ready yet.", code="export_not_ready", details={"status": job.status})
    if job.status == JobStatus.FAILED:
        raise exceptions.StateConflict("The export failed.", code="export_failed", details={"error": job.error})
    return ExportJob.objects.get(pk=job.pk)


def export_job_run(*, job_id: Any) -> ExportJob | None:
    """Build the file of a pending job (the Celery task calls this). Claiming the job with a conditional
    UPDATE makes a duplicate delivery of the task a no-op."""
    if not ExportJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(status=JobStatus.PROCESSING):
        return None
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    try:
        # The file may lag the primary by the replication delay, unless the user wrote just now.
        with lag_tolerant(user_id=job.user_id):
            if job.kind == ExportJob.Kind.AUDIT_EXPORT:
                content, count = _build_audit(job)
            else:
                content, count = _build_inventory(job)
    except Exception as exc:  # any failure is the job's outcome, not the worker's
        logger.exception("Export job %s failed", job.pk)
        job.status = JobStatus.FAILED
        job.error = f"{exc.__class__.__name__}: {exc}"[:2000]
        job.completed_at = timezone.now()
        job.save(update_fields=["status", "error", "completed_at"])
        return job
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    job.content = content
    job.content_type = "text/csv; charset=utf-8" if job.format == "csv" else "application/json"
    job.filename = f"ipam-{'audit' if job.kind == ExportJob.Kind.AUDIT_EXPORT else 'export'}-{stamp}.{job.format}"
    job.row_count = count
    job.status = JobStatus.COMPLETED
    job.completed_at = timezone.now()
    job.save(update_fields=["content", "content_type", "filename", "row_count", "status", "completed_at"])
    logger.info("Export job %s completed: %s rows", job.pk, count)
    return job


def export_jobs_prune() -> int:
    """Delete export jobs past their `expires_at`; returns how many were deleted."""
    deleted, _ = ExportJob.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


# --- Audit export -----------------------------------------------------------------------------------
def _build_audit(job: ExportJob) -> tuple[bytes, int]:
    rows = audit_queryset(job.user, job.params.get("filters", {})).iterator(chunk_size=2000)
    count = 0
    if job.format == "json":
        items = []
        for row in rows:
            items.append(audit_row(row))
        count = len(items)
        body = {"exported_at": timezone.now().isoformat(), "filters": job.params.get("filters", {}), "count": count, "audit": items}
        return json.dumps(body, indent=1).encode(), count
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=AUDIT_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        item = audit_row(row)
        item["changes"] = json.dumps(item["changes"])
        item["snapshot"] = json.dumps(item["snapshot"])
        writer.writerow(neutralise_row(item))
        count += 1
    return out.getvalue().encode(), count


# --- Inventory export -----------------------------------------------------------------------------
def _regions(user: Any, filters: dict[str, str]) -> QuerySet[Region]:
    regions = Region.objects.filter(user=user)
    if filters.get("country"):  # the canonical name (see export_filters_clean)
        regions = regions.filter(country__name=filters["country"])
    if filters.get("continent"):
        regions = regions.filter(country__continent=filters["continent"])
    if filters.get("status"):
        regions = regions.filter(status=filters["status"])
    return regions


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""


def _region_item(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "region_id": str(r["id"]),
        "country": r["country__name"],
        "continent": r["country__continent"],
        "country_code": r["country__code"],
        "region_name": r["region_name"],
        "cidr": f"10.{r['x_octet']}.{r['y_octet']}.0/24",
        "x_octet": r["x_octet"],
        "y_octet": r["y_octet"],
        "description": r["description"],
        "owner": r["owner"],
        "status": r["status"],
        "tags": r["tags"] or {},
        "allocated_hosts": r["allocated_hosts"],
        "created_at": _iso(r["created_at"]),
        "updated_at": _iso(r["updated_at"]),
    }


def _host_item(h: Mapping[str, Any], region: dict[str, Any]) -> dict[str, Any]:
    return {
        "host_id": str(h["id"]),
        "region_id": region["region_id"],
        "country": region["country"],
        "region_name": region["region_name"],
        "cidr": region["cidr"],
        "x_octet": h["x_octet"],
        "y_octet": h["y_octet"],
        "z_octet": h["z_octet"],
        "ip_address": h["ip_address"],
        "hostname": h["hostname"],
        **{key: h[key] or ("" if key != "device_type" else None) for key in HOST_FIELDS},
        "status": h["status"],
        "tags": h["tags"] or {},
        "created_at": _iso(h["created_at"]),
        "updated_at": _iso(h["updated_at"]),
    }


def _inventory(job: ExportJob) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Regions (ordered continent → country → address) and their hosts by region id (ordered by address)."""
    filters = job.params.get("filters", {})
    region_rows = (
        _regions(job.user, filters)
        .order_by("country__continent", "country__x_start", "network_int")
        .values(
            "id",
            "country__name",
            "country__continent",
            "country__code",
            "region_name",
            "x_octet",
            "y_octet",
            "description",
            "owner",
            "status",
            "tags",
            "allocated_hosts",
            "created_at",
            "updated_at",
        )
    )
    regions = [_region_item(r) for r in region_rows.iterator(chunk_size=2000)]
    by_id = {r["region_id"]: r for r in regions}
    hosts: dict[str, list[dict[str, Any]]] = {r["region_id"]: [] for r in regions}
    host_rows = Host.objects.filter(user=job.user, region__in=_regions(job.user, filters))
    if filters.get("host_status"):
        host_rows = host_rows.filter(status=filters["host_status"])
    fields = ("id", "region_id", "x_octet", "y_octet", "z_octet", "ip_address", "hostname", *HOST_FIELDS, "status", "tags")
    for h in host_rows.order_by("ip_int").values(*fields, "created_at", "updated_at").iterator(chunk_size=5000):
        region = by_id.get(str(h["region_id"]))
        if region is not None:  # a region created while the export runs is not in `regions`
            hosts[region["region_id"]].append(_host_item(h, region))
    return regions, hosts


def _build_inventory(job: ExportJob) -> tuple[bytes, int]:
    regions, hosts = _inventory(job)
    hierarchy = bool(job.params.get("include_hierarchy"))
    count = len(regions) + sum(len(v) for v in hosts.values())
    if job.format == "json":
        return json.dumps(_inventory_json(job, regions, hosts, hierarchy), indent=1).encode(), count
    out = io.StringIO()
    columns = CSV_HIERARCHY_COLUMNS if hierarchy else CSV_FLAT_COLUMNS
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(neutralise_row(row) for row in _csv_rows(regions, hosts, hierarchy))
    return out.getvalue().encode(), count


def _csv_region(region: dict[str, Any]) -> dict[str, Any]:
    return {**region, "resource_type": "region", "tags": json.dumps(region["tags"]) if region["tags"] else ""}


def _csv_host(host: dict[str, Any], region: dict[str, Any]) -> dict[str, Any]:
    return {
        **host,
        "resource_type": "host",
        "continent": region["continent"],
        "country_code": region["country_code"],
        "device_type": host["device_type"] or "",
        "tags": json.dumps(host["tags"]) if host["tags"] else "",
    }


def _csv_rows(regions: list[dict[str, Any]], hosts: dict[str, list[dict[str, Any]]], hierarchy: bool) -> Iterator[dict[str, Any]]:
    if hierarchy:
        for region in regions:
            yield _csv_region(region)
            for host in hosts[region["region_id"]]:
                yield _csv_host(host, region)
        return
    by_address = sorted(regions, key=lambda r: (r["x_octet"], r["y_octet"]))
    for region in by_address:
        yield _csv_region(region)
    for region in by_address:
        for host in hosts[region["region_id"]]:
            yield _csv_host(host, region)


def _inventory_json(
    job: ExportJob, regions: list[dict[str, Any]], hosts: dict[str, list[dict[str, Any]]], hierarchy: bool
) -> dict[str, Any]:
    head = {"exported_at": timezone.now().isoformat(), "filters": job.params.get("filters", {})}
    if not hierarchy:
        by_address = sorted(regions, key=lambda r: (r["x_octet"], r["y_octet"]))
        return {
            **head,
            "layout": "flat",
            "regions": by_address,
            "hosts": [host for region in by_address for host in hosts[region["region_id"]]],
        }
    continents: dict[str, dict[str, Any]] = {}
    for region in regions:
        continent = continents.setdefault(region["continent"], {"continent": region["continent"], "countries": {}})
        country = continent["countries"].setdefault(
            region["country"], {"country": region["country"], "country_code": region["country_code"], "regions": []}
        )
        country["regions"].append({**region, "hosts": hosts[region["region_id"]]})
    return {
        **head,
        "layout": "nested",
        "continents": [{"continent": c["continent"], "countries": list(c["countries"].values())} for c in continents.values()],
    }
