"""GET /ipam/regions?page=N in one statement: the count and the page from the k-th (x_octet, y_octet) key on
(issue 19, ipam/selectors/region_pages.py).

Every answer is compared with what `COUNT(*)` and `ORDER BY x_octet, y_octet OFFSET k LIMIT n` give over the
same rows; other users' regions at the same and at neighbouring octets must not count.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ipam.models import Region
from ipam.services.regions import region_retire
from tests.factories import make_region

pytestmark = pytest.mark.django_db


def _regions(alice: Any, bob: Any) -> int:
    countries = ("India", "Japan", "Chile")
    for index in range(14):
        make_region(alice, countries[index % 3])
        if index % 3 == 0:
            make_region(bob, countries[index % 3])  # another namespace, interleaved in the same countries
    retired = Region.objects.filter(user=alice).order_by("x_octet", "y_octet")[4]  # a hole in the middle
    region_retire(actor=alice, region_id=retired.pk, reason="gap", cascade=False)
    return Region.objects.filter(user=alice).count()


def _reference(user: Any, offset: int, limit: int) -> list[str]:
    keys = Region.objects.filter(user=user).order_by("x_octet", "y_octet").values_list("pk", flat=True)
    return [str(pk) for pk in keys[offset : offset + limit]]


def test_every_page_is_the_offset_page_with_the_count(api: Any, alice: Any, bob: Any) -> None:
    total = _regions(alice, bob)
    assert total == 13
    for page_size in (1, 2, 5, 13, 50):
        pages = -(-total // page_size)
        for page in range(1, pages + 1):
            body = api.get(f"/ipam/regions?page={page}&page_size={page_size}").json()
            assert body["count"] == total
            assert [r["region_id"] for r in body["results"]] == _reference(alice, (page - 1) * page_size, page_size), (page, page_size)
            assert (body["next"] is None) == (page == pages) and (body["previous"] is None) == (page == 1)
        beyond = api.get(f"/ipam/regions?page={pages + 1}&page_size={page_size}")
        assert beyond.status_code == 404 and beyond.json()["error"]
        last = api.get(f"/ipam/regions?page=last&page_size={page_size}").json()
        assert [r["region_id"] for r in last["results"]] == _reference(alice, (pages - 1) * page_size, page_size)


def test_one_statement_reads_the_count_and_the_page(api: Any, alice: Any, bob: Any) -> None:
    _regions(alice, bob)
    with CaptureQueriesContext(connection) as captured:
        body = api.get("/ipam/regions?page=3&page_size=4").json()
    assert [r["region_id"] for r in body["results"]] == _reference(alice, 8, 4) and body["count"] == 13
    sqls = [q["sql"].upper() for q in captured.captured_queries if "IPAM_REGION" in q["sql"].upper()]
    assert len(sqls) == 1, sqls  # was: COUNT(*), then ORDER BY … OFFSET 8 LIMIT 4
    # the count is the quota row's (no COUNT over the regions); the k-th key from either end of the index
    assert "IPAM_USERQUOTA" in sqls[0] and "COUNT(" not in sqls[0] and sqls[0].rstrip().endswith("LIMIT 4")
    assert "LIMIT 1 OFFSET 8" in sqls[0] and "K.X_OCTET DESC, K.Y_OCTET DESC LIMIT 1" in sqls[0]


@pytest.mark.postgres
def test_the_kth_key_is_read_from_the_nearer_end(alice: Any, bob: Any) -> None:
    """PostgreSQL skips index entries from one end only: forwards in the first half, backwards in the second."""
    from ipam.selectors.region_pages import page_queryset, region_list_unfiltered

    total = _regions(alice, bob)
    with connection.cursor() as cursor:
        # As in test_host_list_seek: fresh statistics, and no sequential scan or sort to fall back on for a
        # table this small, so the plan shows the ordered index path the seek is written for.
        cursor.execute("ANALYZE ipam_region, ipam_userquota")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    queryset = Region.objects.filter(user=alice).order_by("x_octet", "y_octet")
    for offset, direction in ((0, "Forward"), (6, "Forward"), (7, "Backward"), (12, "Backward")):
        captured_total, rows = region_list_unfiltered(queryset, alice).page_seek(offset, 2)
        assert captured_total == total and [str(r.pk) for r in rows] == _reference(alice, offset, 2)
        sql, params = page_queryset(queryset, alice.pk, offset)[:2].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        scans = [line for line in plan.splitlines() if re.search(r"Index Only Scan.* on \S+ k(_\d+)? ", line)]
        ran = [line for line in scans if "never executed" not in line]
        assert len(scans) == 2, plan
        assert len(ran) == 1 and ("Backward" in ran[0]) == (direction == "Backward"), plan


def test_the_same_rows_as_the_filtered_and_reordered_offset_paths(api: Any, alice: Any, bob: Any) -> None:
    _regions(alice, bob)
    seek = api.get("/ipam/regions?page=2&page_size=5").json()
    ordered = api.get("/ipam/regions?page=2&page_size=5&ordering=x_octet,y_octet").json()
    filtered = api.get("/ipam/regions?page=2&page_size=5&name=region").json()  # keeps every row: COUNT/OFFSET path
    assert seek["count"] == ordered["count"] == filtered["count"] == 13
    assert seek["results"] == ordered["results"] == filtered["results"] and len(seek["results"]) == 5
    descending = api.get("/ipam/regions?page=2&page_size=5&ordering=-created_at").json()
    reverse = Region.objects.filter(user=alice).order_by("-created_at").values_list("pk", flat=True)[5:10]
    assert [r["region_id"] for r in descending["results"]] == [str(pk) for pk in reverse]


def test_no_region_is_an_empty_first_page_and_404_after_it(api: Any, alice: Any, bob: Any) -> None:
    make_region(bob)
    assert api.get("/ipam/regions").json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert api.get("/ipam/regions?page=2").status_code == 404


def test_random_pages_of_many_regions(api: Any, alice: Any, bob: Any) -> None:
    for index in range(40):
        make_region(alice if index % 4 else bob, ("India", "Spain")[index % 2])
    total = Region.objects.filter(user=alice).count()
    rng = random.Random(19)
    for _ in range(8):
        page_size = rng.choice((3, 7, 11))
        page = rng.randint(1, -(-total // page_size))
        body = api.get(f"/ipam/regions?page={page}&page_size={page_size}").json()
        assert body["count"] == total
        assert [r["region_id"] for r in body["results"]] == _reference(alice, (page - 1) * page_size, page_size)
