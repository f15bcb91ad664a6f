"""The public share view's counter (issue 19): on PostgreSQL, outside any transaction, one statement that
sets `synchronous_commit = off` for its own implicit transaction only (ADR 0018) — the setting never
outlives it, and inside a caller's transaction the counter joins it without touching the setting."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from ipam.api.shares import PublicShareSerializer
from ipam.models import Share
from ipam.services.shares import count_view, share_access, share_create
from tests.factories import make_host, make_region

ASYNC = "set_config('synchronous_commit', 'off', true)"


def _setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_counter_commits_asynchronously_in_its_own_transaction_only(anon: Any, alice: Any) -> None:
    host = make_host(alice, make_region(alice), "h")
    share, token = share_create(actor=alice, resource_type="host", resource_id=str(host.pk))
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert anon.get(f"/ipam/shares/{token}").status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    updates = [q for q in sql if "UPDATE" in q and "view_count" in q]
    assert len(updates) == 3
    if connection.vendor == "postgresql":
        assert all(ASYNC in q for q in updates)  # one statement: the setting and the counter
        assert not any(ASYNC in q for q in sql if q not in updates)
        assert _setting() == "on"  # the setting ended with the counter's own transaction
    else:
        assert not any(ASYNC in q for q in sql)
    row = Share.objects.get(pk=share.pk)
    assert row.view_count == 3 and row.last_accessed is not None
    # a retired resource or a revoked link: 404 and no count, as before
    Share.objects.filter(pk=share.pk).update(is_active=False)
    assert anon.get(f"/ipam/shares/{token}").status_code == 404
    assert Share.objects.get(pk=share.pk).view_count == 3


@pytest.mark.django_db  # the test's own transaction is the caller's
def test_inside_a_callers_transaction_the_counter_joins_it(alice: Any) -> None:
    region = make_region(alice)
    share, token = share_create(actor=alice, resource_type="region", resource_id=str(region.pk))
    with CaptureQueriesContext(connection) as queries, transaction.atomic():  # and one more, explicitly
        share_access(token=token)
        count_view(share.pk, timezone.now())
        if connection.vendor == "postgresql":
            assert _setting() == "on"
    assert not any(ASYNC in q["sql"] for q in queries.captured_queries)
    assert Share.objects.get(pk=share.pk).view_count == 2


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "America/St_Johns"])
def test_the_public_body_is_the_serializers_bytes(settings: Any, anon: Any, alice: Any, zone: str) -> None:
    settings.TIME_ZONE = zone
    region = make_region(alice, name='Ümlaut "q"', description="a\nb", tags={"env": "prod"})
    host = make_host(alice, region, "web-1", tags={"k": ""})
    alice.first_name, alice.last_name = "Alice", "Ω"
    alice.save()
    for kind, resource_id in (("country", "US"), ("region", str(region.pk)), ("host", str(host.pk))):
        _, token = share_create(actor=alice, resource_type=kind, resource_id=resource_id)
        with timezone.override(zone):
            expected = JSONRenderer().render(PublicShareSerializer(share_access(token=token)).data)
            response = anon.get(f"/ipam/shares/{token}")
        assert response.status_code == 200 and response.content == expected
