"""`notification_rule_changed`: every configuration write of a notification rule, announced for the audit trail.

`notifications` imports no other app of ours, yet each write must be audited in its own transaction
(contract §4). So the services send this signal *inside* the write's transaction and `ipam.receivers` writes
the audit row (ADR 0005). It is sent with `send`, not `send_robust`: a receiver that fails raises into
the service and rolls the write back with it.

Keyword arguments (all sent every time):
    action_type  create | update | delete
    actor        the user who made the change (the owner, or a staff user in the admin)
    user_id      the owner of the rule: the namespace the audit row belongs to
    resource_id  the rule id (str)
    changes      [{field, old_value, new_value}] (empty for create and delete)
    snapshot     the rule after the change (before it, for delete), from `rule_snapshot`
    reason       "" (kept for symmetry with `webhooks.signals.webhook_changed`)

Firing a rule (`last_triggered_at`, alert states) is evaluation, not configuration: not sent here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import Signal

from foundation.types import Actor
from notifications.models import NotificationRule

notification_rule_changed = Signal()

# Flat (the conditions are fields of the rule), so that `changes` name the exact field that changed.
SNAPSHOT_FIELDS = (
    "rule_name",
    "utilization_threshold",
    "resource_type",
    "resource_ids",
    "notification_channels",
    "severity",
    "is_active",
    "created_at",
    "updated_at",
)
UNCOMPARED_FIELDS = frozenset({"updated_at"})
EMPTY_AS_NULL = frozenset({"resource_type", "severity"})  # "" means "any" / "by utilization": null, as the API shows it


def _json(field: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if field in EMPTY_AS_NULL and value == "":
        return None
    return list(value) if isinstance(value, list) else value


def rule_snapshot(rule: NotificationRule) -> dict[str, Any]:
    """The audited picture of a rule."""
    return {"rule_id": str(rule.pk), **{field: _json(field, getattr(rule, field)) for field in SNAPSHOT_FIELDS}}


def snapshot_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """`[{field, old_value, new_value}]` for the snapshot fields that differ (in snapshot order)."""
    return [
        {"field": field, "old_value": before.get(field), "new_value": after.get(field)}
        for field in SNAPSHOT_FIELDS
        if field not in UNCOMPARED_FIELDS and before.get(field) != after.get(field)
    ]


def notification_rule_changed_send(
    *, action_type: str, actor: Actor, user_id: Any, snapshot: dict[str, Any], changes: list[dict[str, Any]] | None = None
) -> None:
    """Announce one configuration write; call it inside the write's transaction."""
    notification_rule_changed.send(
        sender=NotificationRule,
        action_type=action_type,
        actor=actor,
        user_id=user_id,
        resource_id=snapshot["rule_id"],
        changes=changes or [],
        snapshot=snapshot,
        reason="",
    )
