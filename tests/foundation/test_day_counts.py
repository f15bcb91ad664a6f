"""The notification inbox and a webhook's deliveries paged from their per-day counts (issue 19,
foundation/day_counts.py): the counts the triggers keep always equal the rows, whatever writes them, and
every page (with the total and the inbox's unread count) equals what COUNT(*) and OFFSET give over the
same rows. The audit trail's counts: tests/ipam/test_audit_list_seek.py."""

from __future__ import annotations

import datetime as dt
import random
import threading
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from foundation import compiled as compiled_statements
from foundation import partitions
from foundation.day_counts import DayCounts
from foundation.newest_pages import newest_first_page
from ipam.models import AUDIT_DAYS, AuditDayCount
from ipam.services.integrity import counters_check, counters_repair, day_counts_compact
from notifications.api.views import inbox_rows
from notifications.models import NOTIFICATION_DAYS, Notification, NotificationDayCount
from notifications.services import notifications_mark_all_read, notifications_prune
from webhooks.api.views import delivery_log_rows
from webhooks.models import DELIVERY_DAYS, DeliveryDayCount, DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent
from webhooks.services import delivery_logs_prune

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DAYS_AGO = [0, 0, 1, 2, 5, 31, 32, 60, 99, 130]  # several months, days without any row


def _months(table: str, now: dt.datetime, back: int = 6) -> None:
    spec = partitions.PartitionedTable(table, "created_at")
    for months in range(back):
        partitions.create_month(connection, spec, partitions.add_months(partitions.month_start(now), -months))


def _stamps(rng: random.Random, n: int) -> list[dt.datetime]:
    now = timezone.now()
    stamps = [now - dt.timedelta(days=rng.choice(DAYS_AGO), minutes=rng.randint(0, 1439)) for _ in range(n)]
    return [*stamps, stamps[2], stamps[2], stamps[5]]  # ties on created_at: ordered by id


def _inbox(user: Any, rng: random.Random, n: int = 60) -> None:
    _months("notifications_notification", timezone.now())
    rows = [
        Notification(user=user, notification_type="t", message=f"m{i}", is_read=rng.random() < 0.4) for i, _ in enumerate(_stamps(rng, n))
    ]
    Notification.objects.bulk_create(rows)
    for row, stamp in zip(rows, _stamps(rng, n), strict=True):  # created_at is auto_now_add: set it afterwards
        Notification.objects.filter(pk=row.pk).update(created_at=stamp)  # one UPDATE each: moves rows between partitions


def _deliveries(webhook: Webhook, rng: random.Random, n: int = 60) -> None:
    _months("webhooks_webhookdelivery", timezone.now())
    event = WebhookEvent.objects.create(user=webhook.user, event_type="region.created", body="{}", created_at=timezone.now())
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(webhook=webhook, event=event, event_type="region.created", status=DeliveryStatus.DELIVERED, created_at=stamp)
            for stamp in _stamps(rng, n)
        ]
    )


def _webhook(user: Any) -> Webhook:
    return Webhook.objects.create(user=user, webhook_url="https://hooks.example.com/x", events=["region.created"], secret_encrypted="x")


def _assert_counts_match(spec: DayCounts) -> None:
    assert spec.drift() == {}


# --- the triggers -----------------------------------------------------------------------------------------


def test_notification_counts_follow_every_kind_of_write(alice: Any, bob: Any) -> None:
    rng = random.Random(1)
    _inbox(alice, rng)
    _inbox(bob, rng, 10)
    _assert_counts_match(NOTIFICATION_DAYS)
    some = list(Notification.objects.filter(user=alice, is_read=False).values_list("pk", flat=True)[:5])
    Notification.objects.filter(pk__in=some).update(is_read=True)  # read: the unread count moves, the total not
    _assert_counts_match(NOTIFICATION_DAYS)
    Notification.objects.filter(user=alice, is_read=True).order_by("created_at").first().delete()  # type: ignore[union-attr]
    _assert_counts_match(NOTIFICATION_DAYS)
    assert notifications_mark_all_read(actor=alice) > 0
    _assert_counts_match(NOTIFICATION_DAYS)
    totals = NotificationDayCount.objects.filter(user_id=alice.pk).values_list("n", "unread")
    assert sum(u for _, u in totals) == 0 and sum(n for n, _ in totals) == Notification.objects.filter(user=alice).count()
    bob.delete()  # the inbox goes with its user (cascade)
    _assert_counts_match(NOTIFICATION_DAYS)
    assert day_counts_compact() > 0
    assert NotificationDayCount.objects.filter(user_id=bob.pk).count() == 0, "days at zero are dropped"
    assert NotificationDayCount.objects.values("user_id", "day").distinct().count() == NotificationDayCount.objects.count()
    _assert_counts_match(NOTIFICATION_DAYS)
    assert day_counts_compact() == 0, "folded days are not rewritten again"


def test_delivery_counts_follow_every_kind_of_write(alice: Any) -> None:
    rng = random.Random(2)
    first, second = _webhook(alice), _webhook(alice)
    _deliveries(first, rng)
    _deliveries(second, rng, 10)
    _assert_counts_match(DELIVERY_DAYS)
    WebhookDelivery.objects.filter(webhook=first).update(status=DeliveryStatus.FAILED, attempts=3)  # no count changes
    _assert_counts_match(DELIVERY_DAYS)
    moved = WebhookDelivery.objects.filter(webhook=second).order_by("created_at").first()
    assert moved is not None
    WebhookDelivery.objects.filter(pk=moved.pk).update(webhook=first, created_at=moved.created_at - dt.timedelta(days=40))
    _assert_counts_match(DELIVERY_DAYS)
    second.delete()  # its deliveries go with it (cascade)
    _assert_counts_match(DELIVERY_DAYS)
    day_counts_compact()
    assert DeliveryDayCount.objects.filter(webhook_id=second.pk).count() == 0
    _assert_counts_match(DELIVERY_DAYS)


def test_retention_dropping_whole_months_keeps_the_counts_right(alice: Any) -> None:
    rng = random.Random(3)
    _inbox(alice, rng)
    webhook = _webhook(alice)
    _deliveries(webhook, rng)
    pending = WebhookDelivery.objects.filter(webhook=webhook).order_by("created_at").first()
    assert pending is not None
    WebhookDelivery.objects.filter(pk=pending.pk).update(status=DeliveryStatus.PENDING)  # keeps its month
    assert notifications_prune(older_than_days=45) > 0
    assert delivery_logs_prune(older_than_days=45) > 0
    assert Notification.objects.filter(user=alice).exists() and WebhookDelivery.objects.filter(pk=pending.pk).exists()
    _assert_counts_match(NOTIFICATION_DAYS)
    _assert_counts_match(DELIVERY_DAYS)


# --- pages ------------------------------------------------------------------------------------------------


def _ids(rows: Any, offset: int, limit: int) -> list[str]:
    return [str(pk) for pk in rows.order_by("-created_at", "-id").values_list("id", flat=True)[offset : offset + limit]]


def test_random_inbox_pages_match_the_counted_offset_list(api: Any, alice: Any, bob: Any) -> None:
    rng = random.Random(4)
    _inbox(alice, rng)
    _inbox(bob, rng, 20)
    mine = Notification.objects.filter(user=alice)
    total, unread = mine.count(), mine.filter(is_read=False).count()
    for page_size in (1, 7, 50):
        pages = -(-total // page_size)
        for page in {1, pages, *(rng.randint(1, pages) for _ in range(5))}:
            body = api.get(f"/ipam/notifications?page={page}&page_size={page_size}").json()
            assert (body["count"], body["unread_count"]) == (total, unread)
            assert [r["notification_id"] for r in body["results"]] == _ids(mine, (page - 1) * page_size, page_size)
            # the same page through the counted path, with a filter every row passes
            counted = api.get(f"/ipam/notifications?page={page}&page_size={page_size}&severity=info").json()
            assert (counted["count"], counted["unread_count"], counted["results"]) == (total, unread, body["results"])
        assert api.get(f"/ipam/notifications?page={pages + 1}&page_size={page_size}").status_code == 404
    last = api.get("/ipam/notifications?page=last&page_size=7").json()
    assert [r["notification_id"] for r in last["results"]] == _ids(mine, (-(-total // 7) - 1) * 7, 7)


def test_random_delivery_pages_match_the_counted_offset_list(api: Any, alice: Any) -> None:
    rng = random.Random(5)
    webhook, other = _webhook(alice), _webhook(alice)
    _deliveries(webhook, rng)
    _deliveries(other, rng, 15)
    rows = WebhookDelivery.objects.filter(webhook=webhook)
    total = rows.count()
    for page_size in (1, 9, 50):
        pages = -(-total // page_size)
        for page in {1, pages, *(rng.randint(1, pages) for _ in range(5))}:
            body = api.get(f"/ipam/webhooks/{webhook.pk}/deliveries?page={page}&page_size={page_size}").json()
            assert body["count"] == total
            assert [r["delivery_id"] for r in body["results"]] == _ids(rows, (page - 1) * page_size, page_size)
            counted = api.get(f"/ipam/webhooks/{webhook.pk}/deliveries?page={page}&page_size={page_size}&status=delivered").json()
            assert (counted["count"], counted["results"]) == (total, body["results"])
        assert api.get(f"/ipam/webhooks/{webhook.pk}/deliveries?page={pages + 1}&page_size={page_size}").status_code == 404


def test_empty_lists_are_empty_first_pages(api: Any, alice: Any) -> None:
    webhook = _webhook(alice)
    assert api.get("/ipam/notifications").json() == {"count": 0, "next": None, "previous": None, "results": [], "unread_count": 0}
    assert api.get(f"/ipam/webhooks/{webhook.pk}/deliveries").json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert api.get("/ipam/notifications?page=2").status_code == 404


def test_a_deep_page_neither_counts_nor_skips_the_rows(api: Any, alice: Any) -> None:
    _inbox(alice, random.Random(6))
    webhook = _webhook(alice)
    _deliveries(webhook, random.Random(7))
    lists = [("/ipam/notifications", "NOTIFICATIONS_NOTIFICATION"), (f"/ipam/webhooks/{webhook.pk}/deliveries", "WEBHOOKS_WEBHOOKDELIVERY")]
    for path, table in lists:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"{path}?page=3&page_size=10").status_code == 200
        reads = [q["sql"].upper() for q in captured.captured_queries if f'"{table}"' in q["sql"].upper()]
        assert len(reads) == 1, reads  # the counts and the page: one statement
        assert "COUNT(" not in reads[0] and f"{table.split('_')[0]}_" in reads[0]
        assert "DAYCOUNT" in reads[0] and reads[0].count(" OFFSET ") == 1 and "OFFSET COALESCE((SELECT SKIP FROM SEEK), 0)" in reads[0]


def test_the_compiled_page_statement_is_compiled_once_and_bound_to_each_owner(
    alice: Any, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rows_of`: the ORM compiles the page statement once per thread; every owner, offset and size then gets
    what the statement compiled for that owner gives (the rows and the counts), never another owner's rows."""
    rng = random.Random(8)
    _inbox(alice, rng)
    _inbox(bob, rng, 20)
    webhook, other = _webhook(alice), _webhook(bob)
    _deliveries(webhook, rng)
    _deliveries(other, rng, 15)
    monkeypatch.setattr(compiled_statements, "_cache", threading.local())  # (other tests' pages compiled already)
    compiled: list[Any] = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: (compiled.append(self.query.model), original(self, *a, **k))[1])
    unread = {"unread": Count("is_read", filter=Q(is_read=False))}
    lists = [(NOTIFICATION_DAYS, inbox_rows, (alice.pk, bob.pk), unread), (DELIVERY_DAYS, delivery_log_rows, (webhook.pk, other.pk), {})]
    for spec, rows_of, owners, counts in lists:
        for limit in (1, 9):
            compiles = 0
            for owner in (*owners, *owners):  # the second round: compiled already
                for offset in (0, 1, 8, 14, 19, 40, 70):
                    found: dict[str, int] = {}
                    compiled.clear()
                    got = newest_first_page(
                        rows_of(owner), counts=counts, counted=found, day_counts=(spec, owner), rows_of=rows_of
                    ).page_seek(offset, limit)
                    compiles += len(compiled)
                    want_found: dict[str, int] = {}
                    want = newest_first_page(rows_of(owner), counts=counts, counted=want_found, day_counts=(spec, owner)).page_seek(
                        offset, limit
                    )
                    assert got == want and found == want_found, (spec.table, owner, offset, limit)
                    assert [str(row["id"]) for row in got[1]] == _ids(rows_of(owner), offset, limit)
            assert compiles == 2, compiles  # the page keys and the page's rows: compiled once, for every owner


@pytest.mark.parametrize("spec", [NOTIFICATION_DAYS, DELIVERY_DAYS, AUDIT_DAYS], ids=lambda spec: spec.table)
def test_the_days_are_read_from_the_covering_index_alone(alice: Any, spec: DayCounts) -> None:
    """A page reads an owner's day counts from the (owner, day) index with the counted columns included: an
    index-only scan, never the table's rows (migrations ipam 0011, notifications 0006, webhooks 0006)."""
    owner: Any = alice.pk if spec.owner == "user_id" else _webhook(alice).pk
    with connection.cursor() as cursor:
        values = ", ".join(["%s", "now()", *["1"] * len(spec.columns)])
        targets = ", ".join(f'"{column}"' for column in [spec.owner, "day", *spec.columns])
        for _ in range(3):  # deltas of three statements
            cursor.execute(f'INSERT INTO "{spec.table}" ({targets}) VALUES ({values})', [owner])
        cursor.execute(f'ANALYZE "{spec.table}"')  # and no other path: the index alone must be able to answer
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {spec._seek_ctes()} SELECT * FROM seek", [owner, 0, 0])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        index = next(index.name for index in _model(spec)._meta.indexes)
        assert f"Index Only Scan using {index}" in plan, plan
        cursor.execute(f"{spec._seek_ctes()} SELECT (SELECT SUM(n) FROM days), skip FROM seek", [owner, 1, 1])
        assert cursor.fetchone() == (3, 1)  # three rows counted, the second newest one row into its day


def _model(spec: DayCounts) -> Any:
    return {model._meta.db_table: model for model in (AuditDayCount, NotificationDayCount, DeliveryDayCount)}[spec.table]


# --- verify_counters --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["notification_counts", "delivery_counts"])
def test_verify_counters_reports_and_repairs_drifted_day_counts(alice: Any, kind: str) -> None:
    rng = random.Random(8)
    _inbox(alice, rng, 20)
    webhook = _webhook(alice)
    _deliveries(webhook, rng, 20)
    assert [d for d in counters_check().drifts if d.kind.endswith("_counts")] == []
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "notification_counts":
        NotificationDayCount.objects.create(user_id=alice.pk, day=today, n=0, unread=2)  # unread drifted only
        owner = alice.pk
    else:
        DeliveryDayCount.objects.create(webhook_id=webhook.pk, day=today - dt.timedelta(days=3), n=4)
        owner = webhook.pk
    drifts = [d for d in counters_check().drifts if d.kind.endswith("_counts")]
    assert [d.key for d in drifts] == [(kind, owner)]
    assert "alice" in drifts[0].label and "counted" in str(drifts[0])
    counters_repair(drifts=drifts)
    assert [d for d in counters_check().drifts if d.kind.endswith("_counts")] == []


def test_the_unread_count_is_the_count_of_unread_rows_on_every_path(api: Any, alice: Any) -> None:
    _inbox(alice, random.Random(9), 30)
    unread = Notification.objects.filter(user=alice, is_read=False).count()
    assert api.get("/ipam/notifications").json()["unread_count"] == unread
    assert api.get("/ipam/notifications/unread").json()["unread_count"] == unread
    first = Notification.objects.filter(Q(user=alice) & Q(is_read=False)).first()
    assert first is not None
    assert api.patch(f"/ipam/notifications/{first.pk}", {"is_read": True}, format="json").status_code == 200
    assert api.get("/ipam/notifications").json()["unread_count"] == unread - 1
