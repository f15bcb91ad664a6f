"""Shareable read-only links to a country, region or host.

Like every enhancement store, the table belongs to the `enhancements` app (`Meta.app_label`), a schema unit
with no code of its own: `manage.py rollback` migrates it to zero after a backup, and `migrate` restores it
(docs/decisions/0007). The model lives here, next to the services that use it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class ShareQuerySet(models.QuerySet["Share"]):
    def active(self, at: datetime | None = None) -> ShareQuerySet:
        """Links that open now (or at `at`): not revoked and not past `expires_at`."""
        return self.filter(is_active=True, expires_at__gt=at or timezone.now())


class Share(models.Model):
    """A read-only link to a country, region or host. Only the SHA-256 of the token is stored."""

    class ResourceType(models.TextChoices):
        COUNTRY = "country"
        REGION = "region"
        HOST = "host"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_shares")
    resource_type = models.CharField(max_length=10, choices=ResourceType.choices)
    resource_id = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=500, blank=True, default="")
    expires_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    view_count = models.PositiveIntegerField(default=0)
    last_accessed = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    legacy_id = models.CharField(
        max_length=24, null=True, blank=True, unique=True, editable=False, help_text="ObjectId in the original system (import_original)"
    )

    objects = ShareQuerySet.as_manager()

    class Meta:
        app_label = "enhancements"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "is_active", "-created_at"], name="share_user_active"),
            models.Index(fields=["is_active", "expires_at"], name="share_active_expiry"),
        ]

    def __str__(self) -> str:
        return f"share of {self.resource_type} {self.resource_id}"


ShareResourceType = Share.ResourceType
