"""Quota administration: admins set a user's region/host limits (null = the default from settings).

The new limit applies at once: `quota_consume` reads the limit in the allocating transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from foundation.types import Actor
from ipam import exceptions
from ipam.models import UserQuota
from ipam.services import capacity
from ipam.services.audit import audit_record
from notifications.services import notification_create

QUOTA_LIMIT_FIELDS = ("region_limit", "host_limit")
QUOTA_LIMIT_MAX = 2_147_483_647


def quota_limits_update(*, actor: Actor, user_id: int, data: dict[str, Any]) -> UserQuota:
    """Set `region_limit` and/or `host_limit` of a user (absent keys unchanged; null = default)."""
    unknown = sorted(set(data) - set(QUOTA_LIMIT_FIELDS))
    if unknown:
        raise exceptions.ValidationFailed(details={key: ["This field cannot be changed."] for key in unknown})
    errors = {}
    for key in QUOTA_LIMIT_FIELDS:
        value = data.get(key)
        if (
            key in data
            and value is not None
            and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= QUOTA_LIMIT_MAX)
        ):
            errors[key] = [f"Must be null or a whole number 0-{QUOTA_LIMIT_MAX}."]
    if errors:
        raise exceptions.ValidationFailed(details=errors)
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise exceptions.NotFound("User not found.", code="user_not_found")
    with transaction.atomic():
        UserQuota.objects.get_or_create(user=user)
        quota = UserQuota.objects.select_for_update().get(user=user)
        changes = []
        for key in QUOTA_LIMIT_FIELDS:
            if key in data and getattr(quota, key) != data[key]:
                changes.append({"field": key, "old_value": getattr(quota, key), "new_value": data[key]})
                setattr(quota, key, data[key])
        if changes:
            quota.save()
            audit_record(
                actor=actor,
                user_id=user.pk,
                action_type="quota_update",
                resource_type="quota",
                resource_id=str(user.pk),
                changes=changes,
                snapshot={
                    "user_id": user.pk,
                    "username": user.get_username(),
                    "region_limit": quota.effective_region_limit,
                    "host_limit": quota.effective_host_limit,
                    "regions_used": quota.regions_used,
                    "hosts_used": quota.hosts_used,
                },
            )
            notification_create(
                user=user,
                notification_type="quota_changed",
                severity="info",
                message=(
                    f"Your IPAM quotas are now {quota.effective_region_limit} regions and {quota.effective_host_limit} hosts "
                    f"(changed by {actor.get_username()})."
                ),
                resource_type="quota",
                resource_id=str(user.pk),
                resource_link="/ipam/quotas/me",
            )
            capacity.quota_changed(user=user)  # a lower limit can reach the warning, a higher one re-arm it
    return quota
