"""Bulk host operations: release (retire) up to 100 hosts with per-item results, and look up many addresses."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from foundation.types import Actor
from ipam import exceptions
from ipam.models import Country, Host, Region, ip_to_int
from ipam.services.hosts import hosts_retire_locked
from ipam.snapshots import country_snapshot, host_snapshot, region_snapshot
from ipam.validation import clean_reason, parse_private_ip

RELEASE_MAX = 100
RELEASE_ITEM_STATUSES = ["released", "failed"]
LOOKUP_STATUSES = ["not_allocated", "region_allocated", "fully_allocated"]
LOOKUP_MAX = 1000


def _failure(host_id: str, exc: exceptions.ServiceError) -> dict[str, Any]:
    return {"host_id": host_id, "status": "failed", "error": exc.code, "message": exc.message}


def hosts_bulk_release(*, actor: Actor, host_ids: list[Any], reason: Any) -> dict[str, Any]:
    """Retire each host; the successful ones commit together, failures are reported per item.

    All found hosts are retired in one savepoint (one region lock per region, one audit insert); only if
    that fails (a host vanished concurrently) does it fall back to one savepoint per host.
    """
    reason = clean_reason(reason)
    ids = [str(h) for h in host_ids]
    if not 1 <= len(ids) <= RELEASE_MAX:
        raise exceptions.ValidationFailed(details={"host_ids": [f"Give 1-{RELEASE_MAX} host ids."]})
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise exceptions.ValidationFailed(details={"host_ids": [f"Duplicate ids: {', '.join(duplicates)}."]})
    results: dict[str, dict[str, Any]] = {}
    with transaction.atomic():
        owned = {str(pk) for pk in Host.objects.filter(user=actor, pk__in=ids).values_list("pk", flat=True)}
        missing = exceptions.NotFound("Host not found.", code="host_not_found")
        for host_id in ids:
            if host_id not in owned:
                results[host_id] = _failure(host_id, missing)
        todo = [i for i in ids if i in owned]
        released: dict[str, dict[str, Any]] = {}
        if todo:
            try:
                with transaction.atomic():
                    released = {r["host_id"]: r for r in hosts_retire_locked(actor=actor, host_ids=todo, reason=reason)}
            except exceptions.ServiceError:
                for host_id in todo:
                    try:
                        with transaction.atomic():
                            released.update({r["host_id"]: r for r in hosts_retire_locked(actor=actor, host_ids=[host_id], reason=reason)})
                    except exceptions.ServiceError as exc:
                        results[host_id] = _failure(host_id, exc)
        for host_id in todo:
            if host_id in released:
                results[host_id] = {"host_id": host_id, "status": "released", "ip_address": released[host_id]["ip_address"]}
            elif host_id not in results:  # retired by someone else between the check and the lock
                results[host_id] = _failure(host_id, missing)
    ordered = [results[i] for i in ids]
    done = sum(1 for r in ordered if r["status"] == "released")
    return {"released": done, "failed": len(ordered) - done, "results": ordered}


def hosts_bulk_lookup(*, user: Any, ip_addresses: list[Any]) -> dict[str, Any]:
    """Interpret each address for the caller (same shape as `POST /ipam/interpret`), in three queries."""
    if not 1 <= len(ip_addresses) <= LOOKUP_MAX:
        raise exceptions.ValidationFailed(details={"ip_addresses": [f"Give 1-{LOOKUP_MAX} addresses."]})
    parsed: list[tuple[int, int, int]] = []
    errors: dict[str, list[str]] = {}
    for index, value in enumerate(ip_addresses):
        try:
            parsed.append(parse_private_ip(value))
        except exceptions.ValidationFailed:
            errors[str(index)] = [f"{value!r} is not an address in 10.0.0.0/8."]
    if errors:
        raise exceptions.ValidationFailed(f"{len(errors)} addresses are invalid.", details={"ip_addresses": errors})
    countries = list(Country.objects.order_by("x_start"))
    host_ints = {ip_to_int(x, y, z) for x, y, z in parsed}
    region_ints = {ip_to_int(x, y, 0) for x, y, _ in parsed}
    hosts = {h.ip_int: h for h in Host.objects.filter(user=user, ip_int__in=host_ints)}
    regions = {r.network_int: r for r in Region.objects.select_related("country").filter(user=user, network_int__in=region_ints)}
    results = []
    found = 0
    for x, y, z in parsed:
        country = next((c for c in countries if c.x_start <= x <= c.x_end), None)
        region = regions.get(ip_to_int(x, y, 0))
        host = hosts.get(ip_to_int(x, y, z)) if region else None
        found += host is not None
        results.append(
            {
                "ip_address": f"10.{x}.{y}.{z}",
                "found": host is not None,
                "status": "fully_allocated" if host else ("region_allocated" if region else "not_allocated"),
                "hierarchy": {
                    "global_root": "10.0.0.0/8",
                    "continent": country.continent if country else None,
                    "country": country_snapshot(country),
                    "region": region_snapshot(region) if region else None,
                    "host": host_snapshot(host) if host else None,
                },
            }
        )
    return {"results": results, "found": found, "not_found": len(results) - found}
