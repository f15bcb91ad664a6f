"""Reservations: a region (X.Y) or host (X.Y.Z) address held in one user's namespace.

Like every enhancement store, the table belongs to the `enhancements` app (`Meta.app_label`), a schema unit
with no code of its own: `manage.py rollback` migrates it to zero after a backup, and `migrate` restores it
(docs/decisions/0007). The model lives here, next to the services that use it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ReservationStatus(models.TextChoices):
    ACTIVE = "active"
    CONVERTED = "converted"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class ReservationQuerySet(models.QuerySet["Reservation"]):
    def active(self, at: datetime | None = None) -> ReservationQuerySet:
        """Reservations that hold their address now (or at `at`): status active and not past `expires_at`.

        The hourly job writes `expired` later; until then an active row past its expiry holds nothing."""
        moment = at or timezone.now()
        return self.filter(status=ReservationStatus.ACTIVE).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=moment))


class Reservation(models.Model):
    """Holds a region (X.Y) or host (X.Y.Z) address of one user's namespace.

    Active and not past `expires_at` = the address is taken for auto-allocation and for others.
    The partial unique constraints stop two active reservations of one address even under races.
    """

    class ResourceType(models.TextChoices):
        REGION = "region"
        HOST = "host"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_reservations")
    resource_type = models.CharField(max_length=10, choices=ResourceType.choices)
    country = models.ForeignKey("ipam.Country", on_delete=models.PROTECT, related_name="+")
    x_octet = models.PositiveSmallIntegerField()
    y_octet = models.PositiveSmallIntegerField()
    z_octet = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=12, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    expiry_warning_sent_at = models.DateTimeField(null=True, blank=True)
    converted_resource_id = models.UUIDField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    legacy_id = models.CharField(
        max_length=24, null=True, blank=True, unique=True, editable=False, help_text="ObjectId in the original system (import_original)"
    )

    objects = ReservationQuerySet.as_manager()

    class Meta:
        app_label = "enhancements"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "x_octet", "y_octet"],
                condition=Q(status="active", resource_type="region"),
                name="reservation_unique_active_region",
            ),
            models.UniqueConstraint(
                fields=["user", "x_octet", "y_octet", "z_octet"],
                condition=Q(status="active", resource_type="host"),
                name="reservation_unique_active_host",
            ),
            models.CheckConstraint(
                condition=Q(resource_type="region", z_octet__isnull=True) | Q(resource_type="host", z_octet__gte=1, z_octet__lte=254),
                name="reservation_z_matches_type",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "status", "resource_type", "x_octet", "y_octet"], name="reservation_user_addr"),
            models.Index(fields=["status", "expires_at"], name="reservation_status_expiry"),
            models.Index(fields=["user", "-created_at", "-id"], name="reservation_user_created_id"),  # newest first, a total order
        ]

    def __str__(self) -> str:
        return f"reservation {self.reserved_address} ({self.status})"

    @property
    def reserved_address(self) -> str:
        if self.resource_type == self.ResourceType.REGION:
            return f"10.{self.x_octet}.{self.y_octet}.0/24"
        return f"10.{self.x_octet}.{self.y_octet}.{self.z_octet}"

    @property
    def current_status(self) -> str:
        """The status as of now: an active reservation whose `expires_at` has passed is already expired,
        even before the hourly job has written it."""
        if self.status == ReservationStatus.ACTIVE and self.expires_at is not None and self.expires_at <= timezone.now():
            return ReservationStatus.EXPIRED
        return self.status


ReservationResourceType = Reservation.ResourceType  # module-level names for ENUM_NAME_OVERRIDES
