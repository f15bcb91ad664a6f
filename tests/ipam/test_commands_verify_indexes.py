"""`manage.py verify_indexes`: every declared index and constraint is checked; a dropped one fails it."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ipam.models import Reservation
from tests.ops_support import manage, subprocess_env

pytestmark = pytest.mark.django_db


def _verify() -> str:
    out = io.StringIO()
    call_command("verify_indexes", stdout=out)
    return out.getvalue()


def test_a_migrated_database_passes_with_a_summary():
    output = _verify()
    assert "✓ Connected to database" in output
    assert "✓ All indexes verified successfully!" in output
    for table in ["ipam_region", "ipam_host", "enhancements_reservation", "enhancements_share", "enhancements_bulkjob", "ops_jobrun"]:
        assert f"✓ {table}: All indexes present" in output, table
    assert "Tables checked:" in output and "Total indexes and constraints:" in output


def test_a_dropped_named_index_fails_with_exit_status_1():
    with connection.cursor() as cursor:
        cursor.execute('DROP INDEX "reservation_status_expiry"')
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_indexes", stdout=out)
    assert failure.value.returncode == 1
    output = out.getvalue()
    assert "✗ enhancements_reservation: 1 of" in output
    assert "- index reservation_status_expiry (status, expires_at)" in output
    assert "✗ Missing indexes or constraints: 1" in output


def test_a_dropped_foreign_key_index_is_found_by_its_columns():
    table = Reservation._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
        name = next(n for n, c in constraints.items() if c["index"] and not c["unique"] and c["columns"] == ["country_id"])
        cursor.execute(f'DROP INDEX "{name}"')
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_indexes", "--app", "enhancements", stdout=out)
    assert "- index (country_id)" in out.getvalue()
    assert "ipam_region" not in out.getvalue()  # --app limits the check


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_command_line_exits_0_when_complete_and_1_when_an_index_is_missing(tmp_path):
    env = subprocess_env(tmp_path)
    ok = manage("verify_indexes", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "All indexes verified successfully" in ok.stdout
    index = next(i for i in Reservation._meta.indexes if i.name == "reservation_user_created_id")
    with connection.schema_editor() as editor:
        editor.remove_index(Reservation, index)
    try:
        broken = manage("verify_indexes", env=env)
        assert broken.returncode == 1
        assert "- index reservation_user_created_id (user, -created_at, -id)" in broken.stdout
        assert "missing indexes or constraints: 1" in broken.stderr
    finally:
        with connection.schema_editor() as editor:
            editor.add_index(Reservation, index)
    assert manage("verify_indexes", env=env).returncode == 0
