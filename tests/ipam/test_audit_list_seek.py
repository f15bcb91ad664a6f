"""GET /ipam/audit?page=N from the per-day audit counts (issue 19, foundation/day_counts.py): the counts kept
by the triggers always equal the rows, and every page equals what COUNT(*) and OFFSET give over the same rows."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from foundation import compiled as compiled_statements
from foundation import partitions
from foundation.newest_pages import newest_first_page
from ipam.api.audit import audit_trail_rows
from ipam.models import AUDIT_DAYS, AuditDayCount, AuditLog
from ipam.selectors.audit import AUDIT_ORDERINGS
from ipam.services.audit import audit_prune
from tests.factories import make_host, make_region

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _rows(user: Any, stamps: list[dt.datetime]) -> None:
    AuditLog.objects.bulk_create(
        [AuditLog(user=user, action_type="update", resource_type="host", resource_id=str(uuid.uuid4()), timestamp=t) for t in stamps]
    )


def _history(user: Any, rng: random.Random, n: int = 60) -> None:
    """Rows spread over ~100 days (several months), some sharing a timestamp, and days without any row."""
    now = timezone.now()
    stamps = [now - dt.timedelta(days=rng.choice([0, 1, 2, 5, 31, 32, 60, 99]), minutes=rng.randint(0, 1439)) for _ in range(n)]
    stamps += [stamps[3]] * 3  # ties on timestamp: ordered by id
    spec = partitions.PartitionedTable("ipam_auditlog", "timestamp")
    for months in range(5):
        partitions.create_month(connection, spec, partitions.add_months(partitions.month_start(now), -months))
    _rows(user, stamps)


def _reference(user: Any, offset: int, limit: int) -> list[str]:
    ids = AuditLog.objects.filter(user=user).order_by("-timestamp", "-id").values_list("id", flat=True)[offset : offset + limit]
    return [str(pk) for pk in ids]


def _seek(user: Any, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """The audit list's seek (`StandardPagination` calls it with the page's offset and size): one statement, as the
    notification and delivery lists'."""
    rows = AuditLog.objects.filter(user=user).values("id", "timestamp")
    page = newest_first_page(rows, order=("-timestamp", "-id"), day_counts=(AUDIT_DAYS, user.pk))
    return page.page_seek(offset, limit)


def _counts_match_rows() -> None:
    counted = {(r["user_id"], r["day"]): r["n"] for r in AuditDayCount.objects.values("user_id", "day").annotate(n=Sum("n")) if r["n"]}
    actual: dict[tuple[int, dt.datetime], int] = {}
    for user_id, stamp in AuditLog.objects.exclude(user=None).values_list("user_id", "timestamp"):
        day = stamp.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        actual[(user_id, day)] = actual.get((user_id, day), 0) + 1
    assert counted == actual


def test_the_triggers_keep_the_day_counts_equal_to_the_rows(alice: Any, bob: Any) -> None:
    rng = random.Random(1)
    _history(alice, rng)
    _history(bob, rng, 10)
    region = make_region(alice)  # audited writes through the services
    make_host(alice, region)
    _counts_match_rows()
    AuditLog.objects.filter(user=alice, timestamp__lt=timezone.now() - dt.timedelta(days=50)).delete()
    _counts_match_rows()
    moved = AuditLog.objects.filter(user=bob).order_by("timestamp").first()
    assert moved is not None
    AuditLog.objects.filter(pk=moved.pk).update(user=alice, timestamp=moved.timestamp - dt.timedelta(days=3))  # moves partitions
    _counts_match_rows()
    assert AUDIT_DAYS.compact() > 0
    assert AuditDayCount.objects.values("user_id", "day").distinct().count() == AuditDayCount.objects.count()  # one row each
    _counts_match_rows()
    assert AUDIT_DAYS.compact() == 0  # nothing loose: the folded days are not rewritten again
    make_host(alice, region)  # one more delta on today's row
    assert AUDIT_DAYS.compact() == 1  # only that day is rewritten
    assert AuditDayCount.objects.values("user_id", "day").distinct().count() == AuditDayCount.objects.count()
    _counts_match_rows()


def test_the_compaction_runs_as_a_scheduled_job(alice: Any) -> None:
    from ipam.tasks.housekeeping import day_counts_compact as task
    from ipam_project.schedule import JOBS

    assert JOBS["day_counts_compact"]["label"] == "every minute"
    assert task.name == "day_counts_compact"
    _history(alice, random.Random(8), 10)
    _rows(alice, [timezone.now()])
    _rows(alice, [timezone.now()])  # two statements: two delta rows for today
    assert task() > 0  # the job folds the audit deltas too
    assert AuditDayCount.objects.values("user_id", "day").distinct().count() == AuditDayCount.objects.count()
    _counts_match_rows()


def test_retention_leaves_the_counts_of_the_remaining_rows(alice: Any) -> None:
    _history(alice, random.Random(2))
    audit_prune(older_than_days=45)  # drops a whole month, deletes the rest of the boundary month
    assert AuditLog.objects.filter(user=alice).count() > 0
    _counts_match_rows()


def test_every_offset_returns_exactly_the_offset_rows(alice: Any, bob: Any) -> None:
    rng = random.Random(3)
    _history(alice, rng)
    _history(bob, rng, 15)
    total = AuditLog.objects.filter(user=alice).count()
    for limit in (1, 4, 50):
        for offset in range(total + 2):
            got_total, rows = _seek(alice, offset, limit)
            assert got_total == total
            assert [str(row["id"]) for row in rows] == _reference(alice, offset, limit), (offset, limit)


def test_the_page_statement_is_compiled_once_and_bound_to_each_user(alice: Any, bob: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`rows_of`: the trail's page statement is compiled once per thread; every user and offset then gets the
    rows (every column, as `.values()` converts them) and the total that the ORM-compiled statement gives."""
    monkeypatch.setattr(compiled_statements, "_cache", threading.local())  # (other tests' pages compiled already)
    rng = random.Random(6)
    _history(alice, rng)
    _history(bob, rng, 15)
    compiled: list[Any] = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: (compiled.append(self.query.model), original(self, *a, **k))[1])
    order, compiles = AUDIT_ORDERINGS["-timestamp"], 0
    for user in (alice, bob, alice, bob):
        total = AuditLog.objects.filter(user=user).count()
        for offset in (0, 1, 7, 14, 20, total - 1, total):
            days = (AUDIT_DAYS, user.pk)
            compiled.clear()
            got = newest_first_page(audit_trail_rows(user.pk), order=order, day_counts=days, rows_of=audit_trail_rows)
            got_page = got.page_seek(offset, 9)
            compiles += len(compiled)
            want = newest_first_page(audit_trail_rows(user.pk), order=order, day_counts=days).page_seek(offset, 9)
            assert got_page == want and got_page[0] == total, (user.username, offset)
            assert [str(row["id"]) for row in got_page[1]] == _reference(user, offset, 9)
    assert compiles == 2, compiles  # the page's keys and the page's rows: compiled once, for every user


def test_random_pages_match_the_counted_offset_list(api: Any, alice: Any) -> None:
    rng = random.Random(4)
    _history(alice, rng)
    total = AuditLog.objects.filter(user=alice).count()
    for page_size in (1, 7, 50):
        pages = -(-total // page_size)
        for page in {1, pages, *(rng.randint(1, pages) for _ in range(4))}:
            body = api.get(f"/ipam/audit?page={page}&page_size={page_size}").json()
            assert body["count"] == total
            assert [r["audit_id"] for r in body["results"]] == _reference(alice, (page - 1) * page_size, page_size)
            # the same page through the filtered path (COUNT/OFFSET), with a filter every row passes
            counted = api.get(f"/ipam/audit?page={page}&page_size={page_size}&resource_type=host").json()
            assert counted["results"] == body["results"] and counted["count"] == total
        beyond = api.get(f"/ipam/audit?page={pages + 1}&page_size={page_size}")
        assert beyond.status_code == 404 and beyond.json()["error"]
    last = api.get("/ipam/audit?page=last&page_size=7").json()
    assert [r["audit_id"] for r in last["results"]] == _reference(alice, (-(-total // 7) - 1) * 7, 7)


def test_an_empty_trail_is_an_empty_first_page(api: Any, alice: Any) -> None:
    assert api.get("/ipam/audit").json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert api.get("/ipam/audit?page=2").status_code == 404


def test_a_deep_page_neither_counts_nor_skips_the_rows(api: Any, alice: Any) -> None:
    _history(alice, random.Random(5))
    with CaptureQueriesContext(connection) as captured:
        body = api.get("/ipam/audit?page=3&page_size=10").json()
    assert [r["audit_id"] for r in body["results"]] == _reference(alice, 20, 10)
    sqls = [q["sql"].upper() for q in captured.captured_queries if "IPAM_AUDIT" in q["sql"].upper()]
    assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)
    # One statement: the day counts, the keys with a skip within one day only, and the rows by those keys.
    assert len(sqls) == 1 and "IPAM_AUDITDAYCOUNT" in sqls[0]
    assert sqls[0].count(" OFFSET ") == 1 and "OFFSET COALESCE((SELECT SKIP FROM SEEK), 0)" in sqls[0]
    assert " IN (SELECT * FROM PAGE_KEYS)" in sqls[0]


def test_moving_rows_out_of_the_default_partition_keeps_the_counts(alice: Any) -> None:
    spec = partitions.PartitionedTable("ipam_auditlog", "timestamp")
    ahead = partitions.add_months(partitions.month_start(timezone.now()), 30)  # no partition yet: rows go to default
    _rows(alice, [ahead.replace(day=3), ahead.replace(day=3, hour=5), ahead.replace(day=20)])
    _counts_match_rows()
    partitions.create_month(connection, spec, ahead)  # moves them from the default partition into the new one
    assert ahead in partitions.monthly_partitions(connection, "ipam_auditlog")
    _counts_match_rows()


def test_verify_counters_reports_and_repairs_drifted_audit_day_counts(alice: Any, bob: Any) -> None:
    from ipam.services.integrity import counters_check, counters_repair

    _history(alice, random.Random(6), 20)
    _history(bob, random.Random(7), 5)
    assert [d for d in counters_check().drifts if d.kind == "audit_counts"] == []
    AuditDayCount.objects.create(user_id=alice.pk, day=timezone.now().replace(hour=0, minute=0, second=0, microsecond=0), n=3)
    drifts = [d for d in counters_check().drifts if d.kind == "audit_counts"]
    assert [d.key for d in drifts] == [("audit_counts", alice.pk)] and "counted" in str(drifts[0])
    counters_repair(drifts=drifts)
    assert [d for d in counters_check().drifts if d.kind == "audit_counts"] == []
    _counts_match_rows()


def test_the_trail_rows_template_is_the_query_built_per_request_and_is_never_evaluated(api: Any, alice: Any, bob: Any) -> None:
    """The unfiltered trail filters a clone of one `.values()` template per request: the same statement as the
    view's own queryset gives for no filter, the same pages, and the template never holds rows."""
    from ipam.api.audit import _trail_rows
    from ipam.api.list_rows import AUDIT_VALUES
    from ipam.selectors.audit import audit_queryset

    rng = random.Random(9)
    _history(alice, rng, 12)
    _history(bob, rng, 5)
    for user in (alice, bob):
        built = audit_queryset(user, {}).values(*AUDIT_VALUES)
        assert str(_trail_rows().filter(user=user).query) == str(built.query)
    body = api.get("/ipam/audit", {"page": 2, "page_size": 5}).json()
    assert body["count"] == AuditLog.objects.filter(user=alice).count()
    assert [row["audit_id"] for row in body["results"]] == _reference(alice, 5, 5)
    assert _trail_rows()._result_cache is None
