"""The notification list page's plain rows render byte for byte what `NotificationSerializer` renders, and
the unfiltered page reads its rows, its total and its unread count in one statement (issue 19;
foundation/newest_pages.py, tests/foundation/test_newest_pages.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from notifications.api.rows import NOTIFICATION_VALUES, notification_row
from notifications.api.serializers import NotificationSerializer
from notifications.models import Notification

pytestmark = pytest.mark.django_db
render = JSONRenderer().render


def _make(user: Any) -> None:
    now = timezone.now()
    Notification.objects.create(user=user, notification_type="utilization", severity="critical", message='Ümlaut "q"\nπ')
    Notification.objects.create(
        user=user,
        notification_type="t",
        severity="info",
        message="",
        resource_type="region",
        resource_id="abc",
        resource_link="/ipam/regions/abc",
        is_read=True,
        read_at=now - dt.timedelta(days=40, microseconds=7),
        legacy_id="5f1d7c0a9b8e7d6c5b4a3f2e",
    )
    Notification.objects.create(user=user, notification_type="x", severity="warning", message="m", read_at=now.replace(microsecond=0))


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
def test_notification_rows_render_exactly_as_the_serializer(settings: Any, alice: Any, zone: str) -> None:
    settings.TIME_ZONE = zone
    _make(alice)
    with timezone.override(zone):
        instances = list(Notification.objects.filter(user=alice).order_by("-created_at"))
        rows = list(Notification.objects.filter(user=alice).order_by("-created_at").values(*NOTIFICATION_VALUES))
        assert len(instances) == len(rows) == 3
        for instance, row in zip(instances, rows, strict=True):
            expected = render(NotificationSerializer(instance).data)
            assert render(notification_row(row)) == expected
            assert render(notification_row(row, timezone.get_current_timezone())) == expected  # the list's form


def test_the_list_answers_the_serializer_bytes_in_one_statement(api: Any, alice: Any, bob: Any) -> None:
    _make(alice)
    _make(bob)
    instances = list(Notification.objects.filter(user=alice).order_by("-created_at", "-id"))
    expected = {
        "count": 3,
        "next": None,
        "previous": None,
        "results": NotificationSerializer(instances, many=True).data,
        "unread_count": 2,
    }
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/ipam/notifications")
    assert response.status_code == 200
    assert response.content == render(expected)
    # one statement for the page, the total and the unread count (was: COUNT, page, unread COUNT; then the
    # total and the unread count in one aggregate, then the page)
    assert len([q for q in queries.captured_queries if "notifications_notification" in q["sql"]]) == 1
    # a filter keeps the filtered total and the caller's whole unread count
    filtered = api.get("/ipam/notifications", {"is_read": "true"}).json()
    assert filtered["count"] == 1 and filtered["unread_count"] == 2
    assert filtered["results"] == NotificationSerializer([n for n in instances if n.is_read], many=True).data
    # ordering, page size, the last page and a page past the end
    by_severity = api.get("/ipam/notifications", {"ordering": "severity"}).json()
    assert [r["severity"] for r in by_severity["results"]] == ["critical", "info", "warning"] and by_severity["unread_count"] == 2
    second = api.get("/ipam/notifications", {"page": 2, "page_size": 2}).json()
    assert second["count"] == 3 and second["results"] == expected["results"][2:] and second["unread_count"] == 2
    assert api.get("/ipam/notifications", {"page": 3, "page_size": 2}).status_code == 404


def test_an_empty_inbox_is_one_statement(api: Any, bob: Any) -> None:
    _make(bob)  # someone else's
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/ipam/notifications").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": [], "unread_count": 0}
    # the total, the unread count and the (empty) page together (was: COUNT, then the unread COUNT)
    assert len([q for q in queries.captured_queries if "notifications_notification" in q["sql"]]) == 1
