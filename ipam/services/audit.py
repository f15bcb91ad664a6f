"""Audit rows: written by every service in the same transaction as the change it records."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from foundation import context, partitions
from foundation.types import Actor
from ipam import cache
from ipam.models import AUDIT_DAYS, ActorType, AuditLog


def _actor_fields(actor: Actor | None) -> dict[str, str]:
    ctx = context.current()
    if actor is None:
        return {"actor": "system", "actor_type": ActorType.SYSTEM, "request_id": ctx.request_id, "source_ip": "", "auth_method": "system"}
    return {
        "actor": actor.get_username(),
        "actor_type": ActorType.USER,
        "request_id": ctx.request_id,
        "source_ip": ctx.source_ip,
        "auth_method": ctx.auth_method or ("admin" if ctx.request_id else "internal"),
    }


def audit_entry(
    *,
    actor: Actor | None,
    user_id: int | None,
    action_type: str,
    resource_type: str,
    resource_id: str | UUID = "",
    ip_address: str = "",
    cidr: str = "",
    country_code: str = "",
    region_id: UUID | None = None,
    reason: str = "",
    changes: list[dict[str, Any]] | None = None,
    snapshot: dict[str, Any] | None = None,
) -> AuditLog:
    """An unsaved audit row (for `audit_save_many`)."""
    return AuditLog(
        user_id=user_id,
        action_type=action_type,
        resource_type=resource_type,
        resource_id=str(resource_id),
        ip_address=ip_address,
        cidr=cidr,
        country_code=country_code,
        region_id=region_id,
        reason=reason[:500],
        changes=changes or [],
        snapshot=snapshot or {},
        timestamp=timezone.now(),
        **_actor_fields(actor),
    )


def region_audit(*, actor: Actor, region: Any, action_type: str, country_code: str, **extra: Any) -> AuditLog:
    """An unsaved audit row about `region`, in its owner's namespace (`extra`: reason, changes, snapshot)."""
    return audit_entry(
        actor=actor,
        user_id=region.user_id,
        action_type=action_type,
        resource_type="region",
        resource_id=region.pk,
        cidr=region.cidr,
        country_code=country_code,
        region_id=region.pk,
        **extra,
    )


def host_audit(*, actor: Actor, host: Any, region: Any, action_type: str, country_code: str, **extra: Any) -> AuditLog:
    """An unsaved audit row about `host` of `region`, in its owner's namespace."""
    return audit_entry(
        actor=actor,
        user_id=host.user_id,
        action_type=action_type,
        resource_type="host",
        resource_id=host.pk,
        ip_address=host.ip_address,
        cidr=region.cidr,
        country_code=country_code,
        region_id=region.pk,
        **extra,
    )


def audit_save_many(entries: Iterable[AuditLog]) -> list[AuditLog]:
    rows = AuditLog.objects.bulk_create(list(entries))
    audit_saved(rows)
    return rows


def audit_saved(rows: list[AuditLog]) -> None:
    """After audit rows were inserted (by `audit_save_many`, or by a caller's own statement: host allocation on
    PostgreSQL, `ipam.services.hostwrites`): their users' cached reads become stale when the transaction commits."""
    for user_id in {row.user_id for row in rows if row.user_id is not None}:
        # Every write goes through here, so this is where cached reads of the user become stale.
        transaction.on_commit(functools.partial(cache.bump_user_version, user_id))


def audit_record(**kwargs: Any) -> AuditLog:
    """Write one audit row (see `audit_entry` for the fields)."""
    return audit_save_many([audit_entry(**kwargs)])[0]


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """`[{field, old_value, new_value}]` for the keys whose values differ."""
    return [{"field": key, "old_value": before.get(key), "new_value": after.get(key)} for key in after if before.get(key) != after.get(key)]


def audit_prune(*, older_than_days: int, batch_size: int = 5000) -> int:
    """Delete audit rows older than the retention: on PostgreSQL whole months go at once (their partitions are
    dropped, ADR 0016; their rows leave the day counts first, as no trigger fires); the rest (the boundary
    month, SQLite) in batches (short transactions, no long locks)."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    total = partitions.drop_expired(AuditLog._meta.db_table, cutoff, before_drop=AUDIT_DAYS.forget_partition).rows
    while True:
        ids = list(AuditLog.objects.filter(timestamp__lt=cutoff).values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        deleted, _ = AuditLog.objects.filter(id__in=ids).delete()
        total += deleted
    AUDIT_DAYS.compact()  # the days now empty go, the rest are folded into one row per (user, day)
    return total
