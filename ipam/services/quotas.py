"""Quota accounting. Usage counters move in the allocation transaction with a conditional UPDATE,
so concurrent allocations can never overshoot a limit.

Callers consume quota as the last step before commit: the counter row stays locked only until commit.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import BigIntegerField, F, Value
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import LessThan, LessThanOrEqual

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


def _consume_one(user: Any, quota_type: str, amount: int, *, below_warning: bool = False) -> bool:
    """One conditional UPDATE: add `amount` unless the (override or default) limit would be passed — or,
    with `below_warning`, unless usage would reach IPAM_CAPACITY_WARNING_THRESHOLD percent of the limit."""
    used, limit_field, default = _COUNTERS[quota_type]
    limit = Coalesce(F(limit_field), Value(getattr(settings, default)))
    conditions: list[Any] = [LessThanOrEqual(F(used), limit - amount)]
    if below_warning:  # (used + amount) × 100 < threshold × limit, in 64-bit integers on both backends
        threshold = int(settings.IPAM_CAPACITY_WARNING_THRESHOLD)
        conditions.append(LessThan(_big(F(used) + amount) * 100, _big(limit) * threshold))
    return bool(UserQuota.objects.filter(*conditions, pk=user.pk).update(**{used: F(used) + amount}))


def _big(expression: Any) -> Cast:
    return Cast(expression, output_field=BigIntegerField())


def quota_consume(*, user: Any, regions: int = 0, hosts: int = 0) -> bool:
    """Count new regions/hosts against the user's quota; QuotaExceeded (rolls the caller back) if over.

    Returns whether usage may now be at or above the warning threshold (the caller then has the quota
    warning evaluated after commit). The common case — well below the threshold — is one UPDATE; the
    quota row is created on a user's first allocation.
    """
    near = False
    for quota_type, amount in (("regions", regions), ("hosts", hosts)):
        if not amount or _consume_one(user, quota_type, amount, below_warning=True):
            continue
        near = True
        if _consume_one(user, quota_type, amount):
            continue
        quota = quota_get(user=user)  # no row yet (first allocation), or the limit is reached
        if _consume_one(user, quota_type, amount):
            continue
        quota.refresh_from_db()
        used, _, _ = _COUNTERS[quota_type]
        limit = quota.effective_region_limit if quota_type == "regions" else quota.effective_host_limit
        raise QuotaExceeded(quota_type=quota_type, limit=limit, current=getattr(quota, used))
    return near


def quota_release(*, user: Any, regions: int = 0, hosts: int = 0) -> None:
    quota = quota_get(user=user)
    updates: dict[str, Any] = {}
    if regions:
        updates["regions_used"] = F("regions_used") - regions
    if hosts:
        updates["hosts_used"] = F("hosts_used") - hosts
    if updates:
        UserQuota.objects.filter(pk=quota.pk).update(**updates)
