"""Free-text search (`q`) is served by trigram indexes on PostgreSQL (migration ipam 0003).

On PostgreSQL the six indexes exist and the planner can use them for exactly the SQL Django writes for
`icontains` (`UPPER(col::text) LIKE UPPER(...)`); on SQLite the migration creates nothing. On both, the
search answers the same.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.db import connection

from ipam.models import Host, Region
from ipam.selectors.search import HOST_TEXT_FIELDS, REGION_TEXT_FIELDS, _text_q
from tests.factories import make_host, make_region

TRIGRAM_INDEXES = importlib.import_module("ipam.migrations.0003_search_trigram_indexes").TRIGRAM_INDEXES


def _index_names() -> set[str]:
    with connection.cursor() as cursor:
        constraints = {}
        for table in ("ipam_region", "ipam_host"):
            constraints.update(connection.introspection.get_constraints(cursor, table))
    return {name for name in constraints if name.endswith("_trgm")}


def _plan(queryset: Any) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny test tables: ask whether the index *can* serve
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _search_fixture(alice: Any, bob: Any) -> None:
    region = make_region(alice, name="Edge Frankfurt")
    make_host(alice, region, "fra-web-01", application="Payments")
    make_host(bob, make_region(bob, name="Edge Frankfurt"), "fra-web-01")


def test_text_search_answers_the_same_on_every_backend(api: Any, alice: Any, bob: Any) -> None:
    _search_fixture(alice, bob)
    found = api.get("/ipam/search", {"q": "frankfurt"}).json()
    assert [(item["resource_type"], item["region_name"]) for item in found["results"]] == [("region", "Edge Frankfurt")]
    found = api.get("/ipam/search", {"q": "PAYMENT"}).json()
    assert [(item["resource_type"], item["hostname"]) for item in found["results"]] == [("host", "fra-web-01")]
    if connection.vendor != "postgresql":
        assert _index_names() == set()  # nothing to create on this backend


@pytest.mark.postgres
def test_text_search_uses_trigram_indexes_on_postgresql(alice: Any, bob: Any) -> None:
    _search_fixture(alice, bob)
    assert _index_names() == {name for name, _, _ in TRIGRAM_INDEXES}
    # Without the user filter (whose B-tree wins on tiny tables), the text condition alone must be answerable
    # from the trigram indexes: one bitmap scan per column.
    host_plan = _plan(Host.objects.filter(_text_q("web", HOST_TEXT_FIELDS, "host")))
    region_plan = _plan(Region.objects.filter(_text_q("web", REGION_TEXT_FIELDS, "region")))
    for name, table, _ in TRIGRAM_INDEXES:
        assert name in (host_plan if table == "ipam_host" else region_plan), (host_plan, region_plan)


def test_the_migration_indexes_exactly_the_columns_search_matches() -> None:
    indexed = {(table, column) for _, table, column in TRIGRAM_INDEXES}
    assert indexed == {("ipam_region", f) for f in REGION_TEXT_FIELDS} | {("ipam_host", f) for f in HOST_TEXT_FIELDS}
