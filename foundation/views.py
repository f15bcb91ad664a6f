"""JWT token endpoints, documented with the standard error body."""

from drf_spectacular.utils import extend_schema
from rest_framework_simplejwt import views as jwt_views

from foundation.throttling import LoginThrottle


@extend_schema(tags=["auth"], summary="Exchange username and password for access and refresh tokens")
class TokenObtainView(jwt_views.TokenObtainPairView):
    throttle_classes = [LoginThrottle]


@extend_schema(tags=["auth"], summary="Exchange a refresh token for a new access token")
class TokenRefreshView(jwt_views.TokenRefreshView):
    pass
