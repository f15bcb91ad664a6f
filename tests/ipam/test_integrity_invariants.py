"""verify_counters beyond the counters: no active reservation on an allocated /24 or address, host reservations
keep their region, hosts sit in their region. Each kind of drift is made behind the services' back and must be
reported (exit 1); `--fix` repairs counters only, so these still exit 1 after it.

Counter drift (bitmaps, counters, cursors, quotas = rows) is covered in test_integrity_counters.py.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ipam.models import Host, Region, Reservation
from ipam.services.integrity import counters_check
from ipam.services.reservations import reservation_create
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def _run(*args):
    out = StringIO()
    call_command("verify_counters", *args, stdout=out)
    return out.getvalue()


def _reserve_behind_the_back(user, region, z=None, *, expires_in=None):
    """An active reservation written directly (the services refuse it: that is the drift being made)."""
    return Reservation.objects.create(
        user=user,
        resource_type="host" if z is not None else "region",
        country=region.country,
        x_octet=region.x_octet,
        y_octet=region.y_octet,
        z_octet=z,
        status="active",
        reason="drift",
        expires_at=timezone.now() + expires_in if expires_in is not None else None,
    )


def _overlaps():
    return {(d.kind, d.field, d.actual) for d in counters_check().drifts}


def test_legitimate_reservations_are_no_drift(alice, bob):
    region = make_region(alice)
    make_host(alice, region)
    reservation_create(actor=alice, resource_type="host", x_octet=region.x_octet, y_octet=region.y_octet, z_octet=9, reason="r")
    reservation_create(actor=alice, resource_type="region", x_octet=region.x_octet, y_octet=200, reason="r")
    # bob's reservation of the same /24 is in his own namespace: no overlap with alice's region.
    reservation_create(actor=bob, resource_type="region", x_octet=region.x_octet, y_octet=region.y_octet, reason="r")
    report = counters_check()
    assert report.drifts == [] and report.reservations == 3
    assert "3 active reservations" in _run()


def test_an_active_reservation_on_an_allocated_region_is_reported_and_not_fixed(alice):
    region = make_region(alice)
    held = _reserve_behind_the_back(alice, region)
    (drift,) = counters_check().drifts
    assert (drift.kind, drift.key, drift.stored, drift.actual) == ("reservation", ("reservation", held.pk), "active", "/24 allocated")
    assert drift.label.startswith(f"10.{region.x_octet}.{region.y_octet}.0/24") and "alice" in drift.label
    with pytest.raises(CommandError) as err:
        _run()
    assert err.value.returncode == 1
    with pytest.raises(CommandError) as err:
        _run("--fix")
    assert err.value.returncode == 1 and "need a person" in str(err.value)
    assert Reservation.objects.get(pk=held.pk).status == "active"  # reported, never silently changed


def test_an_active_reservation_on_an_allocated_host_is_reported(alice):
    region = make_region(alice)
    host = make_host(alice, region)
    _reserve_behind_the_back(alice, region, host.z_octet)
    assert _overlaps() == {("reservation", "status", "address allocated")}


def test_an_expired_or_inactive_reservation_on_an_allocated_address_is_no_drift(alice):
    region = make_region(alice)
    host = make_host(alice, region)
    _reserve_behind_the_back(alice, region, host.z_octet, expires_in=timedelta(minutes=-1))  # lapsed, not swept yet
    lapsed = _reserve_behind_the_back(alice, region, expires_in=timedelta(minutes=-1))
    Reservation.objects.filter(pk=lapsed.pk).update(status="converted")
    assert counters_check().drifts == []


def test_a_host_reservation_whose_region_is_gone_is_reported(alice):
    region = make_region(alice)
    _reserve_behind_the_back(alice, region, 7)
    Region.objects.filter(pk=region.pk).update(y_octet=region.y_octet + 1)  # its /24 is no longer alice's
    assert ("reservation", "status", "region gone") in _overlaps()


def test_a_host_outside_its_region_is_reported(alice, bob):
    region = make_region(alice)
    host = make_host(alice, region)
    Host.objects.filter(pk=host.pk).update(y_octet=region.y_octet + 1)
    (drift,) = counters_check().drifts
    assert (drift.kind, drift.field) == ("host", "region") and drift.actual == f"region {region.cidr}"
    Host.objects.filter(pk=host.pk).update(y_octet=region.y_octet, user=bob)  # right place, wrong owner
    assert {d.kind for d in counters_check().drifts} >= {"host"}
    with pytest.raises(CommandError):
        _run()
