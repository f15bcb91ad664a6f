"""Quota accounting. Usage counters move in the allocation transaction with a conditional UPDATE,
so concurrent allocations can never overshoot a limit.

Callers consume quota as the last step before commit: the counter row stays locked only until commit.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.db import connections, router
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


@functools.lru_cache(maxsize=16)
def below_warning_statement(alias: str, quota_type: str) -> str:
    """The conditional UPDATE of `_consume_below_warning` (its parameters: `below_warning_params`); host
    allocation runs it inside its single write statement on PostgreSQL (`ipam.services.hostwrites`). Each
    value is bound once (a one-row `v` joined by UPDATE … FROM, which PostgreSQL and SQLite ≥ 3.33 both run):
    four parameters, which keeps the host write's statement within what psycopg caches the parsing of."""
    qn = connections[alias].ops.quote_name
    used, limit_field, _ = _COUNTERS[quota_type]
    u, limit = qn(used), f"COALESCE({qn(limit_field)}, v.default_limit)"
    # Identifiers come from the model's metadata (quoted by the backend); every value is a bound parameter.
    return (
        f"UPDATE {qn(UserQuota._meta.db_table)} SET {u} = {u} + v.amount "  # noqa: S608
        "FROM (SELECT CAST(%s AS INTEGER) AS amount, CAST(%s AS BIGINT) AS default_limit, CAST(%s AS INTEGER) AS threshold) v "
        f"WHERE {qn(UserQuota._meta.pk.column)} = %s AND {u} <= {limit} - v.amount "
        f"AND CAST({u} + v.amount AS BIGINT) * 100 < CAST({limit} AS BIGINT) * v.threshold"
    )


def _consume_below_warning(user: Any, quota_type: str, amount: int) -> bool:
    """`_consume_one`, but only while usage stays below IPAM_CAPACITY_WARNING_THRESHOLD percent of the limit:
    (used + amount) × 100 < threshold × limit, in 64-bit integers. The allocation hot path runs this on every
    allocation, so its statement is written once (plain SQL that PostgreSQL and SQLite both run) instead of
    being built by the ORM each time (about half a millisecond of Python)."""
    alias = router.db_for_write(UserQuota)
    with connections[alias].cursor() as cursor:
        cursor.execute(below_warning_statement(alias, quota_type), below_warning_params(user, quota_type, amount))
        return bool(cursor.rowcount == 1)


def below_warning_params(user: Any, quota_type: str, amount: int) -> list[Any]:
    _, _, default = _COUNTERS[quota_type]
    limit = getattr(settings, default)
    threshold = int(settings.IPAM_CAPACITY_WARNING_THRESHOLD)
    return [amount, limit, threshold, user.pk]


def quota_consume(*, user: Any, regions: int = 0, hosts: int = 0) -> bool:
    """Count new regions/hosts against the user's quota; QuotaExceeded (rolls the caller back) if over.

    Returns whether usage may now be at or above the warning threshold (the caller then has the quota
    warning evaluated after commit). The common case — well below the threshold — is one UPDATE; the
    quota row is created on a user's first allocation.
    """
    near = False
    for quota_type, amount in (("regions", regions), ("hosts", hosts)):
        if not amount or _consume_below_warning(user, quota_type, amount):
            continue
        quota_consume_rest(user=user, quota_type=quota_type, amount=amount)
        near = True
    return near


def quota_consume_rest(*, user: Any, quota_type: str, amount: int) -> None:
    """What `quota_consume` does after the below-the-warning UPDATE matched no row (a caller that ran that
    UPDATE itself continues here): count `amount` if the limit allows, else QuotaExceeded."""
    if _consume_one(user, quota_type, amount):
        return
    quota = quota_get(user=user)  # no row yet (first allocation), or the limit is reached
    if _consume_one(user, quota_type, amount):
        return
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
