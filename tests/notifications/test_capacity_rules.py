"""Capacity rules are evaluated after every allocation/release and by the capacity_monitor job:
they fire once at the threshold and re-arm below it; they are scoped by resource type and ids;
channels in_app / email / webhook; the quota ≥ 80 % system notification."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from foundation import queue
from ipam.models import UserQuota
from ipam.services.capacity import utilization_changed
from ipam.services.hosts import host_retire, hosts_allocate_batch
from ipam.services.quotas import quota_consume
from ipam.services.regions import region_retire
from ipam.tasks.capacity import capacity_monitor
from notifications.models import AlertState, Notification
from notifications.services import notification_rule_create
from tests.factories import make_host, make_region
from webhooks.models import WebhookEvent
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db


def _rule(user, threshold, channels=("in_app",), **kwargs):
    return notification_rule_create(
        actor=user, rule_name=f"rule {threshold}", utilization_threshold=threshold, notification_channels=list(channels), **kwargs
    )


def _fill(user, region, count, prefix):
    return hosts_allocate_batch(actor=user, region_id=region.pk, count=count, hostname_prefix=prefix)


def _capacity_notes(user):
    return list(Notification.objects.filter(user=user, notification_type__startswith="capacity_").order_by("created_at"))


def test_a_rule_fires_once_at_the_threshold_and_re_arms_when_utilization_drops_below(alice):
    region = make_region(alice)
    rule = _rule(alice, 50, resource_type="region")
    _fill(alice, region, 100, "a")  # 39 %
    assert _capacity_notes(alice) == []
    _fill(alice, region, 27, "b")  # 127 / 254 = 50 %
    [note] = _capacity_notes(alice)
    assert (note.notification_type, note.severity, note.resource_type, note.resource_id) == (
        "capacity_warning",
        "warning",
        "region",
        str(region.pk),
    )
    assert "50%" in note.message and note.resource_link == f"/ipam/regions/{region.pk}"
    make_host(alice, region)  # still above: quiet
    make_host(alice, region)
    assert len(_capacity_notes(alice)) == 1
    rule.refresh_from_db()
    assert rule.last_triggered_at is not None
    hosts = list(region.hosts.order_by("-z_octet")[:3])
    for host in hosts:
        host_retire(actor=alice, host_id=host.pk, reason="shrink")  # 126: below, re-armed
    assert not AlertState.objects.exists()
    assert len(_capacity_notes(alice)) == 1
    make_host(alice, region)  # 127 again: fires again
    assert len(_capacity_notes(alice)) == 2


def test_severity_follows_utilization_unless_the_rule_sets_it_and_channels_reach_webhooks_and_email(
    settings, alice, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    # Only e-mail tasks run here; webhook deliveries stay in the outbox so their events can be read.
    monkeypatch.setattr(
        queue,
        "dispatch",
        lambda name, args, kwargs: queue.task_named(name).apply(args=args, kwargs=kwargs) if name == "notification_email_send" else None,
    )
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    webhook_create(actor=alice, webhook_url="http://127.0.0.1:9/hook", events=["capacity.warning", "capacity.critical"])
    region = make_region(alice)
    _rule(alice, 95, ("in_app", "webhook", "email"), resource_type="region")
    _rule(alice, 40, ("in_app", "webhook"), severity="info")
    _fill(alice, region, 100, "a")
    with django_capture_on_commit_callbacks(execute=True):
        _fill(alice, region, 100, "b")  # 78.7 %: the 40 % rule fires (its severity: info)
        _fill(alice, region, 42, "c")  # 242 / 254 = 95.3 %: critical
    notes = _capacity_notes(alice)
    assert [(n.notification_type, n.severity) for n in notes] == [("capacity_warning", "info"), ("capacity_critical", "critical")]
    events = [json.loads(e.body) for e in WebhookEvent.objects.order_by("created_at")]
    assert [e["event_type"] for e in events] == ["capacity.warning", "capacity.critical"]
    critical = events[1]["data"]
    assert critical["resource_type"] == "region" and critical["resource_id"] == str(region.pk)
    assert critical["utilization_percent"] == 95.28 and critical["threshold"] == 95 and critical["severity"] == "critical"
    assert critical["allocated"] == 242 and critical["capacity"] == 254 and critical["country"] == "India"
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"] and "critical" in mail.subject and "95.28%" in mail.body


def test_rules_are_scoped_by_resource_type_and_ids(alice):
    watched, other = make_region(alice, "India", "watched"), make_region(alice, "India", "other")
    _rule(alice, 1, resource_type="region", resource_ids=[str(watched.pk)])
    _rule(alice, 0.01, resource_type="country", resource_ids=["in"])  # India by code, any case
    _fill(alice, other, 10, "o")
    assert _capacity_notes(alice) == []  # the region rule watches another region; countries did not change
    _fill(alice, watched, 10, "w")
    assert [(n.resource_type, n.resource_id) for n in _capacity_notes(alice)] == [("region", str(watched.pk))]
    make_region(alice, "Japan")  # not a watched country
    assert len(_capacity_notes(alice)) == 1
    make_region(alice, "India")  # 3 / 7680 regions = 0.04 %
    assert [(n.resource_type, n.resource_id) for n in _capacity_notes(alice)][1:] == [("country", "India")]
    make_region(alice, "India")
    assert len(_capacity_notes(alice)) == 2


def test_a_rule_without_a_type_watches_regions_and_countries(alice, bob):
    _rule(alice, 0.01)
    region = make_region(alice, "Chile")
    make_host(alice, region)
    assert sorted(n.resource_type for n in _capacity_notes(alice)) == ["country", "region"]
    make_host(bob, make_region(bob, "Chile"))  # another user's changes never fire alice's rules
    assert len(_capacity_notes(alice)) == 2 and _capacity_notes(bob) == []


def test_without_rules_the_hot_path_costs_one_query_and_none_when_notifications_are_off(settings, alice, django_assert_num_queries):
    region = make_region(alice)
    with django_assert_num_queries(1):
        utilization_changed(user=alice, country_id=region.country_id, region_id=region.pk)
    settings.IPAM_ENABLE_NOTIFICATIONS = False
    _rule(alice, 0)
    with django_assert_num_queries(0):
        utilization_changed(user=alice, country_id=region.country_id, region_id=region.pk)
    make_host(alice, region)
    assert not Notification.objects.exists() and not AlertState.objects.exists()


def test_quota_warning_is_sent_once_at_80_percent_until_usage_drops_back(alice, django_capture_on_commit_callbacks):
    UserQuota.objects.create(user=alice, host_limit=10)
    region = make_region(alice)
    with django_capture_on_commit_callbacks(execute=True):
        _fill(alice, region, 7, "a")
    assert not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        make_host(alice, region)  # 8 / 10
    [note] = Notification.objects.all()
    assert (note.notification_type, note.severity, note.resource_id) == ("quota_warning", "warning", "hosts")
    assert "8 of your 10 hosts" in note.message
    with django_capture_on_commit_callbacks(execute=True):
        make_host(alice, region)  # 9 / 10: quiet
    assert Notification.objects.count() == 1
    for host in list(region.hosts.order_by("-z_octet")[:2]):
        with django_capture_on_commit_callbacks(execute=True):
            host_retire(actor=alice, host_id=host.pk, reason="shrink")  # 7 / 10: re-armed
    assert not AlertState.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        make_host(alice, region)
    assert Notification.objects.filter(notification_type="quota_warning").count() == 2


def test_capacity_monitor_evaluates_every_rule_once_and_re_arms_retired_resources(alice, bob):
    region = make_region(alice)
    _fill(alice, region, 100, "a")  # 39 %, before any rule exists
    UserQuota.objects.create(user=bob, region_limit=1)
    make_region(bob)  # bob is at 100 % of his region quota (no after-commit check ran in this test)
    _rule(alice, 30, resource_type="region")
    assert _capacity_notes(alice) == []
    result = capacity_monitor.apply().get()
    assert result == {"users": 1, "rules_fired": 1, "quota_warnings": 1}
    assert len(_capacity_notes(alice)) == 1
    assert Notification.objects.get(user=bob).notification_type == "quota_warning"
    assert capacity_monitor.apply().get() == {"users": 1, "rules_fired": 0, "quota_warnings": 0}  # idempotent
    region_retire(actor=alice, region_id=region.pk, reason="gone", cascade=True)
    assert AlertState.objects.filter(user=alice).count() == 1  # the retired region's state is stale
    capacity_monitor.apply()
    assert not AlertState.objects.filter(user=alice).exists()


def test_turning_notifications_off_stops_the_monitor(settings, alice):
    _rule(alice, 0)
    make_region(alice)
    AlertState.objects.all().delete()
    settings.IPAM_ENABLE_NOTIFICATIONS = False
    assert capacity_monitor.apply().get() == {"users": 0, "rules_fired": 0, "quota_warnings": 0}
    assert not AlertState.objects.exists()


def test_an_allocation_well_below_the_quota_warning_checks_nothing_after_commit(alice, django_capture_on_commit_callbacks):
    UserQuota.objects.create(user=alice, host_limit=100)
    region = make_region(alice)
    with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
        make_host(alice, region)  # 1 / 100
    assert not [q for q in captured.captured_queries if "notifications_alertstate" in q["sql"]]
    with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
        host_retire(actor=alice, host_id=region.hosts.get().pk, reason="r")  # a release is always checked
    assert [q for q in captured.captured_queries if "notifications_alertstate" in q["sql"]]
    assert quota_consume(user=alice, hosts=78) is False  # 78 / 100: still below 80 %
    assert quota_consume(user=alice, hosts=2) is True  # 80 / 100: reached, the caller has it checked
    assert UserQuota.objects.get(user=alice).hosts_used == 80


def test_the_below_warning_test_does_not_overflow_at_the_largest_limit(alice):
    UserQuota.objects.create(user=alice, host_limit=2_147_483_647, hosts_used=1_717_986_900)  # 79.99... %
    assert quota_consume(user=alice, hosts=1) is False
    assert quota_consume(user=alice, hosts=100) is True  # past 80 %
    assert UserQuota.objects.get(user=alice).hosts_used == 1_717_987_001


def test_lowering_a_limit_sends_the_quota_warning_at_once_and_raising_it_re_arms(
    client_for, admin_user, alice, django_capture_on_commit_callbacks
):
    region = make_region(alice)
    _fill(alice, region, 8, "a")
    admin = client_for(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.patch(f"/ipam/admin/quotas/{alice.pk}", {"host_limit": 10}, format="json").status_code == 200
    assert Notification.objects.filter(user=alice, notification_type="quota_warning").count() == 1
    assert AlertState.objects.filter(user=alice, key="quota:hosts").exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.patch(f"/ipam/admin/quotas/{alice.pk}", {"host_limit": 1000}, format="json").status_code == 200
    assert not AlertState.objects.filter(user=alice, key="quota:hosts").exists()
