"""The notification list page rendered from `.values()` rows by a plain function (issue 19).

`NotificationSerializer(many=True)` builds 50 model instances and walks 11 serializer fields per row; the
function below gives the same JSON — same keys, same order, same formatting, byte for byte
(tests/notifications/test_notification_rows.py renders both and compares) — from the plain rows of one
query. Keep `notification_row` in step with `NotificationSerializer`: a field added there and not here
fails that test. The helpers shared with the other row functions are in foundation/rows.py.
"""

from __future__ import annotations

from typing import Any

from foundation.rows import drf_datetime, text_or_none

NOTIFICATION_VALUES = (
    "id",
    "notification_type",
    "severity",
    "message",
    "resource_type",
    "resource_id",
    "resource_link",
    "is_read",
    "read_at",
    "created_at",
    "legacy_id",
)


def notification_row(row: dict[str, Any], tz: Any = None) -> dict[str, Any]:
    """`NotificationSerializer` output for a `.values(*NOTIFICATION_VALUES)` row (`tz`: the current time zone,
    looked up once per page by the caller; looked up here when None)."""
    return {
        "notification_id": str(row["id"]),
        "notification_type": text_or_none(row["notification_type"]),
        "severity": text_or_none(row["severity"]),
        "message": text_or_none(row["message"]),
        "resource_type": text_or_none(row["resource_type"]),
        "resource_id": text_or_none(row["resource_id"]),
        "resource_link": text_or_none(row["resource_link"]),
        "is_read": None if row["is_read"] is None else bool(row["is_read"]),
        "read_at": drf_datetime(row["read_at"], tz),
        "created_at": drf_datetime(row["created_at"], tz),
        "legacy_id": text_or_none(row["legacy_id"]),
    }
