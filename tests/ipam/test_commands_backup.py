"""Backup and restore as docs/operations.md documents them: `dumpdata`/`loaddata` (portable, any database)
and the database's own tools (`pg_dump`/`pg_restore` on PostgreSQL, the SQLite backup API on SQLite)."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import uuid
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from ipam.models import AuditLog, Country, Host, Region, Reservation, UserQuota
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The documented portable backup: primary keys kept, natural keys for content types and permissions (which
# Django recreates itself and which are therefore not dumped).
DUMPDATA_ARGS = [
    "--natural-foreign",
    "--exclude=contenttypes",
    "--exclude=auth.permission",
    "--exclude=admin.logentry",
    "--exclude=sessions",
]


def _snapshot() -> dict[str, Any]:
    return {
        "countries": sorted(Country.objects.values_list("code", "x_start", "x_end")),
        "regions": sorted((str(r.pk), r.cidr, r.region_name, r.allocated_hosts, bytes(r.host_bitmap)) for r in Region.objects.all()),
        "hosts": sorted((str(h.pk), h.ip_address, h.hostname) for h in Host.objects.all()),
        "audit": AuditLog.objects.count(),
        "quotas": sorted(UserQuota.objects.values_list("user__username", "regions_used", "hosts_used")),
        "reservations": sorted((str(r.pk), r.x_octet, r.y_octet) for r in Reservation.objects.all()),
    }


def test_dumpdata_then_loaddata_into_an_empty_database_restores_everything(alice, bob, tmp_path):
    region = make_region(alice, "Japan", tags={"env": "prod"})
    make_host(alice, region, hostname="web-01")
    make_region(bob, "Japan")
    Reservation.objects.create(
        user=alice, resource_type="region", country=Country.objects.get(code="JP"), x_octet=46, y_octet=9, reason="r"
    )
    before = _snapshot()
    backup = tmp_path / "ipam-backup.json.gz"

    call_command("dumpdata", *DUMPDATA_ARGS, "--output", str(backup), verbosity=0)
    call_command("flush", "--no-input", verbosity=0)  # an empty database with the schema (like a fresh `migrate`)
    assert Region.objects.count() == 0 and Country.objects.count() == 0
    call_command("loaddata", str(backup), verbosity=0, stdout=io.StringIO())

    assert _snapshot() == before
    alice.refresh_from_db()
    assert alice.check_password("correct-horse-battery-staple")
    assert alice.groups.filter(name="IPAM Operators").exists() and alice.has_perm("ipam.allocate")
    # The restored state keeps allocating correctly: the next region follows the restored one.
    assert make_region(alice, "Japan").cidr == "10.46.1.0/24"


def _pg_env() -> dict[str, str]:
    env = dict(os.environ)
    if connection.settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = connection.settings_dict["PASSWORD"]
    return env


def _pg_args() -> list[str]:
    s = connection.settings_dict
    return ["-h", s["HOST"] or "127.0.0.1", "-p", str(s["PORT"] or 5432), "-U", s["USER"] or "postgres"]


def test_native_backup_and_restore_round_trip(alice, tmp_path):
    region = make_region(alice, "Spain")
    make_host(alice, region)
    make_host(alice, region)
    expected = sorted(Host.objects.values_list("ip_address", flat=True))

    if connection.vendor == "postgresql":
        source = connection.settings_dict["NAME"]
        target = f"{source}_restore_{uuid.uuid4().hex[:8]}"
        dump = tmp_path / "ipam.dump"
        subprocess.run(["pg_dump", *_pg_args(), "-Fc", "-f", str(dump), source], check=True, env=_pg_env())
        subprocess.run(["createdb", *_pg_args(), target], check=True, env=_pg_env())
        try:
            subprocess.run(["pg_restore", *_pg_args(), "--no-owner", "-d", target, str(dump)], check=True, env=_pg_env())
            out = subprocess.run(
                ["psql", *_pg_args(), "-d", target, "-tAc", "SELECT ip_address FROM ipam_host ORDER BY ip_address"],
                check=True,
                env=_pg_env(),
                capture_output=True,
                text=True,
            ).stdout.split()
            indexes = subprocess.run(
                [
                    "psql",
                    *_pg_args(),
                    "-d",
                    target,
                    "-tAc",
                    "SELECT count(*) FROM pg_indexes WHERE indexname = 'reservation_status_expiry'",
                ],
                check=True,
                env=_pg_env(),
                capture_output=True,
                text=True,
            ).stdout.strip()
        finally:
            subprocess.run(["dropdb", *_pg_args(), "--if-exists", target], check=True, env=_pg_env())
        assert sorted(out) == expected
        assert indexes == "1"
    else:
        # SQLite: the online backup API (what `sqlite3 ipam.sqlite3 ".backup ..."` uses), safe while serving.
        copy = tmp_path / "ipam-backup.sqlite3"
        source = sqlite3.connect(connection.settings_dict["NAME"])
        target = sqlite3.connect(copy)
        with target:
            source.backup(target)
        source.close()
        target.close()
        restored = tmp_path / "restored.sqlite3"
        shutil.copy(copy, restored)
        with sqlite3.connect(restored) as db:
            out = [row[0] for row in db.execute("SELECT ip_address FROM ipam_host ORDER BY ip_address")]
            indexes = db.execute("SELECT count(*) FROM sqlite_master WHERE type='index' AND name='reservation_status_expiry'").fetchone()[0]
        assert sorted(out) == expected
        assert indexes == 1
