"""A user's IPAM permission set, cached so an authenticated request does not pay two permission queries.

`has_ipam_permission` needs the user's `ipam.*` permissions; Django computes them with two queries (direct
permissions, group permissions) on every request. They change rarely (an admin edits groups), so the set is
kept in the default cache (Redis in production) under `ipam:perms:<user id>`, stamped with a global
generation number. Any change that can alter anyone's permissions bumps the generation, which makes every
stored set stale at once (the next request recomputes it):

- `m2m_changed` on `User.groups`, `User.user_permissions`, `Group.permissions` (either side);
- `post_save` / `post_delete` of `User` (is_active, is_superuser), `Group` and `Permission`.

Why a global generation rather than per-user keys: a group change affects every member, and those changes
are rare admin actions, so recomputing everyone's set once is cheaper than tracking members. The TTL
(`IPAM_PERMISSION_CACHE_SECONDS`, default 60 s) is only a backstop for caches that are not shared between
processes (the in-memory cache of a Redis-less deployment) or a bump lost while Redis was down.
Reading costs one cache round trip (`get_many` of the generation and the set).

The JWT authentication reads the user through the same generation (`request_user`): one entry per user,
`ipam:auth:<user id>`, holds the user's fields **except the password hash** (it never leaves the database)
and the permission set, so an authenticated request costs one cache round trip and no query. The user is
rebuilt with the password deferred (reading it, or `check_password`, loads it from the database; `save()`
writes only the loaded fields). Deactivating, editing or deleting a user, or changing any group or
permission, bumps the generation: the next request reloads the user from the database. The entry also holds
the user's JWT version (`foundation.credentials`), attached as `_ipam_token_version`; bumping the version
drops the user's entry (`forget_user`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import TokenVersion

logger = logging.getLogger("ipam.permissions")
GENERATION_KEY = "ipam:perms:gen"


def _user_key(user_id: Any) -> str:
    return f"ipam:perms:{user_id}"


def _ttl() -> int:
    return int(getattr(settings, "IPAM_PERMISSION_CACHE_SECONDS", 60))


def _auth_key(user_id: Any) -> str:
    return f"ipam:auth:{user_id}"


def _read_generation(key: str) -> tuple[Any, Any]:
    """(generation, value stored under `key`) in one round trip; raises when the cache is down."""
    found = cache.get_many([GENERATION_KEY, key])
    generation = found.get(GENERATION_KEY)
    if generation is None:
        generation = 0
        cache.add(GENERATION_KEY, 0, timeout=None)
    return generation, found.get(key)


def _snapshot_fields() -> list[str]:
    return [field.attname for field in User._meta.concrete_fields if field.attname != "password"]


def read_with_generation(key: str) -> tuple[Any, Any]:
    """(current generation, value under `key`) in one round trip, for entries that embed a `pack`ed user
    (the API token cache); raises when the cache is down."""
    return _read_generation(key)


def pack(user: Any, generation: Any) -> tuple[Any, ...]:
    """The cacheable snapshot of a user returned by `request_user`, stamped with `generation`."""
    names = _snapshot_fields()
    values = [getattr(user, name) for name in names]
    return (generation, names, values, sorted(user._ipam_permissions), user._ipam_token_version)


def unpack(stored: Any, generation: Any) -> Any:
    """The user rebuilt from a `pack`ed snapshot (password deferred), or None when it is stale or malformed."""
    names = _snapshot_fields()
    if not (isinstance(stored, tuple) and len(stored) == 5 and stored[0] == generation and list(stored[1]) == names):
        return None
    snapshot: Any = User.from_db(DEFAULT_DB_ALIAS, names, list(stored[2]))
    snapshot._ipam_permissions = frozenset(stored[3])
    snapshot._ipam_token_version = stored[4]
    return snapshot


def request_user(user_id: int) -> Any:
    """The user with this primary key (None if there is none), with its IPAM permission set attached, from
    one cache read when the cached snapshot is current; otherwise loaded from the database and cached."""
    ttl = _ttl()
    if ttl <= 0:
        return User.objects.filter(pk=user_id).first()
    key = _auth_key(user_id)
    try:
        generation, stored = _read_generation(key)
    except Exception as exc:  # the cache is down: authentication must not be
        logger.warning("Permission cache unavailable: %s", exc.__class__.__name__)
        return User.objects.filter(pk=user_id).first()
    snapshot = unpack(stored, generation)
    if snapshot is not None:
        return snapshot
    user: Any = User.objects.filter(pk=user_id).defer("password").first()
    if user is None:
        return None
    user._ipam_permissions = _compute(user) if user.is_active else frozenset()
    user._ipam_token_version = _token_version(user_id)
    try:
        cache.set(key, pack(user, generation), timeout=ttl)
    except Exception as exc:
        logger.warning("Permission cache unavailable: %s", exc.__class__.__name__)
    return user


def _token_version(user_id: Any) -> int:
    return int(TokenVersion.objects.filter(user_id=user_id).values_list("version", flat=True).first() or 0)


def forget_user(user_id: Any) -> None:
    """Drop the user's cached snapshot and permission set, now and again when the transaction commits (a
    request that read the old row before the commit may have cached it meanwhile)."""
    keys = [_auth_key(user_id), _user_key(user_id)]

    def delete() -> None:
        try:
            cache.delete_many(keys)
        except Exception as exc:  # cache down: entries expire within their TTL
            logger.warning("Permission cache unavailable: %s", exc.__class__.__name__)

    delete()
    transaction.on_commit(delete)


def ipam_permissions_of(user: Any) -> frozenset[str]:
    """The user's `ipam.*` permission codenames (e.g. `{"read", "allocate"}`), from the cache when fresh."""
    attached = getattr(user, "_ipam_permissions", None)
    if attached is not None:  # read with the user by `request_user`, at the same generation
        return frozenset(attached)
    ttl = _ttl()
    if ttl <= 0 or not user.is_active:
        return _compute(user)
    key = _user_key(user.pk)
    try:
        generation, stored = _read_generation(key)
    except Exception as exc:  # the cache is down: authorisation must not be (two queries, as without the cache)
        logger.warning("Permission cache unavailable: %s", exc.__class__.__name__)
        return _compute(user)
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == generation:
        return frozenset(stored[1])
    perms = _compute(user)
    try:
        cache.set(key, (generation, sorted(perms)), timeout=ttl)
    except Exception as exc:
        logger.warning("Permission cache unavailable: %s", exc.__class__.__name__)
    return perms


def _compute(user: Any) -> frozenset[str]:
    return frozenset(name.split(".", 1)[1] for name in user.get_all_permissions() if name.startswith("ipam."))


def permissions_changed(**kwargs: Any) -> None:
    """Make every cached permission set stale (see the module docstring for what calls this)."""
    try:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # no generation yet (or evicted): a new value differs from what sets were stamped with
            cache.set(GENERATION_KEY, 1, timeout=None)
    except Exception as exc:  # cache down: the change itself must succeed; stored sets expire within the TTL
        logger.warning("Permission cache unavailable, cached permission sets expire within their TTL: %s", exc.__class__.__name__)


def _user_saved(sender: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields and set(update_fields) <= {"last_login", "password"}:
        return  # a login (or password change) does not change what the user may do
    permissions_changed()


def _m2m(sender: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        permissions_changed()


User = get_user_model()
m2m_changed.connect(_m2m, sender=User.groups.through, dispatch_uid="ipam_perms_user_groups")
m2m_changed.connect(_m2m, sender=User.user_permissions.through, dispatch_uid="ipam_perms_user_permissions")
m2m_changed.connect(_m2m, sender=Group.permissions.through, dispatch_uid="ipam_perms_group_permissions")
post_save.connect(_user_saved, sender=User, dispatch_uid="ipam_perms_save_User")
for _model in (User, Group, Permission):
    if _model is not User:
        post_save.connect(permissions_changed, sender=_model, dispatch_uid=f"ipam_perms_save_{_model.__name__}")
    post_delete.connect(permissions_changed, sender=_model, dispatch_uid=f"ipam_perms_delete_{_model.__name__}")
