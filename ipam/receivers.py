"""Audit rows for the configuration writes of the apps below `ipam` (webhooks, notification rules).

`webhooks` and `notifications` may not import `ipam` (ADR 0005), so they cannot call the audit service.
Each of their services sends a signal inside its write's transaction instead (`webhooks.signals`,
`notifications.signals`); the receivers here, connected in `IpamConfig.ready`, write the audit row
through `ipam.services.audit` in that same transaction. A receiver that fails raises into the service, so
the write and its audit row commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from foundation.types import Actor
from ipam.services.audit import audit_record

# Never stored in an audit row, whatever a sender puts in (the senders' snapshots are allow-lists already).
SECRET_FIELDS = frozenset({"secret", "secret_key", "secret_encrypted", "secret_hash"})


def _audit_receiver(resource_type: str) -> Callable[..., None]:
    """A receiver writing one `resource_type` audit row per signal (actor None = system)."""

    def receive(
        sender: Any,
        *,
        action_type: str,
        actor: Actor,
        user_id: Any,
        resource_id: str,
        changes: list[dict[str, Any]],
        snapshot: dict[str, Any],
        reason: str = "",
        **kwargs: Any,
    ) -> None:
        audit_record(
            actor=actor,
            user_id=user_id,
            action_type=action_type,
            resource_type=resource_type,
            resource_id=resource_id,
            reason=reason,
            changes=[change for change in changes if change.get("field") not in SECRET_FIELDS],
            snapshot={key: value for key, value in snapshot.items() if key not in SECRET_FIELDS},
        )

    return receive


# `webhooks.signals.webhook_changed` and `notifications.signals.notification_rule_changed`.
webhook_changed_audit = _audit_receiver("webhook")
notification_rule_changed_audit = _audit_receiver("notification_rule")


def connect() -> None:
    """Called once from `IpamConfig.ready` (dispatch_uid: connecting twice is harmless)."""
    from notifications.signals import notification_rule_changed
    from webhooks.signals import webhook_changed

    webhook_changed.connect(webhook_changed_audit, dispatch_uid="ipam.audit.webhook_changed")
    notification_rule_changed.connect(notification_rule_changed_audit, dispatch_uid="ipam.audit.notification_rule_changed")
