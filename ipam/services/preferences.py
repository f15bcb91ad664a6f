"""User preferences (one JSON-ish document per user, created lazily) and saved filters.

`PUT /ipam/preferences` merges the given top-level keys into the document (shallow merge): known keys
are validated, other keys are kept as the client sent them (`null` removes such a key). The document is
at most 50 KB; a user keeps at most 50 saved filters, each with criteria of at most 10 KB.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.db import transaction

from foundation.types import Actor
from ipam import exceptions
from ipam.models import SavedFilter, UserPreference
from ipam.selectors.countries import country_get
from ipam.services.audit import audit_record

logger = logging.getLogger("ipam.preferences")

PREFERENCES_MAX_BYTES = 50 * 1024
CRITERIA_MAX_BYTES = 10 * 1024
SAVED_FILTERS_MAX = 50
FILTER_NAME_MAX = 100
EXTRA_KEY_MAX = 100
THEME_MAX = 50
OBJECT_KEYS = ("dashboard_layout", "notification_settings")
KNOWN_KEYS = (*OBJECT_KEYS, "theme_preference", "default_country")
READ_ONLY_KEYS = ("saved_filters", "updated_at")


def json_size(value: Any) -> int:
    """Bytes of the compact UTF-8 JSON encoding (how the limits are measured)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode())


def preference_values(preference: UserPreference) -> dict[str, Any]:
    """The stored document: known keys, then the client's other keys."""
    return {
        **(preference.extra or {}),
        "dashboard_layout": preference.dashboard_layout or {},
        "notification_settings": preference.notification_settings or {},
        "theme_preference": preference.theme_preference,
        "default_country": preference.default_country,
    }


def preference_get(*, actor: Actor) -> UserPreference:
    """The caller's preferences, created with the defaults on first use."""
    preference, _ = UserPreference.objects.get_or_create(user=actor)
    return preference


def _lock_preference(actor: Actor) -> UserPreference:
    preference_get(actor=actor)
    return UserPreference.objects.select_for_update().get(user=actor)


def _clean_changes(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise exceptions.ValidationFailed("The body must be a JSON object.", details={"body": ["Must be a JSON object."]})
    if json_size(data) > PREFERENCES_MAX_BYTES:
        raise exceptions.ValidationFailed(
            f"Preferences are limited to {PREFERENCES_MAX_BYTES} bytes.",
            code="payload_too_large",
            details={"body": [f"At most {PREFERENCES_MAX_BYTES} bytes of JSON."]},
        )
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, value in data.items():
        if key in READ_ONLY_KEYS:
            errors[key] = ["Read-only here (saved filters have their own endpoints)."]
        elif key in OBJECT_KEYS:
            if value is not None and not isinstance(value, dict):
                errors[key] = ["Must be a JSON object."]
            else:
                cleaned[key] = value or {}
        elif key == "theme_preference":
            if value is not None and (not isinstance(value, str) or len(value) > THEME_MAX):
                errors[key] = [f"A string of at most {THEME_MAX} characters, or null."]
            else:
                cleaned[key] = value or None
        elif key == "default_country":
            if value is None or value == "":
                cleaned[key] = None
            elif not isinstance(value, str):
                errors[key] = ["A country name, ISO alpha-2 or alpha-3 code, or null."]
            else:
                try:
                    cleaned[key] = country_get(value).name
                except exceptions.NotFound:
                    errors[key] = [f"Unknown country {value!r}."]
        elif not key or len(key) > EXTRA_KEY_MAX:
            errors[key[:EXTRA_KEY_MAX] or "key"] = [f"Keys are 1-{EXTRA_KEY_MAX} characters."]
        else:
            cleaned[key] = value
    if errors:
        raise exceptions.ValidationFailed(details=errors)
    return cleaned


def preference_update(*, actor: Actor, data: Any) -> UserPreference:
    """Shallow-merge `data` into the caller's preferences (absent keys are left alone)."""
    changes = _clean_changes(data)
    with transaction.atomic():
        preference = _lock_preference(actor)
        before = preference_values(preference)
        extra = dict(preference.extra or {})
        for key, value in changes.items():
            if key in KNOWN_KEYS:
                setattr(preference, key, value)
            elif value is None:
                extra.pop(key, None)
            else:
                extra[key] = value
        preference.extra = extra
        after = preference_values(preference)
        if json_size(after) > PREFERENCES_MAX_BYTES:
            raise exceptions.ValidationFailed(
                f"Preferences are limited to {PREFERENCES_MAX_BYTES} bytes in total.",
                code="payload_too_large",
                details={"body": [f"The merged preferences would exceed {PREFERENCES_MAX_BYTES} bytes."]},
            )
        preference.save()
        changed = [
            {"field": key, "old_value": before.get(key), "new_value": after.get(key)}
            for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key)
        ]
        if changed:
            audit_record(
                actor=actor,
                user_id=actor.pk,
                action_type="update",
                resource_type="preferences",
                resource_id=str(actor.pk),
                changes=changed,
            )
    return preference


def saved_filter_create(*, actor: Actor, name: Any, criteria: Any) -> SavedFilter:
    """Save a named filter; at most 50 per user (the preference row lock makes the count race-free)."""
    errors: dict[str, list[str]] = {}
    clean_name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(clean_name) <= FILTER_NAME_MAX:
        errors["name"] = [f"Must be 1-{FILTER_NAME_MAX} characters."]
    if not isinstance(criteria, dict):
        errors["criteria"] = ["Must be a JSON object."]
    elif json_size(criteria) > CRITERIA_MAX_BYTES:
        errors["criteria"] = [f"At most {CRITERIA_MAX_BYTES} bytes of JSON."]
    if errors:
        raise exceptions.ValidationFailed(details=errors)
    with transaction.atomic():
        _lock_preference(actor)  # serialises filter creation per user
        current = SavedFilter.objects.filter(user=actor).count()
        if current >= SAVED_FILTERS_MAX:
            raise exceptions.Conflict(
                f"You already have {current} saved filters (the limit is {SAVED_FILTERS_MAX}); delete one first.",
                code="filter_limit_reached",
                details={"limit": SAVED_FILTERS_MAX, "current": current},
            )
        saved = SavedFilter.objects.create(user=actor, name=clean_name, criteria=criteria)
        audit_record(
            actor=actor,
            user_id=actor.pk,
            action_type="create",
            resource_type="saved_filter",
            resource_id=saved.id,
            snapshot={"filter_id": str(saved.id), "name": saved.name, "criteria": saved.criteria},
        )
    return saved


def saved_filter_delete(*, actor: Actor, filter_id: Any) -> None:
    try:
        pk = uuid.UUID(str(filter_id))
    except ValueError:
        raise exceptions.NotFound("Saved filter not found.", code="filter_not_found") from None
    with transaction.atomic():
        saved = SavedFilter.objects.select_for_update().filter(user=actor, pk=pk).first()
        if saved is None:
            raise exceptions.NotFound("Saved filter not found.", code="filter_not_found")
        snapshot = {"filter_id": str(saved.id), "name": saved.name, "criteria": saved.criteria}
        saved.delete()
        audit_record(
            actor=actor,
            user_id=actor.pk,
            action_type="delete",
            resource_type="saved_filter",
            resource_id=snapshot["filter_id"],
            snapshot=snapshot,
        )
