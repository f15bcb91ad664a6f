"""Notification rules over HTTP: create with nested conditions, list, detail, PATCH (nested merge), delete."""

from __future__ import annotations

import uuid

import pytest

from notifications.models import AlertState, NotificationRule

pytestmark = pytest.mark.django_db

RULE = {
    "rule_name": "Tokyo nearly full",
    "conditions": {"utilization_threshold": 85, "resource_type": "country", "resource_ids": ["JP", "Singapore"]},
    "notification_channels": ["in_app", "email"],
}


def test_create_returns_the_rule_with_its_nested_conditions(api, alice):
    response = api.post("/ipam/notifications/rules", RULE, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["rule_name"] == "Tokyo nearly full" and body["severity"] is None and body["is_active"]
    assert body["conditions"] == {"utilization_threshold": 85.0, "resource_type": "country", "resource_ids": ["JP", "Singapore"]}
    assert body["notification_channels"] == ["in_app", "email"]
    rule = NotificationRule.objects.get(pk=body["rule_id"])
    assert rule.user == alice and rule.utilization_threshold == 85 and rule.resource_ids == ["JP", "Singapore"]
    minimal = api.post(
        "/ipam/notifications/rules",
        {"rule_name": "all", "conditions": {"utilization_threshold": 90}, "notification_channels": ["webhook"], "severity": "critical"},
        format="json",
    ).json()
    assert minimal["conditions"] == {"utilization_threshold": 90.0, "resource_type": None, "resource_ids": []}
    assert minimal["severity"] == "critical"


def test_invalid_rules_are_400_with_the_field(api):
    bad = [
        ({**RULE, "conditions": {"utilization_threshold": 101}}, "conditions"),
        ({**RULE, "conditions": {"utilization_threshold": -1}}, "conditions"),
        ({**RULE, "conditions": {}}, "conditions"),
        ({**RULE, "notification_channels": []}, "notification_channels"),
        ({**RULE, "notification_channels": ["sms"]}, "notification_channels"),
        ({**RULE, "rule_name": ""}, "rule_name"),
        ({**RULE, "rule_name": "x" * 101}, "rule_name"),
        ({**RULE, "severity": "fatal"}, "severity"),
        ({**RULE, "conditions": {"utilization_threshold": 50, "resource_ids": ["JP"]}}, "resource_type"),
        ({**RULE, "conditions": {"utilization_threshold": 50, "resource_type": "region", "resource_ids": ["nope"]}}, "resource_ids"),
        ({**RULE, "conditions": {"utilization_threshold": 50, "resource_type": "host"}}, "conditions"),
    ]
    for data, field in bad:
        response = api.post("/ipam/notifications/rules", data, format="json")
        assert response.status_code == 400, data
        assert field in response.json()["details"], (data, response.json())
    assert not NotificationRule.objects.exists()


def test_list_and_detail_show_only_the_callers_rules(api, client_for, alice, bob):
    mine = api.post("/ipam/notifications/rules", RULE, format="json").json()["rule_id"]
    theirs = client_for(bob).post("/ipam/notifications/rules", RULE, format="json").json()["rule_id"]
    body = api.get("/ipam/notifications/rules").json()
    assert [r["rule_id"] for r in body["results"]] == [mine]
    assert api.get(f"/ipam/notifications/rules/{mine}").status_code == 200
    assert api.get(f"/ipam/notifications/rules/{theirs}").status_code == 404
    assert api.patch(f"/ipam/notifications/rules/{theirs}", {"rule_name": "x"}, format="json").status_code == 404
    assert api.delete(f"/ipam/notifications/rules/{theirs}").status_code == 404


def test_patch_merges_nested_conditions_and_changes_any_field(api, alice):
    rule_id = api.post("/ipam/notifications/rules", RULE, format="json").json()["rule_id"]
    response = api.patch(f"/ipam/notifications/rules/{rule_id}", {"conditions": {"utilization_threshold": 70}}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["conditions"] == {"utilization_threshold": 70.0, "resource_type": "country", "resource_ids": ["JP", "Singapore"]}
    response = api.patch(
        f"/ipam/notifications/rules/{rule_id}",
        {"rule_name": "renamed", "notification_channels": ["webhook"], "severity": "critical", "is_active": False},
        format="json",
    )
    body = response.json()
    assert (body["rule_name"], body["notification_channels"], body["severity"], body["is_active"]) == (
        "renamed",
        ["webhook"],
        "critical",
        False,
    )
    region_id = str(uuid.uuid4())
    response = api.patch(
        f"/ipam/notifications/rules/{rule_id}", {"conditions": {"resource_type": "region", "resource_ids": [region_id]}}, format="json"
    )
    assert response.json()["conditions"] == {"utilization_threshold": 70.0, "resource_type": "region", "resource_ids": [region_id]}
    # Changing the type alone drops ids of the old type; clearing the type means regions and countries.
    response = api.patch(f"/ipam/notifications/rules/{rule_id}", {"conditions": {"resource_type": None}}, format="json")
    assert response.json()["conditions"] == {"utilization_threshold": 70.0, "resource_type": None, "resource_ids": []}
    response = api.patch(f"/ipam/notifications/rules/{rule_id}", {"severity": None}, format="json")
    assert response.json()["severity"] is None
    assert (
        api.patch(f"/ipam/notifications/rules/{rule_id}", {"conditions": {"utilization_threshold": 200}}, format="json").status_code == 400
    )
    assert NotificationRule.objects.get(pk=rule_id).utilization_threshold == 70


def test_changing_what_a_rule_watches_re_arms_it(api, alice):
    rule_id = api.post("/ipam/notifications/rules", RULE, format="json").json()["rule_id"]
    rule = NotificationRule.objects.get(pk=rule_id)
    AlertState.objects.create(user=alice, key=f"rule:{rule_id}:country:JP", rule=rule, value=90)
    api.patch(f"/ipam/notifications/rules/{rule_id}", {"rule_name": "same scope"}, format="json")
    assert AlertState.objects.count() == 1
    api.patch(f"/ipam/notifications/rules/{rule_id}", {"conditions": {"utilization_threshold": 95}}, format="json")
    assert AlertState.objects.count() == 0


def test_delete_is_204_and_removes_its_alert_state(api, alice):
    rule_id = api.post("/ipam/notifications/rules", RULE, format="json").json()["rule_id"]
    AlertState.objects.create(user=alice, key=f"rule:{rule_id}:country:JP", rule_id=rule_id, value=90)
    assert api.delete(f"/ipam/notifications/rules/{rule_id}").status_code == 204
    assert not NotificationRule.objects.exists() and not AlertState.objects.exists()


def test_readers_can_list_but_not_create_rules(client_for, reader):
    client = client_for(reader)
    assert client.get("/ipam/notifications/rules").status_code == 200
    response = client.post("/ipam/notifications/rules", RULE, format="json")
    assert response.status_code == 403 and response.json()["error"] == "insufficient_permissions"
