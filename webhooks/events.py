"""Event types and the payload every delivery carries.

Payload: `{event_id, event_type, timestamp, user_id, data}`; `data` is the resource as the API shows it
(region / host / reservation snapshot, capacity figures, or a test message).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class EventType(models.TextChoices):
    REGION_CREATED = "region.created"
    REGION_UPDATED = "region.updated"
    REGION_RETIRED = "region.retired"
    HOST_ALLOCATED = "host.allocated"
    HOST_UPDATED = "host.updated"
    HOST_RELEASED = "host.released"
    RESERVATION_CREATED = "reservation.created"
    RESERVATION_CONVERTED = "reservation.converted"
    RESERVATION_EXPIRED = "reservation.expired"
    CAPACITY_WARNING = "capacity.warning"
    CAPACITY_CRITICAL = "capacity.critical"
    WEBHOOK_TEST = "webhook.test"


EVENT_TYPES: frozenset[str] = frozenset(EventType.values)


def payload_body(*, event_id: UUID, event_type: str, timestamp: datetime, user_id: Any, data: dict[str, Any]) -> str:
    """The exact JSON text sent (and signed) for this event; stored once so every attempt sends the same bytes."""
    payload = {
        "event_id": str(event_id),
        "event_type": event_type,
        "timestamp": timestamp.isoformat(),
        "user_id": user_id,
        "data": data,
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)
