"""`/auth/tokens`: a user's API tokens — create (the secret is shown once), list, show, revoke.

Any user with the IPAM `read` permission manages their own tokens (another user's token answers 404).
A token cannot create tokens: `POST /auth/tokens` needs a JWT or a session (403 `token_cannot_create_tokens`),
so a leaked token cannot outlive its own revocation.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from foundation import apitokens
from foundation.errors import Conflict, InsufficientPermissions, NotFound
from foundation.models import ApiToken, ApiTokenScope
from foundation.permissions import IPAMPermission, owned

MAX_NETWORKS = 50


class ApiTokenSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(
        choices=ApiTokenScope.choices, default=ApiTokenScope.READ, help_text="`read` (safe methods only) or `write`"
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None, help_text="ISO-8601; null or absent: never")
    allowed_networks = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        default=list,
        max_length=MAX_NETWORKS,
        help_text="IPv4/IPv6 CIDRs the token may be used from; empty: any address",
    )

    class Meta:
        model = ApiToken
        fields = ["id", "name", "scope", "expires_at", "allowed_networks", "created_at", "last_used_at", "last_used_ip"]
        read_only_fields = ["id", "created_at", "last_used_at", "last_used_ip"]

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Must not be blank.")
        return value.strip()

    def validate_expires_at(self, value: Any) -> Any:
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return value

    def validate_allowed_networks(self, value: list[str]) -> list[str]:
        networks = []
        for raw in value:
            try:
                networks.append(str(ipaddress.ip_network(raw.strip(), strict=False)))
            except ValueError:
                raise serializers.ValidationError(f"Not an IPv4 or IPv6 network: {raw[:64]!r}.") from None
        return list(dict.fromkeys(networks))


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret: shown only in this response")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class _TokenViewBase(generics.GenericAPIView):  # type: ignore[type-arg]
    permission_classes = [IPAMPermission]
    ipam_permissions = {"GET": "read", "POST": "read", "DELETE": "read"}
    serializer_class = ApiTokenSerializer

    def get_queryset(self) -> Any:
        return owned(self, ApiToken.objects.filter(revoked_at__isnull=True)).order_by("-created_at", "id")


@extend_schema(tags=["auth"])
class ApiTokenListView(mixins.ListModelMixin, _TokenViewBase):
    @extend_schema(summary="List your API tokens (not revoked; secrets are never shown again)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Create an API token (the secret is in this response only)",
        request=ApiTokenSerializer,
        responses={201: ApiTokenCreatedSerializer},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if isinstance(request.auth, apitokens.TokenEntry):
            raise InsufficientPermissions(
                "API tokens are created with a JWT or a session, not with another token.", code="token_cannot_create_tokens"
            )
        serializer = ApiTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        limit = int(settings.IPAM_API_TOKENS_PER_USER)
        user: Any = request.user
        if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= limit:
            raise Conflict(f"You already have {limit} API tokens; revoke one first.", code="token_limit_reached")
        token, secret = apitokens.create(user=user, **serializer.validated_data)
        body = ApiTokenSerializer(token).data
        return Response({**body, "token": secret}, status=status.HTTP_201_CREATED)


@extend_schema(tags=["auth"])
class ApiTokenDetailView(_TokenViewBase):
    def _token(self, token_id: str) -> ApiToken:
        try:
            pk = uuid.UUID(str(token_id))
        except ValueError:
            raise NotFound("No such API token.") from None
        token = self.get_queryset().filter(pk=pk).first()
        if token is None:
            raise NotFound("No such API token.")
        return token

    @extend_schema(summary="Show one of your API tokens", responses={200: ApiTokenSerializer})
    def get(self, request: Request, token_id: str) -> Response:
        return Response(ApiTokenSerializer(self._token(token_id)).data)

    @extend_schema(
        summary="Revoke one of your API tokens (it answers 401 token_revoked from now on)",
        responses={204: OpenApiResponse(description="Revoked")},
    )
    def delete(self, request: Request, token_id: str) -> Response:
        apitokens.revoke(self._token(token_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
