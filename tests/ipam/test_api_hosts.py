"""Hosts over HTTP."""

from __future__ import annotations

import pytest

from ipam.models import Host
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def test_create_host_gets_lowest_free_address(api, alice):
    region = make_region(alice, "United States")
    response = api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "Web-01", "device_type": "VM"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["ip_address"] == "10.153.0.1" and body["hostname"] == "web-01"
    assert body["region_name"] == region.region_name and body["country"] == "United States"
    assert body["continent"] == "North America" and body["device_type"] == "VM"


def test_invalid_hostname_and_device_type_are_400(api, alice):
    region = make_region(alice)
    response = api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "bad_name!"}, format="json")
    assert response.status_code == 400 and "hostname" in response.json()["details"]
    response = api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "ok", "device_type": "Toaster"}, format="json")
    assert response.status_code == 400 and "device_type" in response.json()["details"]
    response = api.post("/ipam/hosts", {"region_id": "not-a-uuid", "hostname": "ok"}, format="json")
    assert response.status_code == 400
    assert not Host.objects.exists()


def test_host_in_non_active_region_is_409(api, alice):
    region = make_region(alice)
    api.patch(f"/ipam/regions/{region.pk}", {"status": "reserved"}, format="json")
    response = api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "x"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "region_not_active"


def test_batch_allocates_named_hosts_all_or_nothing(api, alice):
    region = make_region(alice)
    response = api.post("/ipam/hosts/batch", {"region_id": str(region.pk), "count": 3, "hostname_prefix": "node"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [h["hostname"] for h in body["hosts"]] == ["node-001", "node-002", "node-003"]
    assert [h["ip_address"] for h in body["hosts"]] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    # Not enough room: nothing is allocated.
    response = api.post("/ipam/hosts/batch", {"region_id": str(region.pk), "count": 100, "hostname_prefix": "a"}, format="json")
    assert response.status_code == 201
    response = api.post("/ipam/hosts/batch", {"region_id": str(region.pk), "count": 100, "hostname_prefix": "b"}, format="json")
    assert response.status_code == 201
    response = api.post("/ipam/hosts/batch", {"region_id": str(region.pk), "count": 60, "hostname_prefix": "c"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "region_full"
    assert Host.objects.filter(region=region).count() == 203
    assert (
        api.post("/ipam/hosts/batch", {"region_id": str(region.pk), "count": 101, "hostname_prefix": "d"}, format="json").status_code == 400
    )


def test_by_ip_lookup_and_isolation(client_for, alice, bob):
    region = make_region(alice)
    host = make_host(alice, region, hostname="db")
    response = client_for(alice).get(f"/ipam/hosts/by-ip/{host.ip_address}")
    assert response.status_code == 200 and response.json()["host_id"] == str(host.pk)
    assert client_for(bob).get(f"/ipam/hosts/by-ip/{host.ip_address}").status_code == 404
    assert client_for(alice).get("/ipam/hosts/by-ip/10.0.0.99").status_code == 404
    assert client_for(alice).get("/ipam/hosts/by-ip/192.168.1.1").status_code == 400
    assert client_for(alice).get("/ipam/hosts/by-ip/not-an-ip").status_code == 400


def test_list_filters(api, alice):
    region = make_region(alice, "India", "r1")
    other = make_region(alice, "Japan", "r2")
    make_host(alice, region, hostname="web-1", device_type="VM", tags={"role": "web"})
    make_host(alice, region, hostname="db-1", device_type="Physical")
    make_host(alice, other, hostname="web-2", device_type="VM")
    assert api.get("/ipam/hosts", {"hostname": "web"}).json()["count"] == 2
    assert api.get("/ipam/hosts", {"country": "JP"}).json()["count"] == 1
    assert api.get("/ipam/hosts", {"region_id": str(region.pk), "device_type": "VM"}).json()["count"] == 1
    assert api.get("/ipam/hosts", {"tag": "role:web"}).json()["count"] == 1
    assert api.get("/ipam/hosts", {"ip_address": "10.46.0.1"}).json()["results"][0]["hostname"] == "web-2"


def test_patch_host(api, alice):
    region = make_region(alice)
    host = make_host(alice, region, hostname="a")
    make_host(alice, region, hostname="b")
    response = api.patch(f"/ipam/hosts/{host.pk}", {"status": "released", "notes": "n", "hostname": "A2"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "released" and response.json()["hostname"] == "a2"
    response = api.patch(f"/ipam/hosts/{host.pk}", {"hostname": "b"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "duplicate_hostname"
    response = api.patch(f"/ipam/hosts/{host.pk}", {"notes": "x" * 2001}, format="json")
    assert response.status_code == 400


def test_retire_host_frees_address(api, alice):
    region = make_region(alice)
    host = make_host(alice, region)
    response = api.delete(f"/ipam/hosts/{host.pk}?reason=done")
    assert response.status_code == 200
    assert response.json() == {"host_id": str(host.pk), "ip_address": "10.0.0.1"}
    assert api.get(f"/ipam/hosts/{host.pk}").status_code == 404
    region.refresh_from_db()
    assert region.allocated_hosts == 0


def test_preview_next_host(api, alice):
    region = make_region(alice)
    make_host(alice, region)
    body = api.get("/ipam/hosts/preview-next", {"region_id": str(region.pk)}).json()
    assert body["next_ip"] == "10.0.0.2" and body["z_octet"] == 2 and body["available"] is True
    assert api.get("/ipam/hosts/preview-next").status_code == 400
