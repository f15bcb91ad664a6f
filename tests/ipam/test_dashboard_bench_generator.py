"""The benchmark generator writes what the services would have written (so dashboard numbers are real)."""

from __future__ import annotations

import pytest

from bench.generate import generate, verify
from ipam.models import AllocationCursor, AuditLog, Host, Region, UserQuota
from ipam.selectors.dashboard import dashboard_stats_compute
from ipam.services.hosts import host_allocate
from ipam.services.regions import region_allocate

pytestmark = pytest.mark.django_db


@pytest.fixture
def generated():
    summary = generate(username="gen", hosts=23, hosts_per_region=5, country_codes=["IN", "US"], history_days=30, out=lambda _: None)
    return summary


def test_generated_namespace_has_consistent_counters_bitmaps_and_quota(generated):
    assert generated["regions"] == 5 and generated["hosts"] == 23 and generated["audit_rows"] == 28
    assert verify(username="gen") == []
    regions = list(Region.objects.filter(user_id=generated["user_id"]).order_by("x_octet", "y_octet"))
    assert [(r.cidr, r.allocated_hosts) for r in regions] == [
        ("10.0.0.0/24", 5),
        ("10.0.1.0/24", 5),
        ("10.0.2.0/24", 3),
        ("10.153.0.0/24", 5),
        ("10.153.1.0/24", 5),
    ]
    assert dict(AllocationCursor.objects.filter(user_id=generated["user_id"]).values_list("country__code", "region_count")) == {
        "IN": 3,
        "US": 2,
    }
    quota = UserQuota.objects.get(user_id=generated["user_id"])
    assert (quota.regions_used, quota.hosts_used) == (5, 23)
    assert AuditLog.objects.filter(user_id=generated["user_id"], action_type="create", resource_type="host").count() == 23


def test_dashboard_reads_the_generated_numbers(generated, django_user_model):
    stats = dashboard_stats_compute(django_user_model.objects.get(username="gen"))
    assert (stats["total_regions"], stats["total_hosts"], stats["total_countries"]) == (5, 23, 2)
    assert stats["overall_utilization"] == round(23 * 100 / (5 * 254), 2)


def test_the_services_continue_first_fit_after_generation(generated, django_user_model):
    user = django_user_model.objects.get(username="gen")
    assert region_allocate(actor=user, country="IN", region_name="after").cidr == "10.0.3.0/24"
    partial = Region.objects.get(user=user, x_octet=0, y_octet=2)
    assert host_allocate(actor=user, region_id=partial.pk, hostname="next").ip_address == "10.0.2.4"
    assert verify(username="gen") == []
    assert Host.objects.filter(user=user).count() == 24


def test_verify_reports_drift(generated):
    Region.objects.filter(user_id=generated["user_id"], x_octet=0, y_octet=0).update(allocated_hosts=4)
    problems = verify(username="gen")
    assert len(problems) == 1 and "allocated_hosts 4 != 5" in problems[0]


def test_reset_recreates_the_namespace(generated):
    again = generate(username="gen", hosts=7, hosts_per_region=7, reset=True, out=lambda _: None)
    assert again["regions"] == 1 and Region.objects.filter(user_id=again["user_id"]).count() == 1
    assert verify(username="gen") == []


@pytest.fixture
def with_lists():
    return generate(
        username="gen",
        hosts=23,
        hosts_per_region=5,
        country_codes=["IN", "US"],
        history_days=30,
        notifications=40,
        reservations=2,
        deliveries=30,
        out=lambda _: None,
    )


def test_the_other_lists_are_generated_as_the_services_keep_them(with_lists, client_for, django_user_model):
    """Issue 19: the bench user's notification, reservation and delivery lists are real pages, not empty ones."""
    from ipam import exceptions
    from ipam.models import Reservation
    from ipam.services.reservations import reservation_create
    from notifications.models import Notification
    from webhooks.models import Webhook, WebhookDelivery, WebhookDeliveryAttempt

    user = django_user_model.objects.get(username="gen")
    assert (with_lists["notifications"], with_lists["reservations"], with_lists["deliveries"]) == (41, 2, 30)
    assert verify(username="gen") == []
    # Host reservations, active, on free addresses (never 254) of regions outside the countries bench/run.py allocates into.
    held = list(
        Reservation.objects.filter(user=user)
        .order_by("x_octet", "y_octet")
        .values_list("status", "resource_type", "x_octet", "y_octet", "z_octet")
    )
    assert held == [("active", "host", 0, 0, 6), ("active", "host", 0, 1, 7)]
    assert not Host.objects.filter(user=user, x_octet=0, y_octet=0, z_octet=6).exists()
    assert AuditLog.objects.filter(user=user, resource_type="reservation", action_type="create").count() == 2
    # The services honour them: allocation skips the held address, a second reservation of it is refused.
    region = Region.objects.get(user=user, x_octet=0, y_octet=0)
    assert host_allocate(actor=user, region_id=region.pk, hostname="next").ip_address == "10.0.0.7"
    with pytest.raises(exceptions.AddressReserved):
        reservation_create(actor=user, resource_type="host", x_octet=0, y_octet=1, z_octet=7, reason="again")
    # One disabled webhook with settled deliveries only (no pending one the dispatcher would pick up), attempt logs consistent.
    webhook = Webhook.objects.get(user=user)
    assert webhook.is_active is False and webhook.disabled_at is not None
    deliveries = WebhookDelivery.objects.filter(webhook=webhook)
    assert set(deliveries.values_list("status", flat=True)) <= {"delivered", "failed"} and deliveries.filter(status="delivered").exists()
    for row in deliveries:
        assert WebhookDeliveryAttempt.objects.filter(delivery=row).count() == row.attempts
        assert (row.status == "delivered") == (row.delivered_at is not None)
    assert deliveries.filter(last_error="Webhook disabled; not sent.", attempts=0).count() == 5
    kinds = set(Notification.objects.filter(user=user).values_list("notification_type", flat=True))
    assert "webhook_disabled" in kinds and kinds & {"capacity_warning", "capacity_critical"}
    assert Notification.objects.filter(user=user, is_read=True).exists() and Notification.objects.filter(user=user, is_read=False).exists()
    # The list endpoints serve them.
    api = client_for(user)
    assert api.get("/ipam/notifications").json()["count"] == 41
    assert api.get("/ipam/reservations").json()["count"] == 2
    assert api.get(f"/ipam/webhooks/{webhook.pk}/deliveries").json()["count"] == 30
    # Reset removes them with the rest of the namespace.
    generate(username="gen", hosts=7, hosts_per_region=7, reset=True, out=lambda _: None)
    assert not Webhook.objects.filter(user=user).exists() and not Notification.objects.filter(user=user).exists()
    assert not Reservation.objects.filter(user=user).exists()


def test_verify_reports_a_reservation_on_an_allocated_address(with_lists):
    from ipam.models import Reservation

    Reservation.objects.filter(user_id=with_lists["user_id"], x_octet=0, y_octet=0).update(z_octet=3)
    assert verify(username="gen") == ["reservation 10.0.0.3: the address is allocated"]
