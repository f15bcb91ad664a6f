"""The webhook delivery list page rendered from `.values()` rows by plain functions (issue 19).

`WebhookDeliverySerializer(many=True)` over a page of 50 deliveries builds 50 instances plus one per
attempt (prefetched), and walks 15 fields per delivery and 10 per attempt (a fresh `DateTimeField` for
each attempt's `delivered_at`). `delivery_rows` gives the same JSON — same keys, order and formatting,
byte for byte (tests/webhooks/test_delivery_rows.py renders both and compares) — from two plain queries:
the page's delivery rows and their attempts. Keep it in step with `WebhookDeliverySerializer` and
`WebhookDeliveryAttemptSerializer`: a field added there and not here fails that test. On PostgreSQL the attempts'
statement is compiled once per thread and takes the page's delivery ids as one array (foundation/compiled.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, router

from foundation.compiled import KEYS, Statement, any_of, array_literal, compiled, of_queryset
from foundation.rows import current_timezone, drf_datetime, text_or_none
from webhooks.models import WebhookDeliveryAttempt

DELIVERY_VALUES = (
    "id",
    "webhook_id",
    "event_id",
    "event_type",
    "status",
    "attempts",
    "last_status_code",
    "last_response_time_ms",
    "last_error",
    "delivered_at",
    "next_attempt_at",
    "redelivery_of",
    "created_at",
    "updated_at",
)
ATTEMPT_VALUES = (
    "delivery_id",
    "attempt_number",
    "status_code",
    "response_time_ms",
    "error_message",
    "attempted_at",
    "next_attempt_at",
    "status",
)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def attempt_row(row: dict[str, Any], event_type: Any, tz: Any = None) -> dict[str, Any]:
    """`WebhookDeliveryAttemptSerializer` output for a `.values(*ATTEMPT_VALUES)` row of a delivery of `event_type`
    (`tz`: the current time zone, when the caller has looked it up once for the page)."""
    attempted_at = drf_datetime(row["attempted_at"], tz)
    return {
        "delivery_id": text_or_none(row["delivery_id"]),
        "event_type": text_or_none(event_type),
        "attempt_number": _int_or_none(row["attempt_number"]),
        "status_code": _int_or_none(row["status_code"]),
        "response_time_ms": _int_or_none(row["response_time_ms"]),
        "error_message": text_or_none(row["error_message"]),
        "attempted_at": attempted_at,
        "delivered_at": attempted_at if row["status"] == "delivered" else None,
        "next_attempt_at": drf_datetime(row["next_attempt_at"], tz),
        "status": text_or_none(row["status"]),
    }


def delivery_row(row: dict[str, Any], attempts: Sequence[dict[str, Any]], tz: Any = None) -> dict[str, Any]:
    """`WebhookDeliverySerializer` output for a `.values(*DELIVERY_VALUES)` row and its attempt rows in order
    (`tz`: the current time zone, when the caller has looked it up once for the page)."""
    event_type = row["event_type"]
    return {
        "delivery_id": str(row["id"]),
        "webhook_id": text_or_none(row["webhook_id"]),
        "event_id": text_or_none(row["event_id"]),
        "event_type": text_or_none(event_type),
        "status": text_or_none(row["status"]),
        "attempt_number": _int_or_none(row["attempts"]),
        "status_code": _int_or_none(row["last_status_code"]),
        "response_time_ms": _int_or_none(row["last_response_time_ms"]),
        "error_message": text_or_none(row["last_error"]),
        "delivered_at": drf_datetime(row["delivered_at"], tz),
        "next_attempt_at": drf_datetime(row["next_attempt_at"], tz),
        "redelivery_of": text_or_none(row["redelivery_of"]),
        "created_at": drf_datetime(row["created_at"], tz),
        "updated_at": drf_datetime(row["updated_at"], tz),
        "attempts": [attempt_row(attempt, event_type, tz) for attempt in attempts],
    }


def delivery_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page of delivery rows with their attempt logs (one query for all of the page's attempts, in the
    order `prefetch_related("attempt_log")` gives: the attempt model's `attempt_number`)."""
    if not rows:
        return []
    by_delivery: dict[Any, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
    using = router.db_for_read(WebhookDeliveryAttempt)
    if connections[using].vendor == "postgresql":  # compiled once per thread, the page's ids in one parameter
        found = compiled(("delivery attempts", using), lambda: _attempts(using)).rows(using, [(KEYS, array_literal(by_delivery))])
    else:
        found = WebhookDeliveryAttempt.objects.filter(delivery_id__in=list(by_delivery)).order_by("attempt_number").values(*ATTEMPT_VALUES)
    for attempt in found:
        by_delivery[attempt["delivery_id"]].append(attempt)
    tz = current_timezone()  # once per page, not once per datetime (a page holds ≈ 250)
    return [delivery_row(row, by_delivery[row["id"]], tz) for row in rows]


def _attempts(using: str) -> Statement:
    """The attempts of the deliveries whose ids are bound in `KEYS`' place, in `attempt_number` order."""
    of_deliveries = any_of(WebhookDeliveryAttempt, "delivery", using)
    return of_queryset(WebhookDeliveryAttempt.objects.using(using).filter(of_deliveries).order_by("attempt_number").values(*ATTEMPT_VALUES))
