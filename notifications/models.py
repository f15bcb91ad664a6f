"""Notifications (in-app messages to one user), notification rules and the alert state that makes a
rule fire once per crossing.

Behaviour lives in `notifications.services` (and, for capacity evaluation, `ipam.services.capacity`);
these are the rows and their constraints. This app imports no other app of ours.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from foundation.day_counts import DayCounts


class Severity(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Channel(models.TextChoices):
    IN_APP = "in_app"
    EMAIL = "email"
    WEBHOOK = "webhook"


class RuleResourceType(models.TextChoices):
    COUNTRY = "country"
    REGION = "region"


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_notifications")
    notification_type = models.CharField(max_length=50)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    message = models.TextField()
    resource_type = models.CharField(max_length=50, blank=True, default="")
    resource_id = models.CharField(max_length=100, blank=True, default="")
    resource_link = models.CharField(max_length=500, blank=True, default="")
    is_read = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    # Indexed, not unique: the table is partitioned by month on PostgreSQL, where a unique index must include
    # the partition key. The id derived from the ObjectId (uuid5) is what keeps a re-import from duplicating.
    legacy_id = models.CharField(
        max_length=24, null=True, blank=True, db_index=True, editable=False, help_text="ObjectId in the original system (import_original)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "is_read", "-created_at"], name="notification_user_read"),
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_created_id"),  # keyset pages
            models.Index(fields=["created_at"], name="notification_created"),
        ]

    def __str__(self) -> str:
        return f"{self.notification_type} for {self.user_id}: {self.message[:60]}"


class NotificationDayCount(models.Model):
    """How many notifications of `user_id` were created in the UTC day starting at `day`, and how many of them
    are unread (issue 19). Written only by PostgreSQL triggers on the notification table (migration 0005,
    `NOTIFICATION_DAYS`): delta rows, inserted in the writers' transactions, folded by the
    `day_counts_compact` job. The inbox's page numbers, total and unread count come from these instead of
    counting and skipping the user's rows (foundation/day_counts.py). Empty on SQLite."""

    user_id = models.IntegerField()
    day = models.DateTimeField()
    n = models.IntegerField()
    unread = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["user_id", "day"], include=["n", "unread"], name="notifdaycount_user_day_sums")]  # index-only reads

    def __str__(self) -> str:
        return f"user {self.user_id} {self.day:%Y-%m-%d}: {self.n:+d} ({self.unread:+d} unread)"


NOTIFICATION_DAYS = DayCounts(
    table="notifications_notificationdaycount",
    source="notifications_notification",
    owner="user_id",
    time="created_at",
    sums=(("unread", 'NOT "is_read"'),),
)


class NotificationRule(models.Model):
    """`utilization_threshold` (0..100) on regions and/or countries, optionally limited to some ids.

    An empty `resource_type` means regions and countries; empty `resource_ids` means all of them.
    Countries are matched by name, ISO alpha-2 or alpha-3 (any case), regions by their id.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_notification_rules")
    rule_name = models.CharField(max_length=100)
    utilization_threshold = models.FloatField()
    resource_type = models.CharField(max_length=10, choices=RuleResourceType.choices, blank=True, default="")
    resource_ids = models.JSONField(default=list, blank=True)
    notification_channels = models.JSONField(default=list)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True, default="", help_text="empty = by utilization")
    is_active = models.BooleanField(default=True)
    last_triggered_at = models.DateTimeField(null=True, blank=True)
    legacy_id = models.CharField(
        max_length=24, null=True, blank=True, unique=True, editable=False, help_text="ObjectId in the original system (import_original)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(utilization_threshold__gte=0, utilization_threshold__lte=100), name="rule_threshold_0_100"
            ),
        ]
        indexes = [models.Index(fields=["user", "is_active"], name="rule_user_active")]

    def __str__(self) -> str:
        return f"{self.rule_name} (≥ {self.utilization_threshold:g}%)"

    def applies_to(self, resource_type: str, aliases: set[str]) -> bool:
        """Whether the rule watches this resource (`aliases`: its lower-cased ids and names)."""
        if self.resource_type and self.resource_type != resource_type:
            return False
        if not self.resource_ids:
            return True
        return any(str(value).strip().lower() in aliases for value in self.resource_ids)


class AlertState(models.Model):
    """One row per condition that has fired and not yet re-armed (rule × resource, or a quota).

    Firing inserts the row (the unique key makes concurrent evaluators fire once); dropping below the
    threshold deletes it, which re-arms the condition.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200, help_text="rule:<rule_id>:<resource_type>:<resource_id> or quota:<type>")
    rule = models.ForeignKey(NotificationRule, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_states")
    value = models.FloatField(help_text="utilization (percent) when it fired")
    fired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="alertstate_unique_user_key")]

    def __str__(self) -> str:
        return f"{self.key} fired at {self.value:g}%"
