"""Shareable read-only links to a country, region or host.

The token is 32 random bytes (URL-safe base64, 43 characters), returned once at creation; only its
SHA-256 is stored, so a database leak reveals no usable link. The public view shows an explicit
allow-list of fields: never user ids, internal ids, notes or comments.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F
from django.utils import timezone

from foundation.rows import instance_from_values
from foundation.types import Actor
from ipam import exceptions
from ipam.models import HOSTS_PER_REGION, AllocationCursor, Country, Host, Region, Share
from ipam.selectors.countries import country_get
from ipam.services.audit import audit_entry, audit_record, audit_save_many
from ipam.snapshots import country_summary

logger = logging.getLogger("ipam.shares")

TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 200  # anything longer is not one of ours: 404 without a query
EXPIRES_IN_DAYS_DEFAULT = 7
EXPIRES_IN_DAYS_MAX = 90
DESCRIPTION_MAX = 500
JOB_BATCH_SIZE = 500


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def share_url(token: str, *, request_base_url: str) -> str:
    """Absolute link: `IPAM_PUBLIC_BASE_URL` when set (behind a proxy), else the request's scheme and host."""
    base = (settings.IPAM_PUBLIC_BASE_URL or request_base_url).rstrip("/")
    return f"{base}/ipam/shares/{token}"


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as the API's serializers write it."""
    if not value:
        return None
    text = value.astimezone(UTC).isoformat() if timezone.is_aware(value) else value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def share_snapshot(share: Share) -> dict[str, Any]:
    """For audit rows (no token, no hash)."""
    return {
        "share_id": str(share.id),
        "resource_type": share.resource_type,
        "resource_id": share.resource_id,
        "description": share.description,
        "expires_at": _iso(share.expires_at),
        "is_active": share.is_active,
        "view_count": share.view_count,
        "created_at": _iso(share.created_at),
    }


# --- Create / revoke ---------------------------------------------------------------------------------
def _resolve_resource(actor: Actor, resource_type: str, resource_id: Any) -> str:
    """The canonical id to store; 404 when the caller has no such resource."""
    if not isinstance(resource_id, str) or not resource_id.strip():
        raise exceptions.ValidationFailed(details={"resource_id": ["Must be a non-empty string."]})
    value = resource_id.strip()
    if resource_type == Share.ResourceType.COUNTRY:
        return country_get(value).code
    try:
        pk = uuid.UUID(value)
    except ValueError:
        raise exceptions.ValidationFailed(details={"resource_id": [f"Must be a {resource_type}_id (UUID)."]}) from None
    model: type[Region] | type[Host] = Region if resource_type == Share.ResourceType.REGION else Host
    if not model.objects.filter(user=actor, pk=pk).exists():
        raise exceptions.NotFound(f"{resource_type.capitalize()} not found.", code=f"{resource_type}_not_found")
    return str(pk)


def share_create(
    *, actor: Actor, resource_type: str, resource_id: Any, expires_in_days: Any = None, description: Any = ""
) -> tuple[Share, str]:
    """Create a link to one of the caller's resources; returns the share and its token (shown only now)."""
    if resource_type not in Share.ResourceType.values:
        raise exceptions.ValidationFailed(details={"resource_type": ["Must be country, region or host."]})
    days = EXPIRES_IN_DAYS_DEFAULT if expires_in_days is None else expires_in_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= EXPIRES_IN_DAYS_MAX:
        raise exceptions.ValidationFailed(details={"expires_in_days": [f"Must be an integer between 1 and {EXPIRES_IN_DAYS_MAX}."]})
    description = "" if description is None else description
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        raise exceptions.ValidationFailed(details={"description": [f"A string of at most {DESCRIPTION_MAX} characters."]})
    canonical_id = _resolve_resource(actor, resource_type, resource_id)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        share = Share.objects.create(
            user=actor,
            resource_type=resource_type,
            resource_id=canonical_id,
            token_hash=token_hash(token),
            description=description.strip(),
            expires_at=timezone.now() + timedelta(days=days),
        )
        audit_record(
            actor=actor,
            user_id=actor.pk,
            action_type="create",
            resource_type="share",
            resource_id=share.id,
            region_id=uuid.UUID(canonical_id) if resource_type == Share.ResourceType.REGION else None,
            snapshot=share_snapshot(share),
        )
    logger.info("Created share: %s of %s %s", share.id, resource_type, canonical_id)
    return share, token


def share_revoke(*, actor: Actor, share_id: Any, performed_by: Any = None) -> None:
    """Deactivate one of the caller's active shares at once (404 if unknown, revoked or expired). `performed_by`:
    a staff user acting in the actor's namespace (the admin), recorded as the audit actor."""
    now = timezone.now()
    try:
        pk = uuid.UUID(str(share_id))
    except ValueError:
        raise exceptions.NotFound("Share not found.", code="share_not_found") from None
    with transaction.atomic():
        share = Share.objects.active(now).select_for_update().filter(user=actor, pk=pk).first()
        if share is None:
            raise exceptions.NotFound("Share not found.", code="share_not_found")
        share.is_active = False
        share.save(update_fields=["is_active"])
        audit_record(
            actor=performed_by or actor,
            user_id=actor.pk,
            action_type="revoke",
            resource_type="share",
            resource_id=share.id,
            snapshot=share_snapshot(share),
        )
    logger.info("Revoked share: %s", share.id)


# --- Public view ------------------------------------------------------------------------------------
def share_access(*, token: str) -> dict[str, Any]:
    """The public body of an active share, counting the view. Unknown, revoked or expired → 404.

    On PostgreSQL this is one statement (`_share_view_row`); elsewhere three (the share, its resource, the
    counter). Both answer the same body: the row is turned into the same model instances the ORM would load,
    and one set of functions picks the allow-listed fields from them."""
    now = timezone.now()
    not_found = exceptions.NotFound("This link is unknown, revoked or expired.", code="share_not_found")
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise not_found
    alias = router.db_for_write(Share)
    if connections[alias].vendor == "postgresql":
        shared = _share_view_row(alias, token_hash(token), now)
        if shared is None:
            raise not_found
        share, data = shared
    else:
        found = Share.objects.active(now).select_related("user").filter(token_hash=token_hash(token)).first()
        if found is None:
            raise not_found
        resource = public_resource_data(found)
        if resource is None:  # the resource was retired since
            raise not_found
        count_view(found.pk, now)
        share, data = found, resource
    owner = share.user
    return {
        "resource_type": share.resource_type,
        "resource_data": data,
        "shared_by": owner.get_full_name() or owner.get_username(),
        "created_at": share.created_at,
        "expires_at": share.expires_at,
    }


def count_view(share_id: Any, now: datetime) -> None:
    """Add one view to the share's counter and stamp `last_accessed` (the three-statement form; PostgreSQL
    counts inside `_share_view_row`'s statement)."""
    Share.objects.using(router.db_for_write(Share)).filter(pk=share_id).update(view_count=F("view_count") + 1, last_accessed=now)


# The allow-lists: the only fields a public link ever shows.
PUBLIC_COUNTRY_FIELDS = (
    "country",
    "code",
    "code3",
    "continent",
    "x_start",
    "x_end",
    "total_capacity",
    "allocated_regions",
    "utilization_percentage",
)
PUBLIC_REGION_FIELDS = (
    "region_name",
    "cidr",
    "country",
    "continent",
    "status",
    "description",
    "tags",
    "total_hosts",
    "allocated_hosts",
    "utilization_percentage",
    "created_at",
    "updated_at",
)
PUBLIC_HOST_FIELDS = (
    "hostname",
    "ip_address",
    "region_name",
    "cidr",
    "country",
    "continent",
    "device_type",
    "os_type",
    "application",
    "status",
    "tags",
    "created_at",
    "updated_at",
)


def _percent(part: int, whole: int) -> float:
    return round(part * 100 / whole, 2) if whole else 0.0


def public_resource_data(share: Share) -> dict[str, Any] | None:
    """The allow-listed fields of the shared resource as the owner sees it now; None if it is gone."""
    if share.resource_type == Share.ResourceType.COUNTRY:
        country = Country.objects.filter(code=share.resource_id).first()
        if country is None:
            return None
        used = AllocationCursor.objects.filter(user_id=share.user_id, country=country).values_list("region_count", flat=True).first() or 0
        return _country_data(country, used)
    model: type[Region] | type[Host] = Region if share.resource_type == Share.ResourceType.REGION else Host
    try:
        pk = uuid.UUID(share.resource_id)
    except ValueError:
        return None
    if str(pk) != share.resource_id:  # `share_create` and the importer store the canonical form, as `_UUID_TEXT`
        return None
    if model is Region:
        region = Region.objects.select_related("country").filter(user_id=share.user_id, pk=pk).first()
        return None if region is None else _region_data(region)
    host = Host.objects.select_related("region__country").filter(user_id=share.user_id, pk=pk).first()
    return None if host is None else _host_data(host)


def _country_data(country: Country, used: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        **country_summary(country),
        "allocated_regions": used,
        "utilization_percentage": _percent(used, country.total_capacity),
    }
    return {key: data[key] for key in PUBLIC_COUNTRY_FIELDS}


def _region_data(region: Region) -> dict[str, Any]:
    data = {
        "region_name": region.region_name,
        "cidr": region.cidr,
        "country": region.country.name,
        "continent": region.country.continent,
        "status": region.status,
        "description": region.description,
        "tags": dict(region.tags or {}),
        "total_hosts": HOSTS_PER_REGION,
        "allocated_hosts": region.allocated_hosts,
        "utilization_percentage": _percent(region.allocated_hosts, HOSTS_PER_REGION),
        "created_at": _iso(region.created_at),
        "updated_at": _iso(region.updated_at),
    }
    return {key: data[key] for key in PUBLIC_REGION_FIELDS}


def _host_data(host: Host) -> dict[str, Any]:
    data = {
        "hostname": host.hostname,
        "ip_address": host.ip_address,
        "region_name": host.region.region_name,
        "cidr": host.region.cidr,
        "country": host.region.country.name,
        "continent": host.region.country.continent,
        "device_type": host.device_type or None,
        "os_type": host.os_type,
        "application": host.application,
        "status": host.status,
        "tags": dict(host.tags or {}),
        "created_at": _iso(host.created_at),
        "updated_at": _iso(host.updated_at),
    }
    return {key: data[key] for key in PUBLIC_HOST_FIELDS}


# --- The public view in one statement (PostgreSQL) ---------------------------------------------------
# The share (active at `now`), its owner and its resource are read, and the view is counted, in one round
# trip: `found` reads with LEFT JOINs on the three kinds of resource and keeps the row only when the
# resource it names exists; `counted`, a data-modifying CTE, counts the view of that row only (PostgreSQL
# runs it even though the outer query does not read it). A retired resource or an unknown, revoked or
# expired link reads no row and counts nothing, as the three-statement form. A `resource_id` that is not a
# canonical UUID never reaches the `::uuid` cast (the CASE guards it), so it is a 404, never an error.
#
# Outside any transaction (the public view runs in autocommit) the statement is its own transaction and
# commits with `synchronous_commit = off`: `set_config(..., is_local => true)` in a CTE sets it for this
# statement's implicit transaction only, the commit reads it (the commit record is written before the
# transaction's settings are reset) and does not wait for the WAL flush, which cost ~4-8 ms per view on the
# bench machine. The trade-off (docs/decisions/0018-share-view-counter-asynchronous-commit.md): a crash of
# the database server may lose the view counts of its last fraction of a second, never a data row: nothing
# else is written in this transaction, and the setting does not outlive it. Inside a caller's transaction
# the statement leaves the setting alone (it would apply to the caller's writes too).
_UUID_TEXT = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_SHARE_COLUMNS = ("id", "user_id", "resource_type", "resource_id", "created_at", "expires_at")
_USER_COLUMNS = ("id", "first_name", "last_name", "username")
_COUNTRY_COLUMNS = ("id", "name", "code", "code3", "continent", "x_start", "x_end")
_REGION_COUNTRY_COLUMNS = ("id", "name", "continent")  # what a region's or host's public data shows of it
_REGION_COLUMNS = (
    "id",
    "x_octet",
    "y_octet",
    "region_name",
    "description",
    "status",
    "tags",
    "allocated_hosts",
    "created_at",
    "updated_at",
)
_HOST_COLUMNS = ("id", "hostname", "ip_address", "device_type", "os_type", "application", "status", "tags", "created_at", "updated_at")
_SHARE_VIEW_SQL = """
WITH {async_cte}found AS (
    SELECT {columns}, cur.region_count AS cursor_region_count
    FROM {share} s
    JOIN {user} u ON u.id = s.user_id
    LEFT JOIN {country} c ON s.resource_type = 'country' AND c.code = s.resource_id
    LEFT JOIN {cursor} cur ON cur.user_id = s.user_id AND cur.country_id = c.id
    LEFT JOIN {host} h ON h.user_id = s.user_id
        AND h.id = (CASE WHEN s.resource_type = 'host' AND s.resource_id ~ %(uuid_text)s THEN s.resource_id END)::uuid
    LEFT JOIN {region} r ON r.user_id = s.user_id AND r.id = COALESCE(
        h.region_id,
        (CASE WHEN s.resource_type = 'region' AND s.resource_id ~ %(uuid_text)s THEN s.resource_id END)::uuid
    )
    LEFT JOIN {country} rc ON rc.id = r.country_id
    WHERE s.token_hash = %(token_hash)s AND s.is_active AND s.expires_at > %(now)s
      AND CASE s.resource_type WHEN 'country' THEN c.id IS NOT NULL
                               WHEN 'region' THEN r.id IS NOT NULL
                               ELSE h.id IS NOT NULL AND r.id IS NOT NULL END
), counted AS (
    UPDATE {share} SET view_count = view_count + 1, last_accessed = %(now)s
    FROM found{async_from} WHERE {share}.id = found.s_id
)
SELECT * FROM found
"""


def _column_list(alias: str, model: Any, names: tuple[str, ...]) -> list[str]:
    return [f"{alias}.{model._meta.get_field(name).column} AS {alias}_{name}" for name in names]


@functools.cache
def _share_view_sql(alias: str, *, asynchronous: bool) -> str:
    from django.contrib.auth import get_user_model

    table = connections[alias].ops.quote_name
    columns = [
        *_column_list("s", Share, _SHARE_COLUMNS),
        *_column_list("u", get_user_model(), _USER_COLUMNS),
        *_column_list("c", Country, _COUNTRY_COLUMNS),
        *_column_list("r", Region, _REGION_COLUMNS),
        *_column_list("rc", Country, _REGION_COUNTRY_COLUMNS),
        *_column_list("h", Host, _HOST_COLUMNS),
    ]
    return _SHARE_VIEW_SQL.format(
        async_cte="async_commit AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)), " if asynchronous else "",
        async_from=", async_commit" if asynchronous else "",
        columns=", ".join(columns),
        share=table(Share._meta.db_table),
        user=table(get_user_model()._meta.db_table),
        country=table(Country._meta.db_table),
        cursor=table(AllocationCursor._meta.db_table),
        region=table(Region._meta.db_table),
        host=table(Host._meta.db_table),
    )


def _instance(alias: str, model: Any, row: dict[str, Any], prefix: str, names: tuple[str, ...]) -> Any:
    """The model instance the ORM would load from these columns (the others deferred; converted as the fields
    convert them, JSON decoded)."""
    return instance_from_values(model, alias, {model._meta.get_field(name).attname: row[f"{prefix}_{name}"] for name in names})


def _share_view_row(alias: str, hashed: str, now: datetime) -> tuple[Share, dict[str, Any]] | None:
    """(the share with its owner, the resource's public data), the view counted; None → 404."""
    from django.contrib.auth import get_user_model

    connection = connections[alias]
    sql = _share_view_sql(alias, asynchronous=not connection.in_atomic_block)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"token_hash": hashed, "now": now, "uuid_text": _UUID_TEXT})
        fetched = cursor.fetchone()
        if fetched is None:
            return None
        row = dict(zip((column.name for column in cursor.description), fetched, strict=True))
    share = _instance(alias, Share, row, "s", _SHARE_COLUMNS)
    share.user = _instance(alias, get_user_model(), row, "u", _USER_COLUMNS)
    if share.resource_type == Share.ResourceType.COUNTRY:
        return share, _country_data(_instance(alias, Country, row, "c", _COUNTRY_COLUMNS), row["cursor_region_count"] or 0)
    region = _instance(alias, Region, row, "r", _REGION_COLUMNS)
    region.country = _instance(alias, Country, row, "rc", _REGION_COUNTRY_COLUMNS)
    if share.resource_type == Share.ResourceType.REGION:
        return share, _region_data(region)
    host = _instance(alias, Host, row, "h", _HOST_COLUMNS)
    host.region = region
    return share, _host_data(host)


# --- Hourly job ------------------------------------------------------------------------------------
def share_expiration_check(*, now: datetime | None = None, batch_size: int = JOB_BATCH_SIZE) -> int:
    """Deactivate active shares past `expires_at`, one audit row (`share_expired`) each. Batches lock their
    rows (`SKIP LOCKED` on PostgreSQL) and flip them conditionally, so several workers never double-count."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            due = Share.objects.select_for_update(skip_locked=True).filter(is_active=True, expires_at__lte=now)
            rows = list(due.order_by("expires_at")[:batch_size])
            Share.objects.filter(pk__in=[s.pk for s in rows], is_active=True).update(is_active=False)
            entries = []
            for share in rows:
                share.is_active = False
                entries.append(
                    audit_entry(
                        actor=None,
                        user_id=share.user_id,
                        action_type="share_expired",
                        resource_type="share",
                        resource_id=share.id,
                        snapshot=share_snapshot(share),
                    )
                )
            audit_save_many(entries)
        total += len(rows)
        if len(rows) < batch_size:
            if total:
                logger.info("Share expiration: %s deactivated", total)
            return total
