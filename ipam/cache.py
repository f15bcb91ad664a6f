"""Per-user cache versions and counted cache reads.

Cached reads of a user (dashboard, forecasts…) put the user's version in their key; every write bumps
it on commit (see `ipam.services.audit`), so the next read misses and recomputes: never stale.
Hits and misses are counted per cache name for /metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache

logger = logging.getLogger("ipam.cache")
T = TypeVar("T")

_VERSION_KEY = "ipam:user-version:{}"
_MISSING = object()


def user_version(user_id: int) -> int:
    version = cache.get(_VERSION_KEY.format(user_id))
    if version is None:
        version = 1
        cache.add(_VERSION_KEY.format(user_id), version, timeout=None)
    return int(version)


def bump_user_version(user_id: int) -> None:
    key = _VERSION_KEY.format(user_id)
    try:
        cache.incr(key)
    except ValueError:  # not present yet (or evicted): any new value differs from what readers cached
        cache.set(key, 2, timeout=None)


def record_hit(name: str, hit: bool) -> None:
    """Count a hit or miss of cache `name` (exported to Prometheus by ipam_project.metrics)."""
    from ipam_project import metrics

    metrics.record_cache_access(name, hit)


def cached(name: str, key: str, ttl: int, compute: Callable[[], T]) -> T:
    """Return the cached value of `key` or compute, store and return it, counting hit/miss under `name`."""
    value = cache.get(key, _MISSING)
    if value is not _MISSING:
        record_hit(name, True)
        return value  # type: ignore[return-value]
    record_hit(name, False)
    result = compute()
    cache.set(key, result, timeout=ttl)
    return result


def user_key(name: str, user_id: int, *parts: Any) -> str:
    """A cache key that changes whenever the user writes anything."""
    suffix = ":".join(str(p) for p in parts)
    return f"ipam:{name}:{user_id}:v{user_version(user_id)}:{suffix}"
