"""`manage.py rollback`: backup first, then only the enhancement stores go; core rows stay; a later
`migrate` brings the tables back usable and `loaddata <backup>` their rows."""

from __future__ import annotations

import gzip
import io
import json
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from ipam.management.commands.rollback import enhancement_models
from ipam.models import AuditLog, Country, Host, Region, Reservation, SavedFilter
from tests.factories import make_host, make_region


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def _store_tables() -> set[str]:
    return {m._meta.db_table for m in enhancement_models()}


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("rollback", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_dry_run_shows_the_plan_and_changes_nothing(alice, settings, tmp_path):
    settings.IPAM_BACKUP_DIR = tmp_path / "backups"
    Reservation.objects.create(user=alice, resource_type="region", country=Country.objects.get(code="IN"), x_octet=1, y_octet=2, reason="r")
    output = _run("--dry-run")
    assert "Dry run: no backup written, nothing dropped." in output
    assert f"Backup file: {tmp_path / 'backups'}/rollback-" in output and ".json.gz" in output
    assert "enhancements_reservation (1 rows)" in output
    assert "enhancements.0001_enhancement_stores" in output
    assert _store_tables() <= _tables()
    assert not (tmp_path / "backups").exists()
    assert Reservation.objects.count() == 1


@pytest.mark.django_db
def test_without_yes_outside_a_terminal_it_refuses(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="pass --yes"):
        _run()
    assert _store_tables() <= _tables()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.django_db
def test_answering_anything_but_yes_cancels(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    output = _run("--backup", str(tmp_path / "b.json.gz"))
    assert "Rollback cancelled; nothing changed." in output
    assert not (tmp_path / "b.json.gz").exists()
    assert _store_tables() <= _tables()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rollback_drops_only_the_enhancement_stores_and_migrate_restores_them(alice, tmp_path):
    region = make_region(alice, "United States")
    make_host(alice, region)
    india = Country.objects.get(code="IN")
    reservation = Reservation.objects.create(
        user=alice,
        resource_type="region",
        country=india,
        x_octet=5,
        y_octet=7,
        reason="keep",
        expires_at=timezone.now() + timedelta(days=3),
    )
    SavedFilter.objects.create(user=alice, name="mine", criteria={"country": "IN"})
    core_before = (Country.objects.count(), Region.objects.count(), Host.objects.count(), AuditLog.objects.count())
    backup = tmp_path / "rollback.json.gz"

    try:
        output = _run("--yes", "--backup", str(backup))

        assert "✓ Rollback complete" in output
        assert not (_store_tables() & _tables())  # every enhancement table is gone
        assert {"ipam_region", "ipam_host", "ipam_country", "ipam_auditlog", "auth_user"} <= _tables()
        assert (Country.objects.count(), Region.objects.count(), Host.objects.count(), AuditLog.objects.count()) == core_before
        assert backup.stat().st_mode & 0o777 == 0o600
        dumped = json.loads(gzip.decompress(backup.read_bytes()))
        assert {(o["model"], o["pk"]) for o in dumped} >= {("enhancements.reservation", str(reservation.pk))}
        assert any(o["model"] == "enhancements.savedfilter" for o in dumped)
        with pytest.raises(CommandError):
            call_command("verify_indexes", stdout=io.StringIO())  # tables missing until migrate
        assert "Nothing to roll back" in _run("--yes")
    finally:
        call_command("migrate", verbosity=0)

    assert _store_tables() <= _tables()
    call_command("verify_indexes", stdout=io.StringIO())
    assert Reservation.objects.count() == 0
    call_command("loaddata", str(backup), verbosity=0)
    restored = Reservation.objects.get(pk=reservation.pk)
    assert (restored.x_octet, restored.y_octet, restored.reason) == (5, 7, "keep")
    assert SavedFilter.objects.get(user=alice).criteria == {"country": "IN"}
    # usable: new rows and the constraints are back
    Reservation.objects.create(user=alice, resource_type="region", country=india, x_octet=5, y_octet=8, reason="new")
    assert Reservation.objects.count() == 2
