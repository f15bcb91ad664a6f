"""Bulk lookup (per-address interpretation) and bulk release (per-item results, one transaction)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from ipam import bitmaps
from ipam.models import AuditLog, Host, Region, UserQuota
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def test_bulk_lookup_interprets_each_address(api, alice):
    region = make_region(alice, "India", "mumbai")
    host = make_host(alice, region, hostname="web-1")
    response = api.post("/ipam/hosts/bulk-lookup", {"ip_addresses": ["10.0.0.1", "10.0.0.9", "10.220.1.1", "10.0.0.1"]}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["found"] == 2 and body["not_found"] == 2
    first, second, third, fourth = body["results"]
    assert first["found"] is True and first["status"] == "fully_allocated"
    assert first["hierarchy"]["host"]["host_id"] == str(host.pk)
    assert first["hierarchy"]["region"]["region_name"] == "mumbai"
    assert first["hierarchy"]["country"]["name"] == "India" and first["hierarchy"]["continent"] == "Asia"
    assert second["status"] == "region_allocated" and second["hierarchy"]["host"] is None
    assert third["status"] == "not_allocated" and third["hierarchy"]["country"]["name"] == "Reserved"
    assert fourth == first


def test_bulk_lookup_is_isolated_per_user(client_for, alice, bob):
    region = make_region(alice)
    make_host(alice, region)
    body = client_for(bob).post("/ipam/hosts/bulk-lookup", {"ip_addresses": ["10.0.0.1"]}, format="json").json()
    assert body["found"] == 0 and body["results"][0]["status"] == "not_allocated"
    assert body["results"][0]["hierarchy"]["region"] is None


def test_bulk_lookup_rejects_bad_input_with_the_offending_positions(api, alice):
    response = api.post("/ipam/hosts/bulk-lookup", {"ip_addresses": ["10.0.0.1", "192.168.0.1", "nope"]}, format="json")
    assert response.status_code == 400
    assert set(response.json()["details"]["ip_addresses"]) == {"1", "2"}
    assert api.post("/ipam/hosts/bulk-lookup", {"ip_addresses": []}, format="json").status_code == 400
    assert api.post("/ipam/hosts/bulk-lookup", {"ip_addresses": "10.0.0.1"}, format="json").status_code == 400
    too_many = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(1001)]
    assert api.post("/ipam/hosts/bulk-lookup", {"ip_addresses": too_many}, format="json").status_code == 400


def test_bulk_lookup_uses_a_constant_number_of_queries(api, alice, django_assert_max_num_queries):
    region = make_region(alice)
    for _ in range(5):
        make_host(alice, region)
    addresses = [f"10.0.{y}.{z}" for y in range(4) for z in range(1, 251)]  # 1000 addresses
    api.post("/ipam/hosts/bulk-lookup", {"ip_addresses": ["10.0.0.1"]}, format="json")  # loads the caller's permissions
    with django_assert_max_num_queries(3):  # countries, hosts, regions
        body = api.post("/ipam/hosts/bulk-lookup", {"ip_addresses": addresses}, format="json").json()
    assert body["found"] == 5 and len(body["results"]) == 1000


def test_bulk_lookup_needs_only_read_permission(client_for, reader):
    assert client_for(reader).post("/ipam/hosts/bulk-lookup", {"ip_addresses": ["10.0.0.1"]}, format="json").status_code == 200


def test_bulk_release_reports_each_item_and_commits_the_successes(client_for, alice, bob):
    region = make_region(alice, "India", "r1")
    other = make_region(alice, "Japan", "r2")
    a = make_host(alice, region)
    b = make_host(alice, region)
    c = make_host(alice, other)
    keep = make_host(alice, region)
    bobs = make_host(bob, make_region(bob))
    unknown = uuid.uuid4()
    ids = [str(a.pk), str(unknown), str(c.pk), str(bobs.pk), str(b.pk)]
    response = client_for(alice).post("/ipam/hosts/bulk-release", {"host_ids": ids, "reason": "decommissioned"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["released"] == 3 and body["failed"] == 2
    assert [r["host_id"] for r in body["results"]] == ids
    assert [r["status"] for r in body["results"]] == ["released", "failed", "released", "failed", "released"]
    assert body["results"][0]["ip_address"] == a.ip_address
    assert body["results"][1]["error"] == "host_not_found" and body["results"][3]["error"] == "host_not_found"
    # Rows: gone, counters and bitmaps freed, bob untouched, quota released, one audit row per host.
    assert set(Host.objects.filter(user=alice).values_list("pk", flat=True)) == {keep.pk}
    assert Host.objects.filter(pk=bobs.pk).exists()
    region.refresh_from_db()
    other.refresh_from_db()
    assert region.allocated_hosts == 1 and bitmaps.from_bytes(region.host_bitmap) == 1 << keep.z_octet
    assert other.allocated_hosts == 0
    assert UserQuota.objects.get(user=alice).hosts_used == 1
    retired = AuditLog.objects.filter(action_type="retire", resource_type="host")
    assert sorted(retired.values_list("resource_id", flat=True)) == sorted([str(a.pk), str(b.pk), str(c.pk)])
    assert set(retired.values_list("reason", flat=True)) == {"decommissioned"}


def test_bulk_release_validates_ids_and_reason(api, alice):
    host = make_host(alice, make_region(alice))
    cases = [
        {"host_ids": [], "reason": "x"},
        {"host_ids": [str(host.pk)]},
        {"host_ids": [str(host.pk)], "reason": "  "},
        {"host_ids": ["not-a-uuid"], "reason": "x"},
        {"host_ids": [str(host.pk), str(host.pk)], "reason": "x"},
        {"host_ids": [str(uuid.uuid4()) for _ in range(101)], "reason": "x"},
    ]
    for payload in cases:
        response = api.post("/ipam/hosts/bulk-release", payload, format="json")
        assert response.status_code == 400, payload
        assert response.json()["error"] == "validation_error"
    assert Host.objects.filter(pk=host.pk).exists()


def test_bulk_release_needs_release_permission(client_for, reader):
    host = make_host(reader, make_region(reader))
    response = client_for(reader).post("/ipam/hosts/bulk-release", {"host_ids": [str(host.pk)], "reason": "x"}, format="json")
    assert response.status_code == 403 and response.json()["details"]["required_permission"] == "release"
    assert Host.objects.filter(pk=host.pk).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_bulk_releases_release_each_host_exactly_once(alice):
    """Overlapping bulk releases in parallel: every host is released by exactly one request, the others
    report it as not found, nothing fails with a 5xx, and counters end at zero."""
    regions = [make_region(alice) for _ in range(3)]
    hosts = [make_host(alice, regions[i % 3]) for i in range(24)]
    ids = [str(h.pk) for h in hosts]

    def release(offset: int) -> Callable[[APIClient], Any]:
        rotated = ids[offset:] + ids[:offset]  # same hosts, different order per request
        return lambda c: c.post("/ipam/hosts/bulk-release", {"host_ids": rotated, "reason": "parallel"}, format="json")

    def worker(call: Callable[[APIClient], Any]) -> Any:
        client = APIClient()
        client.force_authenticate(user=alice)
        try:
            return call(client)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(worker, [release(3 * i) for i in range(6)]))
    assert [r.status_code for r in responses] == [200] * 6
    released = Counter(item["host_id"] for r in responses for item in r.json()["results"] if item["status"] == "released")
    assert released == Counter(ids)  # each exactly once
    failures = {item["error"] for r in responses for item in r.json()["results"] if item["status"] == "failed"}
    assert failures <= {"host_not_found"}
    assert not Host.objects.filter(user=alice).exists()
    assert [r.allocated_hosts for r in Region.objects.filter(user=alice)] == [0, 0, 0]
    assert UserQuota.objects.get(user=alice).hosts_used == 0
    assert AuditLog.objects.filter(action_type="retire", resource_type="host").count() == 24
