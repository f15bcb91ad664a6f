"""Background imports (issue 14 item 12): above IPAM_IMPORT_SYNC_MAX_ROWS rows or IPAM_IMPORT_SYNC_MAX_BYTES
bytes, `POST /ipam/import` answers 202 with a job and its status URL; the Celery task (sent by name after
commit, run here by the in-process seam) runs the same import and records its summary or its error body;
the status shows progress; the upload is dropped once run. Small imports keep answering synchronously."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ipam.models import AuditLog, Host, ImportJob, JobStatus, Region
from ipam.services.imports import jobs as import_jobs
from ipam.services.imports import parsing
from ipam.services.imports.jobs import import_job_run

pytestmark = pytest.mark.django_db


def _csv(regions: int, hosts_per_region: int) -> str:
    rows = ["resource_type,country,region_name,hostname,description"]
    for r in range(regions):
        rows.append(f"region,India,r{r},,=region {r}")
        rows += [f"host,India,r{r},h{r}-{h}," for h in range(hosts_per_region)]
    return "\n".join(rows) + "\n"


@pytest.fixture
def small_threshold(settings):
    settings.IPAM_IMPORT_SYNC_MAX_ROWS = 10
    settings.IPAM_IMPORT_SYNC_MAX_BYTES = 64 * 1024


def _submit(api, capture, **payload):
    with capture(execute=True):
        response = api.post("/ipam/import", payload, format="multipart" if "file" in payload else "json")
    assert response.status_code == 202, response.content[:500]
    job = response.json()
    assert set(job) >= {"job_id", "status", "status_url", "progress", "result"}
    assert job["status"] == "pending" and job["progress"]["phase"] == "queued" and job["result"] is None
    assert job["status_url"].endswith(f"/ipam/import/jobs/{job['job_id']}")
    return job, api.get(f"/ipam/import/jobs/{job['job_id']}").json()


def test_a_large_csv_upload_is_a_background_job_with_the_same_outcome(api, alice, small_threshold, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("inventory.csv", _csv(3, 10).encode(), content_type="text/csv")
    job, status = _submit(api, django_capture_on_commit_callbacks, file=upload)
    assert status["status"] == "completed", status
    assert status["result"]["created"] == {"regions": 3, "hosts": 30} and status["result"]["failed"] == 0
    assert status["result"]["results"] == []  # a job keeps only the failed rows
    assert status["progress"] == {"phase": "done", "rows_read": 33, "rows_written": 33}
    assert Host.objects.filter(user=alice).count() == 30
    assert set(Region.objects.filter(user=alice).values_list("description", flat=True)) == {"=region 0", "=region 1", "=region 2"}
    assert ImportJob.objects.get(pk=job["job_id"]).content is None  # the upload is not kept
    assert AuditLog.objects.filter(action_type="import").count() == 1


def test_a_failing_background_import_records_the_error_body_and_writes_nothing(
    api, alice, small_threshold, django_capture_on_commit_callbacks
):
    content = _csv(2, 10) + "host,India,nowhere,h-x,\n"  # a host row whose region does not exist
    _, status = _submit(api, django_capture_on_commit_callbacks, format="csv", content=content)
    assert status["status"] == "failed"
    result = status["result"]
    assert result["error"] == "import_failed" and result["http_status"] == 409
    assert [row["error"] for row in result["details"]["results"]] == ["region_not_found"]
    assert not Region.objects.exists() and not Host.objects.exists()

    _, status = _submit(api, django_capture_on_commit_callbacks, format="csv", content=content, force=True)
    assert status["status"] == "completed" and status["result"]["failed"] == 1
    assert status["result"]["created"] == {"regions": 2, "hosts": 20}


def test_a_large_file_with_a_bad_header_is_400_at_once_and_bad_rows_fail_the_job(
    api, alice, small_threshold, django_capture_on_commit_callbacks
):
    content = "country,region_name,colour\n" + "".join(f"India,r{i},red\n" for i in range(20))
    response = api.post("/ipam/import", {"format": "csv", "content": content}, format="json")
    assert response.status_code == 400 and "columns" in response.json()["details"]  # no job for a bad header
    assert not ImportJob.objects.exists()
    content = "country,region_name\n" + "".join(f"India,r{i}\n" for i in range(20)) + "India,\n"  # row 22: no name
    _, status = _submit(api, django_capture_on_commit_callbacks, format="csv", content=content)
    assert status["status"] == "failed" and status["result"]["http_status"] == 400
    assert status["result"]["error"] == "validation_error" and status["result"]["details"]["rows"][0]["line"] == 22
    assert not Region.objects.exists()


def test_a_large_json_file_goes_by_its_size(api, alice, settings, django_capture_on_commit_callbacks):
    settings.IPAM_IMPORT_SYNC_MAX_BYTES = 200
    records = [{"country": "India", "region_name": f"j{i}"} for i in range(10)]
    upload = SimpleUploadedFile("inventory.json", json.dumps(records).encode(), content_type="application/json")
    _, status = _submit(api, django_capture_on_commit_callbacks, file=upload)
    assert status["status"] == "completed" and status["result"]["created"] == {"regions": 10, "hosts": 0}


def test_a_large_preview_is_a_job_that_writes_nothing(api, alice, small_threshold, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/ipam/import/preview", {"format": "csv", "content": _csv(1, 20)}, format="json")
    assert response.status_code == 202
    status = api.get(response.json()["status_url"]).json()
    assert status["status"] == "completed" and status["result"]["dry_run"] is True
    assert status["result"]["created"] == {"regions": 1, "hosts": 20}
    assert not Region.objects.exists()


def test_small_imports_stay_synchronous(api, alice, small_threshold):
    response = api.post("/ipam/import", {"format": "csv", "content": _csv(1, 8)}, format="json")  # 9 rows
    assert response.status_code == 201 and response.json()["created"] == {"regions": 1, "hosts": 8}
    assert not ImportJob.objects.exists()


def test_progress_is_reported_while_the_job_runs_and_a_duplicate_delivery_is_a_no_op(
    api, alice, small_threshold, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(parsing, "PROGRESS_EVERY", 5)
    response = api.post("/ipam/import", {"format": "csv", "content": _csv(2, 9)}, format="json")  # not run: no on-commit
    job_id = response.json()["job_id"]
    seen = []
    real_set = import_jobs.cache.set

    def spy(key, value, timeout=None):
        real_set(key, value, timeout)
        seen.append({**value, "status_now": api.get(f"/ipam/import/jobs/{job_id}").json()["progress"]})  # what a client polls

    monkeypatch.setattr(import_jobs.cache, "set", spy)
    assert import_job_run(job_id=job_id).status == JobStatus.COMPLETED
    assert import_job_run(job_id=job_id) is None  # claimed already
    parsing_reports = [s["rows_read"] for s in seen if s["phase"] == "parsing"]
    writing_reports = [s["rows_written"] for s in seen if s["phase"] == "writing"]
    assert parsing_reports == [5, 10, 15, 20] and writing_reports[0] == 2 and writing_reports[-1] == 20
    assert all(s["status_now"]["phase"] == s["phase"] for s in seen)  # the status endpoint showed each step


def test_another_users_job_is_404_and_the_upload_limit_still_applies(client_for, api, alice, bob, small_threshold, settings):
    job_id = api.post("/ipam/import", {"format": "csv", "content": _csv(1, 20)}, format="json").json()["job_id"]
    assert client_for(bob).get(f"/ipam/import/jobs/{job_id}").status_code == 404
    assert api.get(f"/ipam/import/jobs/{job_id}").status_code == 200
    settings.IPAM_IMPORT_MAX_BYTES = 100
    response = api.post("/ipam/import", {"format": "csv", "content": _csv(1, 20)}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "file_too_large"
