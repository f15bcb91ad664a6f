"""The fast paths of import_original (issue 16): grouping a dump without decoding it, and the first import
into empty tables, which drops and rebuilds secondary indexes and foreign keys inside its transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bson
import pytest
from bson import ObjectId
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import connection

from ipam.models import AuditLog, Host, Region
from ipam.services.legacy import bulk, runner
from ipam.services.legacy.readers import DumpReader, _owner_key
from tests.factories import UserFactory, make_region
from tests.ipam.legacy.conftest import run_import
from tests.ipam.legacy.original import write_dump

pytestmark = pytest.mark.django_db


def test_owner_key_reads_a_top_level_string_user_id_and_decodes_when_ambiguous() -> None:
    uid = str(ObjectId())
    assert _owner_key(bson.encode({"_id": ObjectId(), "user_id": uid, "x": 1})) == uid
    # A nested `user_id` as well: ambiguous by the bytes, so the document is decoded and the top level wins.
    nested_first = bson.encode({"snapshot": {"user_id": "someone-else"}, "user_id": uid})
    assert _owner_key(nested_first) == uid
    # A non-string owner id (ObjectId) is decoded too.
    assert _owner_key(bson.encode({"user_id": ObjectId(uid)})) == uid
    assert _owner_key(bson.encode({"user_id": None})) == ""
    assert _owner_key(bson.encode({"_id": 1})) == ""


def test_a_document_whose_only_user_id_is_nested_is_not_that_users(tmp_path: Path, original: dict[str, list[dict[str, Any]]]) -> None:
    """The byte scan attributes it to the nested id; the decoded check at load time skips it as unowned."""
    owner = original["users"][0]
    stray = dict(original["ipam_hosts"][0], _id=ObjectId(), hostname="stray", z_octet=200, ip_address=None)
    del stray["user_id"]
    stray["metadata"] = {"user_id": str(owner["_id"])}
    original["ipam_hosts"].append(stray)
    dump = write_dump(tmp_path / "dump", original, gzip_some=False)
    out = run_import(dump)
    assert not Host.objects.filter(hostname="stray").exists()
    assert "owner (user_id) not in the users collection" in out


def test_positions_are_merged_into_one_read_per_contiguous_run(dump_dir: Path) -> None:
    reader = DumpReader(dump_dir)
    chunks: list[Any] = []
    from ipam.services.legacy.readers import add_chunk

    positions = [chunk for _, chunk in reader.owners("ipam_hosts")]
    for chunk in positions:
        add_chunk(chunks, chunk)
    if all(isinstance(chunk, tuple) for chunk in positions):
        assert len(chunks) == 1  # the whole file, contiguous
    assert [doc["_id"] for doc in reader.load(chunks)] == [doc["_id"] for doc in reader.documents("ipam_hosts")]


def _schema() -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
            WHERE n.nspname = current_schema()
            UNION ALL
            SELECT c.conname, c.conrelid::regclass::text || ' ' || pg_get_constraintdef(c.oid) FROM pg_constraint c
            WHERE c.connamespace = current_schema()::regnamespace
            ORDER BY 1, 2
            """
        )
        return [tuple(row) for row in cursor.fetchall()]


@pytest.mark.postgres
def test_first_import_rebuilds_exactly_the_indexes_and_foreign_keys_it_dropped(dump_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _schema()
    dropped: list[list[str]] = []
    real = bulk.deferred_indexes

    def spy() -> Any:
        manager = real()
        return _Recording(manager, dropped)

    monkeypatch.setattr(runner, "deferred_indexes", spy)
    out = run_import(dump_dir)
    assert "verify_counters clean" in out
    assert dropped and "host_user_hostname" in dropped[0] and "audit_user_time_id" in dropped[0]
    assert any(name.endswith("_fk_auth_user_id") for name in dropped[0])
    assert _schema() == before
    assert Host.objects.count() > 0 and AuditLog.objects.filter(action_type="create").exists()


class _Recording:
    def __init__(self, manager: Any, names: list[list[str]]):
        self.manager, self.names = manager, names

    def __enter__(self) -> Any:
        found = self.manager.__enter__()
        self.names.append(found)
        return found

    def __exit__(self, *exc: Any) -> Any:
        return self.manager.__exit__(*exc)


@pytest.mark.postgres
def test_not_the_first_import_leaves_the_indexes_alone(dump_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_region(UserFactory(username="someone"))
    used: list[bool] = []
    monkeypatch.setattr(runner, "deferred_indexes", lambda: used.append(True))
    run_import(dump_dir)
    assert not used and Region.objects.filter(legacy_id__isnull=False).exists()


@pytest.mark.postgres
def test_first_import_one_users_failure_rolls_back_that_user_only(dump_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = runner.webhooks_import

    def failing(scope: Any, docs: Any) -> None:
        if scope.user.username == "olga":
            raise RuntimeError("disk on fire")
        real(scope, docs)

    monkeypatch.setattr(runner, "webhooks_import", failing)
    before = _schema()
    with pytest.raises(CommandError, match="1 user\\(s\\) failed"):
        run_import(dump_dir)
    assert not get_user_model().objects.filter(username="olga").exists()
    assert not Host.objects.filter(user__username="olga").exists()
    assert Host.objects.filter(user__username="pavel").count() == 1
    assert _schema() == before


@pytest.mark.postgres
def test_a_failed_rebuild_loses_nothing(dump_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The drop, every user and the rebuild are one transaction: a failure at the end leaves the database as it was."""
    before = _schema()
    real = bulk._secondary_indexes

    def broken(tables: list[str]) -> list[tuple[str, str]]:
        return [(name, "CREATE INDEX broken ON no_such_table (x)") for name, _ in real(tables)]

    monkeypatch.setattr(bulk, "_secondary_indexes", broken)
    with pytest.raises(Exception, match="no_such_table"):
        run_import(dump_dir)
    assert not Host.objects.exists() and not AuditLog.objects.exists()
    assert not get_user_model().objects.filter(username="olga").exists()
    assert _schema() == before
