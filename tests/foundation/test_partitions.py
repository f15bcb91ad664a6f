"""Monthly partitions of the history tables (ADR 0016): on PostgreSQL the audit log, webhook deliveries and
notifications are partitioned by month, the `partitions_maintain` job creates the coming months, retention
drops whole months and deletes only the rest; on SQLite the tables stay plain and retention deletes rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from foundation import partitions
from ipam.models import AuditLog
from ipam.services.audit import audit_prune
from ipam.tasks.housekeeping import partitions_maintain
from notifications.models import Notification
from notifications.services import notifications_prune
from webhooks.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent
from webhooks.services import delivery_logs_prune

HISTORY = {"ipam_auditlog": "timestamp", "webhooks_webhookdelivery": "created_at", "notifications_notification": "created_at"}
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitioning is PostgreSQL-only (SQLite: plain tables)")


def _months_ago(count: int, day: int = 15) -> dt.datetime:
    month = partitions.add_months(partitions.month_start(timezone.now()), -count)
    return month.replace(day=day, hour=12)


def _audit(user: Any, when: dt.datetime, n: int = 1) -> None:
    AuditLog.objects.bulk_create(
        [AuditLog(user=user, action_type="region.create", resource_type="region", timestamp=when) for _ in range(n)]
    )


def _partition_rows(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{name}"')
        return int(cursor.fetchone()[0])


def test_the_three_history_tables_are_registered_with_their_timestamp_column():
    assert {spec.table: spec.column for spec in partitions.registered()} == HISTORY


@pytest.mark.django_db
def test_on_sqlite_the_tables_stay_plain_and_the_job_does_nothing():
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite half of the design")
    assert not any(partitions.is_partitioned(connection, table) for table in HISTORY)
    assert partitions_maintain.apply(throw=True).get() == {}


@on_postgres
@pytest.mark.postgres
@pytest.mark.django_db
def test_history_tables_are_partitioned_by_month_with_a_default_partition_and_months_ahead(settings):
    now = partitions.month_start(timezone.now())
    for table, column in HISTORY.items():
        assert partitions.partition_key(connection, table) == [column]
        months = partitions.monthly_partitions(connection, table)
        assert {partitions.add_months(now, i) for i in range(settings.IPAM_PARTITIONS_AHEAD_MONTHS + 1)} <= set(months)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_class WHERE relname = %s", [partitions.default_name(table)])
            assert cursor.fetchone() is not None, f"{table} has no default partition"
            cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", [f"{table}_pkey"])
            quoted = connection.ops.quote_name(column) if column == "timestamp" else column  # a reserved word
            assert cursor.fetchone()[0] == f"PRIMARY KEY (id, {quoted})"


@on_postgres
@pytest.mark.postgres
@pytest.mark.django_db
def test_the_job_creates_the_coming_months_once_and_moves_rows_out_of_the_default_partition(alice, settings):
    settings.IPAM_PARTITIONS_AHEAD_MONTHS = 6
    far = partitions.add_months(partitions.month_start(timezone.now()), 6)
    _audit(alice, far.replace(day=3), n=2)  # no partition yet for that month: the default one takes them
    assert _partition_rows("ipam_auditlog_default") == 2

    created = partitions_maintain.apply(throw=True).get()

    assert f"ipam_auditlog_p{far:%Y%m}" in created["ipam_auditlog"]
    assert f"webhooks_webhookdelivery_p{far:%Y%m}" in created["webhooks_webhookdelivery"]
    assert _partition_rows("ipam_auditlog_default") == 0
    assert _partition_rows(f"ipam_auditlog_p{far:%Y%m}") == 2
    assert AuditLog.objects.filter(timestamp__gte=far).count() == 2
    assert partitions_maintain.apply(throw=True).get() == {table: [] for table in HISTORY}  # idempotent


@on_postgres
@pytest.mark.postgres
@pytest.mark.django_db
def test_audit_retention_drops_whole_months_and_deletes_only_the_rest_of_the_boundary_month(alice):
    spec = partitions.PartitionedTable("ipam_auditlog", "timestamp")
    cutoff = timezone.now() - dt.timedelta(days=100)
    boundary = partitions.month_start(cutoff)
    whole = [partitions.add_months(boundary, -2), partitions.add_months(boundary, -1)]
    for month in [*whole, boundary]:  # their partitions, as a table that has been running for months has them
        partitions.create_month(connection, spec, month)
    for month in whole:
        _audit(alice, month.replace(day=15), n=3)
    _audit(alice, cutoff - dt.timedelta(hours=1), n=2)  # past the retention, in the boundary month
    _audit(alice, cutoff + dt.timedelta(hours=1), n=1)  # within it
    _audit(alice, timezone.now(), n=4)

    deleted = audit_prune(older_than_days=100)

    remaining = set(partitions.monthly_partitions(connection, "ipam_auditlog"))
    assert not set(whole) & remaining, "the months wholly past the retention are dropped"
    assert boundary in remaining, "the boundary month stays; only its old rows are deleted"
    assert deleted == 8
    assert AuditLog.objects.filter(timestamp__lt=cutoff).count() == 0
    assert AuditLog.objects.count() == 5
    assert audit_prune(older_than_days=100) == 0  # idempotent


@on_postgres
@pytest.mark.postgres
@pytest.mark.django_db
def test_delivery_retention_keeps_a_month_with_an_unfinished_delivery_and_drops_attempts_with_their_month(alice):
    spec = partitions.PartitionedTable("webhooks_webhookdelivery", "created_at")
    webhook = Webhook.objects.create(user=alice, webhook_url="https://hooks.example.com/x", events=["region.created"], secret_encrypted="x")
    old, older = _months_ago(3), _months_ago(4)
    for when in (old, older):
        partitions.create_month(connection, spec, partitions.month_start(when))

    def delivery(when: dt.datetime, status: str) -> WebhookDelivery:
        event = WebhookEvent.objects.create(user=alice, event_type="region.created", body="{}", created_at=when)
        made = WebhookDelivery.objects.create(webhook=webhook, event=event, event_type="region.created", status=status, created_at=when)
        WebhookDeliveryAttempt.objects.create(delivery=made, attempt_number=1, attempted_at=when, status="delivered")
        return made

    dropped_month = [delivery(older, DeliveryStatus.DELIVERED) for _ in range(3)]
    kept_pending = delivery(old, DeliveryStatus.PENDING)
    finished_next_to_it = delivery(old, DeliveryStatus.FAILED)
    recent = delivery(timezone.now(), DeliveryStatus.DELIVERED)

    deleted = delivery_logs_prune(older_than_days=30)

    assert deleted == 4
    months = partitions.monthly_partitions(connection, "webhooks_webhookdelivery")
    assert partitions.month_start(older) not in months, "a month of finished deliveries is dropped whole"
    assert partitions.month_start(old) in months, "a month holding an unfinished delivery is kept"
    assert set(WebhookDelivery.objects.values_list("id", flat=True)) == {kept_pending.id, recent.id}
    assert not WebhookDelivery.objects.filter(id=finished_next_to_it.id).exists()
    assert set(WebhookDeliveryAttempt.objects.values_list("delivery_id", flat=True)) == {kept_pending.id, recent.id}
    assert not WebhookDeliveryAttempt.objects.filter(delivery_id__in=[d.id for d in dropped_month]).exists()
    assert not WebhookEvent.objects.filter(created_at=older).exists(), "events no delivery refers to go too"


@on_postgres
@pytest.mark.postgres
@pytest.mark.django_db
def test_notification_retention_drops_old_months(alice):
    spec = partitions.PartitionedTable("notifications_notification", "created_at")
    old = _months_ago(5)
    partitions.create_month(connection, spec, partitions.month_start(old))
    Notification.objects.bulk_create([Notification(user=alice, notification_type="t", message="m") for _ in range(3)])
    Notification.objects.update(created_at=old)  # moves the rows into the old month's partition
    Notification.objects.create(user=alice, notification_type="t", message="recent")

    assert notifications_prune(older_than_days=90) == 3
    assert partitions.month_start(old) not in partitions.monthly_partitions(connection, "notifications_notification")
    assert list(Notification.objects.values_list("message", flat=True)) == ["recent"]


@on_postgres
@pytest.mark.postgres
@pytest.mark.django_db
def test_converting_to_a_plain_table_and_back_keeps_every_row_and_index(alice):
    for months_ago in (14, 2, 0):
        _audit(alice, _months_ago(months_ago), n=2)
    before = sorted(AuditLog.objects.values_list("id", "timestamp"))

    partitions.convert_to_plain(connection, "ipam_auditlog")
    assert not partitions.is_partitioned(connection, "ipam_auditlog")
    assert sorted(AuditLog.objects.values_list("id", "timestamp")) == before

    partitions.convert_to_partitioned(connection, "ipam_auditlog", "timestamp", ahead=1)
    assert partitions.is_partitioned(connection, "ipam_auditlog")
    assert sorted(AuditLog.objects.values_list("id", "timestamp")) == before
    months = partitions.monthly_partitions(connection, "ipam_auditlog")
    assert partitions.month_start(_months_ago(14)) in months, "a partition for every month that has rows"
    assert _partition_rows(months[partitions.month_start(_months_ago(14))]) == 2
    with connection.cursor() as cursor:
        names = {c for c in connection.introspection.get_constraints(cursor, "ipam_auditlog")}
    assert {index.name for index in AuditLog._meta.indexes} <= names  # every index the model declares
