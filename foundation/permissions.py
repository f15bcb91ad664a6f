"""The five IPAM permissions (read, allocate, update, release, admin) and the DRF permission class.

A user's permission set comes from `foundation.permcache` (cached across requests).
"""

from __future__ import annotations

from typing import Any

from django.db import connections, router
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from foundation.compiled import Guard, Statement, compiled, of_queryset, placeholder
from foundation.permcache import ipam_permissions_of

IPAM_PERMISSIONS = ("read", "allocate", "update", "release", "admin")


def has_ipam_permission(user: Any, perm: str) -> bool:
    """`admin` implies the other four; superusers have everything."""
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if not user.is_active:
        return False
    # The set is cached across requests (foundation.permcache): two queries fewer on every request.
    perms = ipam_permissions_of(user)
    return perm in perms or "admin" in perms


class InsufficientPermission(exceptions.PermissionDenied):
    def __init__(self, perm: str):
        super().__init__(f"This action needs the '{perm}' permission.")
        self.required_permission = perm


class IPAMPermission(BasePermission):
    """Checks the IPAM permission a view declares.

    A view sets `ipam_permissions = {"list": "read", "create": "allocate", ...}` keyed by action (viewsets)
    or by HTTP method (plain APIViews); anything unlisted falls back to read for safe methods and
    `update` otherwise.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        perm = required_permission(request, view)
        if not has_ipam_permission(request.user, perm):
            raise InsufficientPermission(perm)
        return True


def required_permission(request: Request, view: APIView) -> str:
    mapping: dict[str, str] = getattr(view, "ipam_permissions", {})
    action = getattr(view, "action", None)
    if action and action in mapping:
        return mapping[action]
    method = (request.method or "GET").upper()
    if method in mapping:
        return mapping[method]
    return "read" if method in ("GET", "HEAD", "OPTIONS") else "update"


def owned(view: Any, queryset: Any) -> Any:
    """The caller's rows only (other users' objects answer 404); an empty queryset while the schema is built."""
    if getattr(view, "swagger_fake_view", False):
        return queryset.none()
    return queryset.filter(user=view.request.user)


def owned_guard(view: Any, model: Any, key: Any) -> tuple[Any, Guard]:
    """`key` (as the primary key's value) and the condition that the caller owns `model`'s row `key` (`owned`:
    another user's row is a 404), for an action that needs only the key of the object in its URL, not the object
    (a sub-list such as a webhook's deliveries): `check()` it, or fold it into the statement that reads the
    sub-list. On PostgreSQL a statement compiled once per thread (foundation/compiled.py) instead of
    `get_object()`'s queryset."""
    using = router.db_for_read(model)
    key = model._meta.pk.to_python(key)
    user = view.request.user.pk
    if connections[using].vendor != "postgresql":  # (SQLite stores UUIDs as text: no placeholder survives the ORM)
        return key, Guard(of_queryset(model.objects.using(using).filter(pk=key, user_id=user).order_by().values("pk")), (), using)
    mine, whose = placeholder(key), placeholder(user)
    shape = ("owned", model, using, type(mine), type(whose))

    def build() -> Statement:
        return of_queryset(model.objects.using(using).filter(pk=mine, user_id=whose).order_by().values("pk"))

    return key, Guard(compiled(shape, build), ((mine, key), (whose, user)), using, shape)
