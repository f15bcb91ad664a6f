"""Request signing: `X-IPAM-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<exact body bytes>")>`.

`verify` is what a receiver does (docs/webhooks.md has a standalone copy for receivers).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_PREFIX = "sha256="
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, *, now: float | None = None) -> bool:
    """True when `header` signs `body` at `timestamp` and the timestamp is at most 5 minutes old."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, ts, body), header or "")
