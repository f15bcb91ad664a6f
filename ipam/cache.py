"""Per-user cache versions and counted cache reads.

Cached reads of a user (dashboard, forecasts, trends…) are stored with the user's version they were computed
under and read together with the current version in one round trip (`stamped_lookup`); every write bumps the
version on commit (see `ipam.services.audit`), so the next read misses and recomputes: never stale.
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

from foundation import dbrouter

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


def user_version(user_id: int) -> int:
    return _version(_VERSION_KEY.format(user_id))


def bump_user_version(user_id: int) -> None:
    _bump(_VERSION_KEY.format(user_id))
    # The same moment makes the namespace's lag-tolerant reads use the primary for a while (read-your-writes),
    # so no stale replica answer is cached under the new version.
    dbrouter.mark_write(user_id)


def record_hit(name: str, hit: bool) -> None:
    """Count a hit or miss of cache `name` (exported to Prometheus by foundation.metrics)."""
    from foundation import metrics

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


def stamped_lookup(name: str, key: str, stamp_keys: list[str], ttl: int | Callable[[T], int], compute: Callable[[], T]) -> tuple[T, bool]:
    """(value, hit) in one cache round trip: the versions in `stamp_keys` and the value under `key` are read
    together (MGET); the value is stored with the versions it was computed under, and served only while they
    are still current. A write bumping a version makes the next read recompute, exactly as a versioned key
    would, without a second round trip. A value computed under old versions and stored late (after a newer
    one) is never served: its stamps no longer match.
    """
    found = cache.get_many([*stamp_keys, key])
    stamps = tuple(int(found[k]) if found.get(k) is not None else _version(k) for k in stamp_keys)
    stored = found.get(key)
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == stamps:
        record_hit(name, True)
        return stored[1], True
    record_hit(name, False)
    result = compute()
    timeout = ttl(result) if callable(ttl) else ttl
    if timeout > 0:
        cache.set(key, (stamps, result), timeout=timeout)
    return result, False


def user_lookup(
    name: str,
    user_id: int,
    parts: tuple[Any, ...],
    ttl: int | Callable[[T], int],
    compute: Callable[[], T],
    *,
    with_countries: bool = False,
) -> tuple[T, bool]:
    """(value, hit) of a cached read of the user's data: recomputed after any write of the user (and, with
    `with_countries`, after a country is edited); `stamped_lookup`, one round trip."""
    suffix = ":".join(str(p) for p in parts)
    stamps = [_VERSION_KEY.format(user_id), *([_COUNTRIES_VERSION_KEY] if with_countries else [])]
    return stamped_lookup(name, f"ipam:{name}:{user_id}:{suffix}", stamps, ttl, compute)


# --- Countries ---------------------------------------------------------------------------------------
_process_countries: tuple[int, list[Country]] | None = None


def countries() -> list[Country]:
    """All countries, ordered by `x_start`, from the `countries` cache.

    One cache read (the version) when this process holds the current version already; the objects are
    shared by the process's requests: read them, never modify them.
    """
    from ipam.models import Country

    def read() -> list[Country]:
        return list(Country.objects.order_by("x_start"))

    try:
        version = _version(_COUNTRIES_VERSION_KEY)
        held = _process_countries
        if held is not None and held[0] == version:  # this process unpickled this version already
            record_hit("countries", True)
            return held[1]
        table = cached("countries", f"ipam:countries:v{version}", COUNTRIES_TTL, read)
    except Exception as exc:  # the cache is down (django-redis without IGNORE_EXCEPTIONS): the table itself
        logger.warning("Country cache unavailable (%s); reading the table", exc.__class__.__name__)
        return read()
    globals()["_process_countries"] = (version, table)
    return table


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
