"""Quota accounting. Usage counters move in the allocation transaction with a conditional UPDATE,
so concurrent allocations can never overshoot a limit.

Callers consume quota as the last step before commit: the counter row stays locked only until commit.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from ipam.exceptions import QuotaExceeded
from ipam.models import UserQuota


def quota_get(*, user: Any) -> UserQuota:
    quota, _ = UserQuota.objects.get_or_create(user=user)
    return quota


_COUNTERS = {
    # quota_type: (usage field, limit field, setting with the default limit)
    "regions": ("regions_used", "region_limit", "IPAM_DEFAULT_REGION_QUOTA"),
    "hosts": ("hosts_used", "host_limit", "IPAM_DEFAULT_HOST_QUOTA"),
}


def _consume_one(user: Any, quota_type: str, amount: int) -> bool:
    """One conditional UPDATE: add `amount` unless the (override or default) limit would be passed."""
    used, limit_field, default = _COUNTERS[quota_type]
    limit = Coalesce(F(limit_field), Value(getattr(settings, default)))
    return bool(UserQuota.objects.filter(pk=user.pk, **{f"{used}__lte": limit - amount}).update(**{used: F(used) + amount}))


def quota_consume(*, user: Any, regions: int = 0, hosts: int = 0) -> None:
    """Count new regions/hosts against the user's quota; QuotaExceeded (rolls the caller back) if over.

    The common case is one UPDATE; the quota row is created on a user's first allocation.
    """
    for quota_type, amount in (("regions", regions), ("hosts", hosts)):
        if not amount or _consume_one(user, quota_type, amount):
            continue
        quota = quota_get(user=user)  # no row yet (first allocation), or the limit is reached
        if _consume_one(user, quota_type, amount):
            continue
        quota.refresh_from_db()
        used, _, _ = _COUNTERS[quota_type]
        limit = quota.effective_region_limit if quota_type == "regions" else quota.effective_host_limit
        raise QuotaExceeded(quota_type=quota_type, limit=limit, current=getattr(quota, used))


def quota_release(*, user: Any, regions: int = 0, hosts: int = 0) -> None:
    quota = quota_get(user=user)
    updates: dict[str, Any] = {}
    if regions:
        updates["regions_used"] = F("regions_used") - regions
    if hosts:
        updates["hosts_used"] = F("hosts_used") - hosts
    if updates:
        UserQuota.objects.filter(pk=quota.pk).update(**updates)
