"""The one place that makes HTTP requests: POST a signed body to a webhook URL.

- timeout `IPAM_WEBHOOK_TIMEOUT_SECONDS` (10 s) to connect and between bytes; redirects are never
  followed; proxies from the environment are ignored (the connection must go where the guard says);
- the SSRF guard runs on the socket actually connected (`ssrf.peer_check`), so a DNS answer that changed
  after the URL was checked cannot reach a refused address;
- at most 1 KB of the response body is read (for the error message); the rest is discarded.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from webhooks import ssrf

USER_AGENT = f"IPAM-Webhooks/{getattr(settings, 'IPAM_VERSION', '0')}"
BODY_EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class TransportResult:
    status_code: int | None  # None: no HTTP response (network error, timeout, refused target)
    response_time_ms: int
    error: str = ""
    retry_after: int | None = None  # seconds, from a Retry-After header
    refused: bool = False  # the SSRF guard refused the target (never retried)


def _check_connected(host: str, sock: socket.socket) -> None:
    try:
        ssrf.peer_check(host, str(sock.getpeername()[0]))
    except BaseException:
        sock.close()
        raise


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_connected(self.host, sock)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_connected(self.host, sock)
        return sock


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or netrc from the environment
    adapter = _GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _retry_after(value: str | None) -> int | None:
    if value and value.strip().isdigit():
        return int(value.strip())
    return None


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float | None = None) -> TransportResult:
    """POST `body` to `url`; never raises (every outcome is a TransportResult)."""
    timeout = float(timeout if timeout is not None else settings.IPAM_WEBHOOK_TIMEOUT_SECONDS)
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        ssrf.url_check(url)
        with _session() as session:
            response = session.post(
                url,
                data=body,
                headers={"User-Agent": USER_AGENT, **headers},
                timeout=(timeout, timeout),
                allow_redirects=False,
                stream=True,
            )
            try:
                excerpt = response.raw.read(BODY_EXCERPT_BYTES, decode_content=True) or b""
            except Exception:
                excerpt = b""
            finally:
                response.close()
    except ssrf.UnsafeTarget as exc:
        return TransportResult(None, elapsed(), f"Target refused: {exc}", refused=True)
    except requests.Timeout:
        return TransportResult(None, elapsed(), f"Timed out after {timeout:g} s")
    except requests.RequestException as exc:
        cause = exc.__context__ if isinstance(exc.__context__, ssrf.UnsafeTarget) else None
        if cause is not None:
            return TransportResult(None, elapsed(), f"Target refused: {cause}", refused=True)
        return TransportResult(None, elapsed(), f"Connection error: {exc.__class__.__name__}")
    except Exception as exc:  # anything else (bad URL parts, TLS library errors): a failed attempt, not a crash
        return TransportResult(None, elapsed(), f"Request failed: {exc.__class__.__name__}")
    code = response.status_code
    error = ""
    if not 200 <= code < 300:
        text = excerpt.decode("utf-8", "replace").strip().replace("\n", " ")
        error = f"HTTP {code}" + (" (redirect not followed)" if 300 <= code < 400 else "") + (f": {text[:200]}" if text else "")
    return TransportResult(code, elapsed(), error, retry_after=_retry_after(response.headers.get("Retry-After")))
