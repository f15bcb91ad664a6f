"""Capacity forecast (contract §5.5): when will a country or a region run out of space at the current pace?

Method, for one resource:
- history: the audit log's allocation events of the last 90 days (UTC days, today included), counted
  per day in the database — region creations/retirements in a country, host creations/retirements (and
  releases) in a region;
- fit: least squares of the cumulative net allocations (allocations minus releases) against the day,
  from the first day with an event to today; the slope is the `daily_allocation_rate`;
- exhaustion: available space ÷ rate, rounded up to whole days (none when the rate is ≤ 0; today when full);
- confidence: fewer than 10 allocation events → `insufficient_data` (no extrapolation); otherwise by the
  number of days with activity: ≥ 30 high, ≥ 10 medium, else low.

Cached for IPAM_FORECAST_CACHE_TTL per user version, country-table version and UTC day: any write of the
user (so any change of the resource) or a country edit invalidates it, and the window moves daily.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from ipam import cache, exceptions
from ipam.models import HOSTS_PER_REGION, AllocationCursor, AuditLog, Region

HISTORY_DAYS = 90
REQUIRED_DATA_POINTS = 10
HIGH_CONFIDENCE_DAYS = 30
MEDIUM_CONFIDENCE_DAYS = 10
MAX_FORECAST_DAYS = 36500  # beyond a century "never" is the honest answer
ALLOCATION_ACTIONS = ("create",)
RELEASE_ACTIONS = ("retire", "release")
RESOURCE_TYPES = ("country", "region")


@dataclass(frozen=True)
class Fit:
    rate: float
    allocation_events: int
    release_events: int
    active_days: int


def fit_daily_rate(daily_net: dict[date, int], today: date) -> float:
    """Least-squares slope of the cumulative net allocations from the first day in `daily_net` to `today`."""
    if not daily_net:
        return 0.0
    first = min(daily_net)
    n = (today - first).days + 1
    if n <= 1:
        return float(sum(daily_net.values()))
    total = 0
    sum_x = sum_y = sum_xy = sum_xx = 0
    for x in range(n):
        total += daily_net.get(first + timedelta(days=x), 0)
        sum_x += x
        sum_y += total
        sum_xy += x * total
        sum_xx += x * x
    # Integer sums: the slope is exact for exactly linear histories.
    return (n * sum_xy - sum_x * sum_y) / (n * sum_xx - sum_x * sum_x)


def _history(user: Any, scope: Q, resource_type: str, today: date) -> tuple[dict[date, int], Fit]:
    start = datetime.combine(today - timedelta(days=HISTORY_DAYS - 1), datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    rows = (
        AuditLog.objects.filter(scope, user=user, resource_type=resource_type, timestamp__gte=start, timestamp__lt=end)
        .filter(action_type__in=ALLOCATION_ACTIONS + RELEASE_ACTIONS)
        .annotate(day=TruncDate("timestamp", tzinfo=UTC))
        .values("day")
        .annotate(
            allocated=Count("id", filter=Q(action_type__in=ALLOCATION_ACTIONS)),
            released=Count("id", filter=Q(action_type__in=RELEASE_ACTIONS)),
        )
        .order_by("day")
    )
    daily: dict[date, int] = {}
    allocated = released = 0
    for row in rows:
        daily[row["day"]] = row["allocated"] - row["released"]
        allocated += row["allocated"]
        released += row["released"]
    return daily, Fit(rate=fit_daily_rate(daily, today), allocation_events=allocated, release_events=released, active_days=len(daily))


def _confidence(fit: Fit) -> str:
    if fit.allocation_events < REQUIRED_DATA_POINTS:
        return "insufficient_data"
    if fit.active_days >= HIGH_CONFIDENCE_DAYS:
        return "high"
    if fit.active_days >= MEDIUM_CONFIDENCE_DAYS:
        return "medium"
    return "low"


def _recommendation(label: str, unit: str, fit: Fit, confidence: str, available: int, days: int | None, horizon: int) -> str:
    if available <= 0:
        return f"{label} is full: no {unit} are left. Retire unused {unit} or allocate elsewhere."
    if confidence == "insufficient_data":
        return (
            f"Not enough history to forecast {label}: {fit.allocation_events} allocation event(s) in the last "
            f"{HISTORY_DAYS} days, {REQUIRED_DATA_POINTS} needed. Check again once more {unit} have been allocated."
        )
    if days is None:
        return f"{label} is not growing (net rate {fit.rate:.2f} {unit}/day): no exhaustion expected. No action needed."
    if days <= 30:
        return (
            f"Critical: {label} runs out of {unit} in about {days} day(s) at {fit.rate:.2f}/day. "
            f"Plan more capacity now: free unused {unit} or move new allocations elsewhere."
        )
    if days <= horizon:
        return (
            f"Warning: {label} runs out of {unit} in about {days} days, within the {horizon}-day forecast period. "
            f"Plan capacity before then."
        )
    return f"Healthy: at {fit.rate:.2f} {unit}/day {label} lasts about {days} days, beyond the {horizon}-day forecast period."


def _forecast(
    *, resource_type: str, resource_id: str, label: str, unit: str, allocated: int, capacity: int, fit: Fit, days_ahead: int, now: datetime
) -> dict[str, Any]:
    confidence = _confidence(fit)
    available = max(0, capacity - allocated)
    days: int | None = None
    exhaustion: date | None = None
    projected: float | None = None
    if available <= 0:  # a fact, not a forecast: full whatever the history
        days = 0
    elif confidence != "insufficient_data" and fit.rate > 0:
        days = math.ceil(available / fit.rate)
        if days > MAX_FORECAST_DAYS:
            days = None
    if days is not None:
        exhaustion = now.date() + timedelta(days=days)
    if confidence != "insufficient_data":
        projected = round(min(100.0, max(0.0, (allocated + fit.rate * days_ahead) * 100 / capacity)), 2)
    return {
        "resource_type": resource_type,
        "resource_id": resource_id,
        "resource_name": label,
        "current_utilization": round(allocated * 100 / capacity, 2),
        "allocated": allocated,
        "capacity": capacity,
        "available": available,
        "daily_allocation_rate": round(fit.rate, 4),
        "days_until_exhaustion": days,
        "estimated_exhaustion_date": exhaustion,
        "projected_utilization": projected,
        "confidence_level": confidence,
        "recommendation": _recommendation(label, unit, fit, confidence, available, days, days_ahead),
        "data_points": fit.allocation_events,
        "release_events": fit.release_events,
        "active_days": fit.active_days,
        "required_data_points": REQUIRED_DATA_POINTS,
        "history_days": HISTORY_DAYS,
        "forecast_period_days": days_ahead,
        "generated_at": now,
    }


def country_forecast(user: Any, country_value: str, *, days_ahead: int, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    country = cache.country_find(country_value)
    if country is None:
        raise _unknown_country(country_value)
    allocated = AllocationCursor.objects.filter(user=user, country_id=country.pk).values_list("region_count", flat=True).first() or 0
    _, fit = _history(user, Q(country_code=country.code), "region", now.date())
    return _forecast(
        resource_type="country",
        resource_id=country.name,
        label=country.name,
        unit="regions",
        allocated=allocated,
        capacity=country.total_capacity,
        fit=fit,
        days_ahead=days_ahead,
        now=now,
    )


def region_forecast(user: Any, region_id: Any, *, days_ahead: int, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    region = Region.objects.filter(user=user, pk=region_id).only("id", "region_name", "allocated_hosts").first()
    if region is None:
        raise exceptions.NotFound("Region not found.", code="region_not_found")
    _, fit = _history(user, Q(region_id=region.pk), "host", now.date())
    return _forecast(
        resource_type="region",
        resource_id=str(region.pk),
        label=region.region_name,
        unit="hosts",
        allocated=region.allocated_hosts,
        capacity=HOSTS_PER_REGION,
        fit=fit,
        days_ahead=days_ahead,
        now=now,
    )


def _unknown_country(value: str) -> exceptions.NotFound:
    return exceptions.NotFound(f"Unknown country {value!r}: use a name, ISO alpha-2 or alpha-3 code.", code="country_not_found")


def _canonical_id(resource_type: str, resource_id: str) -> str:
    if resource_type == "country":
        country = cache.country_find(resource_id)
        if country is None:
            raise _unknown_country(resource_id)
        return country.code
    try:
        return str(uuid.UUID(str(resource_id)))
    except ValueError:
        raise exceptions.NotFound("Region not found.", code="region_not_found") from None


def capacity_forecast(user: Any, resource_type: str, resource_id: str, *, days_ahead: int = 90) -> tuple[dict[str, Any], bool]:
    """(forecast, served_from_cache) for a country (name/code/code3) or one of the user's regions (id)."""
    resource_type = resource_type.lower()
    if resource_type not in RESOURCE_TYPES:
        raise exceptions.ValidationFailed(
            f"Unknown resource type {resource_type!r}.", details={"resource_type": [f"Must be one of {', '.join(RESOURCE_TYPES)}."]}
        )
    canonical = _canonical_id(resource_type, resource_id)
    today = timezone.now().date().isoformat()

    def compute() -> dict[str, Any]:
        if resource_type == "country":
            return country_forecast(user, canonical, days_ahead=days_ahead)
        return region_forecast(user, canonical, days_ahead=days_ahead)

    parts = (resource_type, canonical, days_ahead, today)
    return cache.user_lookup("forecast", user.pk, parts, settings.IPAM_FORECAST_CACHE_TTL, compute, with_countries=True)
