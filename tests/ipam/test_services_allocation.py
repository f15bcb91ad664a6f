"""Allocation rules (contract §1): first-fit lowest address, reuse of gaps, exhaustion, isolation."""

from __future__ import annotations

import pytest

from ipam import bitmaps, exceptions
from ipam.models import AllocationCursor, AuditLog, Country, Host, Region, UserQuota
from ipam.services.hosts import host_allocate, host_retire, hosts_allocate_batch
from ipam.services.regions import region_allocate, region_retire
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def test_first_region_in_india_is_10_0_0_0(alice):
    region = region_allocate(actor=alice, country="India", region_name="first")
    assert region.cidr == "10.0.0.0/24"
    assert (region.x_octet, region.y_octet) == (0, 0)


def test_regions_fill_y_then_move_to_next_x(alice):
    cursor_country = Country.objects.get(code="AE")  # X 30..37
    cursor = AllocationCursor.objects.create(user=alice, country=cursor_country)
    # Pretend X=30 is full except nothing: set all 256 bits of X=30 through the bitmap helpers.
    cursor.bitmap = bitmaps.to_bytes(((1 << 256) - 1) << (30 * 256))
    cursor.region_count = 256
    cursor.save()
    region = region_allocate(actor=alice, country="UAE", region_name="next-x")
    assert (region.x_octet, region.y_octet) == (31, 0)


def test_retired_gap_is_reused_first(alice):
    regions = [make_region(alice) for _ in range(3)]
    assert [r.y_octet for r in regions] == [0, 1, 2]
    region_retire(actor=alice, region_id=regions[1].pk, reason="gap")
    again = make_region(alice)
    assert again.y_octet == 1


def test_country_exhaustion_is_409_capacity_exhausted(alice):
    country = Country.objects.get(code="SG")
    cursor = AllocationCursor.objects.create(user=alice, country=country)
    full = 0
    for x in range(country.x_start, country.x_end + 1):
        full |= ((1 << 256) - 1) << (x * 256)
    cursor.bitmap = bitmaps.to_bytes(full)
    cursor.save()
    with pytest.raises(exceptions.CapacityExhausted):
        region_allocate(actor=alice, country="SG", region_name="no-room")
    assert not Region.objects.filter(user=alice).exists()


def test_hosts_start_at_1_and_never_use_0_or_255(alice):
    region = make_region(alice)
    hosts = hosts_allocate_batch(actor=alice, region_id=region.pk, count=100, hostname_prefix="a")
    hosts += hosts_allocate_batch(actor=alice, region_id=region.pk, count=100, hostname_prefix="b")
    hosts += hosts_allocate_batch(actor=alice, region_id=region.pk, count=54, hostname_prefix="c")
    assert sorted(h.z_octet for h in hosts) == list(range(1, 255))
    with pytest.raises(exceptions.RegionFull):
        host_allocate(actor=alice, region_id=region.pk, hostname="one-too-many")
    region.refresh_from_db()
    assert region.allocated_hosts == 254
    assert Host.objects.filter(region=region).count() == 254


def test_freed_host_address_is_reused_at_once(alice):
    region = make_region(alice)
    first, second, _third = (make_host(alice, region) for _ in range(3))
    host_retire(actor=alice, host_id=second.pk, reason="bye")
    assert make_host(alice, region).z_octet == second.z_octet
    assert first.z_octet == 1


def test_two_users_have_independent_namespaces(alice, bob):
    a = region_allocate(actor=alice, country="India", region_name="same")
    b = region_allocate(actor=bob, country="India", region_name="same")
    assert a.cidr == b.cidr == "10.0.0.0/24"
    ha = host_allocate(actor=alice, region_id=a.pk, hostname="web")
    hb = host_allocate(actor=bob, region_id=b.pk, hostname="web")
    assert ha.ip_address == hb.ip_address == "10.0.0.1"


def test_region_names_are_unique_per_user_and_country_case_insensitively(alice):
    region_allocate(actor=alice, country="India", region_name="Prod")
    with pytest.raises(exceptions.DuplicateName):
        region_allocate(actor=alice, country="IN", region_name=" prod ")
    # Another country may reuse the name.
    assert region_allocate(actor=alice, country="Japan", region_name="Prod").x_octet == 46


def test_hostname_is_unique_per_region(alice):
    region = make_region(alice)
    host_allocate(actor=alice, region_id=region.pk, hostname="Web-1")
    with pytest.raises(exceptions.DuplicateHostname):
        host_allocate(actor=alice, region_id=region.pk, hostname="web-1")


def test_reserved_block_is_refused_for_operators_and_open_to_admins(alice, admin_user):
    with pytest.raises(exceptions.ReservedRange):
        region_allocate(actor=alice, country="Reserved", region_name="nope")
    assert region_allocate(actor=admin_user, country="ZZ", region_name="ok").x_octet == 208


def test_region_quota_is_enforced_and_counted(alice):
    UserQuota.objects.update_or_create(user=alice, defaults={"region_limit": 2})
    make_region(alice)
    make_region(alice)
    with pytest.raises(exceptions.QuotaExceeded) as err:
        make_region(alice)
    assert err.value.details == {"quota_type": "regions", "limit": 2, "current": 2}
    assert Region.objects.filter(user=alice).count() == 2


def test_host_quota_failure_rolls_back_the_whole_batch(alice):
    UserQuota.objects.update_or_create(user=alice, defaults={"host_limit": 5})
    region = make_region(alice)
    make_host(alice, region)
    with pytest.raises(exceptions.QuotaExceeded):
        hosts_allocate_batch(actor=alice, region_id=region.pk, count=5, hostname_prefix="x")
    region.refresh_from_db()
    assert region.allocated_hosts == 1
    assert Host.objects.filter(region=region).count() == 1
    assert UserQuota.objects.get(user=alice).hosts_used == 1


def test_retire_without_cascade_on_non_empty_region_is_409(alice):
    region = make_region(alice)
    make_host(alice, region)
    with pytest.raises(exceptions.RegionNotEmpty):
        region_retire(actor=alice, region_id=region.pk, reason="x")
    assert Region.objects.filter(pk=region.pk).exists()


def test_cascade_retire_removes_hosts_and_frees_counters(alice):
    region = make_region(alice)
    for _ in range(3):
        make_host(alice, region)
    result = region_retire(actor=alice, region_id=region.pk, reason="decommissioned", cascade=True)
    assert result == {"region_id": str(region.pk), "cascade": True, "hosts_retired": 3}
    assert not Host.objects.filter(user=alice).exists()
    quota = UserQuota.objects.get(user=alice)
    assert (quota.regions_used, quota.hosts_used) == (0, 0)
    cursor = AllocationCursor.objects.get(user=alice, country__code="IN")
    assert cursor.region_count == 0 and bitmaps.from_bytes(cursor.bitmap) == 0
    retire_rows = AuditLog.objects.filter(user=alice, action_type="retire")
    assert retire_rows.filter(resource_type="host").count() == 3
    region_row = retire_rows.get(resource_type="region")
    assert region_row.reason == "decommissioned"
    assert region_row.snapshot["cidr"] == region.cidr


def test_every_write_is_audited_with_actor(alice):
    region = make_region(alice, name="audited")
    host = make_host(alice, region, hostname="h1")
    rows = AuditLog.objects.filter(user=alice).order_by("timestamp")
    assert [(r.action_type, r.resource_type) for r in rows] == [("create", "region"), ("create", "host")]
    assert rows[0].actor == "alice" and rows[0].actor_type == "user"
    assert rows[1].ip_address == host.ip_address and rows[1].region_id == region.pk


def test_retiring_removes_the_comments_of_what_is_retired(alice):
    from ipam.models import Comment
    from ipam.services.comments import comment_create

    region = make_region(alice)
    kept, gone = make_host(alice, region), make_host(alice, region)
    comment_create(actor=alice, resource_type="host", resource_id=kept.pk, text="stays")
    comment_create(actor=alice, resource_type="host", resource_id=gone.pk, text="goes")
    host_retire(actor=alice, host_id=gone.pk, reason="x")
    assert list(Comment.objects.values_list("text", flat=True)) == ["stays"]
    comment_create(actor=alice, resource_type="region", resource_id=region.pk, text="region note")
    region_retire(actor=alice, region_id=region.pk, reason="x", cascade=True)
    assert not Comment.objects.exists()
