"""Notification services. `notification_create` is the one entry point other apps call.

The notifications work fills this in (rows, channels, IPAM_ENABLE_NOTIFICATIONS); until then it is a
no-op so callers can already be wired.
"""

from __future__ import annotations

from typing import Any


def notification_create(
    *,
    user: Any,
    notification_type: str,
    severity: str,
    message: str,
    resource_type: str = "",
    resource_id: str = "",
    resource_link: str = "",
) -> Any:
    """Create an in-app notification for `user` (severity: info | warning | critical)."""
    return None


def notifications_prune(*, older_than_days: int) -> int:
    """Delete notifications older than `older_than_days`; returns how many were deleted."""
    return 0
