"""verify_counters: drift in cursors, regions and quotas is found from the rows, reported, and repaired."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ipam import bitmaps
from ipam.models import AllocationCursor, AuditLog, Host, Region, UserQuota
from ipam.services.hosts import hosts_allocate_batch
from ipam.services.integrity import counters_check, counters_repair
from ipam.services.regions import region_retire
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate(alice, bob):
    """Two users, a few regions in two countries, some hosts: all counters consistent."""
    regions = [make_region(alice, "India"), make_region(alice, "India"), make_region(alice, "Japan"), make_region(bob, "India")]
    for region, n in zip(regions, (3, 0, 2, 1), strict=True):
        for _ in range(n):
            make_host(region.user, region)
    region_retire(actor=alice, region_id=regions[1].pk, reason="leave a gap")
    make_region(alice, "India")  # reuses the gap
    return regions


def _run(*args):
    out = StringIO()
    call_command("verify_counters", *args, stdout=out)
    return out.getvalue()


def test_consistent_counters_report_no_drift(estate):
    report = counters_check()
    assert report.drifts == []
    assert (report.cursors, report.regions, report.quotas) == (3, 4, 2)
    output = _run()
    assert "Checked 3 allocation cursors, 4 regions, 2 quotas, 0 active reservations." in output and "No drift" in output


def test_region_counter_and_bitmap_drift_is_found_and_fixed(estate, alice):
    region = estate[0]
    Region.objects.filter(pk=region.pk).update(allocated_hosts=7, host_bitmap=bitmaps.to_bytes(0b1010110))  # bits 1,2,4,6
    with pytest.raises(CommandError) as err:
        _run()
    assert err.value.returncode == 1
    drifts = {(d.kind, d.field): d for d in counters_check().drifts}
    assert set(drifts) == {("region", "allocated_hosts"), ("region", "host_bitmap")}
    assert (drifts["region", "allocated_hosts"].stored, drifts["region", "allocated_hosts"].actual) == (7, 3)
    assert "only stored: 10.0.0.4, 10.0.0.6" in drifts["region", "host_bitmap"].actual
    assert "only in rows: 10.0.0.3" in drifts["region", "host_bitmap"].actual
    assert "alice" in drifts["region", "host_bitmap"].label

    output = _run("--fix")
    assert "FIXED region" in output and "Repaired 2 value(s) in 1 row(s)." in output
    region.refresh_from_db()
    assert region.allocated_hosts == 3 and bitmaps.from_bytes(region.host_bitmap) == 0b1110
    row = AuditLog.objects.get(action_type="counter_repair")
    assert (row.user_id, row.resource_type, row.resource_id, row.actor_type) == (alice.pk, "region", str(region.pk), "system")
    assert {c["field"] for c in row.changes} == {"allocated_hosts", "host_bitmap"}
    assert counters_check().drifts == []
    assert "No drift" in _run()


def test_fixed_region_counters_allocate_correctly_again(estate, alice):
    region = estate[0]
    Region.objects.filter(pk=region.pk).update(allocated_hosts=0, host_bitmap=b"")  # would hand out .1 twice
    counters_repair(drifts=counters_check().drifts)
    assert make_host(alice, region).ip_address == "10.0.0.4"


def test_cursor_drift_and_missing_cursor_are_found_and_fixed(estate, alice, bob):
    india = AllocationCursor.objects.get(user=alice, country__code="IN")
    india.bitmap = bitmaps.to_bytes(bitmaps.from_bytes(india.bitmap) | 1 << 5)  # 10.0.5.0/24 marked taken
    india.region_count = 9
    india.save()
    AllocationCursor.objects.filter(user=bob).delete()
    drifts = counters_check().drifts
    assert {(d.kind, d.field, d.key[1]) for d in drifts} == {
        ("cursor", "region_count", alice.pk),
        ("cursor", "bitmap", alice.pk),
        ("cursor", "row", bob.pk),
    }
    bitmap = next(d for d in drifts if d.field == "bitmap")
    assert "only stored: 10.0.5.0/24" in bitmap.actual and bitmap.label == "/ India of alice"

    output = _run("--fix")
    assert "Repaired" in output
    india.refresh_from_db()
    assert india.region_count == 2 and bitmaps.from_bytes(india.bitmap) == 0b11
    bobs = AllocationCursor.objects.get(user=bob, country__code="IN")
    assert bobs.region_count == 1 and bitmaps.from_bytes(bobs.bitmap) == 1
    assert counters_check().drifts == []
    assert AuditLog.objects.filter(action_type="counter_repair", resource_type="allocation_cursor").count() == 2


def test_cursor_without_regions_is_reset(alice):
    region = make_region(alice, "Chile")
    Region.objects.filter(pk=region.pk).delete()  # behind the services' back
    assert {d.field for d in counters_check().drifts} == {"region_count", "bitmap", "regions_used"}
    counters_repair(drifts=counters_check().drifts)
    cursor = AllocationCursor.objects.get(user=alice)
    assert cursor.region_count == 0 and bitmaps.from_bytes(cursor.bitmap) == 0
    assert UserQuota.objects.get(user=alice).regions_used == 0


def test_quota_drift_is_found_and_fixed(estate, alice, bob):
    UserQuota.objects.filter(user=alice).update(regions_used=50, hosts_used=0)
    UserQuota.objects.filter(user=bob).delete()
    drifts = {(d.key[1], d.field): (d.stored, d.actual) for d in counters_check().drifts}
    assert drifts == {
        (alice.pk, "regions_used"): (50, 3),
        (alice.pk, "hosts_used"): (0, 5),
        (bob.pk, "regions_used"): (0, 1),
        (bob.pk, "hosts_used"): (0, 1),
    }
    _run("--fix")
    assert UserQuota.objects.filter(user=alice).values_list("regions_used", "hosts_used").get() == (3, 5)
    assert UserQuota.objects.filter(user=bob).values_list("regions_used", "hosts_used").get() == (1, 1)
    assert counters_check().drifts == []


def test_repair_recomputes_under_the_lock_and_skips_rows_already_right(estate):
    region = estate[0]
    Region.objects.filter(pk=region.pk).update(allocated_hosts=1)
    stale = counters_check().drifts
    Region.objects.filter(pk=region.pk).update(allocated_hosts=3)  # fixed by someone else meanwhile
    assert counters_repair(drifts=stale) == []
    assert not AuditLog.objects.filter(action_type="counter_repair").exists()


def test_hosts_of_a_full_region_and_high_octets_are_counted_exactly(admin_user):
    region = make_region(admin_user, "Reserved")  # X 208: high X, and the slot bits above 2**53
    for prefix, count in (("a", 100), ("b", 100), ("c", 54)):
        hosts_allocate_batch(actor=admin_user, region_id=region.pk, count=count, hostname_prefix=prefix)
    assert Host.objects.filter(region=region).count() == 254
    assert counters_check().drifts == []
    Region.objects.filter(pk=region.pk).update(host_bitmap=bitmaps.to_bytes(bitmaps.mask_of(range(1, 254))))  # .254 lost
    (drift,) = counters_check().drifts
    assert drift.field == "host_bitmap" and "only in rows: 10.208.0.254" in drift.actual
