"""Preferences (lazy defaults, shallow merge, 50 KB limit) and saved filters (≤ 50, criteria ≤ 10 KB)."""

from __future__ import annotations

import json

import pytest

from ipam.models import AuditLog, SavedFilter, UserPreference
from ipam.services.preferences import CRITERIA_MAX_BYTES, PREFERENCES_MAX_BYTES, SAVED_FILTERS_MAX

pytestmark = pytest.mark.django_db

DEFAULT_KEYS = {"dashboard_layout", "notification_settings", "theme_preference", "default_country", "saved_filters", "updated_at"}


def put(api, body):
    return api.put("/ipam/preferences", body, format="json")


def test_first_get_returns_the_defaults_and_creates_the_row(api, alice):
    assert not UserPreference.objects.exists()
    response = api.get("/ipam/preferences")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == DEFAULT_KEYS  # the guide's `jq 'keys'`
    assert body["dashboard_layout"] == {} and body["notification_settings"] == {}
    assert body["theme_preference"] is None and body["default_country"] is None
    assert body["saved_filters"] == [] and body["updated_at"].endswith("Z")
    assert UserPreference.objects.filter(user=alice).count() == 1
    assert api.get("/ipam/preferences/").status_code == 200
    assert UserPreference.objects.count() == 1


def test_put_merges_only_the_given_keys(api, alice):
    first = put(api, {"theme_preference": "dark", "dashboard_layout": {"widgets": ["stats", "top"]}})
    assert first.status_code == 200, first.json()
    second = put(api, {"default_country": "jp", "notification_settings": {"email": False}})
    assert second.status_code == 200
    body = second.json()
    assert body["theme_preference"] == "dark"  # untouched
    assert body["dashboard_layout"] == {"widgets": ["stats", "top"]}  # untouched
    assert body["default_country"] == "Japan"  # canonical name
    assert body["notification_settings"] == {"email": False}
    row = UserPreference.objects.get(user=alice)
    assert (row.theme_preference, row.default_country, row.dashboard_layout) == ("dark", "Japan", {"widgets": ["stats", "top"]})
    assert api.get("/ipam/preferences").json() == body


def test_merge_is_shallow_a_nested_object_is_replaced_not_merged(api):
    put(api, {"dashboard_layout": {"a": 1, "b": 2}})
    body = put(api, {"dashboard_layout": {"c": 3}}).json()
    assert body["dashboard_layout"] == {"c": 3}


def test_null_resets_known_keys_and_removes_other_keys(api, alice):
    put(api, {"theme_preference": "dark", "dashboard_layout": {"a": 1}, "sidebar": {"collapsed": True}, "page_size": 100})
    body = api.get("/ipam/preferences").json()
    assert body["sidebar"] == {"collapsed": True} and body["page_size"] == 100  # other keys are kept and returned
    body = put(api, {"theme_preference": None, "dashboard_layout": None, "sidebar": None}).json()
    assert body["theme_preference"] is None and body["dashboard_layout"] == {}
    assert "sidebar" not in body and body["page_size"] == 100
    assert UserPreference.objects.get(user=alice).extra == {"page_size": 100}


def test_an_empty_put_changes_nothing_and_writes_no_audit_row(api):
    put(api, {"theme_preference": "dark"})
    assert put(api, {}).json()["theme_preference"] == "dark"
    assert AuditLog.objects.filter(resource_type="preferences").count() == 1


def test_updates_are_audited_with_the_changed_fields(api, alice):
    put(api, {"theme_preference": "dark", "page_size": 10})
    audit = AuditLog.objects.get(resource_type="preferences", action_type="update")
    assert audit.user == alice and audit.resource_id == str(alice.pk)
    assert {c["field"] for c in audit.changes} == {"theme_preference", "page_size"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dashboard_layout": [1, 2]}, "dashboard_layout"),
        ({"notification_settings": "on"}, "notification_settings"),
        ({"theme_preference": 5}, "theme_preference"),
        ({"theme_preference": "x" * 51}, "theme_preference"),
        ({"default_country": "Atlantis"}, "default_country"),
        ({"default_country": 12}, "default_country"),
        ({"saved_filters": []}, "saved_filters"),
        ({"updated_at": "2020-01-01"}, "updated_at"),
        ({"k" * 101: 1}, "k" * 100),
    ],
)
def test_invalid_values_are_400_and_change_nothing(api, alice, body, field):
    put(api, {"theme_preference": "dark"})
    response = put(api, body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["details"]
    assert UserPreference.objects.get(user=alice).theme_preference == "dark"


def test_a_body_that_is_not_an_object_is_400(api):
    response = put(api, [1, 2, 3])
    assert response.status_code == 400 and response.json()["error"] == "validation_error"
    response = api.generic("PUT", "/ipam/preferences", "{broken", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "parse_error"


def test_a_body_over_50_kb_is_400(api, alice):
    big = {"dashboard_layout": {"blob": "x" * PREFERENCES_MAX_BYTES}}
    response = put(api, big)
    assert response.status_code == 400
    assert response.json()["error"] == "payload_too_large"
    assert api.get("/ipam/preferences").json()["dashboard_layout"] == {}
    # Just under the limit is fine.
    fits = {"dashboard_layout": {"blob": "x" * (PREFERENCES_MAX_BYTES - 200)}}
    assert len(json.dumps(fits)) < PREFERENCES_MAX_BYTES
    assert put(api, fits).status_code == 200


def test_merged_preferences_cannot_grow_past_50_kb(api, alice):
    half = "x" * (PREFERENCES_MAX_BYTES // 2)
    assert put(api, {"a": half}).status_code == 200
    response = put(api, {"b": half})
    assert response.status_code == 400 and response.json()["error"] == "payload_too_large"
    assert "b" not in UserPreference.objects.get(user=alice).extra


def test_preferences_are_per_user(api, client_for, bob):
    put(api, {"theme_preference": "dark"})
    assert client_for(bob).get("/ipam/preferences").json()["theme_preference"] is None


def test_readers_may_keep_preferences_and_filters_anonymous_may_not(client_for, reader, anon):
    client = client_for(reader)
    assert put(client, {"theme_preference": "light"}).status_code == 200
    assert client.post("/ipam/preferences/filters", {"name": "mine", "criteria": {}}, format="json").status_code == 201
    assert anon.get("/ipam/preferences").status_code == 401
    assert anon.get("/ipam/preferences/filters").status_code == 401


def test_saved_filters_create_list_delete(api, alice):
    response = api.post(
        "/ipam/preferences/filters", {"name": " Prod in Japan ", "criteria": {"country": "JP", "tag": ["env:prod"]}}, format="json"
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert set(created) == {"filter_id", "name", "criteria", "created_at"}
    assert created["name"] == "Prod in Japan" and created["criteria"] == {"country": "JP", "tag": ["env:prod"]}
    row = SavedFilter.objects.get(pk=created["filter_id"])
    assert row.user == alice and row.criteria == {"country": "JP", "tag": ["env:prod"]}
    listed = api.get("/ipam/preferences/filters").json()
    assert listed["count"] == 1 and listed["results"] == [created]
    assert api.get("/ipam/preferences").json()["saved_filters"] == [created]
    assert AuditLog.objects.filter(resource_type="saved_filter", action_type="create", resource_id=created["filter_id"]).count() == 1
    assert api.delete(f"/ipam/preferences/filters/{created['filter_id']}").status_code == 204
    assert not SavedFilter.objects.exists()
    assert AuditLog.objects.filter(resource_type="saved_filter", action_type="delete").count() == 1
    assert api.delete(f"/ipam/preferences/filters/{created['filter_id']}/").status_code == 404


def test_the_51st_saved_filter_is_409(api, alice):
    SavedFilter.objects.bulk_create(SavedFilter(user=alice, name=f"f{i}", criteria={}) for i in range(SAVED_FILTERS_MAX - 1))
    assert api.post("/ipam/preferences/filters", {"name": "fiftieth", "criteria": {}}, format="json").status_code == 201
    response = api.post("/ipam/preferences/filters", {"name": "one too many", "criteria": {}}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "filter_limit_reached"
    assert response.json()["details"] == {"limit": 50, "current": 50}
    assert SavedFilter.objects.filter(user=alice).count() == 50


def test_the_filter_limit_is_per_user(api, client_for, alice, bob):
    SavedFilter.objects.bulk_create(SavedFilter(user=alice, name=f"f{i}", criteria={}) for i in range(SAVED_FILTERS_MAX))
    assert client_for(bob).post("/ipam/preferences/filters", {"name": "b", "criteria": {}}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "criteria": {}}, "name"),
        ({"name": "   ", "criteria": {}}, "name"),
        ({"name": "n" * 101, "criteria": {}}, "name"),
        ({"name": "ok", "criteria": [1]}, "criteria"),
        ({"name": "ok"}, "criteria"),
        ({"name": "ok", "criteria": {"blob": "x" * CRITERIA_MAX_BYTES}}, "criteria"),
    ],
)
def test_invalid_saved_filters_are_400(api, body, field):
    response = api.post("/ipam/preferences/filters", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["details"]
    assert not SavedFilter.objects.exists()


def test_other_users_filters_are_invisible(api, client_for, bob):
    created = api.post("/ipam/preferences/filters", {"name": "mine", "criteria": {}}, format="json").json()
    theirs = client_for(bob)
    assert theirs.get("/ipam/preferences/filters").json()["count"] == 0
    assert theirs.delete(f"/ipam/preferences/filters/{created['filter_id']}").status_code == 404
    assert SavedFilter.objects.filter(pk=created["filter_id"]).exists()
