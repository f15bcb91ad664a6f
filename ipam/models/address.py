"""The address hierarchy: Country (seed data) > Region (/24) > Host (one address), per user namespace."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

REGION_BITMAP_BYTES = 32  # 256 bits, one per Z
HOSTS_PER_REGION = 254  # Z = 1..254


def ip_to_int(x: int, y: int, z: int) -> int:
    return (10 << 24) | (x << 16) | (y << 8) | z


class Continent(models.TextChoices):
    ASIA = "Asia"
    AFRICA = "Africa"
    EUROPE = "Europe"
    NORTH_AMERICA = "North America"
    SOUTH_AMERICA = "South America"
    AUSTRALIA = "Australia"
    RESERVED = "Reserved"


class Country(models.Model):
    """A contiguous range of X. Seeded by a data migration; staff may edit it in the admin."""

    name = models.CharField(max_length=100, unique=True)
    code = models.CharField(max_length=2, unique=True)
    code3 = models.CharField(max_length=3, unique=True)
    continent = models.CharField(max_length=50, choices=Continent.choices, db_index=True)
    x_start = models.PositiveSmallIntegerField()
    x_end = models.PositiveSmallIntegerField()
    is_reserved = models.BooleanField(default=False)

    class Meta:
        ordering = ["x_start"]
        verbose_name_plural = "countries"
        constraints = [
            models.CheckConstraint(condition=models.Q(x_start__lte=models.F("x_end")), name="country_x_range_ordered"),
            models.CheckConstraint(condition=models.Q(x_end__lte=255), name="country_x_end_max_255"),
        ]
        # The five IPAM permissions live here (any model would do; this one is never deleted).
        permissions = [
            ("read", "Can read IPAM data"),
            ("allocate", "Can allocate regions and hosts"),
            ("update", "Can update regions and hosts"),
            ("release", "Can release and retire regions and hosts"),
            ("admin", "Can administer IPAM (implies all others)"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def x_count(self) -> int:
        return self.x_end - self.x_start + 1

    @property
    def total_capacity(self) -> int:
        """Regions (/24s) the country can hold."""
        return self.x_count * 256


class AllocationCursor(models.Model):
    """One row per (user, country): the lock that serialises region allocation in that country.

    `bitmap` has one bit per (X, Y) of the country (bit (x - x_start) * 256 + y) so the next free /24
    is found without scanning regions; `region_count` is the country utilization for this user.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="+")
    bitmap = models.BinaryField(default=bytes)
    region_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "country"], name="cursor_unique_user_country")]

    def __str__(self) -> str:
        return f"cursor {self.user_id}/{self.country_id}: {self.region_count}"


class RegionStatus(models.TextChoices):
    ACTIVE = "active"
    RESERVED = "reserved"
    RETIRED = "retired"


class Region(models.Model):
    """A /24 `10.X.Y.0/24` owned by one user. `host_bitmap`/`allocated_hosts` are kept by allocation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_regions")
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="regions")
    x_octet = models.PositiveSmallIntegerField()
    y_octet = models.PositiveSmallIntegerField()
    network_int = models.BigIntegerField(help_text="10.X.Y.0 as an integer (CIDR containment queries)")
    region_name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=RegionStatus.choices, default=RegionStatus.ACTIVE)
    owner = models.CharField(max_length=150, blank=True, default="", help_text="display label")
    tags = models.JSONField(default=dict, blank=True)
    host_bitmap = models.BinaryField(default=bytes)
    allocated_hosts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=150, blank=True, default="")
    updated_by = models.CharField(max_length=150, blank=True, default="")
    legacy_id = models.CharField(
        max_length=24, null=True, blank=True, unique=True, editable=False, help_text="ObjectId in the original system (import_original)"
    )

    class Meta:
        ordering = ["x_octet", "y_octet"]
        constraints = [
            models.UniqueConstraint(fields=["user", "x_octet", "y_octet"], name="region_unique_user_xy"),
            models.UniqueConstraint(Lower("region_name"), "user", "country", name="region_unique_user_country_name"),
            models.CheckConstraint(condition=models.Q(x_octet__lte=255, y_octet__lte=255), name="region_octets_range"),
            models.CheckConstraint(condition=models.Q(allocated_hosts__lte=HOSTS_PER_REGION), name="region_hosts_max"),
        ]
        indexes = [
            models.Index(fields=["user", "country", "status"], name="region_user_country_status"),
            # Covering on PostgreSQL: the host list's page seek reads every counter in address order from the
            # index alone (ipam/selectors/host_pages.py). It replaced a plain (user, network_int) index, so an
            # allocation writes no more index entries than before (its UPDATE is never HOT anyway:
            # allocated_hosts is indexed by region_user_alloc_hosts).
            models.Index(fields=["user", "network_int"], name="region_user_network_hosts", include=["allocated_hosts"]),
            models.Index(fields=["user", "created_at"], name="region_user_created"),
            models.Index(fields=["user", "allocated_hosts"], name="region_user_alloc_hosts"),
        ]

    def __str__(self) -> str:
        return f"{self.region_name} ({self.cidr})"

    @property
    def cidr(self) -> str:
        return f"10.{self.x_octet}.{self.y_octet}.0/24"

    @property
    def utilization_percentage(self) -> float:
        return round(self.allocated_hosts * 100 / HOSTS_PER_REGION, 2)


class DeviceType(models.TextChoices):
    VM = "VM"
    CONTAINER = "Container"
    PHYSICAL = "Physical"
    NETWORK = "Network"
    STORAGE = "Storage"
    OTHER = "Other"


class HostStatus(models.TextChoices):
    ACTIVE = "active"
    RESERVED = "reserved"
    RELEASED = "released"


class Host(models.Model):
    """One address `10.X.Y.Z` in a region. user/x/y are copied from the region for indexed lookups."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ipam_hosts")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="hosts")
    x_octet = models.PositiveSmallIntegerField()
    y_octet = models.PositiveSmallIntegerField()
    z_octet = models.PositiveSmallIntegerField()
    ip_int = models.BigIntegerField()
    ip_address = models.CharField(max_length=15)
    hostname = models.CharField(max_length=253)
    device_type = models.CharField(max_length=16, choices=DeviceType.choices, blank=True, default="")
    os_type = models.CharField(max_length=100, blank=True, default="")
    application = models.CharField(max_length=200, blank=True, default="")
    cost_center = models.CharField(max_length=100, blank=True, default="")
    purpose = models.CharField(max_length=500, blank=True, default="")
    notes = models.TextField(max_length=2000, blank=True, default="")
    status = models.CharField(max_length=16, choices=HostStatus.choices, default=HostStatus.ACTIVE)
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=150, blank=True, default="")
    updated_by = models.CharField(max_length=150, blank=True, default="")
    legacy_id = models.CharField(
        max_length=24, null=True, blank=True, unique=True, editable=False, help_text="ObjectId in the original system (import_original)"
    )

    class Meta:
        ordering = ["ip_int"]
        constraints = [
            models.UniqueConstraint(fields=["region", "z_octet"], name="host_unique_region_z"),
            models.UniqueConstraint(fields=["region", "hostname"], name="host_unique_region_hostname"),
            models.UniqueConstraint(fields=["user", "ip_int"], name="host_unique_user_ip"),
            models.CheckConstraint(condition=models.Q(z_octet__gte=1, z_octet__lte=254), name="host_z_range"),
        ]
        indexes = [
            models.Index(fields=["user", "ip_address"], name="host_user_ip_address"),
            models.Index(fields=["user", "created_at"], name="host_user_created"),
            models.Index(fields=["user", "hostname"], name="host_user_hostname"),
            models.Index(fields=["user", "status"], name="host_user_status"),
        ]

    def __str__(self) -> str:
        return f"{self.hostname} ({self.ip_address})"
