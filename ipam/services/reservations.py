"""Reservations: hold a region (10.X.Y.0/24) or host (10.X.Y.Z) address of the caller's namespace.

Creating one locks the rows allocation locks — the (user, country) cursor for a region, the region row
for a host — so a reservation and an allocation (or another reservation) of one address serialise; the
partial unique constraints on active reservations are the database backstop. Converting one into the
region or host it holds is `ipam.services.reservation_conversion` (it builds on the allocation services,
which build on this module).

Lock order everywhere: cursor or region row first, then reservation rows. The hourly job only locks
reservation rows, so it never waits on a lock while holding one another transaction needs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from foundation.types import Actor
from ipam import exceptions
from ipam.models import AuditLog, Region, Reservation, ReservationStatus
from ipam.selectors import occupancy
from ipam.selectors.countries import country_for_x
from ipam.services import allocation
from ipam.services.audit import audit_entry, audit_save_many
from ipam.validation import clean_reason
from notifications.services import notification_create
from webhooks.services import event_publish

logger = logging.getLogger("ipam.reservations")

EXPIRES_IN_DAYS_MAX = 90
EXPIRY_WARNING_HOURS = 24
JOB_BATCH_SIZE = 500

REGION = Reservation.ResourceType.REGION
HOST = Reservation.ResourceType.HOST
ACTIVE = ReservationStatus.ACTIVE


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def reservation_snapshot(reservation: Reservation) -> dict[str, Any]:
    """JSON-safe picture for audit rows and event payloads."""
    return {
        "reservation_id": str(reservation.id),
        "resource_type": reservation.resource_type,
        "country": reservation.country.name,
        "x_octet": reservation.x_octet,
        "y_octet": reservation.y_octet,
        "z_octet": reservation.z_octet,
        "reserved_address": reservation.reserved_address,
        "reason": reservation.reason,
        "status": reservation.current_status,
        "expires_at": _iso(reservation.expires_at),
        "converted_resource_id": str(reservation.converted_resource_id) if reservation.converted_resource_id else None,
        "created_by": reservation.created_by,
        "created_at": _iso(reservation.created_at),
        "updated_at": _iso(reservation.updated_at),
    }


def _ip(reservation: Reservation) -> str:
    """The audit row's `ip_address`: the host address, empty for a region."""
    return reservation.reserved_address if reservation.resource_type == HOST else ""


def _cidr(reservation: Reservation) -> str:
    return f"10.{reservation.x_octet}.{reservation.y_octet}.0/24"


def reservation_audit(
    reservation: Reservation, *, actor: Actor | None, action_type: str, snapshot: dict[str, Any], **extra: Any
) -> AuditLog:
    """An unsaved audit row about `reservation`, in its owner's namespace (`extra`: reason, region_id). The id
    comes from the snapshot: a deleted reservation no longer has its primary key."""
    return audit_entry(
        actor=actor,
        user_id=reservation.user_id,
        action_type=action_type,
        resource_type="reservation",
        resource_id=snapshot["reservation_id"],
        country_code=reservation.country.code,
        snapshot=snapshot,
        ip_address=_ip(reservation),
        cidr=_cidr(reservation),
        **extra,
    )


def _link(reservation: Reservation) -> str:
    return f"/ipam/reservations/{reservation.id}"


# --- Validation -------------------------------------------------------------------------------------
def _clean_octet(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise exceptions.ValidationFailed(details={field: [f"Must be an integer between {low} and {high}."]})
    return value


def _clean_expires_in_days(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= EXPIRES_IN_DAYS_MAX:
        raise exceptions.ValidationFailed(details={"expires_in_days": [f"Must be an integer between 1 and {EXPIRES_IN_DAYS_MAX}."]})
    return value


# --- Expiry (shared by the hourly job and by create, which must not be blocked by an unswept row) -------
def _expire_locked(rows: list[Reservation], *, now: datetime) -> list[Reservation]:
    """Mark `rows` expired; they must be locked by the caller and due. Audit, event and notify each owner."""
    if not rows:
        return []
    Reservation.objects.filter(pk__in=[r.pk for r in rows], status=ACTIVE).update(status=ReservationStatus.EXPIRED, updated_at=now)
    entries = []
    for reservation in rows:
        reservation.status = ReservationStatus.EXPIRED
        reservation.updated_at = now
        snapshot = reservation_snapshot(reservation)
        entries.append(reservation_audit(reservation, actor=None, action_type="reservation_expired", snapshot=snapshot))
        event_publish(user=reservation.user, event_type="reservation.expired", data=snapshot)
        notification_create(
            user=reservation.user,
            notification_type="reservation_expired",
            severity="info",
            message=f"Your reservation of {reservation.reserved_address} has expired; the address is free again.",
            resource_type="reservation",
            resource_id=str(reservation.id),
            resource_link=_link(reservation),
        )
        logger.info("Expired reservation: %s (%s)", reservation.id, reservation.reserved_address)
    audit_save_many(entries)
    return rows


def _expire_due_at(user: Any, resource_type: str, x: int, y: int, z: int | None, now: datetime) -> None:
    """Expire the caller's due-but-unswept active reservations of this address (inside the address lock)."""
    due = Reservation.objects.select_for_update(of=("self",)).select_related("country", "user")
    due = due.filter(user=user, resource_type=resource_type, x_octet=x, y_octet=y, status=ACTIVE, expires_at__lte=now)
    if z is not None:
        due = due.filter(z_octet=z)
    _expire_locked(list(due), now=now)


# --- Create -----------------------------------------------------------------------------------------
def reservation_create(
    *,
    actor: Actor,
    resource_type: str,
    x_octet: Any,
    y_octet: Any,
    z_octet: Any = None,
    reason: Any,
    expires_in_days: Any = None,
    performed_by: Any = None,
) -> Reservation:
    """Reserve a region (X.Y) or a host (X.Y.Z, in the caller's region at X.Y) for `actor`.

    `performed_by`: a staff user reserving in the actor's namespace (the admin), recorded as the audit actor.

    409 `address_in_use` when the caller already has it allocated, 409 `address_reserved` when an
    active reservation of the caller covers it (a host inside a reserved region counts).
    """
    if resource_type not in Reservation.ResourceType.values:
        raise exceptions.ValidationFailed(details={"resource_type": ["Must be region or host."]})
    x = _clean_octet(x_octet, "x_octet", 0, 255)
    y = _clean_octet(y_octet, "y_octet", 0, 255)
    if resource_type == REGION:
        if z_octet is not None:
            raise exceptions.ValidationFailed(details={"z_octet": ["Only host reservations take z_octet."]})
        z = None
    else:
        if z_octet is None:
            raise exceptions.ValidationFailed(details={"z_octet": ["A host reservation needs z_octet (1-254)."]})
        z = _clean_octet(z_octet, "z_octet", allocation.Z_FIRST, allocation.Z_LAST)
    reason = clean_reason(reason)
    days = _clean_expires_in_days(expires_in_days)
    country = country_for_x(x)
    if country is None:
        raise exceptions.ValidationFailed(details={"x_octet": [f"No country covers X={x}."]})
    allocation.ensure_may_use_country(actor, country)

    with transaction.atomic():
        region: Region | None = None
        if resource_type == REGION:
            cursor = allocation.lock_cursor(actor, country)  # the lock region allocation in this country takes
            now = timezone.now()  # read after the lock: a row that lapsed while we waited is expired below
            _expire_due_at(actor, REGION, x, y, None, now)
            allocation.check_region_slot_free(cursor, x, y, occupancy.reserved_region_slots(actor, country))
        else:
            region_pk = Region.objects.filter(user=actor, x_octet=x, y_octet=y).values_list("pk", flat=True).first()
            if region_pk is None:
                raise exceptions.NotFound(
                    f"You have no region at 10.{x}.{y}.0/24; a host reservation needs one.",
                    code="region_not_found",
                    details={"cidr": f"10.{x}.{y}.0/24"},
                )
            region = allocation.lock_region(actor, region_pk)  # the lock host allocation in this region takes
            now = timezone.now()
            _expire_due_at(actor, HOST, x, y, z, now)
            _check_no_region_reservation(actor, x, y, now)
            assert z is not None
            allocation.check_host_slot_free(region, z, occupancy.reserved_host_slots(actor, x, y))
        reservation = Reservation(
            user=actor,
            resource_type=resource_type,
            country=country,
            x_octet=x,
            y_octet=y,
            z_octet=z,
            reason=reason,
            expires_at=now + timedelta(days=days) if days else None,
            created_by=(performed_by or actor).get_username(),
        )
        try:
            with transaction.atomic():  # savepoint: the partial unique constraint is the last line of defence
                reservation.save(force_insert=True)
        except IntegrityError:
            logger.warning("Reservation constraint hit for %s of user %s", reservation.reserved_address, actor.pk)
            raise exceptions.AddressReserved(
                f"{reservation.reserved_address} is already reserved.", details={"reserved_address": reservation.reserved_address}
            ) from None
        snapshot = reservation_snapshot(reservation)
        audit_save_many(
            [
                reservation_audit(
                    reservation,
                    actor=performed_by or actor,
                    action_type="create",
                    snapshot=snapshot,
                    region_id=region.pk if region else None,
                    reason=reason,
                )
            ]
        )
        event_publish(user=actor, event_type="reservation.created", data=snapshot)
    logger.info("Created reservation: %s (%s)", reservation.id, reservation.reserved_address)
    return reservation


def _check_no_region_reservation(user: Any, x: int, y: int, now: datetime) -> None:
    holder = Reservation.objects.active(now).filter(user=user, resource_type=REGION, x_octet=x, y_octet=y).first()
    if holder is not None:
        raise exceptions.AddressReserved(
            f"10.{x}.{y}.0/24 is held by reservation {holder.id}.",
            details={"cidr": f"10.{x}.{y}.0/24", "reservation_id": str(holder.id)},
        )


# --- Cancel (the region of host reservations is retired) ---------------------------------------------------
def reservations_cancel_for_retired_region(*, actor: Actor, by: Any, region: Region, reason: str) -> int:
    """Cancel `actor`'s active host reservations inside `region`, which is being retired (call inside the
    retirement's transaction, under its region lock). A host reservation needs its region — it could never be
    converted again — so it ends with it: status `cancelled`, one audit row each (`reservation_cancelled`, with
    the retirement's reason), and the owner is notified. Returns how many were cancelled."""
    now = timezone.now()
    rows = list(
        Reservation.objects.select_for_update(of=("self",))
        .select_related("country")
        .filter(user=actor, resource_type=HOST, x_octet=region.x_octet, y_octet=region.y_octet, status=ACTIVE)
        .order_by("z_octet")
    )
    if not rows:
        return 0
    Reservation.objects.filter(pk__in=[r.pk for r in rows]).update(status=ReservationStatus.CANCELLED, updated_at=now)
    entries = []
    for reservation in rows:
        reservation.status = ReservationStatus.CANCELLED
        reservation.updated_at = now
        entries.append(
            reservation_audit(
                reservation, actor=by, action_type="reservation_cancelled", snapshot=reservation_snapshot(reservation), reason=reason
            )
        )
        notification_create(
            user=reservation.user_id,
            notification_type="reservation_cancelled",
            severity="info",
            message=(
                f"Your reservation of {reservation.reserved_address} was cancelled: its region "
                f"{region.region_name!r} ({region.cidr}) was retired."
            ),
            resource_type="reservation",
            resource_id=str(reservation.id),
            resource_link=_link(reservation),
        )
    audit_save_many(entries)
    logger.info("Cancelled %s host reservations of retired region %s", len(rows), region.cidr)
    return len(rows)


def reservation_get(actor: Actor, reservation_id: Any) -> Reservation:
    reservation = Reservation.objects.select_related("country").filter(user=actor, pk=reservation_id).first()
    if reservation is None:
        raise exceptions.NotFound("Reservation not found.", code="reservation_not_found")
    return reservation


# --- Delete -----------------------------------------------------------------------------------------
def reservation_delete(*, actor: Actor, reservation_id: Any, performed_by: Any = None) -> None:
    """Delete a reservation (whatever its status); an active one frees its address at once. `performed_by`: a
    staff user acting in the actor's namespace (the admin), recorded as the audit actor."""
    with transaction.atomic():
        rows = Reservation.objects.select_for_update(of=("self",)).select_related("country")
        found = rows.filter(user=actor, pk=reservation_id).first()
        if found is None:
            raise exceptions.NotFound("Reservation not found.", code="reservation_not_found")
        snapshot = reservation_snapshot(found)
        found.delete()
        audit_save_many([reservation_audit(found, actor=performed_by or actor, action_type="delete", snapshot=snapshot)])
    logger.info("Deleted reservation: %s", snapshot["reservation_id"])


# --- Hourly job ------------------------------------------------------------------------------------
def reservations_expire_due(*, now: datetime | None = None, batch_size: int = JOB_BATCH_SIZE) -> int:
    """Expire every active reservation past `expires_at`. Safe with several workers: each batch locks its
    rows (`SKIP LOCKED` on PostgreSQL) and flips them with a conditional update, so a row expires once."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            due = Reservation.objects.select_for_update(skip_locked=True, of=("self",)).select_related("country", "user")
            rows = list(due.filter(status=ACTIVE, expires_at__lte=now).order_by("expires_at")[:batch_size])
            _expire_locked(rows, now=now)
        total += len(rows)
        if len(rows) < batch_size:
            return total


def reservations_warn_expiring(*, now: datetime | None = None, batch_size: int = JOB_BATCH_SIZE) -> int:
    """Notify owners once about reservations expiring within 24 h (`expiry_warning_sent_at` claims the row)."""
    now = now or timezone.now()
    horizon = now + timedelta(hours=EXPIRY_WARNING_HOURS)
    total = 0
    while True:
        with transaction.atomic():
            due = Reservation.objects.select_for_update(skip_locked=True, of=("self",)).select_related("user")
            due = due.filter(status=ACTIVE, expiry_warning_sent_at__isnull=True, expires_at__gt=now, expires_at__lte=horizon)
            rows = list(due.order_by("expires_at")[:batch_size])
            Reservation.objects.filter(pk__in=[r.pk for r in rows], expiry_warning_sent_at__isnull=True).update(expiry_warning_sent_at=now)
            for reservation in rows:
                assert reservation.expires_at is not None
                hours = max(1, round((reservation.expires_at - now).total_seconds() / 3600))
                notification_create(
                    user=reservation.user,
                    notification_type="reservation_expiring",
                    severity="warning",
                    message=(
                        f"Your reservation of {reservation.reserved_address} expires in about {hours} h "
                        f"({reservation.expires_at.isoformat()}); convert it or it will be released."
                    ),
                    resource_type="reservation",
                    resource_id=str(reservation.id),
                    resource_link=_link(reservation),
                )
        total += len(rows)
        if len(rows) < batch_size:
            return total


def reservation_expiration_check(*, now: datetime | None = None) -> dict[str, int]:
    """The hourly job: warn about reservations expiring within 24 h, then expire the due ones."""
    now = now or timezone.now()
    warned = reservations_warn_expiring(now=now)
    expired = reservations_expire_due(now=now)
    if warned or expired:
        logger.info("Reservation expiration: %s expired, %s warned", expired, warned)
    return {"expired": expired, "warned": warned}
