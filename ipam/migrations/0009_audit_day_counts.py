"""Audit rows per (user, UTC day), kept by PostgreSQL triggers (issue 19: deep audit pages without COUNT/OFFSET).

Three statement-level triggers on the audit table append delta rows to `ipam_auditdaycount` from the
statement's transition table — every writer (ORM, bulk_create, COPY, the legacy import) is covered, in
the writer's own transaction, and no writer ever waits on another (insert-only). The existing rows are
counted once here. Dropped partitions fire no trigger: `audit_prune` removes the counts of the days it
emptied. SQLite: the table exists but stays empty, and the audit list keeps COUNT/OFFSET there.
"""

from django.db import migrations, models

FUNCTIONS = """
CREATE OR REPLACE FUNCTION ipam_auditdaycount_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ipam_auditdaycount (user_id, day, n)
    SELECT user_id, date_trunc('day', "timestamp", 'UTC'), count(*) FROM audit_added
    WHERE user_id IS NOT NULL GROUP BY 1, 2;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION ipam_auditdaycount_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ipam_auditdaycount (user_id, day, n)
    SELECT user_id, date_trunc('day', "timestamp", 'UTC'), -count(*) FROM audit_removed
    WHERE user_id IS NOT NULL GROUP BY 1, 2;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION ipam_auditdaycount_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ipam_auditdaycount (user_id, day, n)
    SELECT user_id, day, sum(n) FROM (
        SELECT user_id, date_trunc('day', "timestamp", 'UTC') AS day, -1 AS n FROM audit_removed WHERE user_id IS NOT NULL
        UNION ALL
        SELECT user_id, date_trunc('day', "timestamp", 'UTC'), 1 FROM audit_added WHERE user_id IS NOT NULL
    ) moved GROUP BY 1, 2 HAVING sum(n) <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER ipam_auditdaycount_insert AFTER INSERT ON ipam_auditlog
    REFERENCING NEW TABLE AS audit_added FOR EACH STATEMENT EXECUTE FUNCTION ipam_auditdaycount_added();
CREATE TRIGGER ipam_auditdaycount_delete AFTER DELETE ON ipam_auditlog
    REFERENCING OLD TABLE AS audit_removed FOR EACH STATEMENT EXECUTE FUNCTION ipam_auditdaycount_removed();
CREATE TRIGGER ipam_auditdaycount_update AFTER UPDATE ON ipam_auditlog
    REFERENCING OLD TABLE AS audit_removed NEW TABLE AS audit_added FOR EACH STATEMENT EXECUTE FUNCTION ipam_auditdaycount_changed();
"""

BACKFILL = """
INSERT INTO ipam_auditdaycount (user_id, day, n)
SELECT user_id, date_trunc('day', "timestamp", 'UTC'), count(*) FROM ipam_auditlog WHERE user_id IS NOT NULL GROUP BY 1, 2;
"""

DROP = """
DROP TRIGGER IF EXISTS ipam_auditdaycount_insert ON ipam_auditlog;
DROP TRIGGER IF EXISTS ipam_auditdaycount_delete ON ipam_auditlog;
DROP TRIGGER IF EXISTS ipam_auditdaycount_update ON ipam_auditlog;
DROP FUNCTION IF EXISTS ipam_auditdaycount_added();
DROP FUNCTION IF EXISTS ipam_auditdaycount_removed();
DROP FUNCTION IF EXISTS ipam_auditdaycount_changed();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            # Lock the audit table while counting it, so no row lands between the count and the triggers.
            cursor.execute("LOCK TABLE ipam_auditlog IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(FUNCTIONS)
            cursor.execute(BACKFILL)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("ipam", "0008_auditlog_monthly_partitions")]

    operations = [
        migrations.CreateModel(
            name="AuditDayCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.IntegerField()),
                ("day", models.DateTimeField()),
                ("n", models.IntegerField()),
            ],
            options={"indexes": [models.Index(fields=["user_id", "day"], name="auditdaycount_user_day")]},
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
