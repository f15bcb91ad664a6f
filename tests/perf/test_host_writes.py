"""Host allocation's writes (ipam.services.hostwrites): one statement on PostgreSQL, the ORM on SQLite.

Both paths must write the same rows, keep all-or-nothing (quota refused, unique backstop), and the batch's
response — built from the inserted rows, no read-back — must be the JSON a read-back gives.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from ipam import exceptions
from ipam.api import serializers as s
from ipam.models import AuditLog, Host, Region, UserQuota
from ipam.services import capacity, hostwrites
from ipam.services.hosts import host_allocate, hosts_allocate_batch
from tests.factories import make_host, make_region

TAGS = {"zz-long-key": "1", "a": "2", "mid": "3"}  # not in jsonb's key order (shorter keys first)
META = {"device_type": "VM", "os_type": "linux", "application": "web", "tags": TAGS}

HOST_VOLATILE = ("id", "user_id", "region_id", "created_at", "updated_at", "created_by", "updated_by")
AUDIT_VOLATILE = ("id", "user_id", "resource_id", "region_id", "actor", "timestamp")
SNAPSHOT_VOLATILE = ("host_id", "region_id", "owner_id", "created_at", "updated_at", "created_by", "updated_by")


def _written(user: Any, region: Region) -> dict[str, Any]:
    """What an allocation left in the database, without the values that differ by user or by clock."""
    region.refresh_from_db()
    hosts = list(Host.objects.filter(region=region).order_by("ip_int").values())
    audits = list(AuditLog.objects.filter(user_id=user.pk, resource_type="host").order_by("ip_address").values())
    for host, audit in zip(hosts, audits, strict=True):
        # The audit row's snapshot is the row as written (same timestamps), on both paths.
        assert audit["snapshot"]["created_at"] == host["created_at"].isoformat()
        assert audit["snapshot"]["updated_at"] == host["updated_at"].isoformat()
        assert audit["resource_id"] == str(host["id"]) and audit["region_id"] == region.pk
    return {
        "hosts": [{k: v for k, v in host.items() if k not in HOST_VOLATILE} for host in hosts],
        "audits": [
            {
                **{k: v for k, v in audit.items() if k not in AUDIT_VOLATILE},
                "snapshot": {k: v for k, v in audit["snapshot"].items() if k not in SNAPSHOT_VOLATILE},
            }
            for audit in audits
        ],
        "region": (bytes(region.host_bitmap), region.allocated_hosts),
        "hosts_used": UserQuota.objects.get(user=user).hosts_used,
    }


def _allocate(user: Any) -> Region:
    region = make_region(user, name="writes")
    host_allocate(actor=user, region_id=region.pk, hostname="one", **META)
    host_allocate(actor=user, region_id=region.pk, hostname="two", z_octet=7, **META)
    hosts_allocate_batch(actor=user, region_id=region.pk, count=5, hostname_prefix="node", **META)
    return region


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's")
def test_the_one_statement_writes_the_rows_the_orm_path_writes(alice: Any, bob: Any, monkeypatch: Any) -> None:
    with CaptureQueriesContext(connection) as captured:
        region_a = _allocate(alice)
    assert any(q["sql"].startswith("WITH h AS (INSERT INTO") for q in captured.captured_queries)
    monkeypatch.setattr(hostwrites, "supported", lambda alias: False)
    with CaptureQueriesContext(connection) as captured:
        region_b = _allocate(bob)  # same country, own namespace: the same addresses
    assert not any(q["sql"].startswith("WITH h AS") for q in captured.captured_queries)
    assert (region_a.x_octet, region_a.y_octet) == (region_b.x_octet, region_b.y_octet)
    one, orm = _written(alice, region_a), _written(bob, region_b)
    assert one == orm
    assert len(one["hosts"]) == 7 and one["region"][1] == 7 and one["hosts_used"] == 7


def test_both_paths_write_consistent_rows(alice: Any) -> None:
    written = _written(alice, _allocate(alice))  # also checks each audit snapshot against its host row
    assert [h["z_octet"] for h in written["hosts"]] == [1, 2, 3, 4, 5, 6, 7]
    assert written["hosts"][0]["tags"] == TAGS and written["audits"][0]["snapshot"]["tags"] == TAGS
    assert written["region"][1] == 7 and written["hosts_used"] == 7


def test_a_batch_is_three_statements_on_postgresql_and_six_on_sqlite(alice: Any) -> None:
    region = make_region(alice)
    make_host(alice, region)  # the quota row exists from now on
    with CaptureQueriesContext(connection) as captured:
        hosts_allocate_batch(actor=alice, region_id=region.pk, count=100, hostname_prefix="b")
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    sql = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(control)]
    if connection.vendor == "postgresql":
        assert len(sql) == 3, sql  # lock, probes, the writes
    else:  # the ORM's INSERTs come in chunks under SQLite's limit of bound variables
        kinds = [" ".join(statement.split()[:3]) for statement in sql]
        assert kinds[:2] == ['SELECT r."id", r."user_id",', "SELECT EXISTS(SELECT 1"], kinds
        assert {k for k in kinds[2:]} == {
            'INSERT INTO "ipam_host"',
            'UPDATE "ipam_region" SET',
            'INSERT INTO "ipam_auditlog"',
            'UPDATE "ipam_userquota" SET',
        }
        assert not [q for q in sql if q.startswith('SELECT "ipam_host"')]
    assert Host.objects.filter(region=region).count() == 101
    assert AuditLog.objects.filter(resource_type="host", region_id=region.pk).count() == 101


def test_the_batch_answers_what_reading_its_hosts_back_answers(api: Any, alice: Any) -> None:
    region = make_region(alice)
    body = {"region_id": str(region.pk), "count": 4, "hostname_prefix": "n", **META}
    with CaptureQueriesContext(connection) as captured:
        response = api.post("/ipam/hosts/batch", body, format="json")
    assert response.status_code == 201, response.content
    assert not [q["sql"] for q in captured.captured_queries if q["sql"].startswith('SELECT "ipam_host"')]  # no read-back
    read_back = Host.objects.filter(region=region).select_related("region__country").order_by("ip_int")
    expected = {"region_id": str(region.pk), "count": 4, "hosts": [s.represent(s.HostSerializer, host) for host in read_back]}
    assert response.content == json.dumps(expected, separators=(",", ":")).encode()  # same bytes, tag key order included
    one = api.get(f"/ipam/hosts/{response.json()['hosts'][0]['host_id']}").json()
    assert response.json()["hosts"][0] == one and list(response.json()["hosts"][0]["tags"]) == list(one["tags"])


def test_the_first_allocation_creates_the_quota_row(alice: Any) -> None:
    region = make_region(alice)
    UserQuota.objects.filter(user=alice).update(hosts_used=0)
    UserQuota.objects.filter(user=alice).delete()
    host_allocate(actor=alice, region_id=region.pk, hostname="first")
    assert UserQuota.objects.get(user=alice).hosts_used == 1


def test_reaching_the_warning_threshold_has_the_quota_checked(alice: Any, monkeypatch: Any) -> None:
    region = make_region(alice)
    make_host(alice, region)
    UserQuota.objects.filter(user=alice).update(host_limit=5)  # 80 %: the 4th host reaches it
    checked: list[Any] = []
    monkeypatch.setattr(capacity, "quota_changed", lambda user: checked.append(user))
    host_allocate(actor=alice, region_id=region.pk, hostname="h2")
    host_allocate(actor=alice, region_id=region.pk, hostname="h3")
    assert checked == []
    host_allocate(actor=alice, region_id=region.pk, hostname="h4")
    assert checked == [alice]
    assert UserQuota.objects.get(user=alice).hosts_used == 4


def _nothing_written(alice: Any, region: Region, action: Any, error: type[Exception]) -> None:
    region.refresh_from_db()
    before = (Host.objects.count(), AuditLog.objects.count(), bytes(region.host_bitmap), region.allocated_hosts)
    used = UserQuota.objects.get(user=alice).hosts_used
    with pytest.raises(error):
        action()
    region.refresh_from_db()
    assert (Host.objects.count(), AuditLog.objects.count(), bytes(region.host_bitmap), region.allocated_hosts) == before
    assert UserQuota.objects.get(user=alice).hosts_used == used


def test_a_refused_quota_writes_nothing(alice: Any) -> None:
    region = make_region(alice)
    make_host(alice, region)
    UserQuota.objects.filter(user=alice).update(host_limit=3)
    _nothing_written(
        alice,
        region,
        lambda: hosts_allocate_batch(actor=alice, region_id=region.pk, count=3, hostname_prefix="q"),
        exceptions.QuotaExceeded,
    )


def test_the_unique_backstop_refuses_the_whole_statement(alice: Any) -> None:
    region = make_region(alice)
    make_host(alice, region)  # at Z=1
    Region.objects.filter(pk=region.pk).update(host_bitmap=b"")  # a corrupt bitmap offers Z=1 again
    _nothing_written(alice, region, lambda: host_allocate(actor=alice, region_id=region.pk, hostname="again"), IntegrityError)


@pytest.mark.postgres
@pytest.mark.parametrize("one", [True, False])
def test_the_write_statement_stays_within_what_psycopg_caches_the_parsing_of(one: bool) -> None:
    """psycopg parses a statement's `%s` placeholders again on every call when it is longer than 4096 bytes or
    takes more than 50 parameters (about 0.25 ms for the single allocation's write): a column added to the host
    or the audit row must not push it over unnoticed."""
    from psycopg import _queries

    sql = hostwrites._statement(connection.alias, one)
    assert len(sql.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
    assert sql.count("%s") <= _queries.MAX_CACHED_STATEMENT_PARAMS
