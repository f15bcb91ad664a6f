"""HTTP helpers every API view uses: validated request bodies and query strings, path parameters in the schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from foundation.errors import ValidationFailed


def valid_body(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The validated request body (400 with every field's problem otherwise)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def valid_patch(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The validated fields of a PATCH (only those sent); a field that cannot be changed is a 400."""
    if not isinstance(request.data, dict):  # a JSON array, string or null
        raise ValidationFailed(details={"non_field_errors": ["Expected an object of fields to change."]})
    serializer = serializer_class(data=request.data, partial=True)
    unknown = sorted(set(request.data) - set(serializer.fields) - {"csrfmiddlewaretoken"})
    if unknown:
        raise ValidationFailed(details={key: ["This field cannot be changed."] for key in unknown})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def valid_query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The validated query string (400 otherwise)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def uuid_path(name: str, description: str = "") -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=description)


def str_path(name: str, description: str = "") -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.PATH, description=description)
