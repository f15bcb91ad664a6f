"""The reservation list page rendered from `.values()` rows by a plain function (issue 19).

`ReservationSerializer(many=True)` over a page of 50 builds 50 reservations and their countries and walks 16
serializer fields per row (two of them properties of the model: `reserved_address`, `current_status`). The
function below gives the same JSON — same keys, same order, same formatting, byte for byte
(tests/ipam/test_reservation_rows.py renders both and compares) — from the plain rows of one query, the
country's name and continent read by the same join `select_related("country")` made. Keep
`reservation_row` in step with `ReservationSerializer` and the two model properties: a field added there
and not here fails that test.

The status is the status as of now (`Reservation.current_status`): an active reservation whose `expires_at`
has passed shows `expired` before the hourly job writes it. The serializer reads the clock once per row; a
page reads it once (`now`), so every row of a page is judged at the same moment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from foundation.rows import current_timezone, drf_datetime, text_or_none
from ipam.models import Reservation, ReservationStatus

RESERVATION_VALUES = (
    "id",
    "resource_type",
    "country__name",
    "country__continent",
    "x_octet",
    "y_octet",
    "z_octet",
    "reason",
    "status",
    "expires_at",
    "converted_resource_id",
    "created_by",
    "created_at",
    "updated_at",
    "legacy_id",
)

_REGION = Reservation.ResourceType.REGION.value
_ACTIVE = ReservationStatus.ACTIVE.value
_EXPIRED = ReservationStatus.EXPIRED.value


def _current_status(status: Any, expires_at: Any, now: datetime) -> Any:
    """`Reservation.current_status` of a row, as of `now`."""
    if status == _ACTIVE and expires_at is not None and expires_at <= now:
        return _EXPIRED
    return status


def reservation_row(row: dict[str, Any], now: datetime | None = None, tz: Any = None) -> dict[str, Any]:
    """`ReservationSerializer` output for a `.values(*RESERVATION_VALUES)` row (`now`: `timezone.now()`, and
    `tz`: the current time zone, each looked up once per page)."""
    tz = tz or current_timezone()
    x, y, z = row["x_octet"], row["y_octet"], row["z_octet"]
    expires_at = row["expires_at"]
    return {
        "reservation_id": str(row["id"]),
        "resource_type": text_or_none(row["resource_type"]),
        "country": text_or_none(row["country__name"]),
        "continent": text_or_none(row["country__continent"]),
        "x_octet": None if x is None else int(x),
        "y_octet": None if y is None else int(y),
        "z_octet": None if z is None else int(z),
        "reserved_address": f"10.{x}.{y}.0/24" if row["resource_type"] == _REGION else f"10.{x}.{y}.{z}",
        "reason": text_or_none(row["reason"]),
        "status": text_or_none(_current_status(row["status"], expires_at, now or timezone.now())),
        "expires_at": drf_datetime(expires_at, tz),
        "converted_resource_id": text_or_none(row["converted_resource_id"]),
        "created_by": text_or_none(row["created_by"]),
        "created_at": drf_datetime(row["created_at"], tz),
        "updated_at": drf_datetime(row["updated_at"], tz),
        "legacy_id": text_or_none(row["legacy_id"]),
    }
