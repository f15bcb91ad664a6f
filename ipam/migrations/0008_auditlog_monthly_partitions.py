"""The audit log becomes a table partitioned by month on `timestamp` (PostgreSQL only; ADR 0016).

Every row is copied into the new table; the primary key becomes (id, timestamp) in the database because
PostgreSQL requires the partition key in it (the model keeps `id` as its primary key: ids are UUIDs). The
model state does not change. SQLite keeps the plain table. Reversible (back to a plain table, rows kept).
"""

from django.conf import settings
from django.db import migrations

from foundation import partitions

TABLE, COLUMN = "ipam_auditlog", "timestamp"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql" and not partitions.is_partitioned(schema_editor.connection, TABLE):
        partitions.convert_to_partitioned(schema_editor.connection, TABLE, COLUMN, ahead=settings.IPAM_PARTITIONS_AHEAD_MONTHS)


def backwards(apps, schema_editor):
    if partitions.is_partitioned(schema_editor.connection, TABLE):
        partitions.convert_to_plain(schema_editor.connection, TABLE)


class Migration(migrations.Migration):
    dependencies = [("ipam", "0007_import_jobs")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
