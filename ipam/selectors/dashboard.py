"""Dashboard statistics (contract §5.5) from the counters kept by allocation, aggregated in the database.

Cost: three queries whatever the size of the namespace — one GROUP BY over the user's regions (reading
the `allocated_hosts` counter, never the host rows), one indexed count of recent audit rows (only the
partial days at the window's edges; completed days are counted once a day) and one of active
reservations. The result is cached per user and per country-table version (`ipam.cache`): any
write of the user bumps the version on commit, so a write is visible on the very next read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from ipam import cache
from ipam.models import HOSTS_PER_REGION, AuditLog, Region, Reservation

TOP_COUNTRIES = 5
RECENT_ACTIVITY_DAYS = 7
SETTLE_MARGIN = timedelta(minutes=10)  # a write in flight at midnight lands in its day within this


def _percent(part: float, whole: float) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def warning_host_count() -> int:
    """Regions with more hosts than this are above IPAM_CAPACITY_WARNING_THRESHOLD percent."""
    return math.floor(settings.IPAM_CAPACITY_WARNING_THRESHOLD * HOSTS_PER_REGION / 100)


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def recent_activity_count(user: Any, *, now: datetime) -> int:
    """The user's audit rows of the last 7 days (rolling), counting the rows of completed days only once a day.

    Audit rows are stamped with the time they are written, so the count of a day that ended (with a
    margin for transactions still in flight at midnight) never changes: it is cached per day range,
    and only the two partial days at the edges of the window are counted on every call.
    """
    edge = now - timedelta(days=RECENT_ACTIVITY_DAYS)
    first_full = _midnight(edge) + timedelta(days=1)
    settled = _midnight(now - SETTLE_MARGIN)
    if first_full < settled:
        key = cache.history_key("activity-days", user.pk, first_full.date(), settled.date())
        full = cache.cached(
            "activity",
            key,
            2 * 86400,
            lambda: AuditLog.objects.filter(user=user, timestamp__gte=first_full, timestamp__lt=settled).count(),
        )
        # UNION ALL of the two edge ranges: each stays an index-only range scan (an OR would not).
        first_day = AuditLog.objects.filter(user=user, timestamp__gte=edge, timestamp__lt=first_full).order_by().values("user_id")
        last_days = AuditLog.objects.filter(user=user, timestamp__gte=settled, timestamp__lte=now).order_by().values("user_id")
        return full + first_day.union(last_days, all=True).count()
    return AuditLog.objects.filter(user=user, timestamp__gte=edge, timestamp__lte=now).count()


def dashboard_stats_compute(user: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """The dashboard numbers, computed now (uncached)."""
    now = now or timezone.now()
    per_country = list(
        Region.objects.filter(user=user)
        .values("country_id")
        .annotate(
            region_count=Count("id"),
            host_count=Sum("allocated_hosts"),
            warnings=Count("id", filter=Q(allocated_hosts__gt=warning_host_count())),
        )
        .order_by()
    )
    recent = recent_activity_count(user, now=now)
    reservations = Reservation.objects.active(now).filter(user=user).aggregate(active=Count("id"), next_expiry=Min("expires_at"))
    by_id = {country.pk: country for country in cache.countries()}
    total_regions = sum(row["region_count"] for row in per_country)
    total_hosts = sum(row["host_count"] or 0 for row in per_country)
    top = []
    for row in per_country:
        country = by_id.get(row["country_id"])
        if country is None:
            continue
        hosts = row["host_count"] or 0
        top.append(
            {
                "country": country.name,
                "code": country.code,
                "regions": row["region_count"],
                "hosts": hosts,
                "utilization": _percent(row["region_count"], country.total_capacity),
                "host_utilization": _percent(hosts, row["region_count"] * HOSTS_PER_REGION),
            }
        )
    top.sort(key=lambda item: (-item["utilization"], -item["regions"], -item["hosts"], item["country"]))
    utilization = _percent(total_hosts, total_regions * HOSTS_PER_REGION)
    return {
        "total_countries": len(per_country),
        "total_regions": total_regions,
        "total_hosts": total_hosts,
        "overall_utilization": utilization,
        # Every region holds 254 addresses, so the mean of the per-region percentages equals the overall one.
        "mean_region_utilization": utilization,
        "top_countries": top[:TOP_COUNTRIES],
        "recent_activity_count": recent,
        "capacity_warnings": sum(row["warnings"] for row in per_country),
        "capacity_warning_threshold": settings.IPAM_CAPACITY_WARNING_THRESHOLD,
        "active_reservations": reservations["active"],
        "generated_at": now,
        "_next_reservation_expiry": reservations["next_expiry"],
    }


def _ttl(expiry: datetime | None) -> int:
    """IPAM_CACHE_TTL, shortened so a reservation that expires by the clock (no write) is not counted after."""
    ttl = int(settings.IPAM_CACHE_TTL)
    if expiry is not None:
        ttl = min(ttl, max(1, math.ceil((expiry - timezone.now()).total_seconds())))
    return ttl


def dashboard_stats(user: Any, present: Callable[[dict[str, Any]], Any] = dict) -> tuple[Any, bool]:
    """(stats, served_from_cache) for the dashboard of `user`.

    `present` turns the computed numbers into what is cached and returned (the API passes its serializer,
    so a cache hit is served without serializing again). One cache round trip on a hit.
    """

    def compute() -> tuple[int, Any]:
        stats = dashboard_stats_compute(user)
        expiry = stats.pop("_next_reservation_expiry")
        return _ttl(expiry), present(stats)

    (_, stats), hit = cache.user_lookup("dashboard", user.pk, (), lambda value: value[0], compute, with_countries=True)
    return stats, hit
