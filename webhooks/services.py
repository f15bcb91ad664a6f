"""Webhook services. `event_publish` is the one entry point every write path calls.

Transactional outbox: the event and its pending deliveries are written in the caller's transaction,
and a send is enqueued on commit.
"""

from __future__ import annotations

from typing import Any


def event_publish(*, user: Any, event_type: str, data: dict[str, Any]) -> None:
    """Publish `event_type` with `data` for the webhooks of `user` (no-op until webhooks land)."""
    return None


def delivery_logs_prune(*, older_than_days: int) -> int:
    """Delete delivery attempt logs older than `older_than_days`; returns how many were deleted."""
    return 0
