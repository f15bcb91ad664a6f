"""PostgreSQL timestamps through psycopg's C loader (foundation/pgtime.py, issue 19): the same values as
Django's own loader, on the connections where Django and the session agree on UTC, and nowhere else."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import get_adapters_template

from foundation import pgtime
from ipam.models import Host
from tests.factories import make_host, make_region

TIMESTAMPS = [
    "2025-12-03 12:16:26.456118+00",
    "2025-12-03 12:16:26+00",  # no fraction: isoformat() then writes none either
    "2025-12-03 12:16:26.1+00",
    "2025-03-30 01:30:00.000001+02",  # an offset in the input: the same instant, in UTC
    "2024-02-29 23:59:59.999999-09:30",
    "1970-01-01 00:00:00+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


def _load(loader: Any) -> list[Any]:
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", loader)
        cursor.execute("SELECT unnest(%s::timestamptz[])", [TIMESTAMPS])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_c_loader_reads_what_djangos_loader_reads() -> None:
    connection.ensure_connection()
    assert pgtime.applies(connection)
    oid = connection.connection.adapters.types["timestamptz"].oid
    assert connection.connection.adapters.get_loader(oid, 0) is pgtime.UtcTimestamptzLoader  # installed on connect
    djangos = get_adapters_template(True, connection.timezone).get_loader(oid, 0)
    assert djangos is not pgtime.UtcTimestamptzLoader
    ours, reference = _load(pgtime.UtcTimestamptzLoader), _load(djangos)
    assert ours == reference and len(ours) == len(TIMESTAMPS)
    assert all(value.tzinfo is datetime.UTC for value in ours)
    assert [value.isoformat() for value in ours] == [value.isoformat() for value in reference]


@pytest.mark.postgres
@pytest.mark.django_db
def test_model_rows_carry_utc_datetimes(alice: Any) -> None:
    host = make_host(alice, make_region(alice))
    loaded = Host.objects.get(pk=host.pk)
    assert loaded.created_at == host.created_at and loaded.created_at.tzinfo is datetime.UTC


class _Session:
    def __init__(self, zone: str) -> None:
        self.info = SimpleNamespace(parameter_status=lambda name: zone if name == "TimeZone" else None)


@pytest.mark.parametrize(
    ("vendor", "django_zone", "session_zone", "expected"),
    [
        ("postgresql", datetime.UTC, "UTC", True),
        ("postgresql", datetime.UTC, "Europe/Paris", False),  # the C loader would answer in the session's zone
        ("postgresql", ZoneInfo("Asia/Kolkata"), "Asia/Kolkata", False),  # a per-database TIME_ZONE: Django's
        ("postgresql", None, "UTC", False),  # USE_TZ = False: naive datetimes, Django's loader
        ("sqlite", datetime.UTC, "UTC", False),
    ],
)
def test_it_applies_only_where_both_sides_agree_on_utc(vendor: str, django_zone: Any, session_zone: str, expected: bool) -> None:
    wrapper = SimpleNamespace(vendor=vendor, timezone=django_zone, connection=_Session(session_zone))
    assert pgtime.applies(wrapper) is expected
