"""The one statement that starts a host allocation: lock the region and ask everything the common case needs.

Allocating a host must know, besides the locked region row: is one of the new hostnames taken in the
region, does the user hold an active host reservation in it, and has the user any active webhook or
notification rule (otherwise publishing and rule evaluation are skipped). Asked as four ORM `Exists`
annotations, building and compiling that query cost about 2 ms of Python per allocation — a fifth of
the request. This module writes the same statement once per (backend, number of names) from the models'
metadata, so each call only binds parameters:

    SELECT <region columns>,
           EXISTS(<host with one of the names in the region>)           AS hostname_taken,
           EXISTS(<active, unexpired host reservation in 10.X.Y.0/24>)  AS has_host_reservations,
           EXISTS(<active webhook of the user>)                         AS has_webhooks,
           EXISTS(<active notification rule of the user>)               AS has_rules
    FROM <region> WHERE id = %s AND user_id = %s  FOR UPDATE [OF <region>]

It is plain SQL that PostgreSQL and SQLite both run (SQLite has no `FOR UPDATE`, and needs none: it
serialises writers); the locking clause comes from the backend's own operations, exactly as Django
would add it. The row is turned into a `Region` by `Model.objects.raw`, which applies the fields'
database converters; the country comes from the cached country table. The tests run on both backends
and compare with the ORM's answers (`tests/perf/test_allocation_statements.py`).
"""

from __future__ import annotations

import functools
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils import timezone

from ipam import cache, exceptions
from ipam.models import Host, Region, Reservation, ReservationStatus
from notifications.models import NotificationRule
from webhooks.models import Webhook

PROBES = ("hostname_taken", "has_host_reservations", "has_webhooks", "has_rules")


def _column(model: Any, field: str) -> str:
    return str(model._meta.get_field(field).column)


@functools.lru_cache(maxsize=256)
def _statement(alias: str, vendor: str, names: int) -> str:
    connection = connections[alias]
    qn = connection.ops.quote_name

    def table(model: Any) -> str:
        return qn(model._meta.db_table)

    def col(prefix: str, model: Any, field: str) -> str:
        return f"{prefix}.{qn(_column(model, field))}"

    region_columns = ", ".join(f"r.{qn(field.column)}" for field in Region._meta.concrete_fields)
    placeholders = ", ".join(["%s"] * names)
    locking = ""
    if connection.features.has_select_for_update_of:
        locking = " " + connection.ops.for_update_sql(of=("r",))
    elif connection.features.has_select_for_update:
        locking = " " + connection.ops.for_update_sql()
    # Identifiers come from the models' metadata (quoted by the backend); every value is a bound parameter.
    return (
        f"SELECT {region_columns}, "  # noqa: S608
        f"EXISTS(SELECT 1 FROM {table(Host)} h WHERE {col('h', Host, 'region')} = r.{qn(Region._meta.pk.column)} "
        f"AND {col('h', Host, 'hostname')} IN ({placeholders})) AS hostname_taken, "
        f"EXISTS(SELECT 1 FROM {table(Reservation)} v WHERE {col('v', Reservation, 'user')} = r.{qn(_column(Region, 'user'))} "
        f"AND {col('v', Reservation, 'resource_type')} = %s AND {col('v', Reservation, 'status')} = %s "
        f"AND {col('v', Reservation, 'x_octet')} = r.{qn(_column(Region, 'x_octet'))} "
        f"AND {col('v', Reservation, 'y_octet')} = r.{qn(_column(Region, 'y_octet'))} "
        f"AND ({col('v', Reservation, 'expires_at')} IS NULL OR {col('v', Reservation, 'expires_at')} > %s)) AS has_host_reservations, "
        f"EXISTS(SELECT 1 FROM {table(Webhook)} w WHERE {col('w', Webhook, 'user')} = r.{qn(_column(Region, 'user'))} "
        f"AND {col('w', Webhook, 'is_active')} = %s) AS has_webhooks, "
        f"EXISTS(SELECT 1 FROM {table(NotificationRule)} n WHERE {col('n', NotificationRule, 'user')} = r.{qn(_column(Region, 'user'))} "
        f"AND {col('n', NotificationRule, 'is_active')} = %s) AS has_rules "
        f"FROM {table(Region)} r WHERE r.{qn(Region._meta.pk.column)} = %s AND r.{qn(_column(Region, 'user'))} = %s{locking}"
    )


def lock_region_for_hosts(user: Any, region_id: Any, hostnames: list[str]) -> Region:
    """The user's region, locked FOR UPDATE until commit (the caller's transaction), with the four answers
    of `PROBES` as booleans on it and its country attached; NotFound when the user has no such region."""
    alias = router.db_for_write(Region)
    connection = connections[alias]
    try:
        region_pk = Region._meta.pk.get_db_prep_value(region_id, connection)
    except ValidationError:
        raise exceptions.NotFound("Region not found.", code="region_not_found") from None
    now = Reservation._meta.get_field("expires_at").get_db_prep_value(timezone.now(), connection)
    names = list(hostnames) or [""]
    params = [*names, Reservation.ResourceType.HOST.value, ReservationStatus.ACTIVE.value, now, True, True, region_pk, user.pk]
    rows = list(Region.objects.db_manager(alias).raw(_statement(alias, connection.vendor, len(names)), params))
    if not rows:
        raise exceptions.NotFound("Region not found.", code="region_not_found")
    region = rows[0]
    for probe in PROBES:
        setattr(region, probe, bool(getattr(region, probe)))
    country = next((c for c in cache.countries() if c.pk == region.country_id), None)
    if country is not None:
        region.country = country
    return region
