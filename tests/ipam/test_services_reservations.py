"""Reservations really reserve: auto-allocation skips them, convert takes exactly them, expiry frees them at
once; the hourly job expires, audits, publishes, notifies, warns 24 h ahead, and is idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ipam import exceptions
from ipam.models import AuditLog, Reservation
from ipam.services import reservations as services
from ipam.services.hosts import host_allocate
from ipam.services.regions import region_allocate
from ipam.services.reservation_conversion import reservation_convert
from ipam.services.reservations import reservation_create, reservations_expire_due
from ipam.tasks.reservations import reservation_expiration_checker
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(monkeypatch):
    """Records events and notifications the reservation services send (both still go through)."""
    sent: dict[str, list] = {"events": [], "notifications": []}
    publish, notify = services.event_publish, services.notification_create

    def record_event(*, user, event_type, data):
        sent["events"].append((user.username, event_type, data))
        return publish(user=user, event_type=event_type, data=data)

    def record_notification(**kwargs):
        sent["notifications"].append(kwargs)
        return notify(**kwargs)

    monkeypatch.setattr(services, "event_publish", record_event)
    monkeypatch.setattr(services, "notification_create", record_notification)
    return sent


def region_reservation(user, x, y, **kwargs):
    return reservation_create(actor=user, resource_type="region", x_octet=x, y_octet=y, reason="hold", **kwargs)


def host_reservation(user, region, z, **kwargs):
    return reservation_create(
        actor=user, resource_type="host", x_octet=region.x_octet, y_octet=region.y_octet, z_octet=z, reason="hold", **kwargs
    )


def lapse(reservation, seconds_ago=1):
    """Move the reservation's expiry into the past (time control without sleeping)."""
    Reservation.objects.filter(pk=reservation.pk).update(expires_at=timezone.now() - timedelta(seconds=seconds_ago))


def test_reserve_then_auto_allocation_skips_it_then_convert_gets_exactly_it(alice):
    reservation = region_reservation(alice, 0, 0)
    skipped = region_allocate(actor=alice, country="India", region_name="auto")
    assert skipped.cidr == "10.0.1.0/24"
    _, region = reservation_convert(actor=alice, reservation_id=reservation.pk, data={"region_name": "planned"})
    assert region.cidr == "10.0.0.0/24"
    assert region_allocate(actor=alice, country="India", region_name="next").cidr == "10.0.2.0/24"


def test_host_reservation_is_skipped_by_auto_allocation_and_batches_and_converted_exactly(alice):
    region = make_region(alice)
    reservation = host_reservation(alice, region, 1)
    assert make_host(alice, region).z_octet == 2
    from ipam.services.hosts import hosts_allocate_batch

    assert [h.z_octet for h in hosts_allocate_batch(actor=alice, region_id=region.pk, count=2, hostname_prefix="b")] == [3, 4]
    _, host = reservation_convert(actor=alice, reservation_id=reservation.pk, data={"hostname": "kept"})
    assert host.ip_address == "10.0.0.1"


def test_explicit_allocation_of_a_reserved_address_is_409_for_everyone_but_the_conversion(alice):
    region = make_region(alice)
    region_reservation(alice, 0, 5)
    with pytest.raises(exceptions.AddressReserved):
        region_allocate(actor=alice, country="India", region_name="x", at=(0, 5))
    host_reservation(alice, region, 9)
    with pytest.raises(exceptions.AddressReserved):
        host_allocate(actor=alice, region_id=region.pk, hostname="x", z_octet=9)


def test_reservations_are_per_user_namespace(alice, bob):
    region_reservation(alice, 0, 0)
    assert region_allocate(actor=bob, country="India", region_name="b").cidr == "10.0.0.0/24"
    with pytest.raises(exceptions.AddressInUse):
        region_reservation(bob, 0, 0)


def test_expiry_releases_the_address_for_auto_allocation_immediately(alice):
    reservation = region_reservation(alice, 0, 0, expires_in_days=1)
    assert region_allocate(actor=alice, country="India", region_name="a").cidr == "10.0.1.0/24"
    lapse(reservation)
    # No job has run: the row still says active, but it no longer holds the address.
    assert Reservation.objects.get(pk=reservation.pk).status == "active"
    assert Reservation.objects.get(pk=reservation.pk).current_status == "expired"
    assert region_allocate(actor=alice, country="India", region_name="b").cidr == "10.0.0.0/24"


def test_host_expiry_releases_the_address_immediately(alice):
    region = make_region(alice)
    reservation = host_reservation(alice, region, 1, expires_in_days=3)
    lapse(reservation)
    assert make_host(alice, region).z_octet == 1


def test_an_expired_but_unswept_reservation_does_not_block_a_new_one(alice, outbox):
    old = region_reservation(alice, 0, 0, expires_in_days=1)
    lapse(old)
    new = region_reservation(alice, 0, 0)
    assert new.status == "active"
    assert Reservation.objects.get(pk=old.pk).status == "expired"
    # The old one was expired properly on the way: audited, published, owner told.
    assert AuditLog.objects.filter(action_type="reservation_expired", resource_id=str(old.pk), actor_type="system").count() == 1
    assert [e[1] for e in outbox["events"]] == ["reservation.created", "reservation.expired", "reservation.created"]
    assert [n["notification_type"] for n in outbox["notifications"]] == ["reservation_expired"]
    assert reservations_expire_due() == 0  # nothing left for the job


def test_an_expired_but_unswept_host_reservation_does_not_block_a_new_one(alice):
    region = make_region(alice)
    old = host_reservation(alice, region, 7, expires_in_days=1)
    lapse(old)
    assert host_reservation(alice, region, 7).status == "active"
    assert Reservation.objects.get(pk=old.pk).status == "expired"


def test_expiration_job_expires_audits_publishes_and_notifies_once(alice, bob, outbox):
    due = region_reservation(alice, 0, 0, expires_in_days=1)
    due_bob = region_reservation(bob, 0, 0, expires_in_days=2)
    forever = region_reservation(alice, 0, 1)
    later = region_reservation(alice, 0, 2, expires_in_days=30)
    lapse(due)
    lapse(due_bob, seconds_ago=3600)
    outbox["events"].clear()

    assert reservation_expiration_checker.apply().get() == {"expired": 2, "warned": 0}

    statuses = dict(Reservation.objects.values_list("pk", "status"))
    assert statuses == {due.pk: "expired", due_bob.pk: "expired", forever.pk: "active", later.pk: "active"}
    audits = AuditLog.objects.filter(action_type="reservation_expired")
    assert {(a.resource_id, a.user_id, a.actor_type, a.resource_type) for a in audits} == {
        (str(due.pk), alice.pk, "system", "reservation"),
        (str(due_bob.pk), bob.pk, "system", "reservation"),
    }
    assert sorted((e[0], e[1]) for e in outbox["events"]) == [("alice", "reservation.expired"), ("bob", "reservation.expired")]
    notes = outbox["notifications"]
    assert sorted((n["user"].username, n["notification_type"], n["resource_id"]) for n in notes) == [
        ("alice", "reservation_expired", str(due.pk)),
        ("bob", "reservation_expired", str(due_bob.pk)),
    ]
    assert all(n["resource_link"] == f"/ipam/reservations/{n['resource_id']}" for n in notes)

    # Idempotent: a second run (or a second worker) finds nothing.
    assert reservation_expiration_checker.apply().get() == {"expired": 0, "warned": 0}
    assert AuditLog.objects.filter(action_type="reservation_expired").count() == 2
    assert len(outbox["notifications"]) == 2


def test_expiration_job_warns_24_hours_ahead_exactly_once(alice, outbox):
    soon = region_reservation(alice, 0, 0, expires_in_days=1)  # expires within 24 h of "now"
    later = region_reservation(alice, 0, 1, expires_in_days=2)
    region_reservation(alice, 0, 2)  # never expires
    now = timezone.now()

    assert services.reservation_expiration_check(now=now) == {"expired": 0, "warned": 1}
    warning = outbox["notifications"][0]
    assert (warning["notification_type"], warning["severity"], warning["resource_id"]) == ("reservation_expiring", "warning", str(soon.pk))
    assert "10.0.0.0/24" in warning["message"]
    assert Reservation.objects.get(pk=soon.pk).expiry_warning_sent_at is not None

    assert services.reservation_expiration_check(now=now + timedelta(minutes=30)) == {"expired": 0, "warned": 0}
    # A day later the second one is inside its last 24 h; the first has expired.
    assert services.reservation_expiration_check(now=now + timedelta(days=1, minutes=1)) == {"expired": 1, "warned": 1}
    assert [(n["notification_type"], n["resource_id"]) for n in outbox["notifications"][1:]] == [
        ("reservation_expiring", str(later.pk)),
        ("reservation_expired", str(soon.pk)),
    ]


def test_expiration_job_leaves_converted_reservations_alone(alice):
    reservation = region_reservation(alice, 0, 0, expires_in_days=1)
    reservation_convert(actor=alice, reservation_id=reservation.pk, data={"region_name": "kept"})
    lapse(reservation)
    assert reservations_expire_due() == 0
    assert Reservation.objects.get(pk=reservation.pk).status == "converted"


def test_expiration_job_works_in_batches(alice):
    rows = [region_reservation(alice, 1, y, expires_in_days=1) for y in range(5)]
    Reservation.objects.filter(pk__in=[r.pk for r in rows]).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert reservations_expire_due(batch_size=2) == 5
    assert Reservation.objects.filter(status="expired").count() == 5


def test_create_logs_the_guides_line(alice, caplog):
    with caplog.at_level("INFO", logger="ipam.reservations"):
        reservation = region_reservation(alice, 0, 0)
    assert f"Created reservation: {reservation.pk}" in caplog.text


def test_the_database_refuses_two_active_reservations_of_one_address(alice):
    from django.db import IntegrityError, transaction

    from ipam.models import Country

    india = Country.objects.get(code="IN")
    Reservation.objects.create(user=alice, resource_type="region", country=india, x_octet=0, y_octet=0, reason="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(user=alice, resource_type="region", country=india, x_octet=0, y_octet=0, reason="b")
    Reservation.objects.create(user=alice, resource_type="host", country=india, x_octet=0, y_octet=0, z_octet=3, reason="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(user=alice, resource_type="host", country=india, x_octet=0, y_octet=0, z_octet=3, reason="b")
    # Only active rows are unique: history at the same address is fine.
    Reservation.objects.create(user=alice, resource_type="region", country=india, x_octet=0, y_octet=0, reason="c", status="expired")
    assert Reservation.objects.filter(x_octet=0, y_octet=0).count() == 3


def test_a_region_reservation_cannot_carry_a_z_octet_in_the_database(alice):
    from django.db import IntegrityError, transaction

    from ipam.models import Country

    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(
            user=alice, resource_type="region", country=Country.objects.get(code="IN"), x_octet=0, y_octet=0, z_octet=4, reason="a"
        )


def test_retiring_a_region_cancels_its_host_reservations_and_only_those(alice, bob, api):
    from notifications.models import Notification

    region = make_region(alice, "India")
    other = make_region(alice, "India")
    held = [host_reservation(alice, region, 5), host_reservation(alice, region, 6)]
    kept = host_reservation(alice, other, 5)
    kept_region = region_reservation(alice, other.x_octet, other.y_octet + 1)
    bobs_region = make_region(bob, "India")  # bob's namespace may use the same /24
    bobs = reservation_create(
        actor=bob, resource_type="host", x_octet=bobs_region.x_octet, y_octet=bobs_region.y_octet, z_octet=5, reason="hold"
    )
    response = api.delete(f"/ipam/regions/{region.pk}?reason=decommissioned")
    assert response.status_code == 200, response.content
    assert {r.status for r in Reservation.objects.filter(pk__in=[h.pk for h in held])} == {"cancelled"}
    assert Reservation.objects.get(pk=kept.pk).status == "active"
    assert Reservation.objects.get(pk=kept_region.pk).status == "active"
    assert Reservation.objects.get(pk=bobs.pk).status == "active"
    rows = AuditLog.objects.filter(action_type="reservation_cancelled").order_by("ip_address")
    assert [(r.resource_id, r.reason, r.user_id, r.actor) for r in rows] == [
        (str(h.pk), "decommissioned", alice.pk, "alice") for h in sorted(held, key=lambda h: h.z_octet)
    ]
    assert Notification.objects.filter(user=alice, notification_type="reservation_cancelled").count() == 2
    # Cancelled is final: the reservation no longer converts, and its address is no longer held.
    listed = api.get("/ipam/reservations?status=cancelled").json()["results"]
    assert sorted(r["reservation_id"] for r in listed) == sorted(str(h.pk) for h in held)
    converted = api.post(f"/ipam/reservations/{held[0].pk}/convert", {"hostname": "late"}, format="json")
    assert converted.status_code == 409
    assert converted.json()["error"] == "reservation_not_active"


def test_a_refused_retirement_cancels_nothing(alice, api):
    region = make_region(alice, "India")
    make_host(alice, region)
    reservation = host_reservation(alice, region, 9)
    assert api.delete(f"/ipam/regions/{region.pk}?reason=decommissioned").status_code == 409  # not empty, no cascade
    assert Reservation.objects.get(pk=reservation.pk).status == "active"
    assert not AuditLog.objects.filter(action_type="reservation_cancelled").exists()
