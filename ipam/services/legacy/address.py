"""`ipam_regions` and `ipam_hosts` (with their embedded `comments`) → Region, Host, Comment.

The original's unique indexes were per user and its constraints partly missing; here they are database
constraints, so every document is checked against what the namespace already holds before it is written:
the first document (oldest `created_at`) wins, later duplicates are skipped with a reason.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from django.db.models.functions import Lower

from ipam import bitmaps
from ipam.models import Comment, DeviceType, Host, Region, ip_to_int
from ipam.services.legacy.quirks import aware, integer, legacy_uuid, octets_of_cidr, octets_of_ip, oid, tags, text
from ipam.services.legacy.scope import HostRef, RegionRef, Scope
from ipam.services.legacy.writer import copy_rows, insert_rows

REGION_STATUS = {"active": "active", "reserved": "reserved", "retired": "retired", "available": "retired"}
HOST_STATUS = {"active": "active", "reserved": "reserved", "released": "released", "available": "released"}
DEVICE_TYPES = {value.lower(): value for value in DeviceType.values}


def _created(doc: dict[str, Any]) -> Any:
    return aware(doc.get("created_at")) or (doc["_id"].generation_time if hasattr(doc.get("_id"), "generation_time") else None)


def _oldest_first(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The order in which duplicates are decided: oldest `created_at` first (undated last), then ObjectId."""
    keyed = [
        ((moment is None, moment.timestamp() if moment else 0.0, oid(doc.get("_id"))), doc) for doc in docs for moment in [_created(doc)]
    ]
    keyed.sort(key=lambda pair: pair[0])
    return [doc for _, doc in keyed]


def _status(value: Any, table: dict[str, str], collection: str, scope: Scope) -> str:
    found = table.get(str(value or "active").strip().lower())
    if str(value).strip().lower() == "available":
        scope.report.normalise(collection, f"status 'Available' (written by the original's cleanup job) → {found}: the address stays held")
    if found is None:
        scope.report.normalise(collection, f"unknown status {str(value)[:20]!r} → active")
        return "active"
    return found


def regions_import(scope: Scope, docs: list[dict[str, Any]]) -> None:
    report, collection = scope.report, "ipam_regions"
    names: set[tuple[int, str]] = set()
    if not scope.fresh:
        for pk, legacy, x, y, code, name, country_id in Region.objects.filter(user_id=scope.user_id).values_list(
            "id", "legacy_id", "x_octet", "y_octet", "country__code", Lower("region_name"), "country_id"
        ):
            ref = RegionRef(pk=pk, x=x, y=y, country_code=code)
            scope.regions_by_xy[(x, y)] = ref
            names.add((country_id, name))
            if legacy:
                scope.regions[legacy] = ref
    rows = []
    for doc in _oldest_first(docs):
        report.stats(collection).read += 1
        legacy = oid(doc.get("_id"))
        if legacy in scope.regions:
            report.existing(collection)
            continue
        xy = (integer(doc.get("x_octet")), integer(doc.get("y_octet")))
        if None in xy or not all(0 <= v <= 255 for v in xy):  # type: ignore[operator]
            xy = octets_of_cidr(doc.get("cidr")) or (None, None)
            if None in xy:
                report.skip(collection, "no valid x_octet/y_octet or cidr")
                continue
            report.normalise(collection, "octets missing or invalid: taken from cidr")
        x, y = int(xy[0]), int(xy[1])  # type: ignore[arg-type]
        country = scope.country_for_x(x)
        if country is None:
            report.skip(collection, "X octet in no country of ours")
            continue
        if (x, y) in scope.regions_by_xy:
            scope.regions[legacy] = scope.regions_by_xy[(x, y)]  # its hosts follow the region that holds the /24
            report.skip(collection, "duplicate /24 in the same user's namespace (the oldest is kept; hosts attached to it)")
            continue
        if str(doc.get("country") or "") != country.name:
            report.normalise(collection, f"country {str(doc.get('country'))[:40]!r} → {country.name!r} (by the X octet)")
        if country.is_reserved:
            report.normalise(collection, "region in the reserved range (X 208-255): imported; new allocations there need admin")
        name = text(doc.get("region_name"), 100).strip() or f"region-{x}-{y}"
        if (country.pk, name.lower()) in names:
            name = f"{name[:80]} ({legacy[-6:]})"
            report.normalise(collection, "region name already used in the country (names are case-insensitive here): suffixed")
        names.add((country.pk, name.lower()))
        if not doc.get("owner_id"):
            report.normalise(collection, "owner_id missing (created by reservation conversion): owned by the user")
        tag_values, note = tags(doc.get("tags"))
        if note:
            report.normalise(collection, note)
        created = _created(doc) or scope.now
        ref = RegionRef(pk=legacy_uuid("region", legacy), x=x, y=y, country_code=country.code, created_at=created)
        row = {
            "id": ref.pk,
            "legacy_id": legacy,
            "user_id": scope.user_id,
            "country_id": country.pk,
            "x_octet": x,
            "y_octet": y,
            "network_int": ip_to_int(x, y, 0),
            "region_name": name,
            "description": text(doc.get("description"), 10_000),
            "status": _status(doc.get("status"), REGION_STATUS, collection, scope),
            "owner": text(doc.get("owner"), 150) or scope.user.username,
            "tags": tag_values,
            "created_at": created,
            "updated_at": aware(doc.get("updated_at")) or created,
            "created_by": scope.actor_name(doc.get("created_by")),
            "updated_by": scope.actor_name(doc.get("updated_by") or doc.get("created_by")),
        }
        scope.regions[legacy] = scope.regions_by_xy[(x, y)] = ref
        scope.new_regions.append((legacy, row))
        rows.append(row)
        _comments(scope, "region", ref.pk, doc, collection)
    report.created(collection, len(rows))


def hosts_import(scope: Scope, docs: list[dict[str, Any]]) -> None:
    report, collection = scope.report, "ipam_hosts"
    taken_ips: set[int] = set()
    names: set[tuple[Any, str]] = set()
    if not scope.fresh:
        by_pk = {ref.pk: ref for ref in scope.regions_by_xy.values()}
        for pk, legacy, region_id, z, ip_int, hostname in Host.objects.filter(user_id=scope.user_id).values_list(
            "id", "legacy_id", "region_id", "z_octet", "ip_int", "hostname"
        ):
            taken_ips.add(ip_int)
            names.add((region_id, hostname))
            if legacy and region_id in by_pk:
                scope.hosts[legacy] = HostRef(pk=pk, region=by_pk[region_id], z=z)
    masks: dict[Any, int] = {}
    for doc in _oldest_first(docs):
        report.stats(collection).read += 1
        legacy = oid(doc.get("_id"))
        if legacy in scope.hosts:
            report.existing(collection)
            continue
        xyz = tuple(integer(doc.get(k)) for k in ("x_octet", "y_octet", "z_octet"))
        if None in xyz or not all(0 <= v <= 255 for v in xyz):  # type: ignore[operator]
            xyz = octets_of_ip(doc.get("ip_address")) or (None, None, None)
            if None in xyz:
                report.skip(collection, "no valid octets or ip_address")
                continue
            report.normalise(collection, "octets missing or invalid: taken from ip_address")
        x, y, z = (int(v) for v in xyz)  # type: ignore[arg-type]
        if not 1 <= z <= 254:
            report.skip(collection, "Z outside 1..254 (network or broadcast address)")
            continue
        region = scope.regions.get(oid(doc.get("region_id")))
        if region is None or (region.x, region.y) != (x, y):
            problem = "orphan host (its region is gone)" if region is None else "host outside its region's /24"
            region = scope.regions_by_xy.get((x, y))
            if region is None:
                report.skip(collection, f"{problem}, and the user has no region 10.X.Y.0/24 holding it")
                continue
            report.normalise(collection, f"{problem}: attached to the user's region that holds its address")
        ip_int = ip_to_int(x, y, z)
        if ip_int in taken_ips:
            report.skip(collection, "duplicate address in the same user's namespace (the oldest is kept)")
            continue
        hostname = text(doc.get("hostname"), 253).strip() or f"host-{z}"
        if (region.pk, hostname) in names:
            hostname = f"{hostname[:240]}-{z}"
            report.normalise(collection, "hostname already used in the region: suffixed with -Z")
        taken_ips.add(ip_int)
        names.add((region.pk, hostname))
        device = str(doc.get("device_type") or "").strip()
        if device and device.lower() not in DEVICE_TYPES:
            report.normalise(collection, "device_type not one of ours: Other")
        tag_values, note = tags(doc.get("tags"))
        if note:
            report.normalise(collection, note)
        if not doc.get("owner_id"):
            report.normalise(collection, "owner_id missing (created by reservation conversion): owned by the user")
        created = _created(doc) or scope.now
        pk = legacy_uuid("host", legacy)
        row = {
            "id": pk,
            "legacy_id": legacy,
            "user_id": scope.user_id,
            "region_id": region.pk,
            "x_octet": x,
            "y_octet": y,
            "z_octet": z,
            "ip_int": ip_int,
            "ip_address": f"10.{x}.{y}.{z}",
            "hostname": hostname,
            "device_type": DEVICE_TYPES.get(device.lower(), "Other") if device else "",
            "os_type": text(doc.get("os_type"), 100),
            "application": text(doc.get("application"), 200),
            "cost_center": text(doc.get("cost_center"), 100),
            "purpose": text(doc.get("purpose"), 500),
            "notes": text(doc.get("notes"), 2000),
            "status": _status(doc.get("status"), HOST_STATUS, collection, scope),
            "tags": tag_values,
            "created_at": created,
            "updated_at": aware(doc.get("updated_at")) or created,
            "created_by": scope.actor_name(doc.get("created_by")),
            "updated_by": scope.actor_name(doc.get("updated_by") or doc.get("created_by")),
        }
        if len(str(doc.get("notes") or "")) > 2000:
            report.normalise(collection, "notes longer than 2000 characters: truncated")
        scope.hosts[legacy] = HostRef(pk=pk, region=region, z=z)
        scope.new_hosts.append((legacy, row))
        masks[region.pk] = masks.get(region.pk, 0) | (1 << z)
        _comments(scope, "host", pk, doc, collection)
    report.created(collection, len(scope.new_hosts))
    _finish_bitmaps(scope, masks)


def _finish_bitmaps(scope: Scope, masks: dict[Any, int]) -> None:
    """New regions get their host bitmap and count now; existing regions given hosts are recomputed later."""
    new_pks = {row["id"] for _, row in scope.new_regions}
    for _, row in scope.new_regions:
        mask = masks.get(row["id"], 0)
        row["host_bitmap"] = bitmaps.to_bytes(mask)
        row["allocated_hosts"] = mask.bit_count()
    scope.touched_regions |= set(masks) - new_pks


def address_write(scope: Scope) -> None:
    _copy_dicts(scope, Region, [row for _, row in scope.new_regions])
    _copy_dicts(scope, Host, [row for _, row in scope.new_hosts])
    insert_rows(Comment, scope.new_comments, batch_size=scope.batch_size)


def _copy_dicts(scope: Scope, model: type[Region] | type[Host], rows: list[dict[str, Any]]) -> None:
    """The rows (all built with the same keys) as tuples in one COPY stream."""
    if rows:
        columns = tuple(rows[0])
        copy_rows(model, columns, map(itemgetter(*columns), rows), batch_size=scope.batch_size)


def _comments(scope: Scope, resource_type: str, resource_pk: Any, doc: dict[str, Any], collection: str) -> None:
    """Embedded `comments` (newest first in the original) → Comment rows, ids stable by position from the oldest."""
    entries = doc.get("comments") or []
    if not isinstance(entries, list):
        scope.report.normalise(collection, "comments not a list: dropped")
        return
    rows = scope.new_comments
    legacy = oid(doc.get("_id"))
    for position, entry in enumerate(reversed(entries)):
        body = text(entry.get("text") if isinstance(entry, dict) else None, 2000).strip()
        stats = scope.report.stats("comments (embedded)")
        stats.read += 1
        if not body:
            scope.report.skip("comments (embedded)", "blank comment text")
            continue
        rows.append(
            {
                "id": legacy_uuid("comment", f"{legacy}:{position}"),
                "user_id": scope.user_id,
                "resource_type": resource_type,
                "resource_id": resource_pk,
                "text": body,
                "author": scope.actor_name(entry.get("author_id")),
                "created_at": aware(entry.get("timestamp")) or _created(doc) or scope.now,
            }
        )
        scope.report.created("comments (embedded)")
