"""Audit trail API: every field of contract §4, every filter, the history of one address, the audit export job,
isolation and a constant number of queries."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ipam.models import AuditLog, ExportJob
from ipam.services.hosts import host_retire, host_update
from ipam.services.regions import region_update
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "audit_id",
    "action_type",
    "resource_type",
    "resource_id",
    "ip_address",
    "cidr",
    "actor",
    "actor_type",
    "request_id",
    "source_ip",
    "auth_method",
    "reason",
    "changes",
    "snapshot",
    "timestamp",
}


@pytest.fixture
def history(alice, bob):
    mumbai = make_region(alice, "India", "mumbai")  # 10.0.0.0/24
    tokyo = make_region(alice, "Japan", "tokyo")  # 10.46.0.0/24
    web = make_host(alice, mumbai, hostname="web")  # 10.0.0.1
    db = make_host(alice, mumbai, hostname="db")  # 10.0.0.2
    edge = make_host(alice, tokyo, hostname="edge")  # 10.46.0.1
    host_update(actor=alice, host_id=web.pk, data={"notes": "primary"})
    region_update(actor=alice, region_id=tokyo.pk, data={"description": "east"})
    host_retire(actor=alice, host_id=db.pk, reason="broken disk")
    make_host(bob, make_region(bob, "India", "mumbai"), hostname="web")
    return {"mumbai": mumbai, "tokyo": tokyo, "web": web, "db": db, "edge": edge}


def test_audit_history_lists_the_callers_rows_newest_first_with_every_field(api, history):
    response = api.get("/ipam/audit/history")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 8  # 2 regions + 3 hosts created, 2 updates, 1 retire
    assert set(body["results"][0]) >= CONTRACT_FIELDS
    latest = body["results"][0]
    assert latest["action_type"] == "retire" and latest["reason"] == "broken disk" and latest["ip_address"] == "10.0.0.2"
    assert latest["snapshot"]["hostname"] == "db" and latest["actor"] == "alice" and latest["actor_type"] == "user"
    update = next(r for r in body["results"] if r["action_type"] == "update" and r["resource_type"] == "host")
    assert update["changes"] == [{"field": "notes", "old_value": "", "new_value": "primary"}]
    timestamps = [r["timestamp"] for r in body["results"]]
    assert timestamps == sorted(timestamps, reverse=True)
    assert api.get("/ipam/audit").json() == body
    assert api.get("/ipam/audit/").json()["count"] == 8


def test_audit_rows_record_source_ip_auth_method_and_request_id(alice):
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    token = client.post("/auth/token", {"username": "alice", "password": "correct-horse-battery-staple"}, format="json").json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    created = client.post("/ipam/regions", {"country": "IN", "region_name": "r1"}, format="json", HTTP_X_REQUEST_ID="req-123")
    assert created.status_code == 201
    row = client.get("/ipam/audit/history", {"resource_id": created.json()["region_id"]}).json()["results"][0]
    assert row["source_ip"] == "203.0.113.7" and row["auth_method"] == "jwt" and row["request_id"] == "req-123"
    assert row["action_type"] == "create" and row["cidr"] == "10.0.0.0/24"


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({"action_type": "update"}, 2),
        ({"resource_type": "region"}, 3),
        ({"resource_type": "host", "action_type": "create"}, 3),
        ({"ip_address": "10.0.0.1"}, 2),
        ({"cidr": "10.0.0.0/24"}, 5),  # the region and its hosts' rows
        ({"cidr": "10.46.0.0/16"}, 3),
        ({"cidr": "10.0.0.0/8"}, 8),
        ({"cidr": "10.0.0.0/30"}, 4),  # the addresses 10.0.0.0-3
        ({"actor": "alice"}, 8),
        ({"actor": "bob"}, 0),
    ],
)
def test_audit_history_filters(api, history, params, count):
    response = api.get("/ipam/audit/history", params)
    assert response.status_code == 200, response.json()
    assert response.json()["count"] == count


def test_audit_history_filters_by_resource_and_dates(api, alice, history):
    rows = api.get("/ipam/audit/history", {"resource_id": str(history["web"].pk)}).json()
    assert [r["action_type"] for r in rows["results"]] == ["update", "create"]
    AuditLog.objects.filter(user=alice, resource_id=str(history["tokyo"].pk)).update(timestamp=timezone.now() - timedelta(days=3))
    day = (timezone.now() - timedelta(days=3)).date().isoformat()
    assert api.get("/ipam/audit/history", {"date_from": day, "date_to": day}).json()["count"] == 2
    assert api.get("/ipam/audit/history", {"date_to": day}).json()["count"] == 2
    assert api.get("/ipam/audit/history", {"date_from": timezone.now().date().isoformat()}).json()["count"] == 6
    oldest_first = api.get("/ipam/audit/history", {"ordering": "timestamp"}).json()["results"]
    assert oldest_first[0]["resource_id"] == str(history["tokyo"].pk)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ip_address": "10.0.0"}, "ip_address"),
        ({"ip_address": "192.168.1.1"}, "ip_address"),
        ({"cidr": "10.0.0.1/24"}, "cidr"),
        ({"cidr": "nope"}, "cidr"),
        ({"date_from": "31/12/2024"}, "date_from"),
        ({"date_to": "2024-13-01"}, "date_to"),
        ({"ordering": "actor"}, "ordering"),
        ({"actor": "a\x00"}, "actor"),
    ],
)
def test_audit_history_bad_filters_are_400(api, alice, params, field):
    response = api.get("/ipam/audit/history", params)
    assert response.status_code == 400 and field in response.json()["details"]


def test_address_history_shows_everything_that_happened_at_one_address(api, client_for, bob, history):
    response = api.get("/ipam/audit/history/10.0.0.2")
    assert response.status_code == 200
    assert [r["action_type"] for r in response.json()["results"]] == ["retire", "create"]
    assert api.get("/ipam/audit/history/10.0.0.2/", {"action_type": "create"}).json()["count"] == 1
    assert api.get("/ipam/audit/history/10.9.9.9").json()["count"] == 0
    assert client_for(bob).get("/ipam/audit/history/10.0.0.2").json()["count"] == 0
    assert client_for(bob).get("/ipam/audit/history/10.0.0.1").json()["count"] == 1  # bob's own web host
    assert api.get("/ipam/audit/history/not-an-ip").status_code == 400
    assert api.get("/ipam/audit/history/172.16.0.1").status_code == 400


def test_audit_history_is_isolated(client_for, bob, history):
    body = client_for(bob).get("/ipam/audit/history", {"page_size": 100}).json()
    assert body["count"] == 2 and {r["actor"] for r in body["results"]} == {"bob"}


def test_audit_history_uses_a_constant_number_of_queries(api, alice, django_assert_num_queries):
    make_host(alice, make_region(alice))
    api.get("/ipam/audit/history")  # loads the caller's permissions once
    # The whole trail: the total and the page in one statement (on PostgreSQL from the day counts;
    # foundation/newest_pages.py).
    with django_assert_num_queries(1):
        assert api.get("/ipam/audit/history").json()["count"] == 2
    region = make_region(alice)
    for _ in range(20):
        make_host(alice, region)
    with django_assert_num_queries(2):  # filtered: count + page
        assert len(api.get("/ipam/audit/history", {"page_size": 1000, "cidr": "10.0.0.0/16"}).json()["results"]) == 23


def _run_export(api, payload, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/ipam/audit/export", payload, format="json")
    assert response.status_code == 202, response.json()
    job = response.json()
    assert job["kind"] == "audit_export" and job["status"] == "pending"
    status = api.get(f"/ipam/export/{job['job_id']}").json()
    assert status["status"] == "completed", status
    download = api.get(f"/ipam/export/{job['job_id']}/download")
    assert download.status_code == 200
    return status, download, b"".join(download.streaming_content).decode()


def test_audit_export_csv_contains_the_filtered_rows(api, history, django_capture_on_commit_callbacks):
    status, download, text = _run_export(api, {"format": "csv", "filters": {"resource_type": "host"}}, django_capture_on_commit_callbacks)
    assert download["Content-Type"].startswith("text/csv")
    assert download["Content-Disposition"].startswith("attachment;") and ".csv" in download["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert status["row_count"] == len(rows) == 5  # 3 creates, 1 update, 1 retire
    assert set(rows[0]) >= CONTRACT_FIELDS
    assert {r["resource_type"] for r in rows} == {"host"}
    retire = next(r for r in rows if r["action_type"] == "retire")
    assert json.loads(retire["snapshot"])["hostname"] == "db" and retire["reason"] == "broken disk"


def test_audit_export_json_is_isolated(api, client_for, bob, history, django_capture_on_commit_callbacks):
    _, download, text = _run_export(api, {"format": "json"}, django_capture_on_commit_callbacks)
    body = json.loads(text)
    assert download["Content-Type"] == "application/json"
    assert body["count"] == len(body["audit"]) == 9  # the 8 rows of the history, and the export request itself
    assert body["audit"][0]["action_type"] == "export_requested"
    assert {row["actor"] for row in body["audit"]} == {"alice"}
    job = ExportJob.objects.get(user=history["mumbai"].user)
    assert client_for(bob).get(f"/ipam/export/{job.pk}").status_code == 404
    assert client_for(bob).get(f"/ipam/export/{job.pk}/download").status_code == 404


def test_audit_export_rejects_bad_filters(api, alice):
    for payload in (
        {"format": "xml"},
        {"format": "csv", "filters": {"cidr": "10.0.0.1/24"}},
        {"format": "csv", "filters": {"colour": "red"}},
        {"format": "csv", "filters": "all"},
    ):
        response = api.post("/ipam/audit/export", payload, format="json")
        assert response.status_code == 400, payload
    assert not ExportJob.objects.exists()
