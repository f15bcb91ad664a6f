"""The two statements that start a host allocation: lock the region, then ask everything the common case needs.

Allocating a host must know, besides the locked region row: is one of the new hostnames taken in the
region, does the user hold an active host reservation in it, and has the user any active webhook or
notification rule (otherwise publishing and rule evaluation are skipped). Asked as four ORM `Exists`
annotations, building and compiling that query cost about 2 ms of Python per allocation — a fifth of
the request. This module writes the same statements once per (backend, number of names) from the models'
metadata, so each call only binds parameters:

    SELECT <region columns> FROM <region> r WHERE id = %s AND user_id = %s  FOR UPDATE [OF r]   -- 1: the lock
    SELECT EXISTS(<host with one of the names in the region>)           AS hostname_taken,       -- 2: the probes
           EXISTS(<active, unexpired host reservation in 10.X.Y.0/24>)  AS has_host_reservations,
           EXISTS(<active webhook of the user>)                         AS has_webhooks,
           EXISTS(<active notification rule of the user>)               AS has_rules,
           <the region's country's columns> FROM <country> WHERE id = <the region's country>

Two statements, not one, on purpose (issue 14, docs/reliability.md "Hardening round 2"): under READ
COMMITTED a statement reads the snapshot taken when it *started*. When the lock statement carried the
probes, a call that blocked on `FOR UPDATE` got the region row's newest version but answered its probes
from before it waited — blind to the reservation or hostname the lock holder had just committed. The
probe statement starts after the lock is held, so it sees every write that was made under the lock.
Whatever decides an allocation is read after the lock is held.

Plain SQL that PostgreSQL and SQLite both run (SQLite has no `FOR UPDATE`, and needs none: it
serialises writers); the locking clause comes from the backend's own operations, exactly as Django
would add it. The row is turned into a `Region` by `foundation.rows.instance_from_row`, which applies the
fields' database converters as the ORM does (without `raw()`'s per-query machinery); the probe statement
also reads the region's country row (for the audit row and the response; it decides nothing), which saves
the country cache's round trip. The tests run on both backends
and compare with the ORM's answers (`tests/perf/test_allocation_statements.py`).
"""

from __future__ import annotations

import functools
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils import timezone

from foundation.compiled import prepared_cursor
from foundation.rows import instance_from_row
from ipam import exceptions
from ipam.models import AllocationCursor, Country, Host, Region, Reservation, ReservationStatus
from notifications.models import NotificationRule
from webhooks.models import Webhook

PROBES = ("hostname_taken", "has_host_reservations", "has_webhooks", "has_rules")


def _column(model: Any, field: str) -> str:
    return str(model._meta.get_field(field).column)


@functools.lru_cache(maxsize=16)
def _lock_statement(alias: str, vendor: str) -> str:
    connection = connections[alias]
    qn = connection.ops.quote_name
    region_columns = ", ".join(f"r.{qn(field.column)}" for field in Region._meta.concrete_fields)
    locking = ""
    if connection.features.has_select_for_update_of:
        locking = " " + connection.ops.for_update_sql(of=("r",))
    elif connection.features.has_select_for_update:
        locking = " " + connection.ops.for_update_sql()
    # Identifiers come from the models' metadata (quoted by the backend); every value is a bound parameter.
    return (
        f"SELECT {region_columns} FROM {qn(Region._meta.db_table)} r "  # noqa: S608
        f"WHERE r.{qn(Region._meta.pk.column)} = %s AND r.{qn(_column(Region, 'user'))} = %s{locking}"
    )


@functools.lru_cache(maxsize=256)
def _probe_statement(alias: str, vendor: str, names: int) -> str:
    qn = connections[alias].ops.quote_name

    def table(model: Any) -> str:
        return qn(model._meta.db_table)

    def col(prefix: str, model: Any, field: str) -> str:
        return f"{prefix}.{qn(_column(model, field))}"

    placeholders = ", ".join(["%s"] * names)
    country_columns = "".join(f", c.{qn(field.column)}" for field in Country._meta.concrete_fields)
    # Identifiers come from the models' metadata (quoted by the backend); every value is a bound parameter.
    return (
        f"SELECT EXISTS(SELECT 1 FROM {table(Host)} h WHERE {col('h', Host, 'region')} = %s "  # noqa: S608
        f"AND {col('h', Host, 'hostname')} IN ({placeholders})), "
        f"EXISTS(SELECT 1 FROM {table(Reservation)} v WHERE {col('v', Reservation, 'user')} = %s "
        f"AND {col('v', Reservation, 'resource_type')} = %s AND {col('v', Reservation, 'status')} = %s "
        f"AND {col('v', Reservation, 'x_octet')} = %s AND {col('v', Reservation, 'y_octet')} = %s "
        f"AND ({col('v', Reservation, 'expires_at')} IS NULL OR {col('v', Reservation, 'expires_at')} > %s)), "
        f"EXISTS(SELECT 1 FROM {table(Webhook)} w WHERE {col('w', Webhook, 'user')} = %s AND {col('w', Webhook, 'is_active')} = %s), "
        f"EXISTS(SELECT 1 FROM {table(NotificationRule)} n WHERE {col('n', NotificationRule, 'user')} = %s "
        f"AND {col('n', NotificationRule, 'is_active')} = %s)"
        f"{country_columns} FROM {table(Country)} c WHERE c.{qn(Country._meta.pk.column)} = %s"
    )


def lock_region_for_hosts(user: Any, region_id: Any, hostnames: list[str]) -> Region:
    """The user's region, locked FOR UPDATE until commit (the caller's transaction), with the four answers
    of `PROBES` as booleans on it — read after the lock is held — and its country attached; NotFound when
    the user has no such region."""
    alias = router.db_for_write(Region)
    connection = connections[alias]
    try:
        region_pk = Region._meta.pk.get_db_prep_value(region_id, connection)
    except ValidationError:
        raise exceptions.NotFound("Region not found.", code="region_not_found") from None
    with prepared_cursor(alias) as cursor:
        cursor.execute(_lock_statement(alias, connection.vendor), [region_pk, user.pk])
        row = cursor.fetchone()
    if row is None:
        raise exceptions.NotFound("Region not found.", code="region_not_found")
    region = instance_from_row(Region, alias, row)
    # A new statement, so a new snapshot: it sees what every earlier holder of the lock committed.
    now = Reservation._meta.get_field("expires_at").get_db_prep_value(timezone.now(), connection)
    names = list(hostnames) or [""]
    params = [
        region_pk,
        *names,
        user.pk,
        Reservation.ResourceType.HOST.value,
        ReservationStatus.ACTIVE.value,
        region.x_octet,
        region.y_octet,
        now,
        user.pk,
        True,
        user.pk,
        True,
        region.country_id,
    ]
    with prepared_cursor(alias) as cursor:
        cursor.execute(_probe_statement(alias, connection.vendor, len(names)), params)
        answers = cursor.fetchone()
    # One row: the region's country exists (a protected foreign key).
    for probe, answer in zip(PROBES, answers[: len(PROBES)], strict=True):
        setattr(region, probe, bool(answer))
    region.country = instance_from_row(Country, alias, answers[len(PROBES) :])  # every concrete column, in order
    return region


# --- Region allocation: the same idea for the (user, country) cursor lock ---------------------------------
REGION_PROBES = ("region_name_taken", "has_region_reservations", "has_webhooks", "has_rules")


@functools.lru_cache(maxsize=16)
def _cursor_lock_statement(alias: str, vendor: str) -> str:
    connection = connections[alias]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(field.column) for field in AllocationCursor._meta.concrete_fields)
    locking = " " + connection.ops.for_update_sql() if connection.features.has_select_for_update else ""
    # Identifiers come from the model's metadata (quoted by the backend); every value is a bound parameter.
    return (
        f"SELECT {columns} FROM {qn(AllocationCursor._meta.db_table)} "  # noqa: S608
        f"WHERE {qn(_column(AllocationCursor, 'user'))} = %s AND {qn(_column(AllocationCursor, 'country'))} = %s{locking}"
    )


_CURSOR_FIELDS = [field.attname for field in AllocationCursor._meta.concrete_fields]


def lock_region_cursor(user: Any, country: Any) -> AllocationCursor | None:
    """The (user, country) allocation cursor locked FOR UPDATE until commit (the caller's transaction), or None
    when the user has no cursor in the country yet (then `allocation.lock_cursor` creates and locks it).

    The statement `allocation.lock_cursor` sends through the ORM's `get_or_create`, written once per backend:
    compiling the ORM query cost more Python than the lock itself. The columns come back as the ORM reads them
    (integers and bytes: no field of the cursor has a database converter; the tests compare with the ORM)."""
    alias = router.db_for_write(AllocationCursor)
    connection = connections[alias]
    with prepared_cursor(alias) as cursor:
        cursor.execute(_cursor_lock_statement(alias, connection.vendor), [user.pk, country.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    return AllocationCursor.from_db(alias, _CURSOR_FIELDS, row)


@functools.lru_cache(maxsize=16)
def _region_probe_statement(alias: str, vendor: str) -> str:
    qn = connections[alias].ops.quote_name

    def table(model: Any) -> str:
        return qn(model._meta.db_table)

    def col(prefix: str, model: Any, field: str) -> str:
        return f"{prefix}.{qn(_column(model, field))}"

    # UPPER(a) = UPPER(b) is what `region_name__iexact` compiles to on PostgreSQL; on SQLite (ASCII case folding
    # in both UPPER and LIKE) it matches the same rows as Django's escaped `LIKE`.
    # Identifiers come from the models' metadata (quoted by the backend); every value is a bound parameter.
    return (
        f"SELECT EXISTS(SELECT 1 FROM {table(Region)} g WHERE {col('g', Region, 'user')} = %s "  # noqa: S608
        f"AND {col('g', Region, 'country')} = %s AND UPPER({col('g', Region, 'region_name')}) = UPPER(%s)), "
        f"EXISTS(SELECT 1 FROM {table(Reservation)} v WHERE {col('v', Reservation, 'user')} = %s "
        f"AND {col('v', Reservation, 'resource_type')} = %s AND {col('v', Reservation, 'status')} = %s "
        f"AND {col('v', Reservation, 'x_octet')} >= %s AND {col('v', Reservation, 'x_octet')} <= %s "
        f"AND ({col('v', Reservation, 'expires_at')} IS NULL OR {col('v', Reservation, 'expires_at')} > %s)), "
        f"EXISTS(SELECT 1 FROM {table(Webhook)} w WHERE {col('w', Webhook, 'user')} = %s AND {col('w', Webhook, 'is_active')} = %s), "
        f"EXISTS(SELECT 1 FROM {table(NotificationRule)} n WHERE {col('n', NotificationRule, 'user')} = %s "
        f"AND {col('n', NotificationRule, 'is_active')} = %s)"
    )


def probe_region_allocation(user: Any, country: Any, region_name: str) -> dict[str, bool]:
    """After the (user, country) cursor is locked: one statement answers what region allocation's common case
    asks — is the name taken in the country (case-insensitive), does the user hold an active, unexpired region
    reservation in the country's X range, has the user an active webhook, an active notification rule.

    It must run after the lock (a new statement, a new snapshot: see the module docstring). A `True` only says
    "ask the exact question": the caller then runs the query it always ran; a `False` skips it."""
    alias = router.db_for_write(Region)
    connection = connections[alias]
    with prepared_cursor(alias) as cursor:
        cursor.execute(_region_probe_statement(alias, connection.vendor), region_probe_params(user, country, region_name, connection))
        answers = cursor.fetchone()
    return {probe: bool(answer) for probe, answer in zip(REGION_PROBES, answers, strict=True)}


def region_probe_statement(alias: str) -> str:
    """The probe statement of `probe_region_allocation` (its four answers in `REGION_PROBES` order), for a caller
    that runs it inside a larger statement after the lock (`ipam.services.regions` on PostgreSQL)."""
    return _region_probe_statement(alias, connections[alias].vendor)


def region_probe_params(user: Any, country: Any, region_name: str, connection: Any) -> list[Any]:
    """The parameters of `region_probe_statement`, in order."""
    now = Reservation._meta.get_field("expires_at").get_db_prep_value(timezone.now(), connection)
    return [
        user.pk,
        country.pk,
        region_name,
        user.pk,
        Reservation.ResourceType.REGION.value,
        ReservationStatus.ACTIVE.value,
        country.x_start,
        country.x_end,
        now,
        user.pk,
        True,
        user.pk,
        True,
    ]
