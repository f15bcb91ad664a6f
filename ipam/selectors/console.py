"""Staff-wide reads for the operator console (the Django admin): every namespace at once.

The per-user selectors (dashboard, trends, forecast) answer for one namespace; these are their variants
across all users, built on the same counters — `Region.allocated_hosts`, `AllocationCursor.region_count`
and the audit rows — so no statistic is computed two ways. Each function costs a fixed number of
queries whatever the size of the data (the console's query-count tests hold them to it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, ExpressionWrapper, F, FloatField, Q, Sum
from django.utils import timezone

from ipam import cache
from ipam.exceptions import ValidationFailed
from ipam.models import HOSTS_PER_REGION, AllocationCursor, AuditLog, Comment, Host, Region, Reservation
from ipam.selectors.dashboard import warning_host_count
from ipam.selectors.forecast import capacity_forecast
from ipam.selectors.occupancy import reserved_host_slots
from ipam.selectors.search import AddressRange, parse_cidr, parse_ip_prefix
from ipam.selectors.trends import trends_compute

ACTIVITY_DAYS = 90
NEAREST = 5
SETTLED_TTL = 6 * 3600  # completed days of the activity chart: audit rows of past days do not change


def _percent(part: float, whole: float) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def space_overview() -> dict[str, Any]:
    """Totals and per-country figures over every namespace: one GROUP BY over the regions (their counters)."""
    rows = list(
        Region.objects.values("country_id")
        .annotate(
            regions=Count("id"),
            host_total=Sum("allocated_hosts"),
            owners=Count("user", distinct=True),
            warnings=Count("id", filter=Q(allocated_hosts__gt=warning_host_count())),
        )
        .order_by()
    )
    by_id = {country.pk: country for country in cache.countries()}
    countries = []
    for row in rows:
        country = by_id.get(row["country_id"])
        if country is None:
            continue
        hosts = row["host_total"] or 0
        countries.append(
            {
                "country": country,
                "regions": row["regions"],
                "hosts": hosts,
                "owners": row["owners"],
                "warnings": row["warnings"],
                # /24s used out of what the namespaces that use the country could hold.
                "space_utilization": _percent(row["regions"], country.total_capacity * row["owners"]),
                "host_utilization": _percent(hosts, row["regions"] * HOSTS_PER_REGION),
            }
        )
    countries.sort(key=lambda c: (-c["space_utilization"], -c["host_utilization"], c["country"].name))
    regions = sum(c["regions"] for c in countries)
    hosts = sum(c["hosts"] for c in countries)
    return {
        "regions": regions,
        "hosts": hosts,
        "owners": Region.objects.values("user").distinct().count(),
        "host_utilization": _percent(hosts, regions * HOSTS_PER_REGION),
        "warnings": sum(c["warnings"] for c in countries),
        "reservations": Reservation.objects.active().count(),
        "countries": countries,
    }


def activity_per_day(*, days: int = ACTIVITY_DAYS, now: datetime | None = None) -> list[dict[str, Any]]:
    """Allocations and releases per day over the last `days` days, every namespace (`trends_compute`).

    The completed days are cached (their audit rows never change); only today is counted on each call.
    """
    today = (now or timezone.now()).astimezone(UTC).date()
    start = today - timedelta(days=days - 1)
    yesterday = today - timedelta(days=1)
    past = cache.cached(
        "console-activity",
        f"ipam:console:activity:{start}:{yesterday}",
        SETTLED_TTL,
        lambda: trends_compute(None, group_by="day", start=start, end=yesterday)["time_series"],
    )
    live = trends_compute(None, group_by="day", start=today, end=today)["time_series"]
    return [{"day": row["period_start"], "allocations": row["allocations"], "releases": row["releases"]} for row in [*past, *live]]


def nearest_exhaustion(*, limit: int = NEAREST) -> dict[str, list[dict[str, Any]]]:
    """The fullest (namespace, country) pairs and regions, each with its forecast (cached per user and day)."""
    share = ExpressionWrapper(F("region_count") * 1.0 / ((F("country__x_end") - F("country__x_start") + 1) * 256), FloatField())
    cursors = AllocationCursor.objects.select_related("user", "country").filter(region_count__gt=0).order_by(share.desc(), "id")
    countries = []
    for cursor in cursors[:limit]:
        forecast, _ = capacity_forecast(cursor.user, "country", cursor.country.code)
        countries.append({"user": cursor.user, "country": cursor.country, "forecast": forecast})
    regions = []
    fullest = Region.objects.select_related("user", "country").filter(allocated_hosts__gt=0).order_by("-allocated_hosts", "network_int")
    for region in fullest[:limit]:
        forecast, _ = capacity_forecast(region.user, "region", str(region.pk))
        regions.append({"region": region, "forecast": forecast})
    return {"countries": countries, "regions": regions}


def object_name(row: AuditLog) -> str:
    """What an audit row is about, by name: the snapshot's name, else its address, else its id."""
    snapshot = row.snapshot if isinstance(row.snapshot, dict) else {}
    name = snapshot.get("region_name") or snapshot.get("hostname") or snapshot.get("name") or snapshot.get("url")
    address = row.ip_address or row.cidr
    if name and address:
        return f"{name} ({address})"
    return str(name or address or row.resource_id or row.resource_type)


def recent_activity(*, limit: int = 10) -> list[dict[str, Any]]:
    """The latest audit rows of every namespace, with the actor, the owner and the object by name."""
    rows = AuditLog.objects.select_related("user").order_by("-timestamp")[:limit]
    return [{"row": row, "owner": row.user, "object": object_name(row)} for row in rows]


def owner_country_slots(user: Any, country: Any) -> dict[str, Any]:
    """The address-space map of one namespace in one country: its regions by (X, Y) and reserved /24s.

    Two queries: the regions of the (user, country) (index region_user_country_status) and the active
    region reservations; at most 256 × X-range cells, whatever the total size of the data.
    """
    regions = {
        (r["x_octet"], r["y_octet"]): r
        for r in Region.objects.filter(user=user, country=country).values(
            "id", "x_octet", "y_octet", "region_name", "allocated_hosts", "status"
        )
    }
    reserved = set(
        Reservation.objects.active()
        .filter(user=user, resource_type=Reservation.ResourceType.REGION, x_octet__gte=country.x_start, x_octet__lte=country.x_end)
        .values_list("x_octet", "y_octet")
    )
    return {"regions": regions, "reserved": reserved}


def namespaces_in_country(country: Any) -> list[dict[str, Any]]:
    """The users holding /24s in a country, fullest first (the map's namespace picker)."""
    cursors = AllocationCursor.objects.select_related("user").filter(country=country, region_count__gt=0).order_by("-region_count")
    return [
        {"user": c.user, "regions": c.region_count, "utilization": _percent(c.region_count, country.total_capacity)} for c in cursors[:200]
    ]


def region_page(region: Region, *, limit: int = 50) -> dict[str, Any]:
    """Everything the region page shows, in five queries whatever the data size: its hosts (≤ 254),
    the reserved host addresses, its comments, its reservations and its audit trail (latest `limit`)."""
    hosts = list(Host.objects.filter(region=region).order_by("z_octet"))
    reserved = reserved_host_slots(region.user_id, region.x_octet, region.y_octet)
    by_z = {host.z_octet: host for host in hosts}
    cells = []
    for z in range(256):
        host = by_z.get(z)
        if z in (0, 255):
            cells.append({"z": z, "state": "edge", "title": f"10.{region.x_octet}.{region.y_octet}.{z} (not assignable)"})
        elif host is not None:
            state = "allocated" if host.status != "released" else "released"
            cells.append({"z": z, "state": state, "host": host, "title": f"{host.ip_address} {host.hostname} ({host.status})"})
        elif z in reserved:
            cells.append({"z": z, "state": "reserved", "title": f"10.{region.x_octet}.{region.y_octet}.{z} reserved"})
        else:
            cells.append({"z": z, "state": "free", "title": f"10.{region.x_octet}.{region.y_octet}.{z} free"})
    return {
        "hosts": hosts,
        "cells": cells,
        "reserved_count": len(reserved),
        "utilization": _percent(region.allocated_hosts, HOSTS_PER_REGION),
        "comments": list(
            Comment.objects.filter(user=region.user_id, resource_type="region", resource_id=region.pk).order_by("-created_at")[:limit]
        ),
        "reservations": list(
            Reservation.objects.filter(user=region.user_id, x_octet=region.x_octet, y_octet=region.y_octet).order_by("-created_at")[:limit]
        ),
        "audit": list(AuditLog.objects.filter(user=region.user_id, region_id=region.pk).order_by("-timestamp")[:limit]),
    }


def address_range(text: str) -> AddressRange | None:
    """The console's search box as an address: `10.153.0.0/24` (CIDR), `10.153` or `10.153.0.2` (whole
    octets); None when the text is not one (then it is searched as text)."""
    text = (text or "").strip()
    if not text.startswith("10") or not all(c.isdigit() or c in "./" for c in text):
        return None
    try:
        return parse_cidr(text, "q") if "/" in text else parse_ip_prefix(text, "q")
    except ValidationFailed:
        return None
