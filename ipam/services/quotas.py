"""Quota accounting. Usage counters move in the allocation transaction with a conditional UPDATE,
so concurrent allocations can never overshoot a limit.

Callers consume quota as the last step before commit: the counter row stays locked only until commit.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F

from ipam.exceptions import QuotaExceeded
from ipam.models import UserQuota


def quota_get(*, user: Any) -> UserQuota:
    quota, _ = UserQuota.objects.get_or_create(user=user)
    return quota


def quota_consume(*, user: Any, regions: int = 0, hosts: int = 0) -> None:
    quota = quota_get(user=user)
    if regions:
        limit = quota.effective_region_limit
        if not UserQuota.objects.filter(pk=quota.pk, regions_used__lte=limit - regions).update(regions_used=F("regions_used") + regions):
            quota.refresh_from_db()
            raise QuotaExceeded(quota_type="regions", limit=limit, current=quota.regions_used)
    if hosts:
        limit = quota.effective_host_limit
        if not UserQuota.objects.filter(pk=quota.pk, hosts_used__lte=limit - hosts).update(hosts_used=F("hosts_used") + hosts):
            quota.refresh_from_db()
            raise QuotaExceeded(quota_type="hosts", limit=limit, current=quota.hosts_used)


def quota_release(*, user: Any, regions: int = 0, hosts: int = 0) -> None:
    quota = quota_get(user=user)
    updates: dict[str, Any] = {}
    if regions:
        updates["regions_used"] = F("regions_used") - regions
    if hosts:
        updates["hosts_used"] = F("hosts_used") - hosts
    if updates:
        UserQuota.objects.filter(pk=quota.pk).update(**updates)
