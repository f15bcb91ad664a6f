"""GET /ipam/hosts?page=N without OFFSET: the regions' counters locate the page (issue 19).

Every answer is compared with what `COUNT(*)` and `ORDER BY ip_int OFFSET k LIMIT n` give over the same rows.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from foundation import compiled as compiled_statements
from ipam.models import Host
from ipam.selectors.host_pages import host_page_ids
from ipam.services.hosts import host_retire, host_update
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def _hosts_with_gaps(user: Any, sizes: tuple[int, ...] = (5, 0, 9, 1, 0, 7)) -> list[Host]:
    """Regions of `sizes` hosts (some empty), with retired hosts leaving holes and mixed statuses."""
    kept: list[Host] = []
    for size in sizes:
        region = make_region(user)
        hosts = [make_host(user, region) for _ in range(size + size // 3)]
        for gone in hosts[1::3][: size // 3]:  # holes inside the /24
            host_retire(actor=user, host_id=gone.pk, reason="gap")
        kept.extend(h for h in hosts if Host.objects.filter(pk=h.pk).exists())
    for index, host in enumerate(kept[::4]):  # statuses the counters also count
        host_update(actor=user, host_id=host.pk, data={"status": ["reserved", "released"][index % 2]})
    return kept


def _reference(user: Any, offset: int, limit: int) -> list[str]:
    return [str(pk) for pk in Host.objects.filter(user=user).order_by("ip_int").values_list("pk", flat=True)[offset : offset + limit]]


def test_the_seek_returns_exactly_the_offset_rows_for_every_offset(alice: Any, bob: Any) -> None:
    _hosts_with_gaps(alice)
    _hosts_with_gaps(bob, (3, 4))  # another namespace in between must not count
    total = Host.objects.filter(user=alice).count()
    assert total == 22
    for limit in (1, 2, 5, 50):
        for offset in range(total + 3):
            got_total, ids = host_page_ids(alice.pk, offset, limit)
            assert got_total == total
            assert [str(pk) for pk in ids] == _reference(alice, offset, limit), (offset, limit)


def test_no_region_at_all_is_an_empty_first_page(api: Any, alice: Any) -> None:
    assert host_page_ids(alice.pk, 0, 50) == (0, [])
    body = api.get("/ipam/hosts").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}
    assert api.get("/ipam/hosts?page=2").status_code == 404


def test_random_pages_match_the_offset_query(api: Any, alice: Any, bob: Any) -> None:
    _hosts_with_gaps(alice)
    _hosts_with_gaps(bob, (2,))
    total = Host.objects.filter(user=alice).count()
    rng = random.Random(19)
    for page_size in (1, 3, 4, 7, 50):
        pages = -(-total // page_size)
        for page in {1, pages, *(rng.randint(1, pages) for _ in range(4))}:
            body = api.get(f"/ipam/hosts?page={page}&page_size={page_size}").json()
            assert body["count"] == total
            assert [r["host_id"] for r in body["results"]] == _reference(alice, (page - 1) * page_size, page_size)
            assert (body["next"] is None) == (page == pages) and (body["previous"] is None) == (page == 1)
        last = api.get(f"/ipam/hosts?page=last&page_size={page_size}").json()
        assert [r["host_id"] for r in last["results"]] == _reference(alice, (pages - 1) * page_size, page_size)
        beyond = api.get(f"/ipam/hosts?page={pages + 1}&page_size={page_size}")
        assert beyond.status_code == 404 and beyond.json()["error"]


def test_a_page_is_the_same_as_the_filtered_and_reordered_offset_paths(api: Any, alice: Any) -> None:
    _hosts_with_gaps(alice)
    seek = api.get("/ipam/hosts?page=2&page_size=5").json()
    ordered = api.get("/ipam/hosts?page=2&page_size=5&ordering=ip_int").json()
    # a filter that keeps every row takes the counted OFFSET path: the same page
    offset = api.get("/ipam/hosts?page=2&page_size=5&hostname=host").json()
    assert seek["count"] == ordered["count"] == offset["count"] == 22
    assert seek["results"] == ordered["results"] == offset["results"] and len(seek["results"]) == 5
    descending = api.get("/ipam/hosts?page=2&page_size=5&ordering=-ip_int").json()
    reverse = [str(pk) for pk in Host.objects.filter(user=alice).order_by("-ip_int").values_list("pk", flat=True)[5:10]]
    assert [r["host_id"] for r in descending["results"]] == reverse and descending["count"] == seek["count"]


def test_filters_the_counters_do_not_describe_keep_offset_and_count(api: Any, alice: Any) -> None:
    _hosts_with_gaps(alice)
    active = list(Host.objects.filter(user=alice, status="active").order_by("ip_int").values_list("pk", flat=True))
    body = api.get("/ipam/hosts?status=active&page=2&page_size=4").json()
    assert body["count"] == len(active) < Host.objects.filter(user=alice).count()
    assert [r["host_id"] for r in body["results"]] == [str(pk) for pk in active[4:8]]


def test_a_deep_page_reads_no_offset_into_the_hosts_and_counts_nothing(api: Any, alice: Any) -> None:
    _hosts_with_gaps(alice)
    with CaptureQueriesContext(connection) as captured:
        body = api.get("/ipam/hosts?page=4&page_size=5").json()
    assert [r["host_id"] for r in body["results"]] == _reference(alice, 15, 5)
    sqls = [q["sql"].upper() for q in captured.captured_queries if "IPAM_HOST" in q["sql"].upper()]
    assert len(sqls) == 1, sqls  # the total and the page's rows in one statement (was: ids, then rows by id)
    assert " OFFSET COALESCE" in sqls[0] and sqls[0].rstrip().endswith("LIMIT 5")
    assert sum(" OFFSET " in q["sql"].upper() for q in captured.captured_queries) == 1  # the skip inside one /24 only


def test_a_page_past_the_end_still_knows_the_total(alice: Any) -> None:
    _hosts_with_gaps(alice)
    assert host_page_ids(alice.pk, 22, 5) == (22, []) and host_page_ids(alice.pk, 10**6, 50) == (22, [])


@pytest.mark.postgres
def test_the_seek_reads_the_counters_from_the_covering_index_without_sorting(alice: Any) -> None:
    """PostgreSQL: the running sum is an index-only scan of region_user_network_hosts, already in address
    order (no region row read, no sort); the region holding row k is found without sorting the candidates."""
    from ipam.selectors.host_pages import page_queryset

    _hosts_with_gaps(alice)
    with connection.cursor() as cursor:
        # Fresh statistics, whatever earlier tests left behind in this database (ANALYZE samples this
        # transaction's own rows). A test table is small enough that a sequential scan, or an index scan
        # on user_id followed by a sort of a handful of rows, costs the same as the ordered path; turning
        # both off asks the planner whether an ordered, sort-free path exists, which is what this pins.
        cursor.execute("ANALYZE ipam_region, ipam_host")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    plan = page_queryset(Host.objects.filter(user=alice).values("pk"), alice.pk, 7)[:5].explain()
    assert "Index Only Scan using region_user_network_hosts" in plan, plan
    assert "Sort Key: ipam_region.network_int" not in plan and "top-N" not in plan, plan


@pytest.mark.postgres
def test_the_running_sum_starts_from_the_nearer_end(alice: Any) -> None:
    """PostgreSQL runs one of the two walks over the region counters: forwards for a row in the first half of
    the list, backwards for one in the second (the other is never executed), and both land on the right row."""
    from ipam.selectors.host_pages import page_queryset

    _hosts_with_gaps(alice)
    with connection.cursor() as cursor:  # as above: fresh statistics, the ordered index paths only
        cursor.execute("ANALYZE ipam_region, ipam_host, ipam_userquota")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    for offset, idle in ((3, "backward"), (10, "backward"), (11, "forward"), (21, "forward")):
        queryset = page_queryset(Host.objects.filter(user=alice).values("pk"), alice.pk, offset)[:1]
        assert [str(row["pk"]) for row in queryset] == _reference(alice, offset, 1)
        plan = queryset.explain(analyze=True)
        walks = {line.split("Subquery Scan on ")[1].split()[0]: line for line in plan.splitlines() if "Subquery Scan on " in line}
        assert set(walks) == {"forward", "backward"}, plan
        assert "never executed" in walks[idle] and "never executed" not in walks[({"forward", "backward"} - {idle}).pop()], plan


def test_the_compiled_page_is_the_orm_page_and_compiles_once(alice: Any, bob: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The list's statement is compiled once (per database, columns, page size and thread) and run again with
    other users and offsets: the same rows, values and totals as the ORM's own page, for every offset."""
    from ipam.api.list_rows import HOST_VALUES
    from ipam.selectors import host_pages

    _hosts_with_gaps(alice)
    _hosts_with_gaps(bob, (3, 4))
    monkeypatch.setattr(compiled_statements, "_cache", threading.local())  # (other tests' pages compiled already)
    cases = [(user, offset) for user in (alice, bob) for offset in range(Host.objects.filter(user=user).count() + 2)]
    orm = {
        (user.pk, offset): host_pages.host_page(Host.objects.filter(user=user).values(*HOST_VALUES), user.pk, offset, 5)
        for user, offset in cases
    }
    host_pages.host_values_page("default", HOST_VALUES, alice.pk, 0, 5)  # compiles
    monkeypatch.setattr(host_pages, "page_queryset", None)  # from now on the ORM never builds the page again
    for user, offset in cases:
        total = Host.objects.filter(user=user).count()
        compiled = host_pages.host_values_page("default", HOST_VALUES, user.pk, offset, 5)
        assert compiled == orm[(user.pk, offset)], (user, offset)
        assert compiled[0] in (total, None) and (compiled[0] is None) == (offset >= total)
    assert len(compiled_statements._cache.statements) == 1


def test_the_rows_template_is_the_query_built_per_request_and_is_never_evaluated(api: Any, alice: Any, bob: Any) -> None:
    """The unfiltered host list filters a clone of one `.values()` template per request instead of resolving its
    columns each time: the same statement as building the rows from the view's queryset, for every ordering,
    and the template itself never holds rows (nothing cached across users or requests)."""
    from ipam.api.list_rows import HOST_VALUES
    from ipam.api.views import _host_rows

    region = make_region(alice)
    for name in ("a", "b", "c"):
        make_host(alice, region, name)
    for ordering in ("ip_int", "-created_at", "hostname"):
        built = Host.objects.select_related("region__country").filter(user=alice).order_by(ordering).values(*HOST_VALUES)
        assert str(_host_rows().filter(user=alice).order_by(ordering).query) == str(built.query)
        body = api.get(f"/ipam/hosts?ordering={ordering}").json()
        assert [row["hostname"] for row in body["results"]] == [row["hostname"] for row in built]
    assert _host_rows()._result_cache is None
