"""Capacity alerts: notification rules on region/country utilization and the quota ≥ 80 % warning.

Allocation and retirement call `utilization_changed` inside their transaction. It costs one indexed
query (the user's active rules) when the user has none. With rules, the affected region (or country)
is evaluated in the same transaction, whose row locks already serialise changes to it: a rule fires
once when utilization reaches its threshold (an `AlertState` row records it) and stays quiet for that
resource until utilization drops below again (the row is deleted: re-armed). Firing writes the in-app
notification and the `capacity.*` webhook event in that transaction; e-mail is sent after commit.

The quota warning is checked once per transaction after commit (one query), when `quota_changed` asks
for it: after a release or a limit change always, after an allocation only when usage may have reached
the warning threshold (`quota_consume` tells; below it nothing can fire). `capacity_monitor_run` (every
15 minutes) evaluates everything, which also catches up after a crash between commit and the check.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from foundation import queue
from ipam.models import HOSTS_PER_REGION, AllocationCursor, Country, Region, UserQuota
from notifications import services as notify
from notifications.models import AlertState, Channel, NotificationRule, Severity
from webhooks.oncommit import collect_on_commit
from webhooks.services import event_publish

logger = logging.getLogger("ipam.capacity")

QUOTA_KINDS = ("regions", "hosts")


@dataclass(frozen=True)
class Watched:
    """A resource whose utilization rules look at."""

    resource_type: str  # region | country
    resource_id: str  # region id, or country name (as the utilization endpoints show it)
    key_id: str  # stable id in alert keys: region id or country code
    name: str
    aliases: frozenset[str]  # lower-cased values a rule's resource_ids may use
    allocated: int
    capacity: int
    link: str
    country: str

    @property
    def percent(self) -> float:
        return self.allocated * 100 / self.capacity if self.capacity else 0.0

    def reaches(self, threshold: float) -> bool:
        return self.allocated * 100 >= threshold * self.capacity


def _region_watched(region: Region, country: Country) -> Watched:
    return Watched(
        resource_type="region",
        resource_id=str(region.pk),
        key_id=str(region.pk),
        name=region.region_name,
        aliases=frozenset({str(region.pk).lower()}),
        allocated=region.allocated_hosts,
        capacity=HOSTS_PER_REGION,
        link=f"/ipam/regions/{region.pk}",
        country=country.name,
    )


def _country_watched(country: Country, allocated: int) -> Watched:
    return Watched(
        resource_type="country",
        resource_id=country.name,
        key_id=country.code,
        name=country.name,
        aliases=frozenset({country.name.lower(), country.code.lower(), country.code3.lower()}),
        allocated=allocated,
        capacity=country.total_capacity,
        link=f"/ipam/countries/{country.code}",
        country=country.name,
    )


def alert_key(rule: NotificationRule, watched: Watched) -> str:
    return f"rule:{rule.pk}:{watched.resource_type}:{watched.key_id}"


# --- The hot path ------------------------------------------------------------------------------------
def utilization_changed(*, user: Any, country_id: int | None = None, region_id: Any = None, rules_exist: bool | None = None) -> None:
    """Evaluate `user`'s rules for the region (hosts changed) or country (regions changed) just written.

    `rules_exist=False`: the caller already knows the user has no active rule (nothing to evaluate, no query).
    """
    if not settings.IPAM_ENABLE_NOTIFICATIONS or rules_exist is False:
        return
    rules = notify.rules_active_for(user)
    if not rules:
        return
    watched: Watched | None = None
    if region_id is not None:
        region = Region.objects.select_related("country").filter(user=user, pk=region_id).first()
        if region is not None:
            watched = _region_watched(region, region.country)
    elif country_id is not None:
        country = Country.objects.get(pk=country_id)
        allocated = AllocationCursor.objects.filter(user=user, country=country).values_list("region_count", flat=True).first() or 0
        watched = _country_watched(country, allocated)
    if watched is not None:
        _evaluate(user, rules, [watched])


def _evaluate(user: Any, rules: list[NotificationRule], watched: list[Watched], *, fired_before: set[str] | None = None) -> int:
    """Fire the rules `watched` resources reach (once); re-arm fired ones they no longer reach.

    `fired_before` (the user's fired rule keys) is looked up for just these resources when not given.
    """
    reached: dict[str, tuple[NotificationRule, Watched]] = {}
    below: list[str] = []
    for resource in watched:
        aliases = set(resource.aliases)
        for rule in rules:
            if rule.applies_to(resource.resource_type, aliases):
                key = alert_key(rule, resource)
                if resource.reaches(rule.utilization_threshold):
                    reached[key] = (rule, resource)
                else:
                    below.append(key)
    if fired_before is None:
        fired_before = notify.alert_states(user=user, keys=[*reached, *below])
    notify.alert_clear(user=user, keys=[key for key in below if key in fired_before])
    fired = 0
    for key, (rule, resource) in reached.items():
        if key not in fired_before and notify.alert_fire(user=user, key=key, value=resource.percent, rule=rule):
            _rule_fire(user, rule, resource)
            fired += 1
    return fired


def _rule_fire(user: Any, rule: NotificationRule, resource: Watched) -> None:
    percent = round(resource.percent, 2)
    severity = rule.severity or (Severity.CRITICAL if percent >= settings.IPAM_CAPACITY_CRITICAL_THRESHOLD else Severity.WARNING)
    level = "critical" if severity == Severity.CRITICAL else "warning"
    message = (
        f"{resource.resource_type.capitalize()} {resource.name} is at {percent:g}% utilization "
        f"({resource.allocated} of {resource.capacity}); rule '{rule.rule_name}' threshold {rule.utilization_threshold:g}%."
    )
    channels = set(rule.notification_channels)
    if Channel.IN_APP in channels:
        notify.notification_create(
            user=user,
            notification_type=f"capacity_{level}",
            severity=severity,
            message=message,
            resource_type=resource.resource_type,
            resource_id=resource.resource_id,
            resource_link=resource.link,
        )
    if Channel.WEBHOOK in channels:
        event_publish(
            user=user,
            event_type=f"capacity.{level}",
            data={
                "rule_id": str(rule.pk),
                "rule_name": rule.rule_name,
                "resource_type": resource.resource_type,
                "resource_id": resource.resource_id,
                "resource_name": resource.name,
                "country": resource.country,
                "utilization_percent": percent,
                "threshold": rule.utilization_threshold,
                "severity": str(severity),
                "allocated": resource.allocated,
                "capacity": resource.capacity,
            },
        )
    if Channel.EMAIL in channels:
        subject = f"[IPAM] Capacity {level}: {resource.resource_type} {resource.name} at {percent:g}%"
        collect_on_commit("ipam.capacity_email", [(user.pk, subject, message)], _emails_send)
    NotificationRule.objects.filter(pk=rule.pk).update(last_triggered_at=timezone.now())
    logger.info("Rule %s fired for %s %s at %s%%", rule.pk, resource.resource_type, resource.key_id, percent)


def _emails_send(items: list[tuple[Any, str, str]]) -> None:
    for user_id, subject, body in items:
        queue.send_now("notification_email_send", user_id, subject, body)


# --- Quota warning -----------------------------------------------------------------------------------
def quota_changed(*, user: Any) -> None:
    """Have `user`'s quota warning evaluated once after the current transaction commits."""
    if settings.IPAM_ENABLE_NOTIFICATIONS:
        collect_on_commit("ipam.quota_check", [getattr(user, "pk", user)], _quota_check_users, unique=True)


def _quota_rows() -> Any:
    return UserQuota.objects.annotate(
        **{f"{kind}_alerted": Exists(AlertState.objects.filter(user_id=OuterRef("user_id"), key=f"quota:{kind}")) for kind in QUOTA_KINDS}
    )


def _quota_check_users(user_ids: list[Any]) -> None:
    for row in _quota_rows().filter(user_id__in=user_ids):
        quota_evaluate(row)


def quota_evaluate(row: Any) -> int:
    """Warn once when a quota reaches IPAM_CAPACITY_WARNING_THRESHOLD (80 %); re-arm when it drops back."""
    fired = 0
    usage = {"regions": (row.regions_used, row.effective_region_limit), "hosts": (row.hosts_used, row.effective_host_limit)}
    for kind, (used, limit) in usage.items():
        alerted = getattr(row, f"{kind}_alerted")
        percent = used * 100 / limit if limit else 0.0
        reached = limit > 0 and percent >= settings.IPAM_CAPACITY_WARNING_THRESHOLD
        if reached and not alerted:
            with transaction.atomic():
                if notify.alert_fire(user=row.user_id, key=f"quota:{kind}", value=percent):
                    critical = percent >= settings.IPAM_CAPACITY_CRITICAL_THRESHOLD
                    notify.notification_create(
                        user=row.user_id,
                        notification_type="quota_warning",
                        severity=Severity.CRITICAL if critical else Severity.WARNING,
                        message=f"You are using {used} of your {limit} {kind} ({percent:.0f}% of your quota).",
                        resource_type="quota",
                        resource_id=kind,
                        resource_link="/ipam/quotas/me",
                    )
                    fired += 1
        elif alerted and not reached:
            notify.alert_clear(user=row.user_id, keys=[f"quota:{kind}"])
    return fired


# --- The capacity_monitor job -----------------------------------------------------------------------------
def capacity_monitor_run() -> dict[str, int]:
    """Evaluate every active rule on every resource it watches and every quota (idempotent)."""
    if not settings.IPAM_ENABLE_NOTIFICATIONS:
        return {"users": 0, "rules_fired": 0, "quota_warnings": 0}
    user_ids = list(NotificationRule.objects.filter(is_active=True).values_list("user_id", flat=True).distinct())
    fired = 0
    for user_id in user_ids:
        with transaction.atomic():
            fired += _evaluate_user(user_id)
    quota_warnings = sum(quota_evaluate(row) for row in _quota_rows().iterator())
    logger.info("Capacity monitor: %s users with rules, %s rules fired, %s quota warnings", len(user_ids), fired, quota_warnings)
    return {"users": len(user_ids), "rules_fired": fired, "quota_warnings": quota_warnings}


def _evaluate_user(user_id: Any) -> int:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=user_id)
    rules = list(NotificationRule.objects.filter(user_id=user_id, is_active=True))
    # Read the fired keys before the utilizations: a key fired concurrently after this read is never
    # mistaken for a stale one below.
    fired_before = set(AlertState.objects.filter(user_id=user_id, rule__isnull=False).values_list("key", flat=True))
    watched: list[Watched] = []
    region_rules = [rule for rule in rules if rule.resource_type in ("", "region")]
    if region_rules:
        # Regions below every threshold cannot fire: only the others are loaded (their fired states re-arm below).
        lowest = min(rule.utilization_threshold for rule in region_rules)
        min_hosts = max(0, math.ceil(lowest * HOSTS_PER_REGION / 100 - 1e-9))
        regions = Region.objects.filter(user_id=user_id, allocated_hosts__gte=min_hosts).select_related("country")
        watched += [_region_watched(region, region.country) for region in regions.iterator(chunk_size=2000)]
    if any(rule.resource_type in ("", "country") for rule in rules):
        cursors = AllocationCursor.objects.filter(user_id=user_id).select_related("country")
        watched += [_country_watched(cursor.country, cursor.region_count) for cursor in cursors]
    fired = _evaluate(user, rules, watched, fired_before=fired_before)
    # Fired conditions no resource reaches any more (dropped below, retired region, changed rule) re-arm.
    reached = {
        alert_key(rule, resource)
        for resource in watched
        for rule in rules
        if rule.applies_to(resource.resource_type, set(resource.aliases)) and resource.reaches(rule.utilization_threshold)
    }
    stale = sorted(fired_before - reached)
    for start in range(0, len(stale), 500):
        notify.alert_clear(user=user_id, keys=stale[start : start + 500])
    return fired
