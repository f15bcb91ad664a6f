"""JWT revocation: a token version per user, carried by every JWT in the claim `ver`.

A JWT is valid only while its `ver` equals the user's current version (`ops.TokenVersion`, 0 without a row).
The version goes up when the user's password is set (`set_password` then `save()`: the admin's password
form, `manage.py changepassword`, a password reset — Django marks the instance with `_password`), when the
user is saved inactive, and on `POST /auth/logout`. Every access and refresh token issued before stops
working at once: the authentication reads the version from the cached user snapshot (`permcache`), which
this module drops when it bumps the version (now and again when the transaction commits), so the check
costs no query. Refresh tokens are also checked against the database on refresh, and logout blacklists the
refresh token with simplejwt's `token_blacklist` app (docs/decisions/0010-api-tokens-and-revocation.md).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.signals import post_save
from django.utils import timezone

from . import permcache
from .models import TokenVersion

logger = logging.getLogger("ipam.auth")
VERSION_CLAIM = "ver"


def current_version(user_id: Any) -> int:
    """The user's token version, from the database."""
    return int(TokenVersion.objects.filter(user_id=user_id).values_list("version", flat=True).first() or 0)


def bump(user_id: Any, *, reason: str) -> None:
    """Revoke every JWT issued to the user so far."""
    if not TokenVersion.objects.filter(user_id=user_id).update(version=F("version") + 1):
        try:
            with transaction.atomic():
                TokenVersion.objects.create(user_id=user_id, version=1)
        except IntegrityError:  # created concurrently
            TokenVersion.objects.filter(user_id=user_id).update(version=F("version") + 1)
    logger.info("JWTs of user %s revoked (%s)", user_id, reason)
    permcache.forget_user(user_id)


def expired_jwts_prune() -> int:
    """Delete the blacklist app's records of refresh tokens past their expiry (they are refused anyway);
    what `manage.py flushexpiredtokens` does, run by the daily housekeeping job. Returns the rows deleted."""
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return int(deleted)


def _user_saved(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if created:
        return
    if getattr(instance, "_password", None) is not None:  # set_password() was called before this save
        bump(instance.pk, reason="password changed")
    elif not instance.is_active:
        bump(instance.pk, reason="user inactive")


post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="ipam_token_version_user_saved")
