"""Authentication classes that remember how the caller authenticated (for audit rows)."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from . import context, permcache


class TrackedJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None:
            context.set_auth_method("jwt")
        return result

    def get_user(self, validated_token: Token) -> Any:
        """The token's user from the cached snapshot (`permcache.request_user`): no query on most requests.

        The same checks as simplejwt's: unknown user and inactive user fail. Deployments that revoke tokens
        on password change (CHECK_REVOKE_TOKEN) or key users by another field use simplejwt's lookup.
        """
        if api_settings.CHECK_REVOKE_TOKEN or api_settings.USER_ID_FIELD not in ("id", "pk"):
            return super().get_user(validated_token)
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        user = permcache.request_user(user_id)
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return user


class TrackedSessionAuthentication(SessionAuthentication):
    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None:
            context.set_auth_method("session")
        return result
