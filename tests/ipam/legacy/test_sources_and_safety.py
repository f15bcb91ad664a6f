"""The three source kinds import the same result; existing accounts are matched, failures roll back one user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from ipam.models import AuditLog, Comment, Host, Region, Reservation, Share
from ipam.services.legacy import runner
from ipam.services.legacy.readers import open_source
from ipam.services.legacy.runner import ImportOptions, import_original
from notifications.models import Notification, NotificationRule
from tests.factories import UserFactory, make_region
from tests.ipam.legacy.conftest import run_import
from tests.ipam.legacy.original import FakeMongoClient, write_dump, write_export
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db


def _snapshot() -> dict[str, Any]:
    def rows(model: Any, *fields: str) -> list[Any]:
        return sorted(model.objects.values_list("pk", *fields))

    return {
        "users": sorted(get_user_model().objects.values_list("username", "email", "password", "is_active")),
        "regions": rows(Region, "legacy_id", "x_octet", "y_octet", "region_name", "status", "tags", "created_at", "host_bitmap"),
        "hosts": rows(Host, "legacy_id", "region_id", "ip_address", "hostname", "status", "tags", "created_at"),
        "audit": rows(AuditLog, "action_type", "resource_id", "timestamp", "changes"),
        "comments": rows(Comment, "text", "created_at"),
        "reservations": rows(Reservation, "x_octet", "y_octet", "z_octet", "status", "expires_at"),
        "shares": rows(Share, "token_hash", "resource_id", "expires_at"),
        "notifications": rows(Notification, "message", "created_at"),
        "rules": rows(NotificationRule, "utilization_threshold", "resource_ids"),
        "webhooks": rows(Webhook, "webhook_url", "events"),
    }


def _import_with(reader: Any) -> dict[str, Any]:
    report = import_original(reader, options=ImportOptions())
    assert report.users_failed == [] and report.verify == []
    return _snapshot()


def test_dump_export_and_uri_import_the_same_fixture_to_the_same_result(tmp_path: Path, original: Any) -> None:
    # The live-URI kind runs MongoReader with a pymongo-compatible client for the connection only: there is no
    # MongoDB server on this machine (`which mongod` finds none), and mongomock would not be "real" either.
    results = []
    sources = [
        open_source(str(write_dump(tmp_path / "d", original))),
        open_source(str(write_export(tmp_path / "e", original))),
        open_source("mongodb://mongo.internal:27017/platform", client_factory=FakeMongoClient(original)),
    ]
    for reader in sources:
        results.append(_import_with(reader))
        for model in (AuditLog, Comment, Host, Region, Reservation, Share, Notification, NotificationRule, Webhook):
            model.objects.all().delete()
        get_user_model().objects.filter(username__in=["olga", "pavel", "quinn"]).delete()
    assert results[0] == results[1] == results[2]
    assert len(results[0]["hosts"]) == 16 and len(results[0]["audit"]) == 3 + 7 + 16 - 1  # 3 + creates but one


def test_the_uri_reader_only_reads(original: Any) -> None:
    client = FakeMongoClient(original)
    reader = open_source("mongodb://mongo.internal:27017/platform?readPreference=secondary", client_factory=client)
    import_original(reader, options=ImportOptions(dry_run=True))
    reader.close()
    assert client.closed and client.calls and all(call.startswith("find ") for call in client.calls)
    assert client.kwargs["tz_aware"] is False


def test_a_bad_source_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not a directory and not a mongodb:// URI"):
        run_import(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="no mongoexport files found"):
        run_import(tmp_path / "empty")


def test_an_existing_user_is_matched_never_duplicated_or_overwritten(dump_dir: Path) -> None:
    olga = UserFactory(username="olga", email="olga@corp.example")
    password = olga.password
    out = run_import(dump_dir)
    olga.refresh_from_db()
    assert get_user_model().objects.filter(username="olga").count() == 1
    assert olga.password == password and olga.email == "olga@corp.example"
    assert "olga: matched the existing user" in out and "password differs" in out and "e-mail differs" in out
    assert Host.objects.filter(user=olga).count() == 14  # the data lands in her namespace
    assert "0 new objects" in run_import(dump_dir)


def test_one_users_failure_rolls_back_that_user_only(dump_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = runner.webhooks_import

    def failing(scope: Any, docs: Any) -> None:
        if scope.user.username == "olga":
            raise RuntimeError("disk on fire")
        real(scope, docs)

    monkeypatch.setattr(runner, "webhooks_import", failing)
    with pytest.raises(CommandError, match="1 user\\(s\\) failed"):
        run_import(dump_dir)
    assert not get_user_model().objects.filter(username="olga").exists()
    assert not Region.objects.filter(legacy_id__isnull=False, user__username="olga").exists()
    assert Host.objects.filter(user__username="pavel").count() == 1  # the others are in
    monkeypatch.undo()
    assert "olga" in run_import(dump_dir)  # and a second run brings olga over
    assert Host.objects.filter(user__username="olga").count() == 14


def test_only_the_named_users_with_user(dump_dir: Path) -> None:
    run_import(dump_dir, "--user", "pavel")
    assert list(get_user_model().objects.filter(username__in=["olga", "pavel", "quinn"]).values_list("username", flat=True)) == ["pavel"]
    with pytest.raises(CommandError, match="failed"):
        run_import(dump_dir, "--user", "nobody")


def test_counter_drift_after_the_import_fails_loudly(dump_dir: Path) -> None:
    someone = UserFactory(username="someone")
    region = make_region(someone)
    Region.objects.filter(pk=region.pk).update(allocated_hosts=7)  # drift that is not the import's
    with pytest.raises(CommandError, match="verify_counters"):
        run_import(dump_dir)
