"""Authentication classes: JWT (with revocation), API tokens, sessions. Each remembers how the caller
authenticated (for audit rows) and fails with a specific error code (docs/api.md, "401 codes"):

- `token_invalid`: malformed, badly signed, wrong type, unknown token or user;
- `token_expired`: a JWT or an API token past its expiry;
- `token_revoked`: a JWT issued before the user's last password change, logout or deactivation
  (`foundation.credentials`), a revoked API token, or any token of an inactive user;
- `token_network_refused`: an API token used from outside its allowed networks;
- `not_authenticated` (no credentials) is DRF's own.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from django.core.signals import setting_changed
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow

from . import apitokens, context, credentials, permcache
from .middleware import client_ip


class AuthError(exceptions.AuthenticationFailed):
    """A 401 with a specific code (the exception handler uses `error_code`)."""

    error_code = "token_invalid"
    default_detail = "The credentials are invalid."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.default_detail, code=self.error_code)


class TokenInvalid(AuthError):
    error_code = "token_invalid"
    default_detail = "The token is invalid."


class TokenExpired(AuthError):
    error_code = "token_expired"
    default_detail = "The token has expired."


class TokenRevoked(AuthError):
    error_code = "token_revoked"
    default_detail = "The token has been revoked."


class TokenNetworkRefused(AuthError):
    error_code = "token_network_refused"
    default_detail = "This token may not be used from this address."


class ReadOnlyToken(exceptions.PermissionDenied):
    error_code = "token_read_only"
    default_detail = "This API token has the read scope: it cannot make changes."


def check_jwt_user(user: Any, token: Any) -> None:
    """Refuse an inactive user and a token issued before the user's current version."""
    if not user.is_active:
        raise TokenRevoked("The user is inactive.")
    version = getattr(user, "_ipam_token_version", None)
    if version is None:
        version = credentials.current_version(user.pk)
    # A token without the claim (minted by simplejwt directly, or before this check existed) counts as
    # version 0: valid until the user's first revocation event.
    if token.get(credentials.VERSION_CLAIM, 0) != version:
        raise TokenRevoked("The token was revoked (password change, logout or deactivation); log in again.")


# Signatures already checked in this process: (token class, raw token) -> its verified payload. Checking an
# HMAC signature is a pure function of the token's bytes and the signing key, so a token seen again needs
# only the checks that depend on the time (expiry) and on its claims; revocation (`check_jwt_user`) runs on
# every request either way. Bounded; emptied when the JWT settings or the secret key change.
_VERIFIED: dict[tuple[Any, bytes], dict[str, Any]] = {}
VERIFIED_TOKENS_MAX = 2048


def _forget_verified(*, setting: str, **kwargs: Any) -> None:
    if setting in ("SIMPLE_JWT", "SECRET_KEY", "REST_FRAMEWORK"):
        _VERIFIED.clear()


setting_changed.connect(_forget_verified, dispatch_uid="ipam_forget_verified_jwts")


class TrackedJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None:
            context.set_auth_method("jwt")
        return result

    def get_validated_token(self, raw_token: bytes) -> Token:
        token_class = api_settings.AUTH_TOKEN_CLASSES[0]
        key = (token_class, raw_token)
        try:
            token = self._seen_token(token_class, raw_token, _VERIFIED.get(key))
            if token is None:
                token = token_class(raw_token)
                if len(_VERIFIED) >= VERIFIED_TOKENS_MAX:
                    # the oldest entry; another thread may be changing the dict (gthread workers)
                    with contextlib.suppress(StopIteration, RuntimeError, KeyError):
                        del _VERIFIED[next(iter(_VERIFIED))]
                _VERIFIED[key] = dict(token.payload)
            return token  # type: ignore[no-any-return]
        except ExpiredTokenError:
            _VERIFIED.pop(key, None)
            raise TokenExpired("The access token has expired; refresh it or log in again.") from None
        except TokenError:
            _VERIFIED.pop(key, None)
            raise TokenInvalid("The access token is invalid.") from None

    @staticmethod
    def _seen_token(token_class: Any, raw_token: bytes, payload: dict[str, Any] | None) -> Token | None:
        """The token rebuilt from a payload whose signature this process verified, with simplejwt's own claim
        checks (`verify`: expiry, id, type); None when there is none, or when PyJWT would now call it expired
        (then the full decoding answers, with the same error as always)."""
        if payload is None:
            return None
        token = token_class.__new__(token_class)
        leeway = token.get_token_backend().get_leeway().total_seconds()
        if int(payload["exp"]) <= time.time() - leeway:  # PyJWT's rule (`_validate_exp`)
            return None
        token.token = raw_token
        token.current_time = aware_utcnow()
        token.payload = dict(payload)
        token.verify()
        return token  # type: ignore[no-any-return]

    def get_user(self, validated_token: Token) -> Any:
        """The token's user from the cached snapshot (`permcache.request_user`): no query on most requests.

        Unknown user → `token_invalid`; inactive user or an outdated `ver` claim → `token_revoked`.
        Deployments that key users by another field use simplejwt's lookup (then the version costs a query).
        """
        if api_settings.CHECK_REVOKE_TOKEN or api_settings.USER_ID_FIELD not in ("id", "pk"):
            user = super().get_user(validated_token)
        else:
            try:
                user_id = int(validated_token[api_settings.USER_ID_CLAIM])
            except (KeyError, TypeError, ValueError):
                raise TokenInvalid("The token names no user.") from None
            user = permcache.request_user(user_id)
            if user is None:
                raise TokenInvalid("The token's user does not exist.")
        check_jwt_user(user, validated_token)
        return user


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <secret>` (`foundation.apitokens`). `request.auth` is the `TokenEntry`."""

    keyword = b"token"

    def authenticate(self, request: Request) -> Any:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise TokenInvalid("The Authorization header must be 'Token <secret>'.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise TokenInvalid() from None
        found = apitokens.lookup(secret)
        if found is None:
            raise TokenInvalid("The API token is invalid.")
        entry, user = found
        if entry.revoked:
            raise TokenRevoked("The API token has been revoked.")
        if entry.expired():
            raise TokenExpired("The API token has expired.")
        address = client_ip(request._request)
        if not entry.admits(address):
            raise TokenNetworkRefused()
        if user is None or not user.is_active:
            raise TokenRevoked("The token's user is inactive.")
        if entry.scope != "write" and (request.method or "GET").upper() not in SAFE_METHODS:
            raise ReadOnlyToken()
        apitokens.record_use(entry, address)
        context.set_auth_method("token")
        return (user, entry)

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="api"'


class TrackedSessionAuthentication(SessionAuthentication):
    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None:
            context.set_auth_method("session")
        return result
