"""Notifications: list with filters and the unread count, unread summary, read/unread, delete, cleanup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notification_create, notifications_prune
from notifications.tasks import notification_cleanup

pytestmark = pytest.mark.django_db


def _notify(user, severity="info", **kwargs):
    return notification_create(
        user=user, notification_type=kwargs.pop("notification_type", "test"), severity=severity, message="m", **kwargs
    )


def test_list_is_filtered_and_carries_the_unread_count(api, alice, bob):
    for severity in ("info", "warning", "critical", "warning"):
        _notify(alice, severity)
    _notify(bob, "critical")
    Notification.objects.filter(user=alice, severity="info").update(is_read=True, read_at=timezone.now())
    body = api.get("/ipam/notifications").json()
    assert body["count"] == 4 and body["unread_count"] == 3
    first = body["results"][0]
    assert set(first) == {
        "notification_id",
        "notification_type",
        "severity",
        "message",
        "resource_type",
        "resource_id",
        "resource_link",
        "is_read",
        "read_at",
        "created_at",
        "legacy_id",
    }
    assert api.get("/ipam/notifications", {"severity": "warning"}).json()["count"] == 2
    filtered = api.get("/ipam/notifications", {"is_read": "false", "severity": "critical"}).json()
    assert filtered["count"] == 1 and filtered["unread_count"] == 3
    assert api.get("/ipam/notifications", {"is_read": "true"}).json()["count"] == 1
    assert api.get("/ipam/notifications", {"severity": "fatal"}).status_code == 400


def test_unread_gives_the_count_and_the_ten_newest(api, alice):
    for i in range(12):
        _notify(alice, resource_id=str(i))
    Notification.objects.filter(resource_id="0").update(is_read=True)
    body = api.get("/ipam/notifications/unread").json()
    assert body["unread_count"] == 11 and len(body["recent"]) == 10
    assert body["recent"][0]["resource_id"] == "11" and all(not n["is_read"] for n in body["recent"])


def test_unread_notifications_of_one_instant_come_in_the_lists_order(api, alice):
    # 14 unread notifications written in the same microsecond: the summary's ten are the list's first ten
    # (created_at, then id, descending), not whichever ten the database returns first.
    for i in range(14):
        _notify(alice, resource_id=str(i))
    Notification.objects.filter(user=alice).update(created_at=timezone.now())
    ids = sorted((str(n.pk) for n in Notification.objects.filter(user=alice)), reverse=True)
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/ipam/notifications/unread").json()
    assert [n["notification_id"] for n in body["recent"]] == ids[:10]
    # The order is the statement's, not an accident of the plan (an index that happens to end in id): the
    # statement of the ten asks for id descending after created_at.
    (recent,) = [q["sql"] for q in queries.captured_queries if "LIMIT 10" in q["sql"] and "notifications_notification" in q["sql"]]
    assert recent.split("ORDER BY")[-1].split("LIMIT")[0].replace('"', "").split(",")[-1].strip().endswith("id DESC")
    assert [n["notification_id"] for n in api.get("/ipam/notifications").json()["results"]][:10] == ids[:10]


def test_patch_marks_read_and_unread(api, alice):
    note = _notify(alice)
    response = api.patch(f"/ipam/notifications/{note.pk}", {"is_read": True}, format="json")
    assert response.status_code == 200 and response.json()["is_read"] and response.json()["read_at"]
    note.refresh_from_db()
    assert note.is_read and note.read_at is not None
    response = api.patch(f"/ipam/notifications/{note.pk}", {"is_read": False}, format="json")
    note.refresh_from_db()
    assert response.json()["read_at"] is None and not note.is_read and note.read_at is None
    assert api.patch(f"/ipam/notifications/{note.pk}", {}, format="json").status_code == 400
    assert api.patch(f"/ipam/notifications/{note.pk}", {"is_read": "perhaps"}, format="json").status_code == 400


def test_mark_all_read(api, alice, bob):
    for _ in range(3):
        _notify(alice)
    _notify(bob)
    assert api.post("/ipam/notifications/mark-all-read").json() == {"updated": 3}
    assert not Notification.objects.filter(user=alice, is_read=False).exists()
    assert Notification.objects.filter(user=bob, is_read=False).count() == 1


def test_delete_is_204_and_other_users_notifications_are_404(api, client_for, alice, bob):
    mine, theirs = _notify(alice), _notify(bob)
    assert api.delete(f"/ipam/notifications/{mine.pk}").status_code == 204
    assert not Notification.objects.filter(pk=mine.pk).exists()
    assert api.delete(f"/ipam/notifications/{theirs.pk}").status_code == 404
    assert api.patch(f"/ipam/notifications/{theirs.pk}", {"is_read": True}, format="json").status_code == 404
    assert api.get(f"/ipam/notifications/{theirs.pk}").status_code == 404
    assert Notification.objects.filter(pk=theirs.pk, is_read=False).exists()
    assert client_for(None).get("/ipam/notifications").status_code == 401


def test_readers_manage_their_own_inbox(client_for, reader):
    note = _notify(reader)
    client = client_for(reader)
    assert client.get("/ipam/notifications/unread").json()["unread_count"] == 1
    assert client.patch(f"/ipam/notifications/{note.pk}", {"is_read": True}, format="json").status_code == 200


def test_notifications_can_be_turned_off(settings, alice):
    settings.IPAM_ENABLE_NOTIFICATIONS = False
    assert _notify(alice, "critical") is None
    assert not Notification.objects.exists()


def test_unknown_severity_is_stored_as_info_and_long_fields_are_cut(alice):
    note = _notify(alice, "catastrophic", notification_type="x" * 80, resource_link="/" * 900)
    assert note.severity == "info" and len(note.notification_type) == 50 and len(note.resource_link) == 500


def test_cleanup_deletes_notifications_older_than_the_retention(settings, alice):
    settings.IPAM_NOTIFICATION_RETENTION_DAYS = 90
    old, recent = _notify(alice), _notify(alice)
    Notification.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=91))
    Notification.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=89))
    assert notification_cleanup.apply().get() == 1
    assert list(Notification.objects.values_list("pk", flat=True)) == [recent.pk]
    assert notifications_prune(older_than_days=90) == 0


def test_notification_endpoints_are_in_the_openapi_schema(anon):
    paths = anon.get("/openapi.json").json()["paths"]
    expected = {
        "/ipam/notifications": {"get"},
        "/ipam/notifications/unread": {"get"},
        "/ipam/notifications/mark-all-read": {"post"},
        "/ipam/notifications/{notification_id}": {"get", "patch", "delete"},
        "/ipam/notifications/rules": {"get", "post"},
        "/ipam/notifications/rules/{rule_id}": {"get", "patch", "delete"},
    }
    for path, methods in expected.items():
        assert path in paths and methods <= set(paths[path]), path
    listed = paths["/ipam/notifications"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["$ref"].endswith("/NotificationPage")
