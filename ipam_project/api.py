"""Cross-cutting API plumbing: the one error shape, pagination, permissions and routing helpers."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator as DjangoPaginator
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.functional import cached_property
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from ipam.exceptions import IPAMError
from ipam_project.permcache import ipam_permissions_of

logger = logging.getLogger("ipam.api")

_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "parse_error",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "insufficient_permissions",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or {}}


def _flatten_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _flatten_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        return f"{key}: {_flatten_message(value)}"
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map every error to `{"error", "message", "details"}` with the right status code."""
    headers: dict[str, str] = {}
    if isinstance(exc, IPAMError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, (OperationalError, InterfaceError)):
        # The database is unreachable or restarting: tell the client to retry instead of a 500 traceback.
        logger.warning("Database unavailable: %s", exc.__class__.__name__)
        return Response(
            error_body("service_unavailable", "The database is temporarily unavailable; retry shortly."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    elif isinstance(exc, DataError):
        # The database refused a value (NUL in text, too long, out of range): input that slipped past
        # validation. The client gets a 400; the traceback is logged so the missing check gets added.
        logger.error("Database refused a value: %s", exc, exc_info=exc)
        return Response(
            error_body("invalid_value", "A value could not be stored (NUL character, too long or out of range)."),
            status=status.HTTP_400_BAD_REQUEST,
        )
    elif isinstance(exc, DatabaseError):
        return None  # a genuine bug: let it surface as a 500 and be logged with its traceback
    if not isinstance(exc, exceptions.APIException):
        return None

    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        details = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        message = "Invalid input: " + _flatten_message(details)
    else:
        details = {}
        message = str(exc.detail)
        if isinstance(exc, exceptions.PermissionDenied):
            perm = getattr(exc, "required_permission", None)
            if perm:
                details = {"required_permission": perm}
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        headers["Retry-After"] = str(int(wait) + 1)
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)


# Django-level error views (`handler400/403/404/500` in the root URLconf, used when DEBUG is off): requests
# that never reach a DRF view — an unknown path, a path parameter that fails its route pattern, a crash —
# still get the standard body.
def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("bad_request", "The request could not be processed."), status=400)


def json_permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("insufficient_permissions", "You do not have permission to do this."), status=403)


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", f"Nothing here: {request.path[:200]}"), status=404)


@csrf_exempt
def unknown_api_path(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Routed last under /ipam/: any method on a path no API route matched (also when DEBUG is on)."""
    return json_not_found(request)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("server_error", "Internal server error; it has been logged."), status=500)


class ErrorSerializer(serializers.Serializer):
    """The error body every endpoint uses (documented in the OpenAPI schema)."""

    error = serializers.CharField(help_text="snake_case error code")
    message = serializers.CharField()
    details = serializers.DictField(child=serializers.JSONField(), help_text="per-field messages or context")


class CountHintPaginator(DjangoPaginator):
    """Django's paginator, taking the total from the queryset's `count_hint` when a view knows it already.

    Counting a million rows for a page's `count` costs more than the page itself; a view that keeps the
    number in a counter (hosts: the regions' `allocated_hosts`, kept in the allocation transactions)
    attaches it with `with_count_hint` and the paginator uses it instead of `COUNT(*)`.
    """

    @cached_property
    def count(self) -> int:
        hint = getattr(self.object_list, "count_hint", None)
        return int(hint) if hint is not None else int(super().count)


def with_count_hint(queryset: Any, count: int) -> Any:
    """`queryset`, telling `StandardPagination` its total row count (see `CountHintPaginator`)."""
    queryset.count_hint = count
    return queryset


class StandardPagination(PageNumberPagination):
    django_paginator_class = CountHintPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            raise exceptions.ValidationError({"page_size": ["Must be an integer between 1 and 1000."]}) from None
        if not 1 <= value <= self.max_page_size:
            raise exceptions.ValidationError({"page_size": ["Must be an integer between 1 and 1000."]})
        return value

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any] | None:
        raw = request.query_params.get(self.page_query_param, "1")
        if raw != "last" and (not raw.isdigit() or int(raw) < 1):
            raise exceptions.ValidationError({"page": ["Must be a positive integer."]})
        return super().paginate_queryset(queryset, request, view)


# --- Permissions -----------------------------------------------------------------------------------
IPAM_PERMISSIONS = ("read", "allocate", "update", "release", "admin")


def has_ipam_permission(user: Any, perm: str) -> bool:
    """`admin` implies the other four; superusers have everything."""
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if not user.is_active:
        return False
    # The set is cached across requests (ipam_project.permcache): two queries fewer on every request.
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


class Router(SimpleRouter):
    """Routes every path with and without a trailing slash (no redirects that drop POST bodies)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


def owned(view: Any, queryset: Any) -> Any:
    """The caller's rows only (other users' objects answer 404); an empty queryset while the schema is built."""
    if getattr(view, "swagger_fake_view", False):
        return queryset.none()
    return queryset.filter(user=view.request.user)
