"""Newest-first list pages with their counts in one statement (issue 19, foundation/newest_pages.py).

The notification inbox and a webhook's deliveries, unfiltered, read the page's rows and the list's counts
(total; for the inbox also the unread count) in one statement. Every answer is compared with the previous
path (COUNT(*), then `ORDER BY created_at DESC, id DESC OFFSET k LIMIT n`), byte for byte, and with a
reference built in Python from the model instances: first, middle and last pages, several page sizes,
`page=last`, pages past the end (404), an empty list, runs of equal `created_at` across page boundaries, and
another user's rows at the same timestamps. Runs on SQLite and on PostgreSQL (partitioned tables there).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from foundation.newest_pages import NEWEST_FIRST, newest_first_page
from notifications.api.rows import NOTIFICATION_VALUES
from notifications.api.serializers import NotificationSerializer
from notifications.models import Notification
from webhooks.api.rows import delivery_values
from webhooks.api.serializers import WebhookDeliverySerializer
from webhooks.models import Webhook, WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent

pytestmark = pytest.mark.django_db
render = JSONRenderer().render
NOTIFICATIONS_TABLE = f'"{Notification._meta.db_table}"'
DELIVERIES_TABLE = f'"{WebhookDelivery._meta.db_table}"'  # quoted: the attempts table's name starts with it
INBOX = "/ipam/notifications"
ALICE_ROWS = 23
PAGE_SIZES = (1, 3, 4, 7, 23, 50)
INVALID_PAGE = b'{"error":"not_found","message":"Invalid page.","details":{}}'  # the standard 404 body
# A plain delivery page: the count and the page in one statement, the webhook's owner checked in it on PostgreSQL
# (its own statement before it elsewhere).
ONE_WITH_THE_OWNER = 1 if connection.vendor == "postgresql" else 2


def _newest_first(instances: list[Any]) -> list[Any]:
    """The reference order: created_at descending, then id descending (UUIDs compare as their 128-bit value,
    as PostgreSQL compares uuid and SQLite the 32 hex digits it stores)."""
    return sorted(instances, key=lambda row: (row.created_at, row.id), reverse=True)


def _inbox(user: Any, count: int, base: dt.datetime, *, step: int = 4) -> None:
    """`count` notifications, `step` of them at each timestamp (runs of equal created_at), every third read."""
    made = Notification.objects.bulk_create(
        Notification(user=user, notification_type="t", severity=("info", "warning", "critical")[i % 3], message=f"m{i}", is_read=i % 3 == 0)
        for i in range(count)
    )
    for i, row in enumerate(made):
        Notification.objects.filter(pk=row.pk).update(created_at=base - dt.timedelta(minutes=i // step))


def _two_inboxes(alice: Any, bob: Any) -> None:
    base = timezone.now().replace(microsecond=123456)
    _inbox(alice, ALICE_ROWS, base)
    _inbox(bob, 11, base, step=2)  # the same timestamps: must neither count nor show for alice


def _notification_statements(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if NOTIFICATIONS_TABLE in q["sql"]]


def _delivery_statements(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if DELIVERIES_TABLE in q["sql"]]


@contextmanager
def _previous_path(monkeypatch: pytest.MonkeyPatch, module: str) -> Iterator[None]:
    """The view as before: the ordered `.values()` rows paged by COUNT(*) and OFFSET."""
    with monkeypatch.context() as patch:
        patch.setattr(f"{module}.newest_first_page", lambda rows, **_: rows.order_by(*NEWEST_FIRST))
        yield


def _get(api: Any, path: str, params: dict[str, Any]) -> tuple[int, bytes]:
    response = api.get(path, params)
    return response.status_code, response.content


# --- the module on its own ---------------------------------------------------------------------------------


def test_every_offset_and_size_is_the_offset_page_with_its_counts(alice: Any, bob: Any) -> None:
    _two_inboxes(alice, bob)
    rows = Notification.objects.filter(user=alice).values(*NOTIFICATION_VALUES)
    counted: dict[str, int] = {}
    unread = Count("is_read", filter=Q(is_read=False))
    seek = newest_first_page(rows, total=Count("is_read"), counts={"unread": unread}, counted=counted).page_seek
    reference = [row.pk for row in _newest_first(list(Notification.objects.filter(user=alice)))]
    expected_unread = Notification.objects.filter(user=alice, is_read=False).count()
    assert expected_unread == 15
    for limit in (1, 2, 3, 4, 5, 22, 23, 50):
        for offset in range(ALICE_ROWS + 2):
            counted.clear()
            with CaptureQueriesContext(connection) as queries:
                total, page = seek(offset, limit)
            assert len(queries.captured_queries) == 1
            assert total == ALICE_ROWS and counted == {"total": ALICE_ROWS, "unread": expected_unread}
            assert page == list(rows.order_by(*NEWEST_FIRST)[offset : offset + limit]), (offset, limit)
            assert [row["id"] for row in page] == reference[offset : offset + limit], (offset, limit)


def test_the_values_are_those_of_the_orm(alice: Any) -> None:
    """Types and conversions (UUIDs, aware datetimes, booleans, NULLs) as `.values()` gives them."""
    Notification.objects.create(user=alice, notification_type="x", message='Ümlaut "q"\nπ', legacy_id="5f1d7c0a9b8e7d6c5b4a3f2e")
    Notification.objects.create(user=alice, notification_type="y", message="", is_read=True, read_at=timezone.now())
    rows = Notification.objects.filter(user=alice).values(*NOTIFICATION_VALUES)
    total, page = newest_first_page(rows).page_seek(0, 50)
    expected = list(rows.order_by(*NEWEST_FIRST))
    assert total == 2 and page == expected
    for got, want in zip(page, expected, strict=True):
        assert list(got) == list(want) and [type(v) for v in got.values()] == [type(v) for v in want.values()]


def test_an_empty_list_and_past_the_end_are_one_statement(alice: Any, bob: Any) -> None:
    _inbox(bob, 5, timezone.now())
    counted: dict[str, int] = {}
    rows = Notification.objects.filter(user=alice).values(*NOTIFICATION_VALUES)
    seek = newest_first_page(rows, counts={"unread": Count("pk", filter=Q(is_read=False))}, counted=counted).page_seek
    with CaptureQueriesContext(connection) as queries:
        assert seek(0, 50) == (0, [])
        assert seek(100, 50) == (0, [])
    assert len(queries.captured_queries) == 2 and counted == {"total": 0, "unread": 0}
    bobs = newest_first_page(Notification.objects.filter(user=bob).values(*NOTIFICATION_VALUES)).page_seek
    assert bobs(5, 50) == (5, []) and bobs(4, 50)[0] == 5 and len(bobs(4, 50)[1]) == 1


def test_the_module_refuses_what_it_cannot_page() -> None:
    with pytest.raises(ValueError, match="values"):
        newest_first_page(Notification.objects.all())
    with pytest.raises(ValueError, match="among the values"):
        newest_first_page(Notification.objects.values("id", "message"))
    with pytest.raises(ValueError, match="primary key"):
        newest_first_page(Notification.objects.values("id", "created_at"), order=("-created_at",))


# --- GET /ipam/notifications -------------------------------------------------------------------------------


def test_the_inbox_pages_are_the_previous_paths_bytes(api: Any, alice: Any, bob: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_inboxes(alice, bob)
    reference = NotificationSerializer(_newest_first(list(Notification.objects.filter(user=alice))), many=True).data
    for size in PAGE_SIZES:
        pages = -(-ALICE_ROWS // size)
        for page in [*range(1, pages + 3), "last", 10**13]:
            params = {"page": page, "page_size": size}
            with CaptureQueriesContext(connection) as queries:
                status, body = _get(api, INBOX, params)
            statements = _notification_statements(queries)  # (the next request empties the connection's log)
            with _previous_path(monkeypatch, "notifications.api.views"):
                assert (status, body) == _get(api, INBOX, params), params
            if page == "last" or page == 10**13:  # the total first (as before), then the page / the 404
                assert len(statements) <= 2
                continue
            assert len(statements) == 1, params
            if page > pages:
                assert status == 404 and body == INVALID_PAGE
                continue
            data = api.get(INBOX, params).json()
            assert data["count"] == ALICE_ROWS and data["unread_count"] == 15
            assert data["results"] == reference[(page - 1) * size : page * size], params
            assert (data["next"] is None) == (page == pages) and (data["previous"] is None) == (page == 1)


def test_the_default_page_is_one_statement_and_equal_timestamps_keep_their_order(api: Any, alice: Any, bob: Any) -> None:
    _two_inboxes(alice, bob)
    with CaptureQueriesContext(connection) as queries:
        first = api.get(INBOX).content
    assert len(_notification_statements(queries)) == 1
    assert api.get(INBOX, {"ordering": "-created_at"}).content == first  # the same order, asked for by name
    ids = [row["notification_id"] for row in api.get(INBOX).json()["results"]]
    assert ids == [str(row.pk) for row in _newest_first(list(Notification.objects.filter(user=alice)))]
    # a filter keeps the previous path (its own COUNT) and the same tie order
    with CaptureQueriesContext(connection) as queries:
        unread = api.get(INBOX, {"is_read": "false"}).json()
    statements = _notification_statements(queries)
    assert len(statements) == 3  # page, filtered COUNT, the inbox's unread COUNT
    # (the planner may read ties in id order anyway: the page's SQL itself must name both keys)
    assert [sql for sql in statements if re.search(r"ORDER BY \S+ DESC, \S+ DESC LIMIT \d+$", sql)]
    wanted = _newest_first(list(Notification.objects.filter(user=alice, is_read=False)))
    assert [row["notification_id"] for row in unread["results"]] == [str(row.pk) for row in wanted]
    assert unread["count"] == unread["unread_count"] == 15
    # another order keeps the total and the unread count in one aggregate, then the page
    with CaptureQueriesContext(connection) as queries:
        oldest = api.get(INBOX, {"ordering": "created_at"}).json()
    assert len(_notification_statements(queries)) == 2
    assert oldest["count"] == ALICE_ROWS and oldest["unread_count"] == 15


def test_an_empty_inbox(api: Any, bob: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _inbox(bob, 6, timezone.now())
    for params in ({}, {"page": 2}, {"page_size": 1}):
        with CaptureQueriesContext(connection) as queries:
            status, body = _get(api, INBOX, params)
        assert len(_notification_statements(queries)) == 1  # (before the next request empties the log)
        with _previous_path(monkeypatch, "notifications.api.views"):
            assert (status, body) == _get(api, INBOX, params)
    assert api.get(INBOX).json() == {"count": 0, "next": None, "previous": None, "results": [], "unread_count": 0}
    assert api.get(INBOX, {"page": 2}).status_code == 404


# --- GET /ipam/webhooks/{id}/deliveries ----------------------------------------------------------------------


def _webhook_with_deliveries(user: Any, count: int, base: dt.datetime) -> Webhook:
    webhook = Webhook.objects.create(user=user, webhook_url="https://example.com/h", events=["region.created"], secret_encrypted="x")
    for i in range(count):
        at = base - dt.timedelta(seconds=i // 3)  # runs of three equal created_at
        event = WebhookEvent.objects.create(user=user, event_type="region.created", body="{}", created_at=at)
        delivered = i % 4 != 1
        delivery = WebhookDelivery.objects.create(
            webhook=webhook,
            event=event,
            event_type="region.created",
            status="delivered" if delivered else "failed",
            attempts=1 + i % 2,
            last_status_code=200 if delivered else 503,
            delivered_at=at if delivered else None,
            redelivery_of=uuid.uuid4() if i == 5 else None,
            created_at=at,
        )
        for number in range(1 + i % 2, 0, -1):
            WebhookDeliveryAttempt.objects.create(
                delivery=delivery,
                attempt_number=number,
                status_code=200 if delivered and number == 1 + i % 2 else 503,
                attempted_at=at + dt.timedelta(seconds=number),
                status="delivered" if delivered and number == 1 + i % 2 else "retrying",
            )
    return webhook


def test_the_delivery_pages_are_the_previous_paths_bytes(api: Any, alice: Any, bob: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    base = timezone.now().replace(microsecond=654321)
    webhook = _webhook_with_deliveries(alice, 14, base)
    _webhook_with_deliveries(alice, 4, base)  # alice's other webhook, same timestamps
    _webhook_with_deliveries(bob, 5, base)
    path = f"/ipam/webhooks/{webhook.pk}/deliveries"
    instances = _newest_first(list(WebhookDelivery.objects.filter(webhook=webhook).prefetch_related("attempt_log")))
    reference = WebhookDeliverySerializer(instances, many=True).data
    for size in (1, 3, 5, 14, 50):
        pages = -(-14 // size)
        for page in [*range(1, pages + 2), "last"]:
            params = {"page": page, "page_size": size}
            with CaptureQueriesContext(connection) as queries:
                status, body = _get(api, path, params)
            # the count with the page, its attempt logs and (PostgreSQL) the webhook's owner (was: the webhook, COUNT,
            # page, attempts)
            webhooks_statements = [q for q in queries.captured_queries if "webhooks_" in q["sql"]]
            deliveries = _delivery_statements(queries)  # (the next request empties the connection's log)
            with _previous_path(monkeypatch, "webhooks.api.views"):
                assert (status, body) == _get(api, path, params), params
            if page == "last":
                continue
            assert len(deliveries) == 1, params
            if page > pages:
                assert status == 404 and body == INVALID_PAGE and len(webhooks_statements) == ONE_WITH_THE_OWNER
                continue
            assert len(webhooks_statements) == ONE_WITH_THE_OWNER
            data = api.get(path, params).json()
            assert data["count"] == 14 and data["results"] == reference[(page - 1) * size : page * size], params


def test_every_delivery_offset_is_the_offset_page(alice: Any) -> None:
    base = timezone.now()
    webhook = _webhook_with_deliveries(alice, 10, base)
    _webhook_with_deliveries(alice, 3, base)  # another webhook's deliveries at the same timestamps
    rows = delivery_values(WebhookDelivery.objects.filter(webhook=webhook))
    seek = newest_first_page(rows).page_seek
    reference = [row.pk for row in _newest_first(list(WebhookDelivery.objects.filter(webhook=webhook)))]
    for limit in (1, 3, 10, 50):
        for offset in range(12):
            total, page = seek(offset, limit)
            assert total == 10 and page == list(rows.order_by(*NEWEST_FIRST)[offset : offset + limit]), (offset, limit)
            assert [row["id"] for row in page] == reference[offset : offset + limit]


def test_an_empty_delivery_list_and_filters(api: Any, alice: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = Webhook.objects.create(user=alice, webhook_url="https://example.com/e", events=["region.created"], secret_encrypted="x")
    path = f"/ipam/webhooks/{empty.pk}/deliveries"
    with CaptureQueriesContext(connection) as queries:
        status, body = _get(api, path, {})
    assert status == 200 and len([q for q in queries.captured_queries if "webhooks_" in q["sql"]]) == ONE_WITH_THE_OWNER
    with _previous_path(monkeypatch, "webhooks.api.views"):
        assert (status, body) == _get(api, path, {})
    assert api.get(path, {"page": 2}).status_code == 404
    # a filter keeps the previous path: its own COUNT, then the page
    webhook = _webhook_with_deliveries(alice, 9, timezone.now())
    path = f"/ipam/webhooks/{webhook.pk}/deliveries"
    with CaptureQueriesContext(connection) as queries:
        failed = api.get(path, {"status": "failed"}).json()
    assert len(_delivery_statements(queries)) == 2
    wanted = _newest_first(list(WebhookDelivery.objects.filter(webhook=webhook, status="failed").prefetch_related("attempt_log")))
    assert failed["count"] == 2 and failed["results"] == WebhookDeliverySerializer(wanted, many=True).data
