"""First import into empty tables (PostgreSQL): secondary indexes dropped for the load and rebuilt once.

Keeping a dozen B-tree and trigram indexes up to date row by row costs far more than building them once
from sorted data. `deferred_indexes` is used only when every bulk table is empty, and only around an outer
transaction that holds every user's savepoint: the indexes are dropped inside that transaction and recreated
from their own definitions (`pg_get_indexdef`) before it commits, so a failure anywhere rolls back the
drop as well and leaves the schema exactly as it was. Primary keys, unique indexes and the indexes behind
constraints are kept, so uniqueness is still checked row by row, per user. The foreign keys declared on
these tables are dropped too and added back at the end, which validates every row in one pass per key: the
importer only writes references it has just created (the user, the user's regions, a country), so a
violation there is a bug, and it rolls back the whole first import rather than one user.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, models

from ipam.models import AuditLog, Comment, Host, Region

logger = logging.getLogger("ipam.import_original")

BULK_MODELS: tuple[type[models.Model], ...] = (Region, Host, Comment, AuditLog)
MAINTENANCE_WORK_MEM = "256MB"  # for the index builds of this transaction only (SET LOCAL)


def bulk_tables_empty() -> bool:
    return connection.vendor == "postgresql" and not any(model._default_manager.exists() for model in BULK_MODELS)


def _secondary_indexes(tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of each table's plain secondary indexes: not unique, not primary,
    not behind a constraint, defined on the table itself (a partitioned table's index, not its partitions')."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(x.indexrelid)
            FROM pg_index x
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = current_schema() AND t.relname = ANY(%s)
              AND NOT x.indisunique AND NOT x.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
              AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = x.indexrelid)
            ORDER BY t.relname, i.relname
            """,
            [tables],
        )
        return [(name, definition.replace(" ON ONLY ", " ON ", 1)) for name, definition in cursor.fetchall()]


def _foreign_keys(tables: list[str]) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the foreign keys declared on the tables (a partitioned table's own, not
    the copies on its partitions)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            JOIN pg_class t ON t.oid = c.conrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = current_schema() AND t.relname = ANY(%s) AND c.contype = 'f' AND c.conparentid = 0
            ORDER BY t.relname, c.conname
            """,
            [tables],
        )
        return list(cursor.fetchall())


def check_deferred() -> None:
    """Run the foreign-key checks deferred so far in this transaction now (they raise here, not at commit).
    Every deferrable constraint of the schema is INITIALLY DEFERRED (Django's foreign keys), so switching
    back to DEFERRED restores the transaction's mode."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@contextmanager
def deferred_indexes() -> Iterator[list[str]]:
    """Drop the bulk tables' secondary indexes and foreign keys; recreate them on a clean exit (the foreign
    keys validated then, in one pass per key instead of one check per row). Must run inside a transaction."""
    assert connection.in_atomic_block, "deferred_indexes needs the caller's transaction"
    tables = [model._meta.db_table for model in BULK_MODELS]
    indexes = _secondary_indexes(tables)
    keys = _foreign_keys(tables)
    quote = connection.ops.quote_name
    check_deferred()  # PostgreSQL refuses ALTER TABLE on a table with pending trigger events
    with connection.cursor() as cursor:
        for table, name, _ in keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
    yield [name for name, _ in indexes] + [name for _, name, _ in keys]
    check_deferred()
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
    logger.info("rebuilt %d secondary indexes and %d foreign keys", len(indexes), len(keys))
