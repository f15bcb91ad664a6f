"""Per-request context (request id, client address, auth method) for audit rows and log lines.

Set by `RequestContextMiddleware` and the authentication classes; read by the audit service and the
logging filter. Context variables keep concurrent requests (threads) apart.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    source_ip: str = ""
    auth_method: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("ipam_request_context", default=RequestContext())  # noqa: B039 (frozen)


def current() -> RequestContext:
    return _current.get()


def set_context(ctx: RequestContext) -> contextvars.Token[RequestContext]:
    return _current.set(ctx)


def reset_context(token: contextvars.Token[RequestContext]) -> None:
    _current.reset(token)


def set_auth_method(method: str) -> None:
    ctx = _current.get()
    _current.set(RequestContext(request_id=ctx.request_id, source_ip=ctx.source_ip, auth_method=method))
