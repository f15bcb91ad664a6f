"""The public share view (issue 19): on PostgreSQL one statement reads the share, its owner and its resource
and counts the view, and outside any transaction sets `synchronous_commit = off` for its own implicit
transaction only (ADR 0018): the setting never outlives it, and inside a caller's transaction it is left alone.
Elsewhere three statements answer the same body."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from ipam import exceptions
from ipam.api.shares import PublicShareSerializer
from ipam.models import Share
from ipam.services.shares import count_view, public_resource_data, share_access, share_create, token_hash
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


# --- The one-statement view (PostgreSQL) ------------------------------------------------------------------
def _orm_view(token: str) -> tuple[Share, dict[str, Any] | None]:
    """What the three-statement form reads for this token (the reference of the one-statement form)."""
    share = Share.objects.select_related("user").get(token_hash=token_hash(token))
    return share, public_resource_data(share)


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_one_statement_reads_what_the_orm_reads_and_counts_the_view(settings: Any, alice: Any, bob: Any, zone: str) -> None:
    settings.TIME_ZONE = zone
    region = make_region(alice, name='Ümlaut "q"', description="a\nb", tags={"env": "prod", "n": "1"})
    host = make_host(alice, region, "web-1", tags={"k": ""})
    alice.first_name, alice.last_name = "", "Ω"
    alice.save()
    for kind, resource_id in (("country", "US"), ("region", str(region.pk)), ("host", str(host.pk))):
        share, token = share_create(actor=alice, resource_type=kind, resource_id=resource_id)
        _, reference = _orm_view(token)
        with CaptureQueriesContext(connection) as queries, timezone.override(zone):
            body = share_access(token=token)
        assert len(queries.captured_queries) == 1  # the share, its owner, its resource and the counter
        assert body["resource_data"] == reference and list(body["resource_data"]) == list(reference or {})
        assert body["shared_by"] == "Ω" and body["resource_type"] == kind
        assert (body["created_at"], body["expires_at"]) == (share.created_at, share.expires_at)
        assert Share.objects.get(pk=share.pk).view_count == 1
    # a country's count of regions is the owner's (from the owner's cursor row), 0 without one
    make_region(bob, country="US")
    for code, regions in (("IN", 1), ("US", 0)):
        _, token = share_create(actor=alice, resource_type="country", resource_id=code)
        assert share_access(token=token)["resource_data"]["allocated_regions"] == regions


@pytest.mark.postgres
@pytest.mark.django_db
def test_one_statement_answers_404_and_counts_nothing_when_the_resource_or_link_is_gone(alice: Any, bob: Any) -> None:
    region = make_region(alice)
    host = make_host(alice, region, "h")
    shares = {
        kind: share_create(actor=alice, resource_type=kind, resource_id=resource_id)
        for kind, resource_id in (("region", str(region.pk)), ("host", str(host.pk)))
    }
    odd, odd_token = share_create(actor=alice, resource_type="region", resource_id=str(region.pk))
    expired, expired_token = share_create(actor=alice, resource_type="region", resource_id=str(region.pk))
    Share.objects.filter(pk=odd.pk).update(resource_id="not-a-uuid")  # never written by the API or the importer
    Share.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    foreign_region = make_region(bob)
    foreign, foreign_token = share_create(actor=alice, resource_type="region", resource_id=str(region.pk))
    Share.objects.filter(pk=foreign.pk).update(resource_id=str(foreign_region.pk))  # another user's region
    host.delete()
    for share, token in (shares["host"], (odd, odd_token), (expired, expired_token), (foreign, foreign_token)):
        with pytest.raises(exceptions.NotFound):
            share_access(token=token)
        assert Share.objects.get(pk=share.pk).view_count == 0
    share_access(token=shares["region"][1])  # the region is still there
    region.delete()
    with pytest.raises(exceptions.NotFound):
        share_access(token=shares["region"][1])
    assert Share.objects.get(pk=shares["region"][0].pk).view_count == 1


@pytest.mark.django_db
def test_a_resource_id_not_in_canonical_form_is_a_404_on_every_backend(alice: Any, anon: Any) -> None:
    share, token = share_create(actor=alice, resource_type="host", resource_id=str(make_host(alice, make_region(alice), "h").pk))
    Share.objects.filter(pk=share.pk).update(resource_id="{" + share.resource_id.upper() + "}")
    response = anon.get(f"/ipam/shares/{token}")
    assert response.status_code == 404 and response.json()["error"] == "share_not_found"
