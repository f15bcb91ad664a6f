"""The Python client against a live server: allocation, listing through cursors, ETags, errors, JWT renewal,
and retries (through a real local proxy that answers 429/503 or loses a response)."""

from __future__ import annotations

import time

import pytest
from ipam_client import IPAM, IPAMError

from ipam.models import Host, Region, Reservation
from tests.clients.conftest import client_via

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_allocate_get_list_update_and_retire_a_region(ipam, operator):
    region = ipam.regions.allocate(country="India", name="edge-1", description="first")
    assert region["cidr"].startswith("10.") and region["region_name"] == "edge-1"
    assert Region.objects.filter(pk=region["region_id"], user=operator).exists()
    fetched = ipam.regions.get(region["region_id"])
    assert fetched == region and fetched.etag == region.etag and fetched.etag
    updated = ipam.regions.update(region["region_id"], etag=fetched.etag, description="second")
    assert updated["description"] == "second" and updated.etag != fetched.etag
    with pytest.raises(IPAMError) as stale:
        ipam.regions.update(region["region_id"], etag=fetched.etag, description="lost update")
    assert stale.value.code == "precondition_failed" and stale.value.status == 412
    assert stale.value.details["current_etag"] == updated.etag
    assert Region.objects.get(pk=region["region_id"]).description == "second"
    result = ipam.regions.retire(region["region_id"], reason="done", etag=updated.etag)
    assert not Region.objects.filter(pk=region["region_id"]).exists()
    assert result


def test_list_iterators_follow_cursors_across_pages(ipam):
    names = [f"r{i}" for i in range(5)]
    for name in names:
        ipam.regions.allocate(country="India", name=name)
    listed = list(ipam.regions.list(page_size=2))
    assert sorted(r["region_name"] for r in listed) == names
    region_id = listed[0]["region_id"]
    ipam.hosts.batch(region_id=region_id, count=7, hostname_prefix="node")
    hosts = list(ipam.hosts.list(region_id=region_id, page_size=3))
    addresses = [h["ip_address"] for h in hosts]
    assert len(hosts) == 7 and addresses == sorted(addresses, key=lambda ip: int(ip.split(".")[-1]))
    audit = list(ipam.audit.list(page_size=4))
    assert len(audit) >= 12  # 5 regions + 7 hosts created


def test_hosts_allocate_by_ip_update_and_release(ipam):
    region = ipam.regions.allocate(country="India", name="hosts")
    host = ipam.hosts.allocate(region_id=region["region_id"], hostname="web-1", application="shop")
    found = ipam.hosts.by_ip(host["ip_address"])
    assert found["host_id"] == host["host_id"] and found.etag == host.etag
    changed = ipam.hosts.update(host["host_id"], etag=found.etag, hostname="web-01")
    assert changed["hostname"] == "web-01"
    ipam.hosts.release(host["host_id"], reason="decommissioned")
    assert not Host.objects.filter(pk=host["host_id"]).exists()
    with pytest.raises(IPAMError) as missing:
        ipam.hosts.by_ip(host["ip_address"])
    assert missing.value.code == "host_not_found" and missing.value.status == 404


def test_reservations_countries_search_and_quota(ipam, operator):
    reservation = ipam.reservations.create(resource_type="region", x_octet=99, y_octet=7, reason="planned")
    assert ipam.reservations.get(reservation["reservation_id"])["reserved_address"] == "10.99.7.0/24"
    assert [r["reservation_id"] for r in ipam.reservations.list()] == [reservation["reservation_id"]]
    ipam.reservations.delete(reservation["reservation_id"], etag=reservation.etag)
    assert not Reservation.objects.filter(user=operator).exists()
    countries = ipam.countries.list()
    assert {"IN", "US"} <= {c["code"] for c in countries}
    assert ipam.countries.get("IN").etag
    ipam.regions.allocate(country="India", name="findme-region")
    hits = list(ipam.search("findme"))
    assert [h["region_name"] for h in hits] == ["findme-region"]
    assert set(ipam.quota()) >= {"regions", "hosts"}


def test_errors_carry_the_api_error_code(ipam):
    with pytest.raises(IPAMError) as bad:
        ipam.regions.allocate(country="Atlantis", name="x")
    assert bad.value.status in (400, 404) and bad.value.code and bad.value.message
    with pytest.raises(IPAMError) as gone:
        ipam.regions.get("00000000-0000-4000-8000-000000000000")
    assert gone.value.status == 404 and gone.value.code in ("not_found", "region_not_found")


def test_a_wrong_password_is_an_authentication_error(live_server_url, operator):
    with pytest.raises(IPAMError) as denied:
        IPAM(live_server_url, username=operator.username, password="wrong-password").regions.preview_next(country="IN")
    assert denied.value.status == 401


def test_an_expired_access_token_is_renewed_with_the_refresh_token_then_with_the_password(proxy, operator):
    ipam = client_via(proxy, operator)
    ipam.regions.preview_next(country="IN")  # logs in
    ipam.transport._access = "expired.or.invalid"
    assert ipam.regions.preview_next(country="IN")["next_cidr"]
    ipam.transport._access = "expired.or.invalid"
    ipam.transport._refresh = "also-invalid"
    assert ipam.regions.preview_next(country="IN")["next_cidr"]
    auth_calls = [s.path for s in proxy.seen if s.path.startswith("/auth/")]
    # login; refresh (accepted); refresh (refused) then login with the password again
    assert auth_calls == ["/auth/token", "/auth/token/refresh", "/auth/token/refresh", "/auth/token"]


def test_a_lost_allocation_response_is_retried_with_the_same_key_and_allocates_once(proxy, operator):
    ipam = client_via(proxy, operator, max_retry_wait=5)

    def lose_first_allocation(seen, index):
        if seen.method == "POST" and seen.path == "/ipam/regions" and sum(s.path == "/ipam/regions" for s in proxy.seen) == 1:
            return ("lose", 503, {"Retry-After": "0"})  # the server allocated; the client never hears of it
        return None

    proxy.rule = lose_first_allocation
    region = ipam.regions.allocate(country="India", name="exactly-once")
    attempts = [s for s in proxy.seen if s.method == "POST" and s.path == "/ipam/regions"]
    assert len(attempts) == 2
    keys = {s.headers["Idempotency-Key"] for s in attempts}
    assert len(keys) == 1  # the retry carried the same key …
    assert Region.objects.filter(user=operator).count() == 1  # … so the server replayed instead of allocating again
    assert Region.objects.get(user=operator).pk.hex == region["region_id"].replace("-", "")


def test_429_is_retried_after_retry_after_and_long_waits_are_not(proxy, operator):
    ipam = client_via(proxy, operator, max_retry_wait=5)
    proxy.rule = lambda seen, index: ("answer", 429, {"Retry-After": "1"}) if seen.path.startswith("/ipam/regions") and index < 3 else None
    started = time.monotonic()
    assert ipam.regions.preview_next(country="IN")["next_cidr"]
    assert time.monotonic() - started >= 1.0  # waited as told
    proxy.rule = lambda seen, index: ("answer", 429, {"Retry-After": "3600"}) if seen.path.startswith("/ipam/regions") else None
    started = time.monotonic()
    with pytest.raises(IPAMError) as limited:
        ipam.regions.preview_next(country="IN")
    assert limited.value.status == 429 and time.monotonic() - started < 5  # an hour is beyond max_retry_wait: no sleeping


def test_retries_are_bounded(proxy, operator):
    ipam = client_via(proxy, operator, max_retries=2, max_retry_wait=5)
    ipam.regions.preview_next(country="IN")  # log in first
    proxy.seen.clear()
    proxy.rule = lambda seen, index: ("answer", 503, {"Retry-After": "0"})
    with pytest.raises(IPAMError) as unavailable:
        ipam.regions.preview_next(country="IN")
    assert unavailable.value.status == 503
    assert len(proxy.seen) == 3  # the call and two retries


def test_a_failed_write_without_idempotency_key_is_not_retried(proxy, operator):
    ipam = client_via(proxy, operator, max_retry_wait=5)
    region = ipam.regions.allocate(country="India", name="no-retry")
    proxy.seen.clear()
    proxy.rule = lambda seen, index: ("answer", 503, {"Retry-After": "0"}) if seen.method == "PATCH" else None
    with pytest.raises(IPAMError):
        ipam.regions.update(region["region_id"], description="x")
    assert len([s for s in proxy.seen if s.method == "PATCH"]) == 1
