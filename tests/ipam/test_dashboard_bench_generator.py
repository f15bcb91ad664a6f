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
