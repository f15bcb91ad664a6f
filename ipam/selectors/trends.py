"""Allocation trends (contract §5.5): allocations, releases and net growth per day, week or month.

Counted from the audit log in one GROUP BY per UTC day (indexed on user + time); days are folded into
ISO weeks (Monday first) or calendar months here. Allocations are `create` events; releases are `retire`
and `release` events. Every bucket of the range is present (zeros included); the first and last buckets
are clipped to the requested range, so `period_start..period_end` is exactly what each one counts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from ipam import cache, exceptions
from ipam.models import AuditLog

GROUPS = ("day", "week", "month")
RESOURCE_TYPES = ("region", "host")
DEFAULT_SPAN_DAYS = {"day": 30, "week": 7 * 12, "month": 365}
MAX_SPAN_DAYS = 731
ALLOCATION_ACTIONS = ("create",)
RELEASE_ACTIONS = ("retire", "release")


def bucket_start(day: date, group_by: str) -> date:
    if group_by == "week":
        return day - timedelta(days=day.weekday())
    if group_by == "month":
        return day.replace(day=1)
    return day


def _next_bucket(start: date, group_by: str) -> date:
    if group_by == "week":
        return start + timedelta(days=7)
    if group_by == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def resolve_range(group_by: str, start_date: date | None, end_date: date | None, *, today: date) -> tuple[date, date]:
    end = end_date or today
    start = start_date or end - timedelta(days=DEFAULT_SPAN_DAYS[group_by] - 1)
    if start > end:
        raise exceptions.ValidationFailed("start_date is after end_date.", details={"start_date": ["Must not be after end_date."]})
    if (end - start).days + 1 > MAX_SPAN_DAYS:
        raise exceptions.ValidationFailed(
            f"The range is longer than {MAX_SPAN_DAYS} days.", details={"end_date": [f"At most {MAX_SPAN_DAYS} days after start_date."]}
        )
    return start, end


def trends_compute(
    user: Any, *, group_by: str, start: date, end: date, resource_type: str | None = None, country_code: str | None = None
) -> dict[str, Any]:
    # user=None: every namespace (the operator console's dashboard).
    scope = Q(action_type__in=ALLOCATION_ACTIONS + RELEASE_ACTIONS) & (Q(user=user) if user is not None else Q())
    scope &= Q(timestamp__gte=datetime.combine(start, datetime.min.time(), tzinfo=UTC))
    scope &= Q(timestamp__lt=datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC))
    scope &= Q(resource_type=resource_type) if resource_type else Q(resource_type__in=RESOURCE_TYPES)
    if country_code:
        scope &= Q(country_code=country_code)
    rows = (
        AuditLog.objects.filter(scope)
        .annotate(day=TruncDate("timestamp", tzinfo=UTC))
        .values("day")
        .annotate(
            allocations=Count("id", filter=Q(action_type__in=ALLOCATION_ACTIONS)),
            releases=Count("id", filter=Q(action_type__in=RELEASE_ACTIONS)),
        )
        .order_by("day")
    )
    buckets: dict[date, list[int]] = {}
    cursor = bucket_start(start, group_by)
    while cursor <= end:
        buckets[cursor] = [0, 0]
        cursor = _next_bucket(cursor, group_by)
    for row in rows:
        counts = buckets[bucket_start(row["day"], group_by)]
        counts[0] += row["allocations"]
        counts[1] += row["releases"]
    series = []
    for key, (allocations, releases) in buckets.items():
        period_start = max(key, start)
        period_end = min(_next_bucket(key, group_by) - timedelta(days=1), end)
        series.append(
            {
                "period_start": period_start,
                "period_end": period_end,
                "allocations": allocations,
                "releases": releases,
                "net_growth": allocations - releases,
            }
        )
    total_allocations = sum(allocations for allocations, _ in buckets.values())
    total_releases = sum(releases for _, releases in buckets.values())
    days = (end - start).days + 1
    return {
        "group_by": group_by,
        "start_date": start,
        "end_date": end,
        "resource_type": resource_type or "all",
        "country": country_code or None,
        "time_series": series,
        "summary": {
            "total_allocations": total_allocations,
            "total_releases": total_releases,
            "net_growth": total_allocations - total_releases,
            "average_daily_rate": round((total_allocations - total_releases) / days, 4),
            "days": days,
        },
        "generated_at": timezone.now(),
    }


def allocation_trends(
    user: Any,
    *,
    group_by: str = "day",
    start_date: date | None = None,
    end_date: date | None = None,
    resource_type: str | None = None,
    country: str | None = None,
) -> dict[str, Any]:
    """Trends of the user's allocations; cached per user version (any write invalidates) and UTC day."""
    if group_by not in GROUPS:
        raise exceptions.ValidationFailed(details={"group_by": [f"Must be one of {', '.join(GROUPS)}."]})
    if resource_type not in (None, "", "all", *RESOURCE_TYPES):
        raise exceptions.ValidationFailed(details={"resource_type": ["Must be one of region, host, all."]})
    today = timezone.now().date()
    start, end = resolve_range(group_by, start_date, end_date, today=today)
    code = None
    if country:
        found = cache.country_find(country)
        if found is None:
            raise exceptions.NotFound(f"Unknown country {country!r}: use a name, ISO alpha-2 or alpha-3 code.", code="country_not_found")
        code = found.code
    kind = resource_type if resource_type in RESOURCE_TYPES else None
    parts = (group_by, start, end, kind or "all", code or "", today)

    def compute() -> dict[str, Any]:
        return trends_compute(user, group_by=group_by, start=start, end=end, resource_type=kind, country_code=code)

    return cache.user_lookup("trends", user.pk, parts, settings.IPAM_CACHE_TTL, compute)[0]
