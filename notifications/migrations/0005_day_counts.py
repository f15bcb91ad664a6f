"""Notifications per (user, UTC day), with the unread ones, kept by PostgreSQL triggers (issue 19: inbox page
numbers and counts without COUNT/OFFSET over the user's rows; foundation/day_counts.py).

The spec is spelled out here rather than imported from the model, so this migration keeps doing what it did
when the model changes. Forward: the triggers, then the existing rows counted once, with the notification
table locked against writes in between. Backward: the triggers are dropped, then the table. SQLite: the table only.
"""

from django.db import migrations, models

from foundation.day_counts import DayCounts

DAYS = DayCounts(
    table="notifications_notificationdaycount",
    source="notifications_notification",
    owner="user_id",
    time="created_at",
    sums=(("unread", 'NOT "is_read"'),),
)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0004_notification_monthly_partitions")]

    operations = [
        migrations.CreateModel(
            name="NotificationDayCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.IntegerField()),
                ("day", models.DateTimeField()),
                ("n", models.IntegerField()),
                ("unread", models.IntegerField()),
            ],
            options={"indexes": [models.Index(fields=["user_id", "day"], name="notificationdaycount_user_day")]},
        ),
        migrations.RunPython(lambda apps, editor: DAYS.install(editor), lambda apps, editor: DAYS.uninstall(editor), elidable=False),
    ]
