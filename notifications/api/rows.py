"""The notification list page rendered from `.values()` rows by a plain function (issue 19).

`NotificationSerializer(many=True)` builds 50 model instances and walks 11 serializer fields per row; the
function below gives the same JSON — same keys, same order, same formatting, byte for byte
(tests/notifications/test_notification_rows.py renders both and compares) — from the plain rows of one
query. Keep `notification_row` in step with `NotificationSerializer`: a field added there and not here
fails that test. `drf_datetime` and `text_or_none` are also used by the webhook delivery rows and the
reservation rows (ipam/api/reservation_rows.py).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers

_drf_datetime = serializers.DateTimeField().to_representation


def drf_datetime(value: Any, tz: Any = None) -> Any:
    """DRF's `DateTimeField` output (ISO 8601 in the current time zone, `Z` for UTC) for an aware datetime,
    without the field's per-value settings lookups; None stays None and anything else goes through DRF.
    `tz`: the current time zone, when the caller has looked it up already (once per page, not per value)."""
    if value is None:
        return None
    if getattr(value, "tzinfo", None) is None:
        return _drf_datetime(value)
    text = value.astimezone(tz or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


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


# Query parameters that select no rows (paging, ordering, format): the rows are all of the caller's.
NOT_FILTERS = frozenset({"page", "page_size", "ordering", "format"})


def unfiltered_or_filter(view: Any, queryset: Any) -> Any:
    """`view.filter_queryset(queryset)`, skipping the django-filter set when the query string holds no filter
    (an empty filter set selects every row, but building its form costs a few ms per request)."""
    if not set(view.request.query_params) <= NOT_FILTERS:
        return view.filter_queryset(queryset)
    for backend in view.filter_backends:
        if not issubclass(backend, DjangoFilterBackend):
            queryset = backend().filter_queryset(view.request, queryset, view)
    return queryset
