"""Per-user cache versions and counted cache reads.

Cached reads of a user (dashboard, forecasts, trends…) put the user's version in their key; every write
bumps it on commit (see `ipam.services.audit`), so the next read misses and recomputes: never stale.
Hits and misses are counted per cache name for /metrics (`ipam_cache_requests_total{cache, result}`).

Versions start from the clock rather than from 1: if the cache evicts a version key, the fresh version
cannot collide with keys written under the old one (which would serve a stale value).

The country table (seed data, read on almost every request) is cached too, under the `countries`
counter; saving or deleting a country (Django admin) bumps its version.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

if TYPE_CHECKING:
    from ipam.models import Country

logger = logging.getLogger("ipam.cache")
T = TypeVar("T")

_VERSION_KEY = "ipam:user-version:{}"
_COUNTRIES_VERSION_KEY = "ipam:countries-version"
_MISSING = object()
COUNTRIES_TTL = 3600


def _fresh_version() -> int:
    """A version that no key written before can carry (microseconds since the epoch)."""
    return time.time_ns() // 1000


def _version(key: str) -> int:
    version = cache.get(key)
    if version is None:
        cache.add(key, _fresh_version(), timeout=None)  # no-op if another process initialised it first
        version = cache.get(key)
        if version is None:  # cache unreachable: an ever-new version makes every read a miss (never stale)
            return _fresh_version()
    return int(version)


def _bump(key: str) -> None:
    try:
        result = cache.incr(key)
    except ValueError:  # not present (never read, or evicted): any fresh value differs from what readers used
        cache.set(key, _fresh_version(), timeout=None)
        return
    if result is None:  # django-redis with IGNORE_EXCEPTIONS: the cache is down; nothing was cached either
        logger.warning("Could not bump cache version %s", key)


def _versions(*keys: str) -> list[int]:
    """The versions stored under `keys`, fetched in one round trip (initialised when missing)."""
    found = cache.get_many(list(keys))
    return [int(found[key]) if found.get(key) is not None else _version(key) for key in keys]


def user_version(user_id: int) -> int:
    return _version(_VERSION_KEY.format(user_id))


def bump_user_version(user_id: int) -> None:
    _bump(_VERSION_KEY.format(user_id))


def record_hit(name: str, hit: bool) -> None:
    """Count a hit or miss of cache `name` (exported to Prometheus by ipam_project.metrics)."""
    from ipam_project import metrics

    metrics.record_cache_access(name, hit)


def lookup(name: str, key: str, ttl: int | Callable[[T], int], compute: Callable[[], T]) -> tuple[T, bool]:
    """(value, hit): the cached value of `key`, or compute, store and return it; counted under `name`.

    `ttl` may be a function of the computed value (for values that go stale at a known time).
    """
    value = cache.get(key, _MISSING)
    if value is not _MISSING:
        record_hit(name, True)
        return value, True  # type: ignore[return-value]
    record_hit(name, False)
    result = compute()
    timeout = ttl(result) if callable(ttl) else ttl
    if timeout > 0:
        cache.set(key, result, timeout=timeout)
    return result, False


def cached(name: str, key: str, ttl: int | Callable[[T], int], compute: Callable[[], T]) -> T:
    """Return the cached value of `key` or compute, store and return it, counting hit/miss under `name`."""
    return lookup(name, key, ttl, compute)[0]


_HISTORY_VERSION_KEY = "ipam:history-version:{}"


def history_key(name: str, user_id: int, *parts: Any) -> str:
    """A key for facts about the user's past (e.g. audit rows of days that are over): normal writes never
    change them, so they survive writes; `forget_user_history` (bulk loaders, restores) invalidates them."""
    suffix = ":".join(str(p) for p in parts)
    return f"ipam:{name}:{user_id}:h{_version(_HISTORY_VERSION_KEY.format(user_id))}:{suffix}"


def forget_user_history(user_id: int) -> None:
    """Call after rewriting a user's past (bulk loading audit rows): every cached read is recomputed."""
    _bump(_HISTORY_VERSION_KEY.format(user_id))
    bump_user_version(user_id)


def user_key(name: str, user_id: int, *parts: Any) -> str:
    """A cache key that changes whenever the user writes anything."""
    suffix = ":".join(str(p) for p in parts)
    return f"ipam:{name}:{user_id}:v{user_version(user_id)}:{suffix}"


def user_countries_key(name: str, user_id: int, *parts: Any) -> str:
    """A cache key that changes whenever the user writes anything or a country is edited (capacities, names)."""
    suffix = ":".join(str(p) for p in parts)
    user_v, countries_v = _versions(_VERSION_KEY.format(user_id), _COUNTRIES_VERSION_KEY)
    return f"ipam:{name}:{user_id}:v{user_v}:c{countries_v}:{suffix}"


# --- Countries ---------------------------------------------------------------------------------------
def countries() -> list[Country]:
    """All countries, ordered by `x_start`, from the `countries` cache."""
    from ipam.models import Country

    key = f"ipam:countries:v{_version(_COUNTRIES_VERSION_KEY)}"
    return cached("countries", key, COUNTRIES_TTL, lambda: list(Country.objects.order_by("x_start")))


def country_find(value: str) -> Country | None:
    """The country whose name (any case), ISO alpha-2 or alpha-3 code is `value`, from the cache."""
    wanted = (value or "").strip().lower()
    if not wanted:
        return None
    for country in countries():
        if wanted in (country.name.lower(), country.code.lower(), country.code3.lower()):
            return country
    return None


def bump_countries_version(**kwargs: Any) -> None:
    _bump(_COUNTRIES_VERSION_KEY)


# Countries change only in the Django admin (seed data). These receivers keep the cached table, and every
# key made with `user_countries_key`, exact; the lazy sender string needs no import of the models here.
post_save.connect(bump_countries_version, sender="ipam.Country", dispatch_uid="ipam-cache-countries-save")
post_delete.connect(bump_countries_version, sender="ipam.Country", dispatch_uid="ipam-cache-countries-delete")
