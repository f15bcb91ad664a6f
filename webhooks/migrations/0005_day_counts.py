"""Deliveries per (webhook, UTC day), kept by PostgreSQL triggers (issue 19: a webhook's delivery page numbers
and total without COUNT/OFFSET over its rows; foundation/day_counts.py).

The spec is spelled out here rather than imported from the model, so this migration keeps doing what it did
when the model changes. Forward: the triggers, then the existing rows counted once, with the delivery table
locked against writes in between. Backward: the triggers are dropped, then the table. SQLite: the table only.
"""

from django.db import migrations, models

from foundation.day_counts import DayCounts

DAYS = DayCounts(table="webhooks_deliverydaycount", source="webhooks_webhookdelivery", owner="webhook_id", time="created_at")


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0004_webhookdelivery_monthly_partitions")]

    operations = [
        migrations.CreateModel(
            name="DeliveryDayCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("webhook_id", models.UUIDField()),
                ("day", models.DateTimeField()),
                ("n", models.IntegerField()),
            ],
            options={"indexes": [models.Index(fields=["webhook_id", "day"], name="deliverydaycount_webhook_day")]},
        ),
        migrations.RunPython(lambda apps, editor: DAYS.install(editor), lambda apps, editor: DAYS.uninstall(editor), elidable=False),
    ]
