"""A user's preferences and saved search filters.

Like every enhancement store, the table belongs to the `enhancements` app (`Meta.app_label`), a schema unit
with no code of its own: `manage.py rollback` migrates it to zero after a backup, and `migrate` restores it
(docs/decisions/0007). The model lives here, next to the services that use it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class UserPreference(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="ipam_preferences")
    dashboard_layout = models.JSONField(default=dict, blank=True)
    notification_settings = models.JSONField(default=dict, blank=True)
    theme_preference = models.CharField(max_length=50, null=True, blank=True)
    default_country = models.CharField(max_length=100, null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True, help_text="other keys the client stores")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "enhancements"

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class SavedFilter(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_saved_filters")
    name = models.CharField(max_length=100)
    criteria = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "enhancements"
        ordering = ["created_at"]
        indexes = [models.Index(fields=["user", "created_at"], name="savedfilter_user_created")]

    def __str__(self) -> str:
        return self.name
