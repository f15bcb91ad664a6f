"""Idempotency-Key on the allocating POSTs (contract §3): replay, conflicts, expiry, errors not stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from foundation.models import IdempotencyRecord
from ipam.models import AuditLog, Host, Region, UserQuota
from tests.factories import make_region

pytestmark = pytest.mark.django_db


def _post(client, path, body, key, **extra):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def test_repeating_a_region_create_with_the_same_key_replays_the_first_response(api, alice):
    body = {"country": "US", "region_name": "us-east", "tags": {"env": "prod"}}
    first = _post(api, "/ipam/regions", body, "key-1")
    second = _post(api, "/ipam/regions", body, "key-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Region.objects.filter(user=alice).count() == 1
    assert AuditLog.objects.filter(user=alice, resource_type="region", action_type="create").count() == 1
    assert UserQuota.objects.get(user=alice).regions_used == 1
    record = IdempotencyRecord.objects.get(user=alice, key="key-1")
    assert record.status_code == 201 and record.response_body["region_id"] == first.json()["region_id"]
    assert record.method_path == "POST /ipam/regions"


def test_key_order_whitespace_and_trailing_slash_do_not_make_a_different_request(api, alice):
    first = api.generic("POST", "/ipam/regions", '{"country": "US", "region_name": "a"}', "application/json", HTTP_IDEMPOTENCY_KEY="k")
    second = api.generic("POST", "/ipam/regions/", '{ "region_name":"a","country":"US" }', "application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert second.status_code == 201 and second.json() == first.json()
    assert Region.objects.filter(user=alice).count() == 1


def test_same_key_with_a_different_body_is_409_and_allocates_nothing(api, alice):
    assert _post(api, "/ipam/regions", {"country": "US", "region_name": "a"}, "k").status_code == 201
    response = _post(api, "/ipam/regions", {"country": "US", "region_name": "b"}, "k")
    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_key_reused"
    assert response.json()["details"]["idempotency_key"] == "k"
    assert list(Region.objects.filter(user=alice).values_list("region_name", flat=True)) == ["a"]


def test_same_key_on_another_endpoint_is_409(api, alice):
    region = make_region(alice)
    assert _post(api, "/ipam/hosts", {"region_id": str(region.pk), "hostname": "web"}, "shared").status_code == 201
    response = _post(api, "/ipam/hosts/batch", {"region_id": str(region.pk), "count": 2, "hostname_prefix": "web"}, "shared")
    assert response.status_code == 409 and response.json()["error"] == "idempotency_key_reused"
    assert Host.objects.filter(user=alice).count() == 1


def test_requests_without_a_key_allocate_every_time(api, alice):
    region = make_region(alice)
    for name in ("a", "b"):
        assert api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": name}, format="json").status_code == 201
    assert Host.objects.filter(user=alice).count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_keys_belong_to_one_user(client_for, alice, bob):
    body = {"country": "India", "region_name": "same"}
    a = _post(client_for(alice), "/ipam/regions", body, "k")
    b = _post(client_for(bob), "/ipam/regions", body, "k")
    assert a.status_code == b.status_code == 201
    assert a.json()["region_id"] != b.json()["region_id"]
    assert b.json()["owner_id"] == bob.pk and "Idempotent-Replayed" not in b


def test_host_create_is_replayed(api, alice):
    region = make_region(alice)
    body = {"region_id": str(region.pk), "hostname": "web-01", "device_type": "VM"}
    first = _post(api, "/ipam/hosts", body, "host-key")
    second = _post(api, "/ipam/hosts", body, "host-key")
    assert first.status_code == second.status_code == 201 and second.json() == first.json()
    assert first.json()["ip_address"] == "10.0.0.1"
    region.refresh_from_db()
    assert region.allocated_hosts == 1 and Host.objects.filter(region=region).count() == 1


def test_host_batch_is_replayed(api, alice):
    region = make_region(alice)
    body = {"region_id": str(region.pk), "count": 3, "hostname_prefix": "node"}
    first = _post(api, "/ipam/hosts/batch", body, "batch-key")
    second = _post(api, "/ipam/hosts/batch", body, "batch-key")
    assert first.status_code == second.status_code == 201 and second.json() == first.json()
    assert [h["ip_address"] for h in second.json()["hosts"]] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert Host.objects.filter(region=region).count() == 3
    assert UserQuota.objects.get(user=alice).hosts_used == 3


def test_a_failed_request_is_not_stored_and_the_key_can_be_retried(api, alice):
    body = {"country": "US", "region_name": "dup"}
    make_region(alice, "US", "dup")
    response = _post(api, "/ipam/regions", body, "retry-me")
    assert response.status_code == 409 and response.json()["error"] == "duplicate_name"
    assert not IdempotencyRecord.objects.filter(key="retry-me").exists()
    Region.objects.filter(user=alice, region_name="dup").update(region_name="renamed")
    response = _post(api, "/ipam/regions", body, "retry-me")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert IdempotencyRecord.objects.get(key="retry-me").status_code == 201


def test_validation_errors_are_not_stored(api):
    assert _post(api, "/ipam/regions", {"country": "US"}, "bad").status_code == 400
    assert not IdempotencyRecord.objects.exists()


def test_a_key_older_than_24_hours_allocates_again(api, alice):
    region = make_region(alice)
    body = {"region_id": str(region.pk), "hostname": "web"}
    first = _post(api, "/ipam/hosts", body, "old-key")
    IdempotencyRecord.objects.filter(key="old-key").update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    api.delete(f"/ipam/hosts/{first.json()['host_id']}?reason=gone")
    second = _post(api, "/ipam/hosts", body, "old-key")
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    assert second.json()["host_id"] != first.json()["host_id"]
    assert IdempotencyRecord.objects.filter(key="old-key").count() == 1


def test_a_key_just_inside_24_hours_still_replays(api, alice):
    body = {"country": "JP", "region_name": "tokyo"}
    first = _post(api, "/ipam/regions", body, "day-old")
    IdempotencyRecord.objects.filter(key="day-old").update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    second = _post(api, "/ipam/regions", body, "day-old")
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 201, "with space", "tab\tkey", "caf\u00e9"])
def test_malformed_keys_are_400(api, key):
    response = api.post("/ipam/regions", {"country": "US", "region_name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error" and "Idempotency-Key" in response.json()["details"]
    assert not Region.objects.exists()


def test_reader_with_a_key_still_gets_403(client_for, reader):
    response = _post(client_for(reader), "/ipam/regions", {"country": "US", "region_name": "a"}, "k")
    assert response.status_code == 403
    assert not IdempotencyRecord.objects.exists()


def test_the_header_is_documented_as_optional_on_the_allocating_posts(anon):
    paths = anon.get("/openapi.json").json()["paths"]

    def has_header(operation):
        return any(p.get("name") == "Idempotency-Key" and p["in"] == "header" for p in operation.get("parameters", []))

    documented = {(path, method) for path, ops in paths.items() for method, op in ops.items() if isinstance(op, dict) and has_header(op)}
    assert {("/ipam/regions", "post"), ("/ipam/hosts", "post"), ("/ipam/hosts/batch", "post")} <= documented
    assert all(method == "post" for _, method in documented)
    parameter = next(p for p in paths["/ipam/regions"]["post"]["parameters"] if p["name"] == "Idempotency-Key")
    assert parameter.get("required", False) is False
