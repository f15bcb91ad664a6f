"""Rate limits (contract §3): per user per hour by operation class, per client IP for public endpoints.

Fixed one-hour windows counted in the cache (Redis in production, so all web workers share them).
Every throttled response carries `X-RateLimit-Limit/-Remaining/-Reset`; a 429 also `Retry-After`.
If the cache is unreachable the request is allowed, `ipam_rate_limit_degraded_total` counts it and a
warning is logged (at most once a minute per process): rate limiting degrades, the API keeps serving.
Limits: IPAM_RATE_LIMIT_PER_HOUR (writes), IPAM_READ_RATE_LIMIT_PER_HOUR (default 5x),
IPAM_HOST_CREATE_RATE_LIMIT_PER_HOUR (default 10x), IPAM_WEBHOOK_CREATE_/BULK_/PUBLIC_SHARE_/LOGIN_RATE_LIMIT_PER_HOUR;
IPAM_RATE_LIMITS_ENABLED=false turns them off.

Views choose a scope with `throttle_scopes = {"<action or METHOD>": "<scope>"}`; otherwise safe methods
are `read` and the rest `write`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import BaseThrottle

from foundation.middleware import add_rate_limit_headers, client_ip

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger("ipam.ratelimit")
WINDOW_SECONDS = 3600
# When the store fails, skip it for this long (per process) so a Redis outage does not add a connect
# timeout to every request; and warn at most once per WARNING_INTERVAL.
STORE_RETRY_SECONDS = 5.0
WARNING_INTERVAL = 60.0
_store = {"down_until": 0.0, "warned_at": 0.0}


def scope_limits() -> dict[str, int]:
    """Requests per hour for each scope (read from settings on every call so they can be changed)."""
    base = settings.IPAM_RATE_LIMIT_PER_HOUR
    return {
        "read": settings.IPAM_READ_RATE_LIMIT_PER_HOUR or base * 5,
        "write": base,
        "host_create": settings.IPAM_HOST_CREATE_RATE_LIMIT_PER_HOUR or base * 10,
        "webhook_create": settings.IPAM_WEBHOOK_CREATE_RATE_LIMIT_PER_HOUR,
        "bulk": settings.IPAM_BULK_RATE_LIMIT_PER_HOUR,
        "public_share": settings.IPAM_PUBLIC_SHARE_RATE_LIMIT_PER_HOUR,
        "login": settings.IPAM_LOGIN_RATE_LIMIT_PER_HOUR,
    }


@dataclass(frozen=True)
class Usage:
    limit: int
    remaining: int
    reset: int  # unix time the window ends

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining), "X-RateLimit-Reset": str(self.reset)}


def _redis_client() -> Any:
    """The raw Redis client behind the default cache (django-redis), or None for other cache backends."""
    client = getattr(cache, "client", None)
    return client.get_client(write=True) if client is not None and hasattr(client, "get_client") else None


def _increment(key: str) -> int | None:
    """Add one to the window counter; None when the store silently ignored the call (django-redis).

    On Redis: `INCR` and `EXPIRE` in one pipeline, one round trip (the key is per window, so refreshing its
    expiry on every hit only keeps it a little longer). Other caches: `add` then `incr`.
    """
    redis = _redis_client()
    if redis is not None:
        real_key = cache.make_key(key)
        pipeline = redis.pipeline(transaction=False)
        pipeline.incr(real_key)
        pipeline.expire(real_key, WINDOW_SECONDS + 60)
        value, _ = pipeline.execute()
        return int(value)
    cache.add(key, 0, timeout=WINDOW_SECONDS + 60)
    try:
        value = cache.incr(key)
    except ValueError:  # the key expired or was evicted between add and incr
        cache.add(key, 0, timeout=WINDOW_SECONDS + 60)
        value = cache.incr(key)
    return None if value is None else int(value)


def hit(scope: str, ident: str, limit: int) -> tuple[bool, Usage]:
    """Count one request of `ident` in `scope`; (allowed, usage). Store unreachable: allowed, counted."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    reset = (window + 1) * WINDOW_SECONDS
    if now < _store["down_until"]:
        return _degraded(limit, reset, "failed moments ago")
    key = f"ipam:rl:{scope}:{ident}:{window}"
    try:
        count = _increment(key)
    except Exception as exc:  # cache down: allow, and say so
        _store["down_until"] = now + STORE_RETRY_SECONDS
        return _degraded(limit, reset, exc.__class__.__name__)
    if count is None:
        _store["down_until"] = now + STORE_RETRY_SECONDS
        return _degraded(limit, reset, "the cache ignored the error")
    return count <= limit, Usage(limit, max(0, limit - count), reset)


def _degraded(limit: int, reset: int, reason: str) -> tuple[bool, Usage]:
    now = time.time()
    if now - _store["warned_at"] >= WARNING_INTERVAL:
        _store["warned_at"] = now
        logger.warning("Rate limit store unavailable (%s); allowing requests without limits until it is back", reason)
    _count_degraded()
    return True, Usage(limit, limit, reset)


def _count_degraded() -> None:
    from foundation import metrics

    metrics.RATE_LIMIT_DEGRADED.inc()


def _count_limited(scope: str) -> None:
    from foundation import metrics

    metrics.RATE_LIMITED.labels(scope=scope).inc()


class _Throttle(BaseThrottle):
    usage: Usage | None = None

    def scope_for(self, request: Request, view: APIView) -> str:
        raise NotImplementedError

    def ident_for(self, request: Request) -> str:
        raise NotImplementedError

    def allow_request(self, request: Request, view: APIView) -> bool:
        if not settings.IPAM_RATE_LIMITS_ENABLED:
            return True
        scope = self.scope_for(request, view)
        limits = scope_limits()
        allowed, self.usage = hit(scope, self.ident_for(request), limits.get(scope, limits["write"]))
        request._request.ipam_ratelimit = self.usage  # type: ignore[attr-defined]  # headers, see add_rate_limit_headers
        if not allowed:
            _count_limited(scope)
        return allowed

    def wait(self) -> float | None:
        return max(1.0, self.usage.reset - time.time()) if self.usage else None


class UserRateThrottle(_Throttle):
    """Per authenticated user (per client IP for anonymous callers) and operation class."""

    def scope_for(self, request: Request, view: APIView) -> str:
        scopes: dict[str, str] = getattr(view, "throttle_scopes", {})
        action = getattr(view, "action", None)
        method = (request.method or "GET").upper()
        if action and action in scopes:
            return scopes[action]
        if method in scopes:
            return scopes[method]
        return "read" if method in ("GET", "HEAD", "OPTIONS") else "write"

    def ident_for(self, request: Request) -> str:
        user = request.user
        return f"user:{user.pk}" if user and user.is_authenticated else f"ip:{client_ip(request._request)}"


class PublicShareThrottle(_Throttle):
    """Per client IP, for the public share view."""

    def scope_for(self, request: Request, view: APIView) -> str:
        return "public_share"

    def ident_for(self, request: Request) -> str:
        return f"ip:{client_ip(request._request)}"


def login_attempt(request: HttpRequest, username: Any) -> tuple[bool, Usage]:
    """Count one password attempt, for every way in (`/auth/token`, `/admin/login/`): per client address and
    per username, each against IPAM_LOGIN_RATE_LIMIT_PER_HOUR; refused when either is over. The usage with
    the fewest remaining attempts goes to the response headers."""
    limit = scope_limits()["login"]
    allowed, usage = hit("login", f"ip:{client_ip(request)}", limit)
    if isinstance(username, str) and username.strip():
        name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        name_allowed, name_usage = hit("login", f"name:{name}", limit)
        allowed = allowed and name_allowed
        usage = min(usage, name_usage, key=lambda u: u.remaining)
    request.ipam_ratelimit = usage  # type: ignore[attr-defined]  # headers, see add_rate_limit_headers
    if not allowed:
        _count_limited("login")
    return allowed, usage


class LoginThrottle(_Throttle):
    """`/auth/token`: see `login_attempt` (the admin login view uses the same counters)."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        if not settings.IPAM_RATE_LIMITS_ENABLED:
            return True
        data = request.data if hasattr(request.data, "get") else {}
        allowed, self.usage = login_attempt(request._request, data.get("username"))
        return allowed


class RateLimitHeadersMiddleware:
    """Copies the usage computed by the throttle onto the response. The project's middleware list no longer
    has it: `foundation.middleware.RequestContextMiddleware` does the same (`add_rate_limit_headers`) in its
    own layer. Kept for stacks that list it."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_rate_limit_headers(request, response)
        return response
