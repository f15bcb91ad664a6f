"""The webhook delivery list page rendered from `.values()` rows by plain functions (issue 19).

`WebhookDeliverySerializer(many=True)` over a page of 50 deliveries builds 50 instances plus one per
attempt (prefetched), and walks 15 fields per delivery and 10 per attempt (a fresh `DateTimeField` for
each attempt's `delivered_at`). `delivery_rows` gives the same JSON — same keys, order and formatting,
byte for byte (tests/webhooks/test_delivery_rows.py renders both and compares) — from the page's rows alone:
`delivery_values` reads each delivery's attempt log in the same statement, as one JSON array per delivery
(`AttemptLog`), so a page is one statement however many attempts it holds. Keep it in step with
`WebhookDeliverySerializer` and `WebhookDeliveryAttemptSerializer`: a field added there and not here fails
that test.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.db.models import F, Func, JSONField, QuerySet

from foundation.rows import current_timezone, drf_datetime, text_or_none
from webhooks.models import WebhookDelivery, WebhookDeliveryAttempt

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
# An attempt in a delivery's log (`AttemptLog`): these columns, in this order.
ATTEMPT_LOG = ("attempt_number", "status_code", "response_time_ms", "error_message", "attempted_at", "next_attempt_at", "status")


class AttemptLog(Func):
    """A delivery's attempts as JSON text, `[[<ATTEMPT_LOG's columns>], …]` by attempt number: a correlated
    subquery over the attempts' `(delivery_id, attempt_number)` index, read with the delivery's row."""

    output_field = JSONField()

    def __init__(self) -> None:
        super().__init__(F("id"))

    def _log(self, compiler: Any, connection: Any, aggregate: str) -> tuple[str, list[Any]]:
        delivery, params = compiler.compile(self.source_expressions[0])
        quote, meta = connection.ops.quote_name, WebhookDeliveryAttempt._meta
        column = {field.name: f"attempt_log.{quote(field.column)}" for field in meta.concrete_fields}
        columns = ", ".join(column[name] for name in ATTEMPT_LOG)
        owner = column["delivery"]
        log = aggregate.format(columns=columns, number=column["attempt_number"])
        # quoted names and the compiled outer column only; no value is spliced in
        sql = f"(SELECT COALESCE({log}, '[]') FROM {quote(meta.db_table)} attempt_log WHERE {owner} = {delivery})"  # noqa: S608
        return sql, list(params)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        # SQLite (before 3.44) has no ORDER BY in an aggregate: `delivery_rows` sorts each log by attempt number.
        return self._log(compiler, connection, "json_group_array(json_array({columns}))")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return self._log(compiler, connection, "json_agg(json_build_array({columns}) ORDER BY {number})::text")


def delivery_values(deliveries: QuerySet[WebhookDelivery]) -> QuerySet[WebhookDelivery]:
    """`deliveries` as the list's rows: `DELIVERY_VALUES` and, as `log`, the attempt log of each (`AttemptLog`)."""
    return deliveries.values(*DELIVERY_VALUES, log=AttemptLog())  # type: ignore[return-value]


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _log_time(text: str | None) -> datetime.datetime | None:
    """A timestamp of an attempt log: ISO 8601 with its offset from PostgreSQL's JSON, naive UTC from SQLite's."""
    if text is None:
        return None
    moment = datetime.datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def attempt_row(entry: Sequence[Any], delivery_id: str, event_type: Any, tz: Any = None) -> dict[str, Any]:
    """`WebhookDeliveryAttemptSerializer` output for an attempt of the log (`ATTEMPT_LOG`'s columns) of the
    delivery `delivery_id` of `event_type` (`tz`: the current time zone, looked up once for the page)."""
    number, status_code, response_time_ms, error_message, attempted, next_attempt, status = entry
    attempted_at = drf_datetime(_log_time(attempted), tz)
    return {
        "delivery_id": delivery_id,
        "event_type": text_or_none(event_type),
        "attempt_number": _int_or_none(number),
        "status_code": _int_or_none(status_code),
        "response_time_ms": _int_or_none(response_time_ms),
        "error_message": text_or_none(error_message),
        "attempted_at": attempted_at,
        "delivered_at": attempted_at if status == "delivered" else None,
        "next_attempt_at": drf_datetime(_log_time(next_attempt), tz),
        "status": text_or_none(status),
    }


def delivery_row(row: dict[str, Any], tz: Any = None) -> dict[str, Any]:
    """`WebhookDeliverySerializer` output for a `delivery_values` row (`tz`: the current time zone, looked up once
    for the page)."""
    event_type, delivery_id = row["event_type"], str(row["id"])
    log = sorted(row["log"], key=lambda entry: entry[0])  # (already in order on PostgreSQL)
    return {
        "delivery_id": delivery_id,
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
        "attempts": [attempt_row(entry, delivery_id, event_type, tz) for entry in log],
    }


def delivery_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page of `delivery_values` rows with their attempt logs."""
    tz = current_timezone()  # once per page, not once per datetime (a page holds ≈ 250)
    return [delivery_row(row, tz) for row in rows]
