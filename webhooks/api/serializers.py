"""Shapes of the webhooks API. Types only: URL safety and event names are checked by the services."""

from __future__ import annotations

from rest_framework import serializers

from webhooks.events import EventType
from webhooks.models import Webhook, WebhookDelivery, WebhookDeliveryAttempt

EVENTS_HELP = "Event types to receive: " + ", ".join(EventType.values)


class WebhookSerializer(serializers.ModelSerializer):
    """A subscription as listed (never the secret)."""

    webhook_id = serializers.UUIDField(source="id", read_only=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), read_only=True)

    class Meta:
        model = Webhook
        fields = [
            "webhook_id",
            "webhook_url",
            "events",
            "description",
            "is_active",
            "failure_count",
            "last_delivery_at",
            "last_success_at",
            "last_failure_at",
            "disabled_at",
            "disabled_reason",
            "secret_rotated_at",
            "created_at",
            "updated_at",
            "legacy_id",
        ]
        read_only_fields = fields


class WebhookWithSecretSerializer(WebhookSerializer):
    """The subscription plus its signing secret: only in the create and rotate-secret responses."""

    secret_key = serializers.CharField(read_only=True, help_text="HMAC-SHA256 signing secret; shown only now, store it safely")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret_key"]
        read_only_fields = fields


class WebhookCreateSerializer(serializers.Serializer):
    webhook_url = serializers.CharField(max_length=500, help_text="http(s) URL of a public host (or one in IPAM_WEBHOOK_ALLOWED_HOSTS)")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), min_length=1, max_length=len(EventType.values), help_text=EVENTS_HELP
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class WebhookUpdateSerializer(serializers.Serializer):
    webhook_url = serializers.CharField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), min_length=1, max_length=len(EventType.values), required=False
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="true re-enables a disabled webhook (failure count reset)")


class WebhookDeliveryAttemptSerializer(serializers.ModelSerializer):
    delivery_id = serializers.UUIDField(read_only=True)
    event_type = serializers.ChoiceField(source="delivery.event_type", choices=EventType.choices, read_only=True)
    delivered_at = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDeliveryAttempt
        fields = [
            "delivery_id",
            "event_type",
            "attempt_number",
            "status_code",
            "response_time_ms",
            "error_message",
            "attempted_at",
            "delivered_at",
            "next_attempt_at",
            "status",
        ]
        read_only_fields = fields

    def get_delivered_at(self, obj: WebhookDeliveryAttempt) -> str | None:
        return serializers.DateTimeField().to_representation(obj.attempted_at) if obj.status == "delivered" else None


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One delivery of one event to one webhook, with its last attempt and the log of all attempts."""

    delivery_id = serializers.UUIDField(source="id", read_only=True)
    webhook_id = serializers.UUIDField(read_only=True)
    event_id = serializers.UUIDField(read_only=True)
    attempt_number = serializers.IntegerField(source="attempts", read_only=True, help_text="attempts made so far")
    status_code = serializers.IntegerField(source="last_status_code", read_only=True, allow_null=True)
    response_time_ms = serializers.IntegerField(source="last_response_time_ms", read_only=True, allow_null=True)
    error_message = serializers.CharField(source="last_error", read_only=True)
    attempts = WebhookDeliveryAttemptSerializer(source="attempt_log", many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "delivery_id",
            "webhook_id",
            "event_id",
            "event_type",
            "status",
            "attempt_number",
            "status_code",
            "response_time_ms",
            "error_message",
            "delivered_at",
            "next_attempt_at",
            "redelivery_of",
            "created_at",
            "updated_at",
            "attempts",
        ]
        read_only_fields = fields
