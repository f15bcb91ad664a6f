"""IdempotencyRecord moves to the platform app (label `ops`): state only, the table `ipam_idempotencyrecord`
and its rows stay where they are (ops 0002 takes the model over with `db_table` set to it)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ipam", "0003_search_trigram_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyRecord")],
            database_operations=[],
        ),
    ]
