"""Request id and client address, available to audit rows and log lines for the whole request; the rate-limit
headers; a message storage built only when a request uses it."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from . import context

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request: HttpRequest) -> str:
    """The peer address. Proxies are trusted only when IPAM_TRUST_X_FORWARDED_FOR is set (see settings)."""
    from django.conf import settings

    if getattr(settings, "IPAM_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def add_rate_limit_headers(request: HttpRequest, response: HttpResponse) -> None:
    """Copies the usage the throttle computed (`request.ipam_ratelimit`, `foundation.throttling.Usage`) onto
    the response: `X-RateLimit-*`, and `Retry-After` on a 429 that has none."""
    usage: Any = getattr(request, "ipam_ratelimit", None)
    if usage is not None:
        for header, value in usage.headers().items():
            response[header] = value
        if response.status_code == 429 and "Retry-After" not in response:
            response["Retry-After"] = str(max(1, int(usage.reset - time.time())))


class RequestContextMiddleware:
    """The request id (`X-Request-ID` when it is safe, else a new one) and client address in the context for
    the whole request; on the way out the rate-limit headers, then `X-Request-ID` (one middleware layer for
    both: `foundation.throttling.RateLimitHeadersMiddleware` did the first, just inside this one)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # META, not request.headers: that mapping is built from every header on first use.
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = context.set_context(context.RequestContext(request_id=request_id, source_ip=client_ip(request)))
        try:
            response = self.get_response(request)
        finally:
            context.reset_context(token)
        add_rate_limit_headers(request, response)
        response["X-Request-ID"] = request_id
        return response


class LazyMessageMiddleware(MessageMiddleware):
    """Django's `MessageMiddleware` with the storage built on first use.

    The stock middleware builds the fallback storage (cookie and session storages, a cookie signer whose key
    is hashed from SECRET_KEY) for every request, and the API requests never use it. Here `request._messages`
    is a lazy object: the admin and console pages that add or show messages build it as before, and a
    response whose request never touched it has nothing to store.
    """

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:  # type: ignore[attr-defined]
            return response
        return super().process_response(request, response)
