"""Shapes of the core API (countries, regions, hosts, interpretation, quotas). Validation of types only:
rules live in the services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ipam.models import HOSTS_PER_REGION, Country, DeviceType, Host, HostStatus, Region, RegionStatus

TAGS_HELP = "Flat object of string to string; key ^[A-Za-z0-9_-]{1,100}$, value ≤ 500 chars, at most 50 tags."


class StrictCharField(serializers.CharField):
    """A CharField that refuses JSON numbers and booleans instead of turning them into text.

    A number where a name is expected is a client bug worth a 400 (`"Not a valid string."`); form bodies
    are text anyway.
    """

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class TagsField(serializers.DictField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=StrictCharField(allow_blank=True, max_length=500), help_text=TAGS_HELP, **kwargs)


# --- Countries ---------------------------------------------------------------------------------------
class CountrySerializer(serializers.Serializer):
    continent = serializers.CharField()
    country = serializers.CharField(source="name")
    code = serializers.CharField()
    code3 = serializers.CharField()
    x_start = serializers.IntegerField()
    x_end = serializers.IntegerField()
    is_reserved = serializers.BooleanField()
    total_capacity = serializers.IntegerField(help_text="regions (/24s) the country holds")
    allocated_regions = serializers.SerializerMethodField()
    utilization_percentage = serializers.SerializerMethodField()

    def _allocated(self, obj: Country) -> int:
        counts: dict[int, int] = self.context.get("allocated_by_country", {})
        return counts.get(obj.pk, 0)

    def get_allocated_regions(self, obj: Country) -> int:
        return self._allocated(obj)

    def get_utilization_percentage(self, obj: Country) -> float:
        return round(self._allocated(obj) * 100 / obj.total_capacity, 2)


class CountryListQuerySerializer(serializers.Serializer):
    continent = serializers.CharField(required=False, max_length=50, help_text="filter by continent (any case)")


class XBreakdownSerializer(serializers.Serializer):
    x_octet = serializers.IntegerField()
    allocated = serializers.IntegerField()
    capacity = serializers.IntegerField()
    available = serializers.IntegerField()
    utilization_percent = serializers.FloatField()


class UtilizationSerializer(serializers.Serializer):
    resource_type = serializers.CharField()
    resource_id = serializers.CharField()
    total_capacity = serializers.IntegerField()
    allocated = serializers.IntegerField()
    available = serializers.IntegerField()
    utilization_percent = serializers.FloatField()


class CountryUtilizationSerializer(UtilizationSerializer):
    x_breakdown = XBreakdownSerializer(many=True)


# --- Regions ------------------------------------------------------------------------------------------
class RegionSerializer(serializers.ModelSerializer):
    region_id = serializers.UUIDField(source="id", read_only=True)
    country = serializers.CharField(source="country.name", read_only=True)
    continent = serializers.CharField(source="country.continent", read_only=True)
    cidr = serializers.CharField(read_only=True)
    owner_id = serializers.IntegerField(source="user_id", read_only=True)
    tags = TagsField(read_only=True)
    utilization_percentage = serializers.SerializerMethodField()

    class Meta:
        model = Region
        fields = [
            "region_id",
            "country",
            "continent",
            "x_octet",
            "y_octet",
            "cidr",
            "region_name",
            "description",
            "status",
            "owner",
            "owner_id",
            "tags",
            "allocated_hosts",
            "utilization_percentage",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
            "legacy_id",
        ]
        read_only_fields = fields

    def get_utilization_percentage(self, obj: Region) -> float:
        return round(obj.allocated_hosts * 100 / HOSTS_PER_REGION, 2)


class RegionCreateSerializer(serializers.Serializer):
    country = StrictCharField(max_length=100, help_text="name (case-insensitive), ISO alpha-2 or alpha-3")
    region_name = StrictCharField(max_length=200, trim_whitespace=False)
    description = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")
    tags = TagsField(required=False)
    owner = StrictCharField(required=False, allow_blank=True, max_length=150, help_text="display label")


class RegionUpdateSerializer(serializers.Serializer):
    region_name = StrictCharField(required=False, max_length=200)
    description = StrictCharField(required=False, allow_blank=True, max_length=2000)
    status = serializers.ChoiceField(choices=RegionStatus.choices, required=False)
    tags = TagsField(required=False)
    owner = StrictCharField(required=False, allow_blank=True, max_length=150)


class RegionRetireQuerySerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="why (1-500 characters)")
    cascade = serializers.BooleanField(required=False, default=False, help_text="also retire the region's hosts")


class RegionRetireResultSerializer(serializers.Serializer):
    region_id = serializers.UUIDField()
    cascade = serializers.BooleanField()
    hosts_retired = serializers.IntegerField()


class RegionPreviewQuerySerializer(serializers.Serializer):
    country = serializers.CharField(max_length=100, help_text="name, ISO alpha-2 or alpha-3")


class RegionPreviewSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    next_cidr = serializers.CharField(allow_null=True)
    x_octet = serializers.IntegerField(allow_null=True)
    y_octet = serializers.IntegerField(allow_null=True)
    country = serializers.CharField()


# --- Shared serializers for responses -------------------------------------------------------------------
_SHARED: dict[type[serializers.BaseSerializer], serializers.BaseSerializer] = {}


def represent(serializer_class: type[serializers.BaseSerializer], instance: Any) -> Any:
    """`serializer_class(instance).data` without building the serializer again for every response.

    Instantiating a `ModelSerializer` builds and deep-copies all its fields (about a millisecond for a
    host); representing an object only reads them. One instance per class is kept (for serializers that
    need no context) and its `to_representation` called: same output, built once per process.
    """
    shared = _SHARED.get(serializer_class)
    if shared is None:
        shared = _SHARED[serializer_class] = serializer_class()
    return shared.to_representation(instance)


# --- Hosts --------------------------------------------------------------------------------------------
class HostSerializer(serializers.ModelSerializer):
    host_id = serializers.UUIDField(source="id", read_only=True)
    region_id = serializers.UUIDField(read_only=True)
    region_name = serializers.CharField(source="region.region_name", read_only=True)
    country = serializers.CharField(source="region.country.name", read_only=True)
    continent = serializers.CharField(source="region.country.continent", read_only=True)
    device_type = serializers.CharField(allow_null=True, read_only=True)
    owner_id = serializers.IntegerField(source="user_id", read_only=True)
    tags = TagsField(read_only=True)

    class Meta:
        model = Host
        fields = [
            "host_id",
            "region_id",
            "region_name",
            "country",
            "continent",
            "ip_address",
            "x_octet",
            "y_octet",
            "z_octet",
            "hostname",
            "device_type",
            "os_type",
            "application",
            "cost_center",
            "purpose",
            "notes",
            "status",
            "tags",
            "owner_id",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
            "legacy_id",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Host) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["device_type"] = data["device_type"] or None
        return data


class HostMetadataSerializer(serializers.Serializer):
    device_type = serializers.ChoiceField(choices=DeviceType.choices, required=False, allow_null=True)
    os_type = StrictCharField(required=False, allow_blank=True, max_length=100)
    application = StrictCharField(required=False, allow_blank=True, max_length=200)
    cost_center = StrictCharField(required=False, allow_blank=True, max_length=100)
    purpose = StrictCharField(required=False, allow_blank=True, max_length=500)
    notes = StrictCharField(required=False, allow_blank=True, max_length=2000)
    tags = TagsField(required=False)


class HostCreateSerializer(HostMetadataSerializer):
    region_id = serializers.UUIDField()
    hostname = StrictCharField(max_length=253)


class HostBatchSerializer(HostMetadataSerializer):
    region_id = serializers.UUIDField()
    count = serializers.IntegerField(min_value=1, max_value=100)
    hostname_prefix = StrictCharField(max_length=240)


class HostBatchResultSerializer(serializers.Serializer):
    region_id = serializers.UUIDField()
    count = serializers.IntegerField()
    hosts = HostSerializer(many=True)


class HostUpdateSerializer(HostMetadataSerializer):
    hostname = StrictCharField(required=False, max_length=253)
    status = serializers.ChoiceField(choices=HostStatus.choices, required=False)


class HostRetireQuerySerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class HostRetireResultSerializer(serializers.Serializer):
    host_id = serializers.UUIDField()
    ip_address = serializers.CharField()


class HostPreviewSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    next_ip = serializers.CharField(allow_null=True)
    x_octet = serializers.IntegerField()
    y_octet = serializers.IntegerField()
    z_octet = serializers.IntegerField(allow_null=True)
    region_id = serializers.UUIDField()
    region_name = serializers.CharField()


# --- Interpretation, quotas --------------------------------------------------------------------------
class InterpretRequestSerializer(serializers.Serializer):
    ip_address = StrictCharField(max_length=64)


class InterpretResultSerializer(serializers.Serializer):
    ip_address = serializers.CharField()
    status = serializers.ChoiceField(choices=["not_allocated", "region_allocated", "fully_allocated"])
    hierarchy = serializers.DictField(child=serializers.JSONField(allow_null=True))


class QuotaUsageSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    used = serializers.IntegerField()
    available = serializers.IntegerField()
    usage_percent = serializers.FloatField()
    warning = serializers.BooleanField(help_text="true at ≥ 80 % of the limit")


class QuotaSerializer(serializers.Serializer):
    regions = QuotaUsageSerializer()
    hosts = QuotaUsageSerializer()
