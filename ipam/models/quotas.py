"""Per-user quota limits (overrides) and usage counters, updated in the allocation transaction."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UserQuota(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="ipam_quota")
    region_limit = models.PositiveIntegerField(null=True, blank=True, help_text="empty = IPAM_DEFAULT_REGION_QUOTA")
    host_limit = models.PositiveIntegerField(null=True, blank=True, help_text="empty = IPAM_DEFAULT_HOST_QUOTA")
    regions_used = models.PositiveIntegerField(default=0)
    hosts_used = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"quota {self.user_id}"

    @property
    def effective_region_limit(self) -> int:
        return self.region_limit if self.region_limit is not None else settings.IPAM_DEFAULT_REGION_QUOTA

    @property
    def effective_host_limit(self) -> int:
        return self.host_limit if self.host_limit is not None else settings.IPAM_DEFAULT_HOST_QUOTA
