"""Converting a reservation: allocate exactly the reserved address through `region_allocate` /
`host_allocate` (which consume quota) and mark the reservation converted in the same transaction.

Lock order as everywhere: the cursor (region reservation) or region row (host reservation) first, then the
reservation row; the status is checked again once both are held.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from foundation.types import Actor
from ipam import exceptions
from ipam.models import Host, Region, Reservation, ReservationStatus
from ipam.services import allocation
from ipam.services.audit import audit_save_many
from ipam.services.hosts import host_allocate
from ipam.services.regions import region_allocate
from ipam.services.reservations import reservation_audit, reservation_get, reservation_snapshot
from webhooks.services import event_publish

logger = logging.getLogger("ipam.reservations")

REGION = Reservation.ResourceType.REGION
ACTIVE = ReservationStatus.ACTIVE
REGION_CONVERT_FIELDS = ("region_name", "description", "tags", "owner")
HOST_CONVERT_FIELDS = ("hostname", "device_type", "os_type", "application", "cost_center", "purpose", "notes", "tags")


def reservation_convert(*, actor: Actor, reservation_id: Any, data: dict[str, Any]) -> tuple[Reservation, Region | Host]:
    """Allocate exactly the reserved address (quota consumed) and mark the reservation converted.

    Region reservations take `region_name, description?, tags?, owner?`; host reservations take
    `hostname` and the host metadata. Only an active, unexpired reservation converts (else 409).
    """
    with transaction.atomic():
        reservation = reservation_get(actor, reservation_id)
        _ensure_active(reservation)  # no status goes back to active: checked early, and again under the lock
        allowed = REGION_CONVERT_FIELDS if reservation.resource_type == REGION else HOST_CONVERT_FIELDS
        unknown = sorted(key for key, value in data.items() if key not in allowed and value is not None)
        if unknown:
            raise exceptions.ValidationFailed(
                details={key: [f"Not accepted when converting a {reservation.resource_type} reservation."] for key in unknown}
            )
        fields = {key: value for key, value in data.items() if key in allowed and value is not None}
        region_pk = None
        if reservation.resource_type == REGION:
            allocation.lock_cursor(actor, reservation.country)
        else:
            region_pk = (
                Region.objects.filter(user=actor, x_octet=reservation.x_octet, y_octet=reservation.y_octet)
                .values_list("pk", flat=True)
                .first()
            )
            if region_pk is None:
                raise exceptions.Conflict(
                    f"The region 10.{reservation.x_octet}.{reservation.y_octet}.0/24 of this reservation no longer exists.",
                    code="region_not_found",
                    details={"reservation_id": str(reservation.id)},
                )
            allocation.lock_region(actor, region_pk)
        locked = Reservation.objects.select_for_update(of=("self",)).select_related("country").filter(pk=reservation.pk).first()
        if locked is None:
            raise exceptions.NotFound("Reservation not found.", code="reservation_not_found")
        reservation = locked
        _ensure_active(reservation)
        resource: Region | Host
        if reservation.resource_type == REGION:
            if "region_name" not in fields:
                raise exceptions.ValidationFailed(details={"region_name": ["Required to convert a region reservation."]})
            resource = region_allocate(
                actor=actor,
                country=reservation.country,
                at=(reservation.x_octet, reservation.y_octet),
                reservation_id=reservation.pk,
                **fields,
            )
        else:
            if "hostname" not in fields:
                raise exceptions.ValidationFailed(details={"hostname": ["Required to convert a host reservation."]})
            resource = host_allocate(actor=actor, region_id=region_pk, z_octet=reservation.z_octet, reservation_id=reservation.pk, **fields)
        reservation.status = ReservationStatus.CONVERTED
        reservation.converted_resource_id = resource.pk
        reservation.save(update_fields=["status", "converted_resource_id", "updated_at"])
        snapshot = reservation_snapshot(reservation)
        region_id = resource.pk if isinstance(resource, Region) else resource.region_id
        audit_save_many([reservation_audit(reservation, actor=actor, action_type="convert", snapshot=snapshot, region_id=region_id)])
        event_publish(
            user=actor,
            event_type="reservation.converted",
            data={**snapshot, "converted_resource_type": reservation.resource_type, "converted_resource_id": str(resource.pk)},
        )
    logger.info("Converted reservation: %s into %s %s", reservation.id, reservation.resource_type, resource.pk)
    return reservation, resource


def _ensure_active(reservation: Reservation) -> None:
    if reservation.current_status != ACTIVE:
        raise exceptions.StateConflict(
            f"Only active reservations can be converted; this one is {reservation.current_status}.",
            code="reservation_not_active",
            details={"reservation_id": str(reservation.id), "status": reservation.current_status},
        )
