"""Every configuration write of a notification rule lands in its owner's audit trail, in the write's
transaction (contract §4): create, update (nested conditions included), delete. Firing a rule is evaluation,
not configuration: it writes no rule row."""

from __future__ import annotations

import pytest
from django.db import transaction

from ipam.models import AuditLog
from notifications.models import NotificationRule
from notifications.services import notification_rule_create
from notifications.signals import notification_rule_changed
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db

RULE = {
    "rule_name": "Tokyo nearly full",
    "conditions": {"utilization_threshold": 85, "resource_type": "country", "resource_ids": ["JP", "Singapore"]},
    "notification_channels": ["in_app", "email"],
}


def _rows(user, **filters):
    return list(AuditLog.objects.filter(user=user, resource_type="notification_rule", **filters).order_by("timestamp", "id"))


def _create(api, data=RULE):
    response = api.post("/ipam/notifications/rules", data, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["rule_id"]


def test_creating_a_rule_writes_one_create_row_with_its_snapshot(api, alice):
    rule_id = _create(api)
    [row] = _rows(alice)
    assert (row.action_type, row.resource_id, row.actor, row.actor_type, row.changes) == ("create", rule_id, "alice", "user", [])
    rule = NotificationRule.objects.get()
    assert row.snapshot == {
        "rule_id": rule_id,
        "rule_name": "Tokyo nearly full",
        "utilization_threshold": 85.0,
        "resource_type": "country",
        "resource_ids": ["JP", "Singapore"],
        "notification_channels": ["in_app", "email"],
        "severity": None,
        "is_active": True,
        "created_at": rule.created_at.isoformat(),
        "updated_at": rule.updated_at.isoformat(),
    }
    history = api.get("/ipam/audit/history", {"resource_type": "notification_rule"}).json()
    assert history["count"] == 1 and history["results"][0]["resource_id"] == rule_id


def test_patch_writes_one_update_row_naming_the_changed_condition_fields(api, alice):
    rule_id = _create(api)
    response = api.patch(f"/ipam/notifications/rules/{rule_id}", {"conditions": {"utilization_threshold": 70}}, format="json")
    assert response.status_code == 200
    response = api.patch(
        f"/ipam/notifications/rules/{rule_id}", {"rule_name": "renamed", "severity": "critical", "is_active": False}, format="json"
    )
    assert response.status_code == 200
    threshold, several = _rows(alice, action_type="update")
    assert threshold.changes == [{"field": "utilization_threshold", "old_value": 85.0, "new_value": 70.0}]
    assert (threshold.resource_id, threshold.actor, threshold.actor_type) == (rule_id, "alice", "user")
    assert several.changes == [
        {"field": "rule_name", "old_value": "Tokyo nearly full", "new_value": "renamed"},
        {"field": "severity", "old_value": None, "new_value": "critical"},
        {"field": "is_active", "old_value": True, "new_value": False},
    ]
    assert several.snapshot["rule_name"] == "renamed" and several.snapshot["utilization_threshold"] == 70.0
    # Changing the type alone drops the ids of the old type: both are listed.
    api.patch(f"/ipam/notifications/rules/{rule_id}", {"conditions": {"resource_type": None}}, format="json")
    scope = _rows(alice, action_type="update")[-1]
    assert scope.changes == [
        {"field": "resource_type", "old_value": "country", "new_value": None},
        {"field": "resource_ids", "old_value": ["JP", "Singapore"], "new_value": []},
    ]
    # The same values again change nothing: no row.
    assert api.patch(f"/ipam/notifications/rules/{rule_id}", {"rule_name": "renamed"}, format="json").status_code == 200
    assert len(_rows(alice, action_type="update")) == 3


def test_deleting_a_rule_writes_one_delete_row_that_keeps_its_snapshot(api, alice):
    rule_id = _create(api)
    assert api.delete(f"/ipam/notifications/rules/{rule_id}").status_code == 204
    [row] = _rows(alice, action_type="delete")
    assert (row.resource_id, row.actor, row.changes) == (rule_id, "alice", [])
    assert row.snapshot["rule_name"] == "Tokyo nearly full" and row.snapshot["resource_ids"] == ["JP", "Singapore"]
    assert [r.action_type for r in _rows(alice)] == ["create", "delete"]


def test_another_users_history_shows_none_of_them(api, alice, client_for, bob):
    rule_id = _create(api)
    api.patch(f"/ipam/notifications/rules/{rule_id}", {"rule_name": "x"}, format="json")
    bob_client = client_for(bob)
    assert bob_client.get("/ipam/audit/history").json()["count"] == 0
    assert bob_client.get("/ipam/audit/history", {"resource_id": rule_id}).json()["count"] == 0
    assert api.get("/ipam/audit/history", {"resource_type": "notification_rule"}).json()["count"] == 2


def test_refused_writes_write_nothing(api, alice, client_for, bob):
    for data in (
        {**RULE, "conditions": {"utilization_threshold": 101}},
        {**RULE, "notification_channels": ["sms"]},
        {**RULE, "conditions": {"utilization_threshold": 50, "resource_ids": ["JP"]}},  # ids need a type (service check)
    ):
        assert api.post("/ipam/notifications/rules", data, format="json").status_code == 400, data
    assert not AuditLog.objects.exists()
    rule_id = _create(api)
    base = f"/ipam/notifications/rules/{rule_id}"
    assert api.patch(base, {"conditions": {"utilization_threshold": 200}}, format="json").status_code == 400
    assert api.patch(base, {"conditions": {"resource_type": "region", "resource_ids": ["not-a-uuid"]}}, format="json").status_code == 400
    assert client_for(bob).patch(base, {"rule_name": "mine"}, format="json").status_code == 404
    assert client_for(bob).delete(base).status_code == 404
    assert [r.action_type for r in AuditLog.objects.all()] == ["create"]


def test_a_rolled_back_write_leaves_no_audit_row(alice):
    with pytest.raises(RuntimeError), transaction.atomic():
        notification_rule_create(actor=alice, rule_name="r", utilization_threshold=50, notification_channels=["in_app"])
        assert len(_rows(alice)) == 1
        raise RuntimeError("the caller's transaction fails later")
    assert not NotificationRule.objects.exists() and not AuditLog.objects.exists()


def test_a_failing_audit_write_rolls_the_rule_write_back(api, alice):
    rule_id = _create(api)

    def refuse(sender, **kwargs):
        raise RuntimeError("audit store unavailable")

    notification_rule_changed.connect(refuse, dispatch_uid="test.refuse")
    try:
        with pytest.raises(RuntimeError):
            notification_rule_create(actor=alice, rule_name="r", utilization_threshold=50, notification_channels=["in_app"])
        with pytest.raises(RuntimeError):
            api.patch(f"/ipam/notifications/rules/{rule_id}", {"rule_name": "lost"}, format="json")
        with pytest.raises(RuntimeError):
            api.delete(f"/ipam/notifications/rules/{rule_id}")
    finally:
        notification_rule_changed.disconnect(dispatch_uid="test.refuse")
    assert list(NotificationRule.objects.values_list("rule_name", flat=True)) == ["Tokyo nearly full"]
    assert [r.action_type for r in _rows(alice)] == ["create"]


def test_a_rule_firing_writes_no_rule_row(api, alice):
    region = make_region(alice)
    _create(api, {"rule_name": "any", "conditions": {"utilization_threshold": 0.1}, "notification_channels": ["in_app"]})
    make_host(alice, region)
    assert NotificationRule.objects.get().last_triggered_at is not None
    assert [r.action_type for r in _rows(alice)] == ["create"]


def test_an_admin_change_is_audited_as_the_staff_user(client, django_user_model, alice, api):
    rule_id = _create(api)
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-not-used"))
    response = client.post(f"/admin/notifications/notificationrule/{rule_id}/change/", {"is_active": ""})
    assert response.status_code == 302
    assert NotificationRule.objects.get().is_active is False
    [row] = _rows(alice, action_type="update")
    assert (row.user_id, row.actor, row.actor_type) == (alice.pk, "root", "user")
    assert row.changes == [{"field": "is_active", "old_value": True, "new_value": False}]
