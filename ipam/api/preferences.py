"""Preferences and saved filters over HTTP (contract §5.3)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from foundation.conditional import ConditionalMixin
from foundation.permissions import IPAMPermission, owned
from foundation.routers import UUID_PATTERN
from foundation.types import actor_of
from ipam import exceptions
from ipam.models import SavedFilter, UserPreference
from ipam.services import preferences as preference_services


# --- Serializers ------------------------------------------------------------------------------------
class SavedFilterSerializer(serializers.ModelSerializer):
    filter_id = serializers.UUIDField(source="id", read_only=True)
    criteria = serializers.DictField(child=serializers.JSONField(allow_null=True), read_only=True)

    class Meta:
        model = SavedFilter
        fields = ["filter_id", "name", "criteria", "created_at"]
        read_only_fields = fields


class SavedFilterCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="1-100 characters")
    criteria = serializers.DictField(child=serializers.JSONField(allow_null=True), help_text="any JSON object of at most 10 KB")


class PreferencesSerializer(serializers.Serializer):
    """The document; keys the client stored besides these are returned at the top level too."""

    dashboard_layout = serializers.DictField(child=serializers.JSONField(allow_null=True))
    notification_settings = serializers.DictField(child=serializers.JSONField(allow_null=True))
    theme_preference = serializers.CharField(allow_null=True)
    default_country = serializers.CharField(allow_null=True)
    saved_filters = SavedFilterSerializer(many=True)
    updated_at = serializers.DateTimeField()


class PreferencesUpdateSerializer(serializers.Serializer):
    """Only the keys sent change (shallow merge); other keys are stored as given (`null` removes them)."""

    dashboard_layout = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False, allow_null=True)
    notification_settings = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False, allow_null=True)
    theme_preference = serializers.CharField(max_length=50, required=False, allow_null=True, allow_blank=True)
    default_country = serializers.CharField(
        max_length=100, required=False, allow_null=True, allow_blank=True, help_text="country name, ISO alpha-2 or alpha-3"
    )


def preferences_body(preference: UserPreference) -> dict[str, Any]:
    filters = SavedFilter.objects.filter(user_id=preference.user_id).order_by("created_at")
    return {
        **preference_services.preference_values(preference),
        "saved_filters": SavedFilterSerializer(filters, many=True).data,
        "updated_at": serializers.DateTimeField().to_representation(preference.updated_at),
    }


# --- Views ------------------------------------------------------------------------------------------
class PreferencesView(ConditionalMixin, APIView):
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read", "PUT": "read"}  # one's own settings: every IPAM user may keep them
    etag_read_actions = frozenset({"get"})
    etag_write_actions = precondition_actions = frozenset({"put"})

    def precondition_lock(self) -> None:
        preference_services.preference_get(actor=actor_of(self.request))  # the row exists from here on
        list(UserPreference.objects.select_for_update().filter(user=actor_of(self.request)).values_list("pk"))

    def precondition_data(self) -> Any:
        return preferences_body(preference_services.preference_get(actor=actor_of(self.request)))

    @extend_schema(responses=PreferencesSerializer, summary="The caller's preferences (defaults on first use)", tags=["preferences"])
    def get(self, request: Request) -> Response:
        return Response(preferences_body(preference_services.preference_get(actor=actor_of(request))))

    @extend_schema(
        request=PreferencesUpdateSerializer,
        responses=PreferencesSerializer,
        summary="Merge the given keys into the caller's preferences",
        description="Shallow merge: absent keys are left alone. A body over 50 KB is a 400 (`payload_too_large`).",
        tags=["preferences"],
    )
    def put(self, request: Request) -> Response:
        if len(request.body) > preference_services.PREFERENCES_MAX_BYTES:  # before parsing: don't decode a huge body
            raise exceptions.ValidationFailed(
                f"Preferences are limited to {preference_services.PREFERENCES_MAX_BYTES} bytes.",
                code="payload_too_large",
                details={"body": [f"At most {preference_services.PREFERENCES_MAX_BYTES} bytes."]},
            )
        preference = preference_services.preference_update(actor=actor_of(request), data=request.data)
        return Response(preferences_body(preference))


@extend_schema_view(list=extend_schema(summary="The caller's saved filters", tags=["preferences"]))
class SavedFilterViewSet(ConditionalMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = SavedFilterSerializer
    permission_classes = [IPAMPermission]
    filter_backends: list[Any] = []
    lookup_url_kwarg = "filter_id"
    lookup_value_regex = UUID_PATTERN
    ipam_permissions = {"list": "read", "create": "read", "destroy": "read"}

    def get_queryset(self) -> QuerySet[SavedFilter]:
        return owned(self, SavedFilter.objects.order_by("created_at"))

    @extend_schema(
        request=SavedFilterCreateSerializer,
        responses={201: SavedFilterSerializer},
        summary="Save a named filter (at most 50; the 51st is 409 `filter_limit_reached`)",
        tags=["preferences"],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = SavedFilterCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = preference_services.saved_filter_create(actor=actor_of(request), **serializer.validated_data)
        return Response(SavedFilterSerializer(saved).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted")}, summary="Delete a saved filter", tags=["preferences"])
    def destroy(self, request: Request, filter_id: str) -> Response:
        preference_services.saved_filter_delete(actor=actor_of(request), filter_id=filter_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
