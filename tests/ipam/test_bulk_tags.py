"""Bulk tags: synchronous and job paths, per-item isolation, audit and events, limits, job lifecycle."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from ipam.models import AuditLog, BulkJob, BulkJobStatus, Host, Region
from ipam.services import bulk
from ipam.services.hosts import hosts_allocate_batch
from tests.factories import make_region

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(monkeypatch):
    """Records the events the bulk service publishes (and still publishes them)."""
    published: list[tuple[str, dict]] = []
    original = bulk.event_publish

    def record(*, user, event_type, data):
        published.append((event_type, data))
        return original(user=user, event_type=event_type, data=data)

    monkeypatch.setattr(bulk, "event_publish", record)
    return published


def tagged_regions(user, count: int, tags: dict | None = None) -> list[Region]:
    return [make_region(user, "IN", tags=tags or {"env": "dev"}) for _ in range(count)]


def many_hosts(user, count: int) -> list[Host]:
    region_hosts: list[Host] = []
    region = make_region(user)
    while len(region_hosts) < count:
        if len(region_hosts) and len(region_hosts) % 200 == 0:
            region = make_region(user)
        batch = min(100, count - len(region_hosts))
        region_hosts += hosts_allocate_batch(actor=user, region_id=region.pk, count=batch, hostname_prefix=f"h{len(region_hosts)}")
    return region_hosts


def post(api, **body):
    return api.post("/ipam/bulk/tags", body, format="json")


def test_add_tags_to_regions_synchronously_with_audit_and_events(api, alice, events):
    regions = tagged_regions(alice, 3)
    ids = [str(r.pk) for r in regions]
    response = post(api, resource_type="region", resource_ids=ids, operation="add", tags={"team": "net"})
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "total_requested": 3,
        "successful": 3,
        "failed": 0,
        "results": [{"resource_id": i, "status": "success"} for i in ids],
    }
    for region in regions:
        region.refresh_from_db()
        assert region.tags == {"env": "dev", "team": "net"}
        assert region.updated_by == "alice"
    rows = AuditLog.objects.filter(user=alice, action_type="update", resource_type="region")
    assert rows.count() == 3
    row = rows.get(resource_id=ids[0])
    assert row.changes == [{"field": "tags", "old_value": {"env": "dev"}, "new_value": {"env": "dev", "team": "net"}}]
    assert row.country_code == "IN" and row.snapshot["tags"] == {"env": "dev", "team": "net"}
    assert [e[0] for e in events] == ["region.updated"] * 3
    assert {e[1]["region_id"] for e in events} == set(ids)
    assert events[0][1]["changes"][0]["field"] == "tags"


def test_remove_takes_a_list_of_keys_or_an_object(api, alice):
    regions = tagged_regions(alice, 2, {"env": "dev", "team": "net", "tier": "1"})
    ids = [str(r.pk) for r in regions]
    assert post(api, resource_type="region", resource_ids=ids, operation="remove", tags=["team"]).status_code == 200
    assert post(api, resource_type="region", resource_ids=ids[:1], operation="remove", tags={"tier": "ignored"}).status_code == 200
    assert [Region.objects.get(pk=i).tags for i in ids] == [{"env": "dev"}, {"env": "dev", "tier": "1"}]


def test_replace_sets_exactly_the_given_tags_and_empty_clears(api, alice):
    first, second = tagged_regions(alice, 2, {"env": "dev", "team": "net"})
    post(api, resource_type="region", resource_ids=[str(first.pk)], operation="replace", tags={"owner": "ops"})
    post(api, resource_type="region", resource_ids=[str(second.pk)], operation="replace", tags={})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.tags == {"owner": "ops"} and second.tags == {}


def test_hosts_are_tagged_with_host_updated_events(api, alice, events):
    hosts = many_hosts(alice, 5)
    response = post(api, resource_type="host", resource_ids=[str(h.pk) for h in hosts], operation="add", tags={"role": "web"})
    assert response.json()["successful"] == 5
    assert all(tags == {"role": "web"} for tags in Host.objects.filter(user=alice).values_list("tags", flat=True))
    audit = AuditLog.objects.filter(user=alice, action_type="update", resource_type="host")
    assert audit.count() == 5 and {row.ip_address for row in audit} == {h.ip_address for h in hosts}
    assert [e[0] for e in events] == ["host.updated"] * 5


def test_other_users_and_unknown_ids_fail_per_item_and_change_nothing(api, alice, bob, events):
    mine = tagged_regions(alice, 1)[0]
    theirs = tagged_regions(bob, 1)[0]
    unknown, not_a_uuid = str(uuid.uuid4()), "region-42"
    ids = [str(theirs.pk), str(mine.pk), unknown, not_a_uuid]
    body = post(api, resource_type="region", resource_ids=ids, operation="replace", tags={"hacked": "yes"}).json()
    assert (body["successful"], body["failed"]) == (1, 3)
    assert [r["status"] for r in body["results"]] == ["failed", "success", "failed", "failed"]
    assert body["results"][0] == {
        "resource_id": str(theirs.pk),
        "status": "failed",
        "error": "Region not found.",
        "error_code": "region_not_found",
    }
    theirs.refresh_from_db()
    assert theirs.tags == {"env": "dev"}
    assert not AuditLog.objects.filter(user=bob, action_type="update").exists()
    assert [e[1]["region_id"] for e in events] == [str(mine.pk)]


def test_host_ids_are_not_region_ids(api, alice):
    hosts = many_hosts(alice, 1)
    body = post(api, resource_type="region", resource_ids=[str(hosts[0].pk)], operation="add", tags={"a": "b"}).json()
    assert body["results"][0]["error_code"] == "region_not_found"


def test_an_item_that_would_exceed_fifty_tags_fails_alone(api, alice):
    crowded = make_region(alice, tags={f"k{i}": "v" for i in range(50)})
    roomy = make_region(alice)
    body = post(api, resource_type="region", resource_ids=[str(crowded.pk), str(roomy.pk)], operation="add", tags={"new": "1"}).json()
    assert [r["status"] for r in body["results"]] == ["failed", "success"]
    assert body["results"][0]["error_code"] == "validation_error" and "50" in body["results"][0]["error"]
    crowded.refresh_from_db()
    assert "new" not in crowded.tags


def test_an_unchanged_item_succeeds_without_audit_or_event(api, alice, events):
    region = tagged_regions(alice, 1, {"env": "dev"})[0]
    before = AuditLog.objects.count()
    body = post(api, resource_type="region", resource_ids=[str(region.pk)], operation="add", tags={"env": "dev"}).json()
    assert body["successful"] == 1
    assert AuditLog.objects.count() == before and events == []


def test_uuid_spellings_are_normalised(api, alice):
    region = tagged_regions(alice, 1)[0]
    body = post(api, resource_type="region", resource_ids=[str(region.pk).upper()], operation="add", tags={"x": "y"}).json()
    assert body["results"] == [{"resource_id": str(region.pk), "status": "success"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"resource_ids": [str(uuid.uuid4()) for _ in range(501)]}, "resource_ids"),
        ({"resource_ids": []}, "resource_ids"),
        ({"resource_ids": ["a" * 65]}, "resource_ids"),
        ({"resource_type": "country"}, "resource_type"),
        ({"operation": "merge"}, "operation"),
        ({"tags": {"bad key!": "v"}}, "tags"),
        ({"tags": {}}, "tags"),
        ({"tags": "env"}, "tags"),
        ({"operation": "remove", "tags": []}, "tags"),
        ({"operation": "remove", "tags": ["bad key!"]}, "tags"),
    ],
)
def test_bad_requests_are_400_and_change_nothing(api, alice, body, field):
    region = tagged_regions(alice, 1)[0]
    request = {"resource_type": "region", "resource_ids": [str(region.pk)], "operation": "add", "tags": {"k": "v"}, **body}
    response = api.post("/ipam/bulk/tags", request, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["details"]
    region.refresh_from_db()
    assert region.tags == {"env": "dev"}
    assert not BulkJob.objects.exists()


def test_duplicate_ids_are_400_even_in_different_spellings(api, alice):
    region = tagged_regions(alice, 1)[0]
    ids = [str(region.pk), str(region.pk).upper()]
    response = post(api, resource_type="region", resource_ids=ids, operation="add", tags={"k": "v"})
    assert response.status_code == 400
    assert str(region.pk) in response.json()["details"]["resource_ids"][0]


def test_more_than_100_ids_run_as_a_job_to_completion(api, alice, events, django_capture_on_commit_callbacks):
    hosts = many_hosts(alice, 150)
    ids = [str(h.pk) for h in hosts] + [str(uuid.uuid4())]
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, resource_type="host", resource_ids=ids, operation="add", tags={"batch": "2"})
    assert response.status_code == 202, response.json()
    accepted = response.json()
    assert accepted["status"] == "pending" and accepted["total_requested"] == 151
    assert response["Location"] == accepted["status_url"] and accepted["status_url"].endswith(f"/ipam/bulk/jobs/{accepted['job_id']}")
    job = api.get(f"/ipam/bulk/jobs/{accepted['job_id']}").json()
    assert job["status"] == "completed"
    assert job["progress"] == {"total": 151, "processed": 151, "successful": 150, "failed": 1}
    assert job["progress_percent"] == 100.0
    assert job["completed_at"] is not None and job["started_at"] is not None
    assert len(job["results"]) == 151 and job["results"][-1]["error_code"] == "host_not_found"
    assert Host.objects.filter(user=alice, tags={"batch": "2"}).count() == 150
    assert AuditLog.objects.filter(user=alice, action_type="update", resource_type="host").count() == 150
    assert len(events) == 150


def test_job_progress_moves_chunk_by_chunk(api, alice):
    hosts = many_hosts(alice, 120)
    outcome = bulk.bulk_tags_update(
        actor=alice, resource_type="host", resource_ids=[str(h.pk) for h in hosts], operation="add", tags={"p": "1"}
    )
    job = outcome.job
    assert job is not None and job.status == BulkJobStatus.PENDING  # the task waits for the commit
    assert api.get(f"/ipam/bulk/jobs/{job.pk}").json()["progress_percent"] == 0.0
    assert bulk.bulk_job_step(job_id=job.pk, chunk_size=50) is False
    halfway = api.get(f"/ipam/bulk/jobs/{job.pk}").json()
    assert halfway["status"] == "processing"
    assert halfway["progress"] == {"total": 120, "processed": 50, "successful": 50, "failed": 0}
    assert halfway["progress_percent"] == 41.67 and halfway["completed_at"] is None
    assert Host.objects.filter(user=alice, tags={"p": "1"}).count() == 50
    bulk.bulk_tags_run(job_id=job.pk, chunk_size=50)
    done = api.get(f"/ipam/bulk/jobs/{job.pk}").json()
    assert done["status"] == "completed" and done["progress"]["processed"] == 120
    assert Host.objects.filter(user=alice, tags={"p": "1"}).count() == 120
    assert bulk.bulk_job_step(job_id=job.pk) is True  # a re-delivered task finds nothing left to do
    assert AuditLog.objects.filter(user=alice, action_type="update").count() == 120


def test_a_job_that_breaks_is_marked_failed_with_the_error(alice):
    job = BulkJob.objects.create(user=alice, operation="tags", params={"resource_type": "region"}, total=101)
    bulk.bulk_tags_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == BulkJobStatus.FAILED and "KeyError" in job.error and job.completed_at is not None


def test_jobs_of_other_users_and_unknown_jobs_are_404(client_for, alice, bob):
    job = BulkJob.objects.create(user=alice, operation="tags", params={"resource_type": "host", "operation": "add"}, total=101)
    assert client_for(alice).get(f"/ipam/bulk/jobs/{job.pk}/").status_code == 200
    for path in (f"/ipam/bulk/jobs/{job.pk}", f"/ipam/bulk/jobs/{uuid.uuid4()}", "/ipam/bulk/jobs/nope"):
        response = client_for(bob).get(path)
        assert response.status_code == 404 and response.json()["error"] == "job_not_found"


def test_readers_cannot_change_tags(client_for, reader, alice):
    region = tagged_regions(alice, 1)[0]
    response = post(client_for(reader), resource_type="region", resource_ids=[str(region.pk)], operation="add", tags={"k": "v"})
    assert response.status_code == 403
    assert response.json()["details"] == {"required_permission": "update"}


def test_bulk_requests_are_limited_per_user_per_hour(settings, client_for, alice, bob):
    settings.IPAM_RATE_LIMITS_ENABLED = True
    settings.IPAM_BULK_RATE_LIMIT_PER_HOUR = 2
    region = tagged_regions(alice, 1)[0]
    body = {"resource_type": "region", "resource_ids": [str(region.pk)], "operation": "add", "tags": {"k": "v"}}
    codes = [client_for(alice).post("/ipam/bulk/tags", body, format="json") for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[0]["X-RateLimit-Limit"] == "2" and codes[2].json()["error"] == "rate_limited"
    assert int(codes[2]["Retry-After"]) >= 1
    assert client_for(bob).post("/ipam/bulk/tags", {**body, "resource_ids": [str(uuid.uuid4())]}, format="json").status_code == 200


def test_the_default_bulk_limit_is_ten_an_hour(settings, api, alice):
    settings.IPAM_RATE_LIMITS_ENABLED = True
    body = {"resource_type": "region", "resource_ids": [str(uuid.uuid4())], "operation": "add", "tags": {"k": "v"}}
    codes = [api.post("/ipam/bulk/tags", body, format="json").status_code for _ in range(11)]
    assert codes == [200] * 10 + [429]


def test_jobs_are_pruned_after_seven_days(alice):
    old = BulkJob.objects.create(user=alice, operation="tags", status=BulkJobStatus.COMPLETED, total=101)
    stuck = BulkJob.objects.create(user=alice, operation="tags", status=BulkJobStatus.PENDING, total=101)
    fresh = BulkJob.objects.create(user=alice, operation="tags", status=BulkJobStatus.COMPLETED, total=101)
    BulkJob.objects.filter(pk__in=[old.pk, stuck.pk]).update(created_at=timezone.now() - timedelta(days=8))
    assert bulk.bulk_jobs_prune(older_than_days=7) == 2
    assert list(BulkJob.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_jobs_left_pending_by_a_lost_broker_are_resumed(alice, django_capture_on_commit_callbacks):
    hosts = many_hosts(alice, 101)
    job = bulk.bulk_tags_update(
        actor=alice, resource_type="host", resource_ids=[str(h.pk) for h in hosts], operation="add", tags={"r": "1"}
    ).job
    assert bulk.bulk_jobs_resume(older_than_minutes=10) == 0  # too fresh: the first send may still arrive
    BulkJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        assert bulk.bulk_jobs_resume(older_than_minutes=10) == 1
    job.refresh_from_db()
    assert job.status == BulkJobStatus.COMPLETED and job.successful == 101
