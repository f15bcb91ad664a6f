"""`webhook_changed`: every configuration write of a webhook, announced for the audit trail.

`webhooks` may not import `ipam`, yet each write must be audited in its own
transaction (contract §4). So the services send this signal *inside* the write's transaction and
`ipam.receivers` writes the audit row (ADR 0005). It is sent with `send`, not `send_robust`: a receiver
that fails raises into the service and rolls the write back with it.

Keyword arguments (all sent every time):
    action_type  create | update | delete | rotate_secret | webhook_disabled (the automatic disable)
    actor        the user who made the change, or None for the system (delivery failures)
    user_id      the owner of the webhook: the namespace the audit row belongs to
    resource_id  the webhook id (str)
    changes      [{field, old_value, new_value}] (empty for create and delete)
    snapshot     the webhook after the change (before it, for delete), from `webhook_snapshot`
    reason       why, for system changes ("" otherwise)

Test sends, redeliveries and delivery attempts are deliveries, logged in the delivery table: not sent here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import Signal

from foundation.types import Actor
from webhooks.models import Webhook

webhook_changed = Signal()

# An allow-list: the signing secret (`secret_encrypted`) and anything derived from it never leave here.
SNAPSHOT_FIELDS = (
    "webhook_url",
    "events",
    "description",
    "is_active",
    "failure_count",
    "disabled_at",
    "disabled_reason",
    "secret_rotated_at",
    "created_at",
    "updated_at",
)
UNCOMPARED_FIELDS = frozenset({"updated_at"})  # changes with every save: not a change worth listing


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def webhook_snapshot(webhook: Webhook) -> dict[str, Any]:
    """The audited picture of a webhook: its configuration and state, never its secret."""
    return {"webhook_id": str(webhook.pk), **{field: _json(getattr(webhook, field)) for field in SNAPSHOT_FIELDS}}


def snapshot_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """`[{field, old_value, new_value}]` for the snapshot fields that differ (in snapshot order)."""
    return [
        {"field": field, "old_value": before.get(field), "new_value": after.get(field)}
        for field in SNAPSHOT_FIELDS
        if field not in UNCOMPARED_FIELDS and before.get(field) != after.get(field)
    ]


def webhook_changed_send(
    *,
    action_type: str,
    actor: Actor | None,
    user_id: Any,
    snapshot: dict[str, Any],
    changes: list[dict[str, Any]] | None = None,
    reason: str = "",
) -> None:
    """Announce one configuration write; call it inside the write's transaction."""
    webhook_changed.send(
        sender=Webhook,
        action_type=action_type,
        actor=actor,
        user_id=user_id,
        resource_id=snapshot["webhook_id"],
        changes=changes or [],
        snapshot=snapshot,
        reason=reason,
    )
