"""Types shared by every app."""

from __future__ import annotations

from typing import Any, TypeAlias

from django.contrib.auth.models import User
from rest_framework.exceptions import NotAuthenticated

# Who performs a write: the authenticated user of a request, a staff user in the admin, or the owner a job
# acts for. Services take it keyword-only (`actor=`), record it in audit rows and scope namespaces by it.
Actor: TypeAlias = User


def actor_of(request: Any) -> Actor:
    """The authenticated user of a request, as the actor of a write (views behind IPAMPermission only ever
    see authenticated users; anything else is refused as 401 rather than passed on)."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        raise NotAuthenticated()
    return user
