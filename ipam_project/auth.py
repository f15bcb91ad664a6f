"""Authentication classes that remember how the caller authenticated (for audit rows)."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from . import context


class TrackedJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None:
            context.set_auth_method("jwt")
        return result


class TrackedSessionAuthentication(SessionAuthentication):
    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None:
            context.set_auth_method("session")
        return result
