"""The read-replica router's rules (foundation/dbrouter.py), on any backend.

A replica alias is declared in settings only (`replica_0`, `replica_1`): the rules decide by alias name,
so no second database is needed here. tests/project/test_replica_postgres.py runs the same rules against a
real streaming replica.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, transaction

from foundation import dbrouter
from ipam.models import Region
from tests.factories import make_region

router = dbrouter.PrimaryReplicaRouter()
# Only the alias names matter to the rules; Django warns that connections do not follow a changed DATABASES.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES:UserWarning")


@pytest.fixture
def replicas(settings: Any) -> list[str]:
    settings.DATABASES = {**settings.DATABASES, "replica_0": dict(settings.DATABASES["default"])}
    settings.IPAM_DB_READ_YOUR_WRITES_SECONDS = 30
    return ["replica_0"]


def test_without_replicas_every_read_goes_to_the_primary_even_when_lag_tolerant():
    with dbrouter.lag_tolerant() as allowed:
        assert allowed is False
        assert router.db_for_read(Region) == DEFAULT_DB_ALIAS


def test_a_read_goes_to_a_replica_only_when_declared_lag_tolerant(replicas):
    assert router.db_for_read(Region) == DEFAULT_DB_ALIAS
    with dbrouter.lag_tolerant() as allowed:
        assert allowed is True
        assert router.db_for_read(Region) == "replica_0"
        with dbrouter.primary_only():
            assert router.db_for_read(Region) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Region) == "replica_0"
    assert router.db_for_read(Region) == DEFAULT_DB_ALIAS


def test_each_lag_tolerant_block_reads_one_replica_and_blocks_are_spread_over_them(settings, replicas):
    settings.DATABASES = {**settings.DATABASES, "replica_1": dict(settings.DATABASES["default"])}
    used = set()
    for _ in range(4):
        with dbrouter.lag_tolerant():
            within = {router.db_for_read(Region) for _ in range(3)}
            assert len(within) == 1  # a count and its page come from the same replica
            used |= within
    assert used == {"replica_0", "replica_1"}


def test_writes_and_migrations_always_go_to_the_primary(replicas):
    with dbrouter.lag_tolerant():
        assert router.db_for_write(Region) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "ipam") is True
    assert router.allow_migrate("replica_0", "ipam") is False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_read_inside_a_transaction_goes_to_the_primary(replicas):
    with dbrouter.lag_tolerant():
        assert router.db_for_read(Region) == "replica_0"
        with transaction.atomic():
            assert router.db_for_read(Region) == DEFAULT_DB_ALIAS  # select_for_update and reads-before-writes
        assert router.db_for_read(Region) == "replica_0"


def test_a_user_who_just_wrote_reads_from_the_primary_for_the_configured_time(settings, replicas):
    dbrouter.mark_write(7)
    with dbrouter.lag_tolerant(user_id=7) as allowed:
        assert allowed is False
        assert router.db_for_read(Region) == DEFAULT_DB_ALIAS
    with dbrouter.lag_tolerant(user_id=8) as allowed:  # someone else
        assert router.db_for_read(Region) == "replica_0"
    settings.IPAM_DB_READ_YOUR_WRITES_SECONDS = 0  # pinning off
    dbrouter.mark_write(9)
    assert dbrouter.recently_wrote(9) is False


# --- through the API: the mixin declares lists lag-tolerant, the middleware and cache bump pin the writer ---


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch, replicas: list[str]) -> list[str]:
    """Which alias each read of a request would use; the query still runs on the test database."""
    seen: list[str] = []

    def db_for_read(self: Any, model: Any, **hints: Any) -> str:
        seen.append(dbrouter.choose_read_alias())
        return DEFAULT_DB_ALIAS

    monkeypatch.setattr(dbrouter.PrimaryReplicaRouter, "db_for_read", db_for_read)
    return seen


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # outside a test transaction, as in production
def test_a_list_reads_from_a_replica_and_a_detail_from_the_primary(alice, api, routed):
    region = make_region(alice, name="listed")
    dbrouter.cache.delete(f"ipam:wrote:{alice.pk}")  # the factory's write pinned alice: let it expire
    routed.clear()
    assert api.get("/ipam/regions").status_code == 200
    assert "replica_0" in routed
    routed.clear()
    assert api.get(f"/ipam/regions/{region.pk}").status_code == 200
    assert routed and set(routed) == {DEFAULT_DB_ALIAS}
    routed.clear()
    assert api.get("/ipam/statistics/top-utilized").status_code == 200
    assert "replica_0" in routed


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # outside a test transaction, as in production
def test_a_list_right_after_the_same_users_write_reads_from_the_primary(alice, bob, api, client_for, routed):
    created = api.post("/ipam/regions", {"country": "IN", "region_name": "fresh"}, format="json")
    assert created.status_code == 201, created.content
    routed.clear()
    listed = api.get("/ipam/regions")
    assert listed.status_code == 200
    assert set(routed) == {DEFAULT_DB_ALIAS}
    assert [r["region_name"] for r in listed.json()["results"]] == ["fresh"]
    routed.clear()
    assert client_for(bob).get("/ipam/regions").status_code == 200  # bob wrote nothing: lag is fine for him
    assert "replica_0" in routed


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rejected_write_does_not_pin_and_a_write_request_never_reads_a_replica(alice, api, routed):
    assert api.post("/ipam/regions", {"country": "XX", "region_name": "bad"}, format="json").status_code in {400, 404}
    assert dbrouter.recently_wrote(alice.pk) is False
    routed.clear()
    assert api.post("/ipam/regions", {"country": "IN", "region_name": "ok"}, format="json").status_code == 201
    assert routed and set(routed) == {DEFAULT_DB_ALIAS}
    assert dbrouter.recently_wrote(alice.pk) is True


@pytest.mark.django_db
def test_an_export_file_is_built_from_a_replica_unless_its_user_just_wrote(alice, monkeypatch, replicas):
    from ipam.models import ExportJob
    from ipam.services import exports

    seen: list[bool] = []

    def build(job: Any) -> tuple[bytes, int]:
        seen.append(dbrouter.is_lag_tolerant())
        return b"[]", 0

    monkeypatch.setattr(exports, "_build_inventory", build)
    for _ in range(2):
        job = ExportJob.objects.create(user=alice, format="json", expires_at="2099-01-01T00:00:00Z")
        exports.export_job_run(job_id=job.pk)
        dbrouter.mark_write(alice.pk)
    assert seen == [True, False]
    assert dbrouter.is_lag_tolerant() is False  # the declaration ends with the build
