"""Monthly range partitions of the history tables (PostgreSQL only; SQLite keeps plain tables).

The tables that grow forever — the audit log, webhook deliveries, notifications — are declared
`PARTITION BY RANGE (<timestamp column>)` with one partition per calendar month (UTC), named
`<table>_pYYYYMM`, plus `<table>_default` for rows outside every monthly partition (a safety net: an
insert never fails for want of a partition). Each app registers its tables in `AppConfig.ready()`;
the `partitions_maintain` beat job creates the coming months ahead and retention drops whole months.

See docs/decisions/0016-monthly-partitions-for-history-tables.md for the design and its trade-offs.
"""

# ruff: noqa: S608 — the SQL built here names tables and columns (registered by the apps, quoted); values are parameters.

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger("ipam.partitions")

# DDL on a table is refused while deferred foreign-key checks of rows written earlier in the same
# transaction are pending: run them now (a no-op in the job's own transaction; it matters in a migration
# or a test that wrote rows first).
_CHECK_DEFERRED = "SET CONSTRAINTS ALL IMMEDIATE"
_MONTH_SUFFIX = re.compile(r"_p(\d{4})(\d{2})$")


@dataclass(frozen=True)
class PartitionedTable:
    table: str
    column: str  # the partition key (a timestamp with time zone)


_REGISTRY: dict[str, PartitionedTable] = {}


def register(table: str, column: str) -> None:
    """Declare a history table partitioned by month on `column` (called from AppConfig.ready())."""
    _REGISTRY[table] = PartitionedTable(table, column)


def registered() -> list[PartitionedTable]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


# --- months --------------------------------------------------------------------------------------------


def month_start(moment: dt.datetime | dt.date) -> dt.datetime:
    return dt.datetime(moment.year, moment.month, 1, tzinfo=dt.UTC)


def add_months(month: dt.datetime, count: int) -> dt.datetime:
    index = month.year * 12 + month.month - 1 + count
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def partition_name(table: str, month: dt.datetime) -> str:
    return f"{table}_p{month:%Y%m}"


def default_name(table: str) -> str:
    return f"{table}_default"


# --- catalog -------------------------------------------------------------------------------------------


def is_partitioned(connection: BaseDatabaseWrapper, table: str) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [table])
        return cursor.fetchone() is not None


def partition_key(connection: BaseDatabaseWrapper, table: str) -> list[str]:
    """The partition key columns of `table` ([] when it is not partitioned)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_partitioned_table p CROSS JOIN LATERAL unnest(p.partattrs) AS k(attnum) "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = k.attnum WHERE p.partrelid = to_regclass(%s)",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def monthly_partitions(connection: BaseDatabaseWrapper, table: str) -> dict[dt.datetime, str]:
    """{month: partition name} of the monthly partitions that exist (the default one is not listed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)", [table]
        )
        names = [row[0] for row in cursor.fetchall()]
    months: dict[dt.datetime, str] = {}
    for name in names:
        match = _MONTH_SUFFIX.search(name)
        if match and name == partition_name(table, dt.datetime(int(match[1]), int(match[2]), 1, tzinfo=dt.UTC)):
            months[dt.datetime(int(match[1]), int(match[2]), 1, tzinfo=dt.UTC)] = name
    return dict(sorted(months.items()))


def default_partition_rows(connection: BaseDatabaseWrapper, table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(default_name(table))}")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


# --- creating months ahead -------------------------------------------------------------------------------


def create_month(connection: BaseDatabaseWrapper, spec: PartitionedTable, month: dt.datetime) -> bool:
    """Create the partition of `month` if missing; rows of that month already in the default partition move
    into it (PostgreSQL refuses a new partition whose range the default partition holds rows of)."""
    name = partition_name(spec.table, month)
    if name in monthly_partitions(connection, spec.table).values():
        return False
    qn = connection.ops.quote_name
    lo, hi = month, add_months(month, 1)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '10s'")  # creating a partition locks the parent briefly
        cursor.execute(_CHECK_DEFERRED)
        cursor.execute(f"CREATE TEMPORARY TABLE ipam_moved (LIKE {qn(spec.table)}) ON COMMIT DROP")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {qn(default_name(spec.table))} WHERE {qn(spec.column)} >= %s AND {qn(spec.column)} < %s "
            "RETURNING *) INSERT INTO ipam_moved SELECT * FROM moved",
            [lo, hi],
        )
        cursor.execute(f"CREATE TABLE {qn(name)} PARTITION OF {qn(spec.table)} FOR VALUES FROM (%s) TO (%s)", [lo, hi])
        # Into the new partition itself, as the rows left the default partition itself: statement triggers on the
        # parent (the audit day counts, ipam 0009) see neither half of the move, which changes no count.
        cursor.execute(f"INSERT INTO {qn(name)} SELECT * FROM ipam_moved")
        cursor.execute("DROP TABLE ipam_moved")
    return True


def ensure_months(connection: BaseDatabaseWrapper, spec: PartitionedTable, *, ahead: int, now: dt.datetime | None = None) -> list[str]:
    """Create the partitions of this month and the next `ahead` months; returns the names created."""
    current = month_start(now or dt.datetime.now(dt.UTC))
    return [partition_name(spec.table, m) for m in (add_months(current, i) for i in range(ahead + 1)) if create_month(connection, spec, m)]


def maintain(*, ahead: int, now: dt.datetime | None = None, using: str = DEFAULT_DB_ALIAS) -> dict[str, list[str]]:
    """The `partitions_maintain` job: months ahead for every registered table that is partitioned."""
    connection = connections[using]
    created: dict[str, list[str]] = {}
    for spec in registered():
        if is_partitioned(connection, spec.table):
            created[spec.table] = ensure_months(connection, spec, ahead=ahead, now=now)
    return created


# --- retention ---------------------------------------------------------------------------------------------


@dataclass
class Dropped:
    partitions: list[str]
    rows: int


def drop_expired(table: str, cutoff: dt.datetime, **options: Any) -> Dropped:
    """`drop_months_before` for a registered table; nothing to drop for a table not registered."""
    spec = _REGISTRY.get(table)
    return drop_months_before(spec, cutoff, **options) if spec else Dropped([], 0)


def drop_months_before(
    spec: PartitionedTable,
    cutoff: dt.datetime,
    *,
    keep: str = "",
    before_drop: Callable[[str], None] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> Dropped:
    """Drop every monthly partition that ends at or before `cutoff` (all its rows are past the retention).

    `keep`: an SQL condition on the rows that must survive retention (e.g. unfinished deliveries); a
    partition holding such a row is not dropped (the caller's row-wise DELETE handles it). `before_drop`
    runs first, in the same transaction, with the partition's name (to clear rows referring to it).
    Rows of the boundary month and of the default partition are left to the caller's DELETE.
    """
    connection = connections[using]
    if not is_partitioned(connection, spec.table):
        return Dropped([], 0)
    qn = connection.ops.quote_name
    dropped = Dropped([], 0)
    for month, name in monthly_partitions(connection, spec.table).items():
        if add_months(month, 1) > cutoff:
            break
        with transaction.atomic(using=using), connection.cursor() as cursor:
            # A short wait only: the drop needs an exclusive lock on the parent; the next run retries.
            cursor.execute("SET LOCAL lock_timeout = '10s'")
            cursor.execute(_CHECK_DEFERRED)
            if keep:
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {qn(name)} WHERE {keep})")
                row = cursor.fetchone()
                if row and row[0]:
                    logger.info("Partition %s holds rows to keep; left to the row-wise delete", name)
                    continue
            cursor.execute(f"SELECT count(*) FROM {qn(name)}")
            row = cursor.fetchone()
            rows = int(row[0]) if row else 0
            if before_drop is not None:
                before_drop(name)
            cursor.execute(f"DROP TABLE {qn(name)}")
        dropped.partitions.append(name)
        dropped.rows += rows
        logger.info("Dropped partition %s (%s rows, all older than %s)", name, rows, cutoff.date())
    return dropped


# --- converting a plain table (migrations) -----------------------------------------------------------------


def _definitions(cursor: object, table: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(constraints other than the primary key, indexes other than the primary key's) as (name, SQL)."""
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype <> 'p' ORDER BY conname",
        [table],
    )
    constraints = list(cursor.fetchall())  # type: ignore[attr-defined]
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = to_regclass(%s) AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) ORDER BY i.relname",
        [table],
    )
    indexes = [(name, sql.replace(" ON ONLY ", " ON ")) for name, sql in cursor.fetchall()]  # type: ignore[attr-defined]
    return constraints, indexes


def _rebuild(
    connection: BaseDatabaseWrapper, table: str, create_suffix: str, after_create: Callable[[object, str], None], primary_key: str
) -> None:
    """Copy `table` into a new table `CREATE TABLE … (LIKE table) <create_suffix>`, swap them, restore the
    constraints and indexes under their names; every row is kept."""
    qn = connection.ops.quote_name
    new = f"{table}__new"
    with connection.cursor() as cursor:
        cursor.execute(_CHECK_DEFERRED)
        constraints, indexes = _definitions(cursor, table)
        cursor.execute(f"CREATE TABLE {qn(new)} (LIKE {qn(table)} INCLUDING DEFAULTS INCLUDING STORAGE) {create_suffix}")
        after_create(cursor, new)
        cursor.execute(f"INSERT INTO {qn(new)} SELECT * FROM {qn(table)}")
        cursor.execute(f"DROP TABLE {qn(table)} CASCADE")
        cursor.execute(f"ALTER TABLE {qn(new)} RENAME TO {qn(table)}")
        cursor.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(table + '_pkey')} PRIMARY KEY ({primary_key})")
        for name, definition in constraints:
            cursor.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
        for _name, definition in indexes:
            cursor.execute(definition)


def convert_to_partitioned(connection: BaseDatabaseWrapper, table: str, column: str, *, ahead: int = 3) -> None:
    """Turn the plain table into one partitioned by month on `column` (primary key `(id, column)`), with a
    partition for every month that has rows, this month and `ahead` more, and the default partition."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min({qn(column)}), max({qn(column)}) FROM {qn(table)}")
        row = cursor.fetchone()
    now = month_start(dt.datetime.now(dt.UTC))
    first = min(month_start(row[0]), now) if row and row[0] else now
    last = max(month_start(row[1]), add_months(now, ahead)) if row and row[1] else add_months(now, ahead)

    def partitions(cursor: object, new: str) -> None:
        month = first
        while month <= last:
            name = partition_name(table, month)
            cursor.execute(  # type: ignore[attr-defined]
                f"CREATE TABLE {qn(name)} PARTITION OF {qn(new)} FOR VALUES FROM (%s) TO (%s)", [month, add_months(month, 1)]
            )
            month = add_months(month, 1)
        cursor.execute(f"CREATE TABLE {qn(default_name(table))} PARTITION OF {qn(new)} DEFAULT")  # type: ignore[attr-defined]

    _rebuild(connection, table, f"PARTITION BY RANGE ({qn(column)})", partitions, f"id, {qn(column)}")


def convert_to_plain(connection: BaseDatabaseWrapper, table: str) -> None:
    """The reverse: one plain table with primary key `id` again, every row kept."""
    _rebuild(connection, table, "", lambda cursor, new: None, "id")
