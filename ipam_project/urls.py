"""Root URLs. Every API path answers with and without a trailing slash (APPEND_SLASH is off)."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerView

from foundation import errors, health, metrics, token_api, views
from ipam.admin.frontdoor import front_door

urlpatterns = [
    path("", front_door, name="home"),
    path("admin/login/", views.admin_login),  # the admin's login behind the login rate limit
    path("admin/", admin.site.urls),
    re_path(r"^auth/token/?$", views.TokenObtainView.as_view(), name="token-obtain"),
    re_path(r"^auth/token/refresh/?$", views.TokenRefreshView.as_view(), name="token-refresh"),
    re_path(r"^auth/logout/?$", views.LogoutView.as_view(), name="logout"),
    re_path(r"^auth/tokens/?$", token_api.ApiTokenListView.as_view(), name="api-tokens"),
    re_path(r"^auth/tokens/(?P<token_id>[^/]+)/?$", token_api.ApiTokenDetailView.as_view(), name="api-token-detail"),
    re_path(r"^openapi\.json$", SpectacularJSONAPIView.as_view(), name="openapi"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
    re_path(r"^redoc/?$", SpectacularRedocView.as_view(url_name="openapi", template_name="ipam/redoc.html"), name="redoc"),
    re_path(r"^health/?$", health.HealthView.as_view(), name="health"),
    re_path(r"^ipam/health/?$", health.IpamHealthView.as_view(), name="ipam-health"),
    re_path(r"^metrics/?$", metrics.metrics_view, name="metrics"),
    path("ipam/", include("ipam.api.urls")),
    path("ipam/", include("notifications.api.urls")),
    path("ipam/", include("webhooks.api.urls")),
]

# The standard error body for requests no API view handles: unknown /ipam/ paths (any method, DEBUG or not),
# and with DEBUG off anything else that fails outside a view.
urlpatterns += [re_path(r"^ipam/", errors.unknown_api_path)]
handler400 = "foundation.errors.json_bad_request"
handler403 = "foundation.errors.json_permission_denied"
handler404 = "foundation.errors.json_not_found"
handler500 = "foundation.errors.json_server_error"
