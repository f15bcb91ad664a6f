"""Enhancement stores: reservations, shareable links, user preferences and saved filters, bulk jobs.

Behaviour lives in `ipam.services.*`; these are the rows and their constraints.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ipam.models.jobs import JobStatus


class ReservationStatus(models.TextChoices):
    ACTIVE = "active"
    CONVERTED = "converted"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


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

    class Meta:
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
            models.Index(fields=["user", "-created_at"], name="reservation_user_created"),
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


class Share(models.Model):
    """A read-only link to a country, region or host. Only the SHA-256 of the token is stored."""

    class ResourceType(models.TextChoices):
        COUNTRY = "country"
        REGION = "region"
        HOST = "host"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_shares")
    resource_type = models.CharField(max_length=10, choices=ResourceType.choices)
    resource_id = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=500, blank=True, default="")
    expires_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    view_count = models.PositiveIntegerField(default=0)
    last_accessed = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "is_active", "-created_at"], name="share_user_active"),
            models.Index(fields=["is_active", "expires_at"], name="share_active_expiry"),
        ]

    def __str__(self) -> str:
        return f"share of {self.resource_type} {self.resource_id}"


ShareResourceType = Share.ResourceType


class UserPreference(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="ipam_preferences")
    dashboard_layout = models.JSONField(default=dict, blank=True)
    notification_settings = models.JSONField(default=dict, blank=True)
    theme_preference = models.CharField(max_length=50, null=True, blank=True)
    default_country = models.CharField(max_length=100, null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True, help_text="other keys the client stores")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class SavedFilter(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_saved_filters")
    name = models.CharField(max_length=100)
    criteria = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["user", "created_at"], name="savedfilter_user_created")]

    def __str__(self) -> str:
        return self.name


BulkJobStatus = JobStatus  # one set of job states for bulk, export and import jobs


class BulkJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_bulk_jobs")
    operation = models.CharField(max_length=40)  # e.g. "tags"
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=BulkJobStatus.choices, default=BulkJobStatus.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    successful = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="bulkjob_user_created"),
            models.Index(fields=["status", "created_at"], name="bulkjob_status_created"),
        ]

    def __str__(self) -> str:
        return f"bulk {self.operation} {self.id} ({self.status})"
