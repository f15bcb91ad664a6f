"""Append-only comments on regions and hosts."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Comment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    resource_type = models.CharField(max_length=10)  # region | host
    resource_id = models.UUIDField()
    text = models.TextField(max_length=2000)
    author = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["user", "resource_type", "resource_id", "created_at"], name="comment_resource")]

    def __str__(self) -> str:
        return f"comment on {self.resource_type} {self.resource_id}"
