"""API tokens: create, look up (cached), revoke, and record their use cheaply.

The secret is `ipam_<key_id>_<secret part>`: `key_id` is 12 random hex characters stored in clear (it finds
the row and names the token in the admin), the whole secret has 256 random bits and only its SHA-256 is
stored. A fast hash is enough for a secret of that entropy (nothing to brute-force), and keeps the check
as cheap as a JWT signature. Looking a token up reads the cache entry `ipam:apitoken:<key_id>` (one round
trip, user snapshot included — see `lookup`; on a miss one query, then cached for
IPAM_PERMISSION_CACHE_SECONDS); any save or delete of the row (revoke, admin edit, user deleted) drops the
entry now and again on commit. The user snapshot is stamped with the permission generation, which
deactivating the user bumps, so a deactivated user's token is refused on the next request.

`last_used_at` / `last_used_ip` are written at most once per IPAM_API_TOKEN_LAST_USED_SECONDS per token: each
process skips the write while it wrote that token recently, and the UPDATE itself only matches a row whose
`last_used_at` is older, so several processes together also write at most once per interval.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from . import permcache
from .models import ApiToken

logger = logging.getLogger("ipam.auth")
SECRET_PATTERN = re.compile(r"^ipam_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_recent_writes: dict[Any, float] = {}


@dataclass(frozen=True)
class TokenEntry:
    """What authentication needs to know about a token (cached; never the secret)."""

    id: Any
    user_id: int
    secret_hash: str
    scope: str
    expires_at: float | None  # unix time
    allowed_networks: tuple[str, ...]
    revoked: bool

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (now or time.time()) >= self.expires_at

    def admits(self, address: str) -> bool:
        """Whether a request from `address` may use the token (no allowed networks: any address)."""
        if not self.allowed_networks:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in ipaddress.ip_network(net) for net in self.allowed_networks)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _cache_key(key_id: str) -> str:
    return f"ipam:apitoken:{key_id}"


def create(*, user: Any, name: str, scope: str, expires_at: datetime.datetime | None, allowed_networks: list[str]) -> tuple[ApiToken, str]:
    """A new token and its secret (returned once, never stored)."""
    key_id = secrets.token_hex(6)
    secret = f"ipam_{key_id}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_id=key_id,
        secret_hash=hash_secret(secret),
        scope=scope,
        expires_at=expires_at,
        allowed_networks=allowed_networks,
    )
    logger.info("API token %s (%s) created for user %s", token.pk, key_id, user.pk)
    return token, secret


def revoke(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])  # the post_save handler drops the cached entry
        logger.info("API token %s (%s) revoked", token.pk, token.key_id)


def lookup(secret: str) -> tuple[TokenEntry, Any] | None:
    """(token, its user or None if deleted) for this secret, or None (unknown, malformed or wrong secret).

    One cache round trip when warm, like the JWT path: the entry holds the token and a snapshot of its
    user (`permcache.pack`) stamped with the permission generation, read together with the generation; a
    stale user snapshot (deactivation, group change…) is reloaded through `permcache.request_user`.
    """
    match = SECRET_PATTERN.match(secret)
    if not match:
        return None
    key_id = match.group(1)
    key = _cache_key(key_id)
    try:
        generation, stored = permcache.read_with_generation(key)
    except Exception as exc:  # the cache is down: authentication must not be
        logger.warning("API token cache unavailable: %s", exc.__class__.__name__)
        entry = _load(key_id)
        if entry is None or not _matches(entry, secret):
            return None
        return entry, permcache.request_user(entry.user_id)
    if isinstance(stored, tuple) and len(stored) == 2 and isinstance(stored[0], TokenEntry):
        entry, user = stored[0], permcache.unpack(stored[1], generation)
        if not _matches(entry, secret):
            return None
        if user is None:  # stale user snapshot: reload it, keep the token part
            user = permcache.request_user(entry.user_id)
            _store(key, entry, user, generation)
        return entry, user
    entry = _load(key_id)
    if entry is None or not _matches(entry, secret):
        return None  # unknown ids are not cached (they would let anyone fill the cache)
    user = permcache.request_user(entry.user_id)
    _store(key, entry, user, generation)
    return entry, user


def _matches(entry: TokenEntry, secret: str) -> bool:
    return hmac.compare_digest(entry.secret_hash, hash_secret(secret))


def _load(key_id: str) -> TokenEntry | None:
    token = ApiToken.objects.filter(key_id=key_id).first()
    if token is None:
        return None
    return TokenEntry(
        id=token.pk,
        user_id=token.user_id,
        secret_hash=token.secret_hash,
        scope=token.scope,
        expires_at=token.expires_at.timestamp() if token.expires_at else None,
        allowed_networks=tuple(token.allowed_networks or ()),
        revoked=token.revoked_at is not None,
    )


def _store(key: str, entry: TokenEntry, user: Any, generation: Any) -> None:
    ttl = int(settings.IPAM_PERMISSION_CACHE_SECONDS)
    if ttl <= 0:
        return
    try:
        cache.set(key, (entry, permcache.pack(user, generation) if user is not None else None), timeout=ttl)
    except Exception as exc:
        logger.warning("API token cache unavailable: %s", exc.__class__.__name__)


def record_use(entry: TokenEntry, address: str) -> None:
    """Set last_used_at/last_used_ip, at most once per interval per token (see the module docstring)."""
    interval = float(settings.IPAM_API_TOKEN_LAST_USED_SECONDS)
    now = time.monotonic()
    if now - _recent_writes.get(entry.id, -interval - 1) < interval:
        return
    if len(_recent_writes) > 10_000:
        _recent_writes.clear()
    _recent_writes[entry.id] = now
    moment = timezone.now()
    try:
        ip: str | None = str(ipaddress.ip_address(address))
    except ValueError:
        ip = None
    ApiToken.objects.filter(pk=entry.id).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=moment - datetime.timedelta(seconds=interval))
    ).update(last_used_at=moment, last_used_ip=ip)


def _forget(sender: Any, instance: ApiToken, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields and set(update_fields) <= {"last_used_at", "last_used_ip"}:
        return
    key = _cache_key(instance.key_id)

    def delete() -> None:
        try:
            cache.delete(key)
        except Exception as exc:  # entries expire within their TTL
            logger.warning("API token cache unavailable: %s", exc.__class__.__name__)

    delete()
    transaction.on_commit(delete)


post_save.connect(_forget, sender=ApiToken, dispatch_uid="ipam_apitoken_saved")
post_delete.connect(_forget, sender=ApiToken, dispatch_uid="ipam_apitoken_deleted")
