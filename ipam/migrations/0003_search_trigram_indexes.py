"""PostgreSQL only: trigram indexes for the free-text `q` of GET /ipam/search.

`q` matches region names and descriptions, hostnames, applications, purposes and notes by substring,
case-insensitively. Django writes that as `UPPER("col"::text) LIKE UPPER('%q%')`, which no B-tree can
serve: without these indexes PostgreSQL reads every row of the user (≈ 0.4 s at 1 M hosts). A GIN index
with `gin_trgm_ops` on exactly that expression lets the planner combine one bitmap scan per column.

The `pg_trgm` extension is trusted (PostgreSQL 13+: a database owner may create it). Where it cannot be
created, the migration logs a warning and creates nothing: search stays correct, only slower
(`docs/operations.md`). SQLite and other backends: nothing to do.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import migrations, transaction

logger = logging.getLogger("ipam.migrations")

# (index name, table, column): the columns `ipam.selectors.search` matches `q` against.
TRIGRAM_INDEXES = [
    ("ipam_region_name_trgm", "ipam_region", "region_name"),
    ("ipam_region_descr_trgm", "ipam_region", "description"),
    ("ipam_host_hostname_trgm", "ipam_host", "hostname"),
    ("ipam_host_application_trgm", "ipam_host", "application"),
    ("ipam_host_purpose_trgm", "ipam_host", "purpose"),
    ("ipam_host_notes_trgm", "ipam_host", "notes"),
]


def create(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias):  # a savepoint: a refusal must not abort the migration
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 (any refusal: no privilege, extension not installed)
        logger.warning("pg_trgm is not available (%s): search by text works without its indexes, only slower", exc)
        return
    qn = schema_editor.quote_name
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {qn(name)} ON {qn(table)} USING gin ((UPPER({qn(column)}::text)) gin_trgm_ops)")


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("ipam", "0002_seed_countries_and_groups")]

    operations = [migrations.RunPython(create, drop)]
