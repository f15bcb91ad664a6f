"""Audit trail: one row per write, written in the same transaction as the write."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from foundation.day_counts import DayCounts


class ActorType(models.TextChoices):
    USER = "user"
    SYSTEM = "system"


class AuditLog(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The namespace the change belongs to (the owner of the resource); null for system-wide rows.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action_type = models.CharField(max_length=40)
    resource_type = models.CharField(max_length=40)
    resource_id = models.CharField(max_length=64, blank=True, default="")
    ip_address = models.CharField(max_length=15, blank=True, default="")
    cidr = models.CharField(max_length=18, blank=True, default="")
    country_code = models.CharField(max_length=2, blank=True, default="")
    region_id = models.UUIDField(null=True, blank=True)
    actor = models.CharField(max_length=150, blank=True, default="")
    actor_type = models.CharField(max_length=10, choices=ActorType.choices, default=ActorType.USER)
    request_id = models.CharField(max_length=64, blank=True, default="")
    source_ip = models.CharField(max_length=45, blank=True, default="")
    auth_method = models.CharField(max_length=20, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    changes = models.JSONField(default=list, blank=True)
    snapshot = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["user", "-timestamp", "-id"], name="audit_user_time_id"),  # newest first, keyset pages
            models.Index(fields=["user", "resource_type", "action_type", "timestamp"], name="audit_user_res_action_time"),
            models.Index(fields=["user", "ip_address"], name="audit_user_ip"),
            models.Index(fields=["user", "resource_id"], name="audit_user_resource"),
            models.Index(fields=["user", "country_code", "timestamp"], name="audit_user_country_time"),
            models.Index(fields=["user", "region_id", "timestamp"], name="audit_user_region_time"),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.action_type} {self.resource_type} {self.resource_id}"


class AuditDayCount(models.Model):
    """How many audit rows of `user_id` have a `timestamp` in the UTC day starting at `day` (issue 19).

    Written only by PostgreSQL triggers on the audit table (migration 0009): every statement inserting,
    deleting or updating audit rows appends one delta row per (user, day) it touched, in the same
    transaction. Rows are never updated in place, so concurrent writers never wait on each other here;
    `audit_counts_compact` folds the deltas into one row per (user, day). A user's exact total and the
    day holding the k-th newest row are therefore a sum over a few hundred rows, which lets
    `GET /ipam/audit?page=N` seek instead of counting and skipping a million rows. Empty on SQLite.
    """

    user_id = models.IntegerField()
    day = models.DateTimeField()
    n = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["user_id", "day"], include=["n"], name="auditdaycount_user_day_n")
        ]  # index-only reads of a user's days

    def __str__(self) -> str:
        return f"user {self.user_id} {self.day:%Y-%m-%d}: {self.n:+d}"


# The triggers of migration 0009 follow this spec's naming (functions `ipam_auditdaycount_added` …).
AUDIT_DAYS = DayCounts(table="ipam_auditdaycount", source="ipam_auditlog", owner="user_id", time="timestamp")
