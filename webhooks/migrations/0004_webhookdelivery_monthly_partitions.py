"""Webhook deliveries become a table partitioned by month on `created_at` (PostgreSQL only; ADR 0016).

Every row is copied; the database primary key becomes (id, created_at) (PostgreSQL requires the partition
key in it; the model keeps `id`, a UUID). A foreign key must reference a unique key, and `id` alone no
longer is one, so the attempt log's foreign key to deliveries is dropped in the database: the ORM keeps
the relation (joins, cascading deletes done by Django), and retention removes a month's attempts with its
deliveries (`webhooks.services.delivery_logs_prune`). The model state does not change; SQLite keeps
plain tables. Reversible (plain table and the foreign key again, rows kept).
"""

from django.conf import settings
from django.db import migrations

from foundation import partitions

TABLE, COLUMN = "webhooks_webhookdelivery", "created_at"
ATTEMPTS = "webhooks_webhookdeliveryattempt"
ATTEMPTS_FK = "webhooks_webhookdeliveryattempt_delivery_id_fk"


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or partitions.is_partitioned(connection, TABLE):
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) AND confrelid = to_regclass(%s) AND contype = 'f'",
            [ATTEMPTS, TABLE],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {ATTEMPTS} DROP CONSTRAINT {connection.ops.quote_name(name)}")
    partitions.convert_to_partitioned(connection, TABLE, COLUMN, ahead=settings.IPAM_PARTITIONS_AHEAD_MONTHS)


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if not partitions.is_partitioned(connection, TABLE):
        return
    partitions.convert_to_plain(connection, TABLE)
    with connection.cursor() as cursor:
        # Attempts whose delivery retention already dropped with its month cannot be kept under the constraint.
        cursor.execute(f"DELETE FROM {ATTEMPTS} a WHERE NOT EXISTS (SELECT 1 FROM {TABLE} d WHERE d.id = a.delivery_id)")
        cursor.execute(
            f"ALTER TABLE {ATTEMPTS} ADD CONSTRAINT {ATTEMPTS_FK} FOREIGN KEY (delivery_id) REFERENCES {TABLE} (id) "
            "DEFERRABLE INITIALLY DEFERRED"
        )


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0003_legacy_ids_for_webhooks")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
