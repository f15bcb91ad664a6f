"""Statistics over the caller's namespace: continent totals, top utilized, allocation velocity and the
top-countries / recent-activity dashboard widgets.

Every function aggregates in the database with a fixed number of queries (GROUP BY on regions or on
the audit log), whatever the number of regions, hosts or audit rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from ipam.exceptions import NotFound, ValidationFailed
from ipam.models import HOSTS_PER_REGION, AuditLog, Continent, Country, Region
from ipam.snapshots import country_summary


def _percent(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def continent_name(value: str) -> str:
    """The canonical continent for `north-america`, `North_America`, `asia`…; 404 if unknown."""
    wanted = " ".join(value.replace("-", " ").replace("_", " ").split()).lower()
    for name in Continent.values:
        if name.lower() == wanted:
            return name
    raise NotFound(f"Unknown continent {value!r}: one of {', '.join(Continent.values)}.", code="continent_not_found")


def _usage_by_country(user: Any, **filters: Any) -> dict[int, dict[str, int]]:
    """country_id → {regions, hosts} of the caller (one GROUP BY query)."""
    rows = (
        Region.objects.filter(user=user, **filters)
        .order_by()
        .values("country_id")
        .annotate(region_count=Count("id"), host_count=Sum("allocated_hosts"))
    )
    return {row["country_id"]: {"regions": row["region_count"], "hosts": row["host_count"] or 0} for row in rows}


def _country_row(country: Country, usage: dict[str, int]) -> dict[str, Any]:
    regions, hosts = usage.get("regions", 0), usage.get("hosts", 0)
    return {
        **country_summary(country),
        "allocated_regions": regions,
        "available_regions": country.total_capacity - regions,
        "utilization_percent": _percent(regions, country.total_capacity),
        "total_hosts": hosts,
        "host_capacity": regions * HOSTS_PER_REGION,
        "host_utilization_percent": _percent(hosts, regions * HOSTS_PER_REGION),
    }


def continent_statistics(user: Any, continent: str) -> dict[str, Any]:
    name = continent_name(continent)
    countries = list(Country.objects.filter(continent=name).order_by("x_start"))
    usage = _usage_by_country(user, country__continent=name)
    breakdown = [_country_row(c, usage.get(c.pk, {})) for c in countries]
    capacity = sum(c.total_capacity for c in countries)
    regions = sum(row["allocated_regions"] for row in breakdown)
    hosts = sum(row["total_hosts"] for row in breakdown)
    return {
        "continent": name,
        "total_countries": len(countries),
        "total_capacity": capacity,
        "allocated_regions": regions,
        "available_regions": capacity - regions,
        "utilization_percent": _percent(regions, capacity),
        "total_hosts": hosts,
        "host_capacity": regions * HOSTS_PER_REGION,
        "host_utilization_percent": _percent(hosts, regions * HOSTS_PER_REGION),
        "country_breakdown": breakdown,
        "generated_at": timezone.now(),
    }


def _countries_ranked(user: Any) -> list[dict[str, Any]]:
    usage = _usage_by_country(user)
    countries = Country.objects.filter(pk__in=list(usage)) if usage else Country.objects.none()
    return [_country_row(c, usage[c.pk]) for c in countries]


def top_utilized(user: Any, limit: int) -> dict[str, Any]:
    regions = Region.objects.filter(user=user).select_related("country").order_by("-allocated_hosts", "network_int")[:limit]
    top_regions = [
        {
            "region_id": str(r.id),
            "region_name": r.region_name,
            "cidr": r.cidr,
            "country": r.country.name,
            "continent": r.country.continent,
            "status": r.status,
            "allocated_hosts": r.allocated_hosts,
            "total_capacity": HOSTS_PER_REGION,
            "utilization_percent": _percent(r.allocated_hosts, HOSTS_PER_REGION),
        }
        for r in regions
    ]
    countries = sorted(_countries_ranked(user), key=lambda c: (-c["utilization_percent"], -c["total_hosts"], c["x_start"]))
    return {"top_regions": top_regions, "top_countries": countries[:limit], "generated_at": timezone.now()}


def dashboard_top_countries(user: Any, limit: int) -> dict[str, Any]:
    countries = sorted(_countries_ranked(user), key=lambda c: (-c["allocated_regions"], -c["total_hosts"], c["x_start"]))
    return {"top_countries": countries[:limit], "generated_at": timezone.now()}


# --- Velocity (from the audit log, so retired resources still count) --------------------------------
TIME_RANGES: dict[str, tuple[int, str]] = {
    "day": (1, "hour"),
    "week": (7, "day"),
    "month": (30, "day"),
    "7d": (7, "day"),
    "30d": (30, "day"),
    "90d": (90, "day"),
}


def allocation_velocity(user: Any, time_range: str) -> dict[str, Any]:
    if time_range not in TIME_RANGES:
        raise ValidationFailed(details={"time_range": [f"Must be one of {', '.join(TIME_RANGES)}."]})
    days, granularity = TIME_RANGES[time_range]
    step = timedelta(hours=1) if granularity == "hour" else timedelta(days=1)
    now = timezone.now()
    end = _truncate(now, granularity) + step
    start = end - timedelta(days=days)
    trunc = TruncHour("timestamp", tzinfo=UTC) if granularity == "hour" else TruncDay("timestamp", tzinfo=UTC)
    rows = (
        AuditLog.objects.filter(
            user=user,
            resource_type__in=["region", "host"],
            action_type__in=["create", "retire"],
            timestamp__gte=start,
            timestamp__lt=end,
        )
        .order_by()
        .annotate(period=trunc)
        .values("period", "resource_type", "action_type")
        .annotate(n=Count("id"))
    )
    buckets: dict[datetime, dict[str, int]] = {}
    moment = start
    while moment < end:
        buckets[moment] = {"regions_allocated": 0, "regions_released": 0, "hosts_allocated": 0, "hosts_released": 0}
        moment += step
    for row in rows:
        key = f"{row['resource_type']}s_{'allocated' if row['action_type'] == 'create' else 'released'}"
        period = _truncate(row["period"], granularity)
        if period in buckets:
            buckets[period][key] += row["n"]
    series: list[dict[str, Any]] = [{"period_start": period, **counts} for period, counts in buckets.items()]

    def totals(kind: str) -> dict[str, Any]:
        allocated = sum(b[f"{kind}_allocated"] for b in series)
        released = sum(b[f"{kind}_released"] for b in series)
        return {"allocated": allocated, "released": released, "net": allocated - released, "per_day": round(allocated / days, 2)}

    return {
        "time_range": time_range,
        "granularity": granularity,
        "start": start,
        "end": end,
        "regions": totals("regions"),
        "hosts": totals("hosts"),
        "time_series": series,
        "generated_at": now,
    }


def _truncate(moment: datetime, granularity: str) -> datetime:
    moment = moment.astimezone(UTC)
    if granularity == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


# --- Recent activity ----------------------------------------------------------------------------------
_VERBS = {
    "create": "created",
    "update": "updated",
    "retire": "retired",
    "comment": "commented on",
    "import": "ran an",
    "quota_update": "changed the",
    "export_requested": "requested an",
}


def recent_activity(user: Any, limit: int, resource_type: str = "") -> dict[str, Any]:
    rows = AuditLog.objects.filter(user=user)
    if resource_type:
        rows = rows.filter(resource_type=resource_type)
    activities = [
        {
            "audit_id": str(row.id),
            "action_type": row.action_type,
            "resource_type": row.resource_type,
            "resource_id": row.resource_id,
            "ip_address": row.ip_address,
            "cidr": row.cidr,
            "actor": row.actor,
            "actor_type": row.actor_type,
            "reason": row.reason,
            "timestamp": row.timestamp,
            "summary": _summary(row),
        }
        for row in rows.order_by("-timestamp", "-id")[:limit]
    ]
    return {"activities": activities, "count": len(activities), "generated_at": timezone.now()}


def _summary(row: AuditLog) -> str:
    verb = _VERBS.get(row.action_type, row.action_type.replace("_", " "))
    target = row.ip_address or row.cidr or row.resource_id
    return f"{row.actor or 'system'} {verb} {row.resource_type} {target}".strip()
