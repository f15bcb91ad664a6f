"""Export jobs: 202 → built by the Celery task on commit → status → download (attachment); 409 until
done; 404 after expiry; pruning; filters; layouts; isolation."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from ipam.models import AuditLog, ExportJob, Host, JobStatus, Region
from ipam.services.exports import export_job_run, export_jobs_prune
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate(alice, bob):
    """alice: tokyo 10.46.0.0/24 (1 host), mumbai 10.0.0.0/24 reserved (2 hosts), madrid 10.128.0.0/24; bob: one region."""
    tokyo = make_region(alice, "Japan", "tokyo", tags={"env": "prod"})
    mumbai = make_region(alice, "India", "mumbai", description='west, "main"', owner="netops")
    madrid = make_region(alice, "Spain", "madrid")
    make_host(alice, tokyo, hostname="edge-1", device_type="Network")
    make_host(alice, mumbai, hostname="web-1", device_type="VM", os_type="linux", tags={"role": "web"}, notes="line1\nline2")
    db = make_host(alice, mumbai, hostname="db-1", purpose="primary, replicated")
    Host.objects.filter(pk=db.pk).update(status="released")
    Region.objects.filter(pk=mumbai.pk).update(status="reserved")
    make_host(bob, make_region(bob, "India", "bob-only"), hostname="bob-host")
    return {"tokyo": tokyo, "mumbai": mumbai, "madrid": madrid}


def _export(client, payload, capture):
    with capture(execute=True):
        response = client.post("/ipam/export", payload, format="json")
    assert response.status_code == 202, response.json()
    job = response.json()
    assert job["status"] == "pending" and job["kind"] == "export" and job["download_url"] is None
    status = client.get(f"/ipam/export/{job['job_id']}").json()
    assert status["status"] == "completed", status
    download = client.get(f"/ipam/export/{job['job_id']}/download")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment; filename=")
    assert status["download_url"].endswith(f"/ipam/export/{job['job_id']}/download")
    return status, download, b"".join(download.streaming_content).decode()


def test_flat_csv_export_has_one_row_per_region_and_host(api, estate, django_capture_on_commit_callbacks):
    status, download, text = _export(api, {"format": "csv"}, django_capture_on_commit_callbacks)
    assert download["Content-Type"].startswith("text/csv") and status["row_count"] == 6
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["resource_type"], r["cidr"], r["ip_address"]) for r in rows] == [
        ("region", "10.0.0.0/24", ""),
        ("region", "10.46.0.0/24", ""),
        ("region", "10.128.0.0/24", ""),
        ("host", "10.0.0.0/24", "10.0.0.1"),
        ("host", "10.0.0.0/24", "10.0.0.2"),
        ("host", "10.46.0.0/24", "10.46.0.1"),
    ]
    mumbai, web = rows[0], rows[3]
    assert mumbai["status"] == "reserved" and mumbai["description"] == 'west, "main"' and mumbai["owner"] == "netops"
    assert web["region_name"] == "mumbai" and web["country"] == "India" and web["notes"] == "line1\nline2"
    assert json.loads(web["tags"]) == {"role": "web"} and rows[4]["status"] == "released"
    assert "continent" not in rows[0]


def test_hierarchical_csv_walks_continent_country_region_hosts(api, estate, django_capture_on_commit_callbacks):
    _, _, text = _export(api, {"format": "csv", "include_hierarchy": True}, django_capture_on_commit_callbacks)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["continent"], r["country_code"], r["resource_type"], r["region_name"], r["hostname"]) for r in rows] == [
        ("Asia", "IN", "region", "mumbai", ""),
        ("Asia", "IN", "host", "mumbai", "web-1"),
        ("Asia", "IN", "host", "mumbai", "db-1"),
        ("Asia", "JP", "region", "tokyo", ""),
        ("Asia", "JP", "host", "tokyo", "edge-1"),
        ("Europe", "ES", "region", "madrid", ""),
    ]


def test_json_exports_flat_and_nested(api, estate, django_capture_on_commit_callbacks):
    _, download, text = _export(api, {"format": "json"}, django_capture_on_commit_callbacks)
    flat = json.loads(text)
    assert download["Content-Type"] == "application/json"
    assert [r["region_name"] for r in flat["regions"]] == ["mumbai", "tokyo", "madrid"]
    assert [h["ip_address"] for h in flat["hosts"]] == ["10.0.0.1", "10.0.0.2", "10.46.0.1"]
    assert flat["hosts"][0]["tags"] == {"role": "web"} and flat["hosts"][1]["device_type"] is None
    _, _, text = _export(api, {"format": "json", "include_hierarchy": True}, django_capture_on_commit_callbacks)
    nested = json.loads(text)
    assert [c["continent"] for c in nested["continents"]] == ["Asia", "Europe"]
    asia = nested["continents"][0]["countries"]
    assert [c["country"] for c in asia] == ["India", "Japan"]
    assert [h["hostname"] for h in asia[0]["regions"][0]["hosts"]] == ["web-1", "db-1"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"country": "jpn"}, ["10.46.0.0/24", "10.46.0.1"]),
        ({"continent": "europe"}, ["10.128.0.0/24"]),
        ({"status": "reserved"}, ["10.0.0.0/24", "10.0.0.1", "10.0.0.2"]),
        ({"status": "active", "host_status": "active"}, ["10.46.0.0/24", "10.128.0.0/24", "10.46.0.1"]),
        ({"host_status": "released"}, ["10.0.0.0/24", "10.46.0.0/24", "10.128.0.0/24", "10.0.0.2"]),
    ],
)
def test_export_filters(api, estate, filters, expected, django_capture_on_commit_callbacks):
    _, _, text = _export(api, {"format": "csv", "filters": filters}, django_capture_on_commit_callbacks)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["ip_address"] or r["cidr"] for r in rows] == expected


def test_exports_never_contain_another_users_data(client_for, bob, estate, django_capture_on_commit_callbacks):
    _, _, text = _export(client_for(bob), {"format": "json"}, django_capture_on_commit_callbacks)
    body = json.loads(text)
    assert [r["region_name"] for r in body["regions"]] == ["bob-only"] and [h["hostname"] for h in body["hosts"]] == ["bob-host"]


def test_job_is_409_until_built_and_404_for_others_or_after_expiry(api, client_for, alice, bob, estate):
    response = api.post("/ipam/export", {"format": "csv"}, format="json")  # on-commit never fires in this test
    job_id = response.json()["job_id"]
    job = ExportJob.objects.get(pk=job_id)
    assert job.user == alice and job.status == JobStatus.PENDING
    assert abs(job.expires_at - job.created_at - timedelta(hours=24)) < timedelta(seconds=5)
    pending = api.get(f"/ipam/export/{job_id}/download")
    assert pending.status_code == 409 and pending.json()["error"] == "export_not_ready"
    assert client_for(bob).get(f"/ipam/export/{job_id}").status_code == 404
    assert client_for(bob).get(f"/ipam/export/{job_id}/download").status_code == 404
    ExportJob.objects.filter(pk=job_id).update(status=JobStatus.FAILED, error="boom")
    failed = api.get(f"/ipam/export/{job_id}/download")
    assert failed.status_code == 409 and failed.json()["error"] == "export_failed"
    ExportJob.objects.filter(pk=job_id).update(status=JobStatus.COMPLETED, expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get(f"/ipam/export/{job_id}").status_code == 404
    expired = api.get(f"/ipam/export/{job_id}/download")
    assert expired.status_code == 404 and expired.json()["error"] == "export_expired"


def test_prune_deletes_only_expired_jobs(alice):
    now = timezone.now()
    fresh = ExportJob.objects.create(user=alice, format="csv", expires_at=now + timedelta(hours=1))
    ExportJob.objects.create(user=alice, format="csv", expires_at=now - timedelta(minutes=1))
    ExportJob.objects.create(user=alice, format="json", kind="audit_export", expires_at=now - timedelta(days=2))
    assert export_jobs_prune() == 2
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_running_a_job_twice_builds_it_once(alice, estate):
    job = ExportJob.objects.create(user=alice, format="csv", expires_at=timezone.now() + timedelta(hours=1))
    assert export_job_run(job_id=job.pk).status == JobStatus.COMPLETED
    assert export_job_run(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.row_count == 6 and bytes(job.content).startswith(b"resource_type,country,region_name,cidr")


def test_export_requests_are_validated_and_audited(api, alice):
    for payload in (
        {"format": "xlsx"},
        {"format": "csv", "filters": {"colour": "red"}},
        {"format": "csv", "filters": {"status": "released"}},
        {"format": "csv", "filters": {"host_status": "retired"}},
        {"format": "csv", "filters": {"country": "Atlantis"}},
        {"format": "csv", "filters": {"continent": "Atlantis"}},
        {"format": "csv", "filters": ["country"]},
    ):
        response = api.post("/ipam/export", payload, format="json")
        assert response.status_code == 400, (payload, response.json())
    assert not ExportJob.objects.exists()
    job_id = api.post("/ipam/export/", {"format": "json", "filters": {"country": "IN"}}, format="json").json()["job_id"]
    row = AuditLog.objects.get(action_type="export_requested")
    assert row.resource_id == job_id and row.snapshot["filters"] == {"country": "India"}


def test_readers_can_export(client_for, reader, django_capture_on_commit_callbacks):
    make_region(reader)
    _, _, text = _export(client_for(reader), {"format": "csv"}, django_capture_on_commit_callbacks)
    assert text.count("\n") == 2


def test_openapi_lists_every_records_endpoint(anon):
    paths = anon.get("/openapi.json").json()["paths"]
    expected = {
        "/ipam/regions/{region_id}/comments": {"get", "post"},
        "/ipam/hosts/{host_id}/comments": {"get", "post"},
        "/ipam/hosts/bulk-lookup": {"post"},
        "/ipam/hosts/bulk-release": {"post"},
        "/ipam/search": {"get"},
        "/ipam/statistics/continent/{continent}": {"get"},
        "/ipam/statistics/top-utilized": {"get"},
        "/ipam/statistics/allocation-velocity": {"get"},
        "/ipam/dashboard/top-countries": {"get"},
        "/ipam/dashboard/recent-activity": {"get"},
        "/ipam/audit": {"get"},
        "/ipam/audit/history": {"get"},
        "/ipam/audit/history/{ip_address}": {"get"},
        "/ipam/audit/export": {"post"},
        "/ipam/admin/quotas": {"get"},
        "/ipam/admin/quotas/{user_id}": {"get", "patch"},
        "/ipam/export": {"post"},
        "/ipam/export/{job_id}": {"get"},
        "/ipam/export/{job_id}/download": {"get"},
        "/ipam/import": {"post"},
        "/ipam/import/preview": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
