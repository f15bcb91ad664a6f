"""The enhancement stores: reservations, shares, preferences and saved filters, notifications, notification
rules and webhooks (their secrets encrypted, their owners told that the signature format changed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Model

from ipam.models import Reservation, SavedFilter, Share, UserPreference
from ipam.services.legacy.quirks import aware, integer, legacy_uuid, oid, plain, text
from ipam.services.legacy.report import WebhookNotice
from ipam.services.legacy.scope import Scope
from ipam.services.legacy.writer import insert_rows
from ipam.services.shares import token_hash
from notifications.models import Channel, Notification, NotificationRule, Severity
from webhooks.crypto import secret_encrypt, secret_generate
from webhooks.events import EVENT_TYPES
from webhooks.models import Webhook

EVENT_ALIASES = {"host.created": "host.allocated", "host.deleted": "host.released", "region.deleted": "region.retired"}


def _existing(scope: Scope, model: type[Model]) -> set[str]:
    if scope.fresh:
        return set()
    return set(model._default_manager.filter(user_id=scope.user_id, legacy_id__isnull=False).values_list("legacy_id", flat=True))


def _new_docs(scope: Scope, collection: str, model: type[Model], docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(legacy id, document) of the documents not imported yet; counts the rest as existing."""
    existing = _existing(scope, model)
    fresh = []
    for doc in docs:
        scope.report.stats(collection).read += 1
        legacy = oid(doc.get("_id"))
        if legacy in existing:
            scope.report.existing(collection)
        else:
            fresh.append((legacy, doc))
    return fresh


def reservations_import(scope: Scope, docs: list[dict[str, Any]]) -> None:
    collection, rows = "ipam_reservations", []
    active: set[tuple[Any, ...]] = set()
    if not scope.fresh:
        active = set(
            Reservation.objects.filter(user_id=scope.user_id, status="active").values_list("resource_type", "x_octet", "y_octet", "z_octet")
        )
    status_map = {"active": "active", "expired": "expired", "converted": "converted", "cancelled": "cancelled"}
    for legacy, doc in _new_docs(scope, collection, Reservation, docs):
        kind = str(doc.get("resource_type") or "").lower()
        x, y, z = (integer(doc.get(k)) for k in ("x_octet", "y_octet", "z_octet"))
        if kind not in {"region", "host"} or x is None or y is None or not (0 <= x <= 255 and 0 <= y <= 255):
            scope.report.skip(collection, "no valid resource_type/x_octet/y_octet")
            continue
        if kind == "region":
            z = None
        elif z is None or not 1 <= z <= 254:
            scope.report.skip(collection, "host reservation without a Z in 1..254")
            continue
        country = scope.country_for_x(x)
        status = status_map.get(str(doc.get("status") or "").lower())
        if country is None or status is None:
            scope.report.skip(collection, "X in no country, or unknown status")
            continue
        if status == "active":
            key = (kind, x, y, z)
            if key in active:
                scope.report.skip(collection, "second active reservation of the same address (the original only checked in code)")
                continue
            active.add(key)
        created = aware(doc.get("created_at")) or scope.now
        rows.append(
            {
                "id": legacy_uuid("reservation", legacy),
                "legacy_id": legacy,
                "user_id": scope.user_id,
                "resource_type": kind,
                "country_id": country.pk,
                "x_octet": x,
                "y_octet": y,
                "z_octet": z,
                "reason": text(doc.get("reason"), 500) or "imported from the original system",
                "status": status,
                "expires_at": aware(doc.get("expires_at")),
                "created_by": scope.actor_name(doc.get("created_by")),
                "created_at": created,
                "updated_at": aware(doc.get("updated_at")) or aware(doc.get("converted_at")) or created,
            }
        )
    scope.report.created(collection, len(rows))
    insert_rows(Reservation, rows, batch_size=scope.batch_size)


def shares_import(scope: Scope, docs: list[dict[str, Any]]) -> None:
    """The original stored share tokens in plain text; here only their SHA-256 is kept, so old links still open."""
    collection, rows = "ipam_shares", []
    seen_hashes: set[str] = set()
    for legacy, doc in _new_docs(scope, collection, Share, docs):
        token = str(doc.get("share_token") or "").strip()
        kind = str(doc.get("resource_type") or "").lower()
        if not token:
            scope.report.skip(collection, "no share_token")
            continue
        digest = token_hash(token)
        if digest in seen_hashes or Share.objects.filter(token_hash=digest).exists():
            scope.report.skip(collection, "share_token already used by another share")
            continue
        target = oid(doc.get("resource_id"))
        if kind == "country":
            country = scope.country_named(target)
            resource_id = country.code if country else None
        elif kind == "region":
            resource_id = str(scope.regions[target].pk) if target in scope.regions else None
        elif kind == "host":
            resource_id = str(scope.hosts[target].pk) if target in scope.hosts else None
        else:
            scope.report.skip(collection, "unknown resource_type")
            continue
        if resource_id is None:
            scope.report.skip(collection, f"the shared {kind} was not imported (gone or skipped)")
            continue
        created = aware(doc.get("created_at")) or scope.now
        expires = aware(doc.get("expires_at"))
        if expires is None:
            expires = created + timedelta(days=7)
            scope.report.normalise(collection, "no expires_at: created_at + 7 days (our default)")
        seen_hashes.add(digest)
        rows.append(
            {
                "id": legacy_uuid("share", legacy),
                "legacy_id": legacy,
                "user_id": scope.user_id,
                "resource_type": kind,
                "resource_id": resource_id,
                "token_hash": digest,
                "description": text(doc.get("description"), 500),
                "expires_at": expires,
                "is_active": doc.get("is_active") is not False,
                "view_count": max(integer(doc.get("view_count")) or 0, 0),
                "last_accessed": aware(doc.get("last_accessed")),
                "created_at": created,
            }
        )
    scope.report.created(collection, len(rows))
    insert_rows(Share, rows, batch_size=scope.batch_size)


def preferences_import(scope: Scope, docs: list[dict[str, Any]]) -> None:
    collection = "ipam_user_preferences"
    for index, doc in enumerate(docs):
        scope.report.stats(collection).read += 1
        if index:
            scope.report.skip(collection, "second preferences document for the user (the first is used)")
            continue
        if UserPreference.objects.filter(user_id=scope.user_id).exists():
            scope.report.existing(collection)
            continue
        UserPreference.objects.create(
            user_id=scope.user_id,
            dashboard_layout=plain(doc.get("dashboard_layout")) if isinstance(doc.get("dashboard_layout"), dict) else {},
            notification_settings=plain(doc.get("notification_settings")) if isinstance(doc.get("notification_settings"), dict) else {},
            theme_preference=text(doc.get("theme_preference"), 50) or None,
        )
        scope.report.created(collection)
    _saved_filters(scope, [f for doc in docs[:1] for f in (doc.get("saved_filters") or []) if isinstance(f, dict)])


def _saved_filters(scope: Scope, entries: list[dict[str, Any]]) -> None:
    collection, rows = "saved_filters (in preferences)", []
    existing = set() if scope.fresh else set(SavedFilter.objects.filter(user_id=scope.user_id).values_list("id", flat=True))
    for entry in entries:
        scope.report.stats(collection).read += 1
        key = str(entry.get("filter_id") or entry.get("name") or "")
        pk = legacy_uuid("filter", f"{scope.user_id}:{key}")
        if pk in existing:
            scope.report.existing(collection)
            continue
        name = text(entry.get("name"), 100).strip()
        if not name:
            scope.report.skip(collection, "saved filter without a name")
            continue
        existing.add(pk)
        criteria = plain(entry.get("criteria")) if isinstance(entry.get("criteria"), dict) else {}
        rows.append(
            {
                "id": pk,
                "user_id": scope.user_id,
                "name": name,
                "criteria": criteria,
                "created_at": aware(entry.get("created_at")) or scope.now,
            }
        )
    scope.report.created(collection, len(rows))
    insert_rows(SavedFilter, rows, batch_size=scope.batch_size)


def _resource_ref(scope: Scope, value: Any) -> str:
    legacy = oid(value)
    if legacy in scope.hosts:
        return str(scope.hosts[legacy].pk)
    if legacy in scope.regions:
        return str(scope.regions[legacy].pk)
    return legacy[:100]


def notifications_import(scope: Scope, docs: list[dict[str, Any]]) -> None:
    collection, rows = "ipam_notifications", []
    for legacy, doc in _new_docs(scope, collection, Notification, docs):
        severity = str(doc.get("severity") or "info").lower()
        if severity not in Severity.values:
            scope.report.normalise(collection, "unknown severity: info")
            severity = "info"
        rows.append(
            {
                "id": legacy_uuid("notification", legacy),
                "legacy_id": legacy,
                "user_id": scope.user_id,
                "notification_type": text(doc.get("notification_type"), 50) or "legacy",
                "severity": severity,
                "message": text(doc.get("message"), 10_000),
                "resource_type": text(doc.get("resource_type"), 50),
                "resource_id": _resource_ref(scope, doc.get("resource_id")) if doc.get("resource_id") else "",
                "resource_link": text(doc.get("resource_link"), 500),
                "is_read": bool(doc.get("is_read")),
                "read_at": aware(doc.get("read_at")),
                "created_at": aware(doc.get("created_at")) or scope.now,
            }
        )
    scope.report.created(collection, len(rows))
    insert_rows(Notification, rows, batch_size=scope.batch_size)


def rules_import(scope: Scope, docs: list[dict[str, Any]]) -> None:
    collection, rows = "ipam_notification_rules", []
    for legacy, doc in _new_docs(scope, collection, NotificationRule, docs):
        conditions: dict[str, Any] = doc["conditions"] if isinstance(doc.get("conditions"), dict) else {}
        threshold = conditions.get("utilization_threshold")
        if threshold is None and doc.get("threshold") is not None:
            threshold = doc.get("threshold")
            scope.report.normalise(collection, "stray top-level 'threshold' (the original's PATCH route) used as the threshold")
        try:
            value = float(str(threshold))
        except (TypeError, ValueError):
            scope.report.skip(collection, "no utilization_threshold (ours need one)")
            continue
        if not 0 <= value <= 100:
            scope.report.skip(collection, "utilization_threshold outside 0..100")
            continue
        kind = str(conditions.get("resource_type") or "").lower()
        if kind not in {"", "country", "region"}:
            scope.report.normalise(collection, "resource_type other than country/region: both")
            kind = ""
        channels = [c for c in (doc.get("notification_channels") or []) if c in Channel.values] or ["in_app"]
        ids = [_resource_ref(scope, v) for v in (conditions.get("resource_ids") or [])]
        created = aware(doc.get("created_at")) or scope.now
        rows.append(
            {
                "id": legacy_uuid("rule", legacy),
                "legacy_id": legacy,
                "user_id": scope.user_id,
                "rule_name": text(doc.get("rule_name"), 100) or "imported rule",
                "utilization_threshold": value,
                "resource_type": kind,
                "resource_ids": ids,
                "notification_channels": channels,
                "is_active": doc.get("is_active") is not False,
                "last_triggered_at": aware(doc.get("last_triggered")),
                "created_at": created,
                "updated_at": aware(doc.get("updated_at")) or created,
            }
        )
    scope.report.created(collection, len(rows))
    insert_rows(NotificationRule, rows, batch_size=scope.batch_size)


def webhooks_import(scope: Scope, docs: list[dict[str, Any]]) -> None:
    """Secrets stay the same (receivers keep theirs) but are encrypted at rest; the signature format changes."""
    collection, rows = "ipam_webhooks", []
    for legacy, doc in _new_docs(scope, collection, Webhook, docs):
        url = text(doc.get("webhook_url"), 500).strip()
        if not url.startswith(("http://", "https://")):
            scope.report.skip(collection, "webhook_url is not an http(s) URL")
            continue
        events = []
        for name in doc.get("events") or []:
            mapped = EVENT_ALIASES.get(str(name), str(name))
            if mapped in EVENT_TYPES:
                events.append(mapped)
            else:
                scope.report.normalise(collection, f"event {str(name)[:40]!r} does not exist here: dropped")
        secret = str(doc.get("secret_key") or "")
        if not secret:
            secret = secret_generate()
            scope.report.normalise(collection, "no secret_key: a new secret was generated (the owner must fetch it by rotating)")
        created = aware(doc.get("created_at")) or scope.now
        rows.append(
            {
                "id": legacy_uuid("webhook", legacy),
                "legacy_id": legacy,
                "user_id": scope.user_id,
                "webhook_url": url,
                "events": sorted(set(events)),
                "description": text(doc.get("description"), 500),
                "secret_encrypted": secret_encrypt(secret),
                "is_active": doc.get("is_active") is not False and bool(events),
                "failure_count": max(integer(doc.get("failure_count")) or 0, 0),
                "last_delivery_at": aware(doc.get("last_delivery")),
                "created_at": created,
                "updated_at": aware(doc.get("updated_at")) or created,
            }
        )
    scope.report.created(collection, len(rows))
    insert_rows(Webhook, rows, batch_size=scope.batch_size)
    if rows:
        scope.report.webhook_notices.append(WebhookNotice(scope.user.username, scope.user.email, [str(r["webhook_url"]) for r in rows]))
