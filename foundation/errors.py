"""The one error shape: domain errors, the DRF exception handler and Django's error views.

Every error a client sees is `{"error": <snake_case code>, "message": <text>, "details": {...}}` with
the status code that fits. Apps raise `ServiceError` subclasses (each with a stable `code`); this module
maps them, DRF's own exceptions and database failures to that body. Nothing here imports an app of ours.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

logger = logging.getLogger("ipam.api")


class ServiceError(Exception):
    """An error a service raises on purpose: a stable `code`, a human `message`, optional `details`."""

    status_code = 400
    code = "bad_request"
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None, code: str | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        if code:
            self.code = code
        super().__init__(self.message)


class ValidationFailed(ServiceError):
    status_code = 400
    code = "validation_error"
    default_message = "The request is invalid."


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class StateConflict(Conflict):
    code = "state_conflict"


class InsufficientPermissions(ServiceError):
    status_code = 403
    code = "insufficient_permissions"
    default_message = "You do not have the permission this action needs."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used for a different request."


class RequestTooLarge(ServiceError):
    """A request body over DATA_UPLOAD_MAX_MEMORY_SIZE (IPAM_MAX_BODY_BYTES)."""

    status_code = 413
    code = "request_too_large"
    default_message = "The request body is too large."


def body_too_large() -> RequestTooLarge:
    """The 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE, whichever layer noticed it (our parsers or Django)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return RequestTooLarge(f"The request body is larger than {limit} bytes.", details={"max_bytes": limit})


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


def _authentication_failed(exc: exceptions.AuthenticationFailed) -> tuple[str, str, dict[str, Any]]:
    """A 401 raised by code we do not own (simplejwt's serializers and views): a specific code and a plain
    message. simplejwt's `InvalidToken` carries a dict (`detail`, `code`, `messages`); its str() is a repr."""
    detail: Any = exc.detail
    codes: Any = exc.get_codes()
    if isinstance(detail, dict):
        message = str(detail.get("detail") or "The token is invalid.")
        raw_code = str(codes.get("code") or codes.get("detail") or "") if isinstance(codes, dict) else ""
    else:
        message, raw_code = str(detail), str(codes)
    code = {"no_active_account": "invalid_credentials", "token_not_valid": "token_invalid"}.get(raw_code, "authentication_failed")
    return code, message, {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map every error to `{"error", "message", "details"}` with the right status code."""
    headers: dict[str, str] = {}
    if isinstance(exc, RequestDataTooBig):
        # DRF 3.17+ reads JSON and form bodies through `request.body`, where Django enforces the limit itself.
        exc = body_too_large()
    if isinstance(exc, ServiceError):
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

    code = getattr(exc, "error_code", None) or next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.AuthenticationFailed) and not hasattr(exc, "error_code"):
        code, message, details = _authentication_failed(exc)
    elif isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        details = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        message = "Invalid input: " + _flatten_message(details)
    else:
        details = {}
        message = _flatten_message(exc.detail.get("detail", exc.detail) if isinstance(exc.detail, dict) else exc.detail)
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
    if isinstance(exception, RequestDataTooBig):
        too_large = body_too_large()
        return JsonResponse(error_body(too_large.code, too_large.message, too_large.details), status=too_large.status_code)
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
