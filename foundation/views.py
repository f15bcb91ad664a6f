"""The JWT endpoints (obtain, refresh, logout) and the throttled admin login.

Every JWT carries the user's token version (`foundation.credentials`); refresh and logout check it against
the database and the `token_blacklist` app, and answer the standard error body with a specific code.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from foundation import credentials, throttling
from foundation.auth import TokenExpired, TokenInvalid, TokenRevoked, check_jwt_user
from foundation.permcache import User


class VersionedRefreshToken(RefreshToken):
    """A refresh token that carries the user's token version; a blacklisted one is `token_revoked`."""

    @classmethod
    def for_user(cls, user: Any) -> Any:
        token = super().for_user(user)
        token[credentials.VERSION_CLAIM] = credentials.current_version(user.pk)
        return token

    def check_blacklist(self) -> None:
        if BlacklistedToken.objects.filter(token__jti=self.payload[api_settings.JTI_CLAIM]).exists():
            raise TokenRevoked("The refresh token has been revoked (logout).")


def _valid_refresh(raw: str) -> VersionedRefreshToken:
    """The refresh token, if it is valid, not blacklisted and of the user's current version."""
    try:
        refresh = VersionedRefreshToken(raw)  # type: ignore[arg-type]
    except ExpiredTokenError:
        raise TokenExpired("The refresh token has expired; log in again.") from None
    except TokenError:
        raise TokenInvalid("The refresh token is invalid.") from None
    user: Any = User.objects.filter(pk=refresh.payload.get(api_settings.USER_ID_CLAIM) or 0).first()
    if user is None:
        raise TokenInvalid("The token's user does not exist.")
    user._ipam_token_version = credentials.current_version(user.pk)
    check_jwt_user(user, refresh)
    return refresh


class TokenObtainSerializer(jwt_serializers.TokenObtainPairSerializer):
    token_class = VersionedRefreshToken


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    token_class = VersionedRefreshToken

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        _valid_refresh(attrs["refresh"])
        return super().validate(attrs)


class _JWTView(jwt_views.TokenViewBase):
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except ExpiredTokenError:
            raise TokenExpired() from None
        except TokenError:
            raise TokenInvalid() from None
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


@extend_schema(tags=["auth"], summary="Exchange username and password for access and refresh tokens")
class TokenObtainView(_JWTView):
    serializer_class = TokenObtainSerializer  # type: ignore[assignment]
    throttle_classes = [throttling.LoginThrottle]


@extend_schema(tags=["auth"], summary="Exchange a refresh token for a new access token")
class TokenRefreshView(_JWTView):
    serializer_class = TokenRefreshSerializer  # type: ignore[assignment]


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to revoke.")


@extend_schema(
    tags=["auth"],
    summary="Log out: revoke the refresh token and every JWT issued to its user so far",
    request=LogoutSerializer,
    responses={204: OpenApiResponse(description="Logged out")},
)
class LogoutView(APIView):
    """The refresh token is blacklisted and the user's token version bumped: every access and refresh token
    issued before stops working (all of the user's JWT sessions; API tokens are not affected)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'  # a refused refresh token is a 401, as on /auth/token/refresh

    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refresh = _valid_refresh(serializer.validated_data["refresh"])
        refresh.blacklist()
        credentials.bump(refresh.payload[api_settings.USER_ID_CLAIM], reason="logout")
        return Response(status=status.HTTP_204_NO_CONTENT)


class _ThrottledLoginForm(AdminAuthenticationForm):
    """Shown instead of checking the password once the login limit is reached."""

    def clean(self) -> dict[str, Any]:
        raise ValidationError(
            "Too many login attempts from this address or for this user. Try again in %(minutes)d minutes.",
            code="rate_limited",
            params={"minutes": max(1, round(self.wait / 60))},
        )

    wait: float = 3600.0


@never_cache
def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponseBase:
    """`/admin/login/`: Django's admin login behind the same login limit as `/auth/token`. Over the limit the
    password is not checked; the page says why, with status 429 and `Retry-After`."""
    if request.method != "POST" or not settings.IPAM_RATE_LIMITS_ENABLED:
        return admin.site.login(request, extra_context)
    allowed, usage = throttling.login_attempt(request, request.POST.get("username"))
    if allowed:
        return admin.site.login(request, extra_context)
    wait = max(1, int(usage.reset - time.time()))
    form_class = type("ThrottledLoginForm", (_ThrottledLoginForm,), {"wait": float(wait)})
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
        REDIRECT_FIELD_NAME: reverse("admin:index"),
    }
    response = LoginView.as_view(extra_context=context, authentication_form=form_class, template_name="admin/login.html")(request)
    response.status_code = 429
    response["Retry-After"] = str(wait)
    return response
