"""OpenAPI generation tweaks: the standard error body on every operation, the `Idempotency-Key` header on
idempotent operations, the conditional-request headers (`ETag`, `If-None-Match` → 304, `If-Match` → 412) on
the operations `foundation.conditional.ConditionalMixin` governs, paths without the optional trailing slash,
and the authentication schemes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from foundation.conditional import ETAG_RESPONSE_HEADER, IF_MATCH_PARAMETER, IF_NONE_MATCH_PARAMETER, is_conditional
from foundation.errors import ErrorSerializer
from foundation.idempotency import IDEMPOTENCY_KEY_PARAMETER, is_idempotent

_ERRORS_ALWAYS = {"400": "Invalid input", "429": "Rate limit or quota exceeded"}
_ERRORS_AUTHENTICATED = {"401": "Not authenticated", "403": "Missing permission"}
_ERRORS_BY_METHOD = {
    "GET": {"404": "Not found"},
    "POST": {"404": "Not found", "409": "Conflict"},
    "PATCH": {"404": "Not found", "409": "Conflict"},
    "PUT": {"404": "Not found", "409": "Conflict"},
    "DELETE": {"404": "Not found", "409": "Conflict"},
}


class IPAMAutoSchema(AutoSchema):
    """Adds the `{"error", "message", "details"}` responses each operation can return, and the optional
    `Idempotency-Key` header to handlers decorated with `foundation.idempotency.idempotent`."""

    def get_override_parameters(self) -> list[Any]:
        parameters: list[Any] = list(super().get_override_parameters())
        handler = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        if is_idempotent(handler):
            parameters.append(IDEMPOTENCY_KEY_PARAMETER)
        if self._conditional_read():
            parameters.append(IF_NONE_MATCH_PARAMETER)
        if self._conditional_write():
            parameters.append(IF_MATCH_PARAMETER)
        return parameters

    def _conditional_action(self) -> tuple[Any, str] | None:
        """(the view, its action) when the view answers conditional requests, else None."""
        view: Any = self.view
        if not is_conditional(view):
            return None
        return view, getattr(view, "action", None) or self.method.lower()

    def _conditional_read(self) -> bool:
        found = self._conditional_action()
        return found is not None and self.method == "GET" and found[1] in found[0].etag_read_actions

    def _conditional_write(self) -> bool:
        found = self._conditional_action()
        return found is not None and self.method in ("PATCH", "PUT", "DELETE") and found[1] in found[0].precondition_actions

    def _tags_response(self) -> bool:
        found = self._conditional_action()
        if found is None:
            return False
        view, action = found
        return action in (view.etag_read_actions if self.method == "GET" else view.etag_write_actions)

    def _get_response_headers_for_code(self, status_code: Any, direction: Any = "response") -> Any:
        headers = super()._get_response_headers_for_code(status_code, direction)
        if str(status_code) in ("200", "201", "304") and self._tags_response():
            headers = {**(headers or {}), **ETAG_RESPONSE_HEADER}
        return headers

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        codes = dict(_ERRORS_ALWAYS)
        if self.get_auth():
            codes.update(_ERRORS_AUTHENTICATED)
        codes.update(_ERRORS_BY_METHOD.get(self.method, {}))
        if self._conditional_write():
            codes["412"] = "Precondition failed: the object changed since the ETag given in If-Match (nothing written)"
        for code, description in codes.items():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = description
                responses[code] = response
        if self._conditional_read() and "304" not in responses:
            responses["304"] = {
                "description": "Not modified: If-None-Match matched the current ETag (no body)",
                "headers": dict(ETAG_RESPONSE_HEADER),
            }
        return responses


def strip_optional_slash(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    """Routes accept `/x` and `/x/`; document them as `/x`, like the curl examples."""
    return [(path.rstrip("/") or "/", regex, method, callback) for path, regex, method, callback in endpoints]


class SessionScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "foundation.auth.TrackedSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "foundation.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <secret>`: an API token from `POST /auth/tokens` (a `read` token may only use safe methods).",
        }


class JWTScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "foundation.auth.TrackedJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
