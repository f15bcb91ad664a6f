"""Shapes of the notifications API. Types only: rules are validated as a whole by the services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from notifications.models import Channel, Notification, NotificationRule, RuleResourceType, Severity


class NotificationSerializer(serializers.ModelSerializer):
    notification_id = serializers.UUIDField(source="id", read_only=True)

    class Meta:
        model = Notification
        fields = [
            "notification_id",
            "notification_type",
            "severity",
            "message",
            "resource_type",
            "resource_id",
            "resource_link",
            "is_read",
            "read_at",
            "created_at",
            "legacy_id",
        ]
        read_only_fields = fields


@extend_schema_serializer(many=False)
class NotificationPageSerializer(serializers.Serializer):
    """A page of notifications plus the caller's total unread count."""

    count = serializers.IntegerField(required=False, help_text="total rows (page-number mode only; absent with `cursor`)")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    unread_count = serializers.IntegerField(help_text="all unread notifications of the caller, whatever the filters")
    results = NotificationSerializer(many=True)


class NotificationUnreadSerializer(serializers.Serializer):
    unread_count = serializers.IntegerField()
    recent = NotificationSerializer(many=True, help_text="the 10 newest unread notifications")


class NotificationUpdateSerializer(serializers.Serializer):
    is_read = serializers.BooleanField()


class NotificationMarkAllResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField(help_text="notifications marked read")


# --- Rules -------------------------------------------------------------------------------------------
class RuleConditionsSerializer(serializers.Serializer):
    utilization_threshold = serializers.FloatField(min_value=0, max_value=100, help_text="percent, 0..100")
    resource_type = serializers.ChoiceField(
        choices=RuleResourceType.choices, required=False, allow_null=True, help_text="absent = regions and countries"
    )
    resource_ids = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=100,
        help_text="region ids, or countries by name / ISO alpha-2 / alpha-3; absent = all",
    )


class RuleConditionsUpdateSerializer(RuleConditionsSerializer):
    utilization_threshold = serializers.FloatField(min_value=0, max_value=100, required=False, help_text="percent, 0..100")


class NotificationRuleCreateSerializer(serializers.Serializer):
    rule_name = serializers.CharField(max_length=100)
    conditions = RuleConditionsSerializer()
    notification_channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices), min_length=1, max_length=3)
    severity = serializers.ChoiceField(
        choices=Severity.choices, required=False, allow_null=True, help_text="absent = critical at ≥ 95 %, else warning"
    )
    is_active = serializers.BooleanField(required=False, default=True)


class NotificationRuleUpdateSerializer(serializers.Serializer):
    rule_name = serializers.CharField(max_length=100, required=False)
    conditions = RuleConditionsUpdateSerializer(required=False, help_text="only the keys given change")
    notification_channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.choices), min_length=1, max_length=3, required=False
    )
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False)


class RuleConditionsOutSerializer(serializers.Serializer):
    utilization_threshold = serializers.FloatField()
    resource_type = serializers.SerializerMethodField()
    resource_ids = serializers.ListField(child=serializers.CharField())

    def get_resource_type(self, rule: NotificationRule) -> str | None:
        return rule.resource_type or None


class NotificationRuleSerializer(serializers.ModelSerializer):
    rule_id = serializers.UUIDField(source="id", read_only=True)
    conditions = RuleConditionsOutSerializer(source="*", read_only=True)
    notification_channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices), read_only=True)
    severity = serializers.SerializerMethodField()

    class Meta:
        model = NotificationRule
        fields = [
            "rule_id",
            "rule_name",
            "conditions",
            "notification_channels",
            "severity",
            "is_active",
            "last_triggered_at",
            "created_at",
            "updated_at",
            "legacy_id",
        ]
        read_only_fields = fields

    def get_severity(self, rule: NotificationRule) -> str | None:
        return rule.severity or None


def rule_input(data: dict[str, Any]) -> dict[str, Any]:
    """Flatten validated create input for `notification_rule_create`."""
    conditions = data.pop("conditions")
    return {
        **data,
        "utilization_threshold": conditions["utilization_threshold"],
        "resource_type": conditions.get("resource_type") or "",
        "resource_ids": conditions.get("resource_ids") or [],
        "severity": data.get("severity") or "",
    }
