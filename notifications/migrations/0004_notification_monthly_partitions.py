"""Notifications become a table partitioned by month on `created_at` (PostgreSQL only; ADR 0016).

Every row is copied; the database primary key becomes (id, created_at) (PostgreSQL requires the partition
key in it; the model keeps `id`, a UUID). The model state does not change; SQLite keeps the plain table.
Reversible (back to a plain table, rows kept).
"""

from django.conf import settings
from django.db import migrations

from foundation import partitions

TABLE, COLUMN = "notifications_notification", "created_at"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql" and not partitions.is_partitioned(schema_editor.connection, TABLE):
        partitions.convert_to_partitioned(schema_editor.connection, TABLE, COLUMN, ahead=settings.IPAM_PARTITIONS_AHEAD_MONTHS)


def backwards(apps, schema_editor):
    if partitions.is_partitioned(schema_editor.connection, TABLE):
        partitions.convert_to_plain(schema_editor.connection, TABLE)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_legacy_ids_for_notifications_and_rules")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
