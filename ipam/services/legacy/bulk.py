"""First import into empty tables (PostgreSQL): secondary indexes dropped for the load and rebuilt once.

Keeping a dozen B-tree and trigram indexes up to date row by row costs far more than building them once
from sorted data. `deferred_indexes` is used only when every bulk table is empty, and only around an outer
transaction that holds every user's savepoint: the indexes are dropped inside that transaction and recreated
from their own definitions (`pg_get_indexdef`) before it commits, so a failure anywhere rolls back the
drop as well and leaves the schema exactly as it was. Primary keys, unique indexes and the indexes behind
constraints are kept, so every database constraint is still checked row by row, per user.
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
    return connection.vendor == "postgresql" and not any(model.objects.exists() for model in BULK_MODELS)


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


@contextmanager
def deferred_indexes() -> Iterator[list[str]]:
    """Drop the bulk tables' secondary indexes; recreate them on a clean exit. Must run inside a transaction."""
    assert connection.in_atomic_block, "deferred_indexes needs the caller's transaction"
    indexes = _secondary_indexes([model._meta.db_table for model in BULK_MODELS])
    with connection.cursor() as cursor:
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield [name for name, _ in indexes]
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        for _, definition in indexes:
            cursor.execute(definition)
    logger.info("rebuilt %d secondary indexes", len(indexes))
