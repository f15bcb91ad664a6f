"""Region allocation's writes (issue 19): on PostgreSQL the region, the cursor bit, the audit row and the quota
are one statement; SQLite keeps the ORM's four. Both must write the same rows, answer the same bytes and keep
every quota, webhook and rule behaviour."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ipam import bitmaps
from ipam.api import serializers as s
from ipam.exceptions import QuotaExceeded
from ipam.models import AllocationCursor, AuditLog, Country, Region, UserQuota
from ipam.selectors.occupancy import region_slot
from ipam.services import capacity, hostlock
from ipam.services import regions as region_services
from ipam.services.regions import region_allocate

POSTGRES = connection.vendor == "postgresql"
CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")


def _statements(action: Any) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        action()
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(CONTROL)]


def test_the_common_case_is_two_statements_on_postgresql_and_six_on_sqlite(alice: Any) -> None:
    region_allocate(actor=alice, country="India", region_name="first")  # cursor and quota rows exist from now on
    sql = _statements(lambda: region_allocate(actor=alice, country="India", region_name="second"))
    assert sql[0].startswith("SELECT") and "ipam_allocationcursor" in sql[0] and "LIMIT" not in sql[0], sql[0]
    assert "enhancements_reservation" in sql[1]  # the probes, in a statement after the lock
    if POSTGRES:
        assert "FOR UPDATE" in sql[0]
        assert len(sql) == 2, sql  # lock; then one WITH statement: the probes, and the writes they allow
        assert sql[1].startswith("WITH p ")
        for table in ("ipam_region", "ipam_allocationcursor", "ipam_auditlog", "ipam_userquota", "webhooks_webhook"):
            assert f'"{table}"' in sql[1], table
    else:
        assert [statement.split()[0] for statement in sql] == ["SELECT", "SELECT", "INSERT", "UPDATE", "INSERT", "UPDATE"], sql


def _counts(user: Any, country: str) -> tuple[int, int, int, int]:
    cursor = AllocationCursor.objects.get(user=user, country__name=country)
    quota = UserQuota.objects.get(user=user)
    regions = Region.objects.filter(user=user, country__name=country).count()
    return regions, AuditLog.objects.filter(user=user, resource_type="region").count(), cursor.region_count, quota.regions_used


def test_when_the_probes_say_yes_the_exact_path_writes_once(api: Any, alice: Any) -> None:
    """The joined statement writes nothing when a name may be taken or a region reservation exists; the exact
    path then writes the region once (PostgreSQL: the probe answers come from that statement, no second probe)."""
    from ipam.models import Reservation

    japan = Country.objects.get(name="Japan")
    assert api.post("/ipam/regions", {"country": "Japan", "region_name": "a"}, format="json").status_code == 201
    Reservation.objects.create(user=alice, resource_type="region", country=japan, x_octet=japan.x_start, y_octet=1, reason="r")
    sql = _statements(lambda: region_allocate(actor=alice, country="Japan", region_name="b"))
    if POSTGRES:  # lock, probes + nothing written, the reserved slots, the write
        assert len(sql) == 4 and sql[1].startswith("WITH p ") and "enhancements_reservation" in sql[2], sql
        assert not sql[2].startswith("WITH") and sql[3].startswith("WITH r ")
    b = Region.objects.get(user=alice, region_name="b")
    assert (b.x_octet, b.y_octet) == (japan.x_start, 2)  # 0 is taken, 1 reserved
    assert _counts(alice, "Japan") == (2, 2, 2, 2)
    assert bitmaps.from_bytes(AllocationCursor.objects.get(user=alice, country=japan).bitmap) == (
        1 << region_slot(japan.x_start, 0) | 1 << region_slot(japan.x_start, 2)
    )
    response = api.post("/ipam/regions", {"country": "Japan", "region_name": "B"}, format="json")
    assert response.status_code == 409, response.content
    assert _counts(alice, "Japan") == (2, 2, 2, 2)


def test_with_a_webhook_the_quota_is_counted_once_after_the_event(
    alice: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from webhooks.models import WebhookEvent
    from webhooks.services import webhook_create

    region_allocate(actor=alice, country="India", region_name="warm")
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    webhook_create(actor=alice, webhook_url="http://127.0.0.1:9/hook", events=["region.created"])
    with django_capture_on_commit_callbacks(execute=False):
        sql = _statements(lambda: region_allocate(actor=alice, country="India", region_name="hooked"))
    quota_statements = [i for i, statement in enumerate(sql) if "ipam_userquota" in statement]
    event_statements = [i for i, statement in enumerate(sql) if statement.startswith("INSERT") and "webhooks_" in statement]
    assert event_statements and quota_statements and max(event_statements) < quota_statements[-1], sql  # quota last
    assert _counts(alice, "India") == (2, 2, 2, 2)
    assert WebhookEvent.objects.filter(user=alice, event_type="region.created").count() == 1


def test_the_first_allocation_in_a_country_creates_the_cursor(alice: Any) -> None:
    first = region_allocate(actor=alice, country="Japan", region_name="a")
    second = region_allocate(actor=alice, country="Japan", region_name="b")
    japan = Country.objects.get(name="Japan")
    cursor = AllocationCursor.objects.get(user=alice, country=japan)
    assert (first.x_octet, first.y_octet, second.x_octet, second.y_octet) == (japan.x_start, 0, japan.x_start, 1)
    assert cursor.region_count == 2
    assert bitmaps.from_bytes(cursor.bitmap) == 1 << region_slot(japan.x_start, 0) | 1 << region_slot(japan.x_start, 1)
    assert UserQuota.objects.get(user=alice).regions_used == 2


def test_the_lock_statement_reads_the_cursor_as_the_orm_does(alice: Any, bob: Any) -> None:
    india = Country.objects.get(name="India")
    region_allocate(actor=alice, country=india, region_name="a")
    region_allocate(actor=alice, country=india, region_name="b")
    with transaction.atomic():
        locked = hostlock.lock_region_cursor(alice, india)
        assert hostlock.lock_region_cursor(bob, india) is None  # bob has no cursor there: the caller creates it
    orm = AllocationCursor.objects.get(user=alice, country=india)
    assert locked is not None and not locked._state.adding
    for field in ("id", "user_id", "country_id", "bitmap", "region_count"):
        assert getattr(locked, field) == getattr(orm, field) and type(getattr(locked, field)) is type(getattr(orm, field)), field


def _rows(user: Any) -> dict[str, Any]:
    region = Region.objects.get(user=user, region_name="same")
    audit = AuditLog.objects.get(user=user, resource_type="region", resource_id=str(region.pk))
    cursor = AllocationCursor.objects.get(user=user, country=region.country)
    quota = UserQuota.objects.get(user=user)
    ignore = {"id", "user", "user_id", "created_at", "updated_at", "owner", "created_by", "updated_by", "_state"}
    snapshot = {k: v for k, v in audit.snapshot.items() if k not in {"region_id", "owner_id", "owner", "created_at", "updated_at"}}
    snapshot.update(created_by=None, updated_by=None)
    return {
        "region": {k: v for k, v in vars(region).items() if k not in ignore},
        "audit": {
            **{k: v for k, v in vars(audit).items() if k not in ignore | {"resource_id", "region_id", "actor", "timestamp", "snapshot"}},
            "snapshot": snapshot,
            "snapshot_times": (audit.snapshot["created_at"], audit.snapshot["updated_at"])
            == (region.created_at.isoformat(), region.updated_at.isoformat()),
            "region_id": audit.region_id == region.pk and audit.resource_id == str(region.pk),
            "actor": audit.actor == user.username,
        },
        "cursor": (bitmaps.from_bytes(cursor.bitmap), cursor.region_count),
        "quota": (quota.regions_used, quota.hosts_used, quota.region_limit),
    }


@pytest.mark.skipif(not POSTGRES, reason="the joined statement is PostgreSQL's")
def test_the_joined_statement_writes_what_the_orm_writes(alice: Any, bob: Any, monkeypatch: Any) -> None:
    for user in (alice, bob):
        region_allocate(actor=user, country="India", region_name="warm")
    joined = region_allocate(actor=alice, country="India", region_name="same", description="d", tags={"env": "prod"}, owner="ops")
    with monkeypatch.context() as patched:
        patched.setattr(region_services, "_joins_writes", lambda alias: False)
        sql = _statements(
            lambda: region_allocate(actor=bob, country="India", region_name="same", description="d", tags={"env": "prod"}, owner="ops")
        )
        assert len(sql) == 6, sql  # the ORM path, on PostgreSQL
    assert _rows(alice) == _rows(bob)
    # The instance the view renders is the row as stored: same bytes as a fresh read.
    stored = Region.objects.select_related("country").get(pk=joined.pk)
    assert s.represent(s.RegionSerializer, joined) == s.represent(s.RegionSerializer, stored)
    assert not joined._state.adding and joined._state.db == "default"
    # The audit day counts (statement-level triggers on the audit table) see the row written inside the WITH.
    from django.db.models import Sum

    from ipam.models import AuditDayCount

    assert AuditDayCount.objects.filter(user_id=alice.pk).aggregate(n=Sum("n"))["n"] == AuditLog.objects.filter(user=alice).count()


def test_the_response_is_the_stored_row(api: Any) -> None:
    response = api.post("/ipam/regions", {"country": "India", "region_name": "r1", "tags": {"a": "b"}}, format="json")
    assert response.status_code == 201, response.content
    again = api.get(f"/ipam/regions/{response.json()['region_id']}")
    assert again.content == response.content
    assert again["ETag"] == response["ETag"]


def test_near_the_warning_threshold_the_quota_is_counted_once_and_checked(alice: Any, monkeypatch: Any) -> None:
    region_allocate(actor=alice, country="India", region_name="warm")
    UserQuota.objects.filter(user=alice).update(region_limit=5, regions_used=3)  # the next one reaches 80 %
    checked: list[Any] = []
    monkeypatch.setattr(capacity, "quota_changed", lambda *, user: checked.append(user))
    region_allocate(actor=alice, country="India", region_name="near")
    assert UserQuota.objects.get(user=alice).regions_used == 4
    assert checked == [alice]
    UserQuota.objects.filter(user=alice).update(region_limit=100, regions_used=3)  # far below: no check
    region_allocate(actor=alice, country="India", region_name="far")
    assert UserQuota.objects.get(user=alice).regions_used == 4
    assert checked == [alice]


def test_at_the_limit_nothing_is_written(alice: Any) -> None:
    region_allocate(actor=alice, country="India", region_name="warm")
    UserQuota.objects.filter(user=alice).update(region_limit=1, regions_used=1)
    india = Country.objects.get(name="India")
    before = (
        Region.objects.filter(user=alice).count(),
        AuditLog.objects.filter(user=alice).count(),
        AllocationCursor.objects.get(user=alice, country=india).bitmap,
    )
    with pytest.raises(QuotaExceeded):
        region_allocate(actor=alice, country="India", region_name="over")
    after = (
        Region.objects.filter(user=alice).count(),
        AuditLog.objects.filter(user=alice).count(),
        AllocationCursor.objects.get(user=alice, country=india).bitmap,
    )
    assert after == before
    assert UserQuota.objects.get(user=alice).regions_used == 1


def test_the_first_allocation_of_a_user_creates_the_quota_row(alice: Any) -> None:
    assert not UserQuota.objects.filter(user=alice).exists()
    region_allocate(actor=alice, country="India", region_name="first")
    assert UserQuota.objects.get(user=alice).regions_used == 1


def test_the_users_cached_reads_are_invalidated_after_commit(alice: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any) -> None:
    from ipam import cache as ipam_cache

    bumped: list[Any] = []
    monkeypatch.setattr(ipam_cache, "bump_user_version", lambda user_id: bumped.append(user_id))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        region_allocate(actor=alice, country="India", region_name="r")
    assert not bumped  # not before commit
    for callback in callbacks:
        callback()
    assert bumped == [alice.pk]
