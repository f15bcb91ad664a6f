"""`Idempotency-Key` for allocating POSTs (SPEC §3), as a decorator for any APIView/ViewSet handler.

    class ThingViewSet(viewsets.GenericViewSet):
        @extend_schema(request=ThingCreateSerializer, responses={201: ThingSerializer})
        @idempotent
        def create(self, request, *args, **kwargs): ...

With the header, the handler runs in one transaction that first claims (user, key): the same key and the
same request (method, path without trailing slash, body) within 24 h answers the first response again —
same status, same body, header `Idempotent-Replayed: true` — without running the handler; the same key
with a different request is 409 `idempotency_key_reused`. Only 2xx responses are kept: after an error
the key can be retried. Concurrent requests with one key serialise on the claim, so only one allocates.
Without the header nothing changes. The OpenAPI schema documents the header on decorated operations.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from ipam.exceptions import ValidationFailed
from ipam.services.idempotency import idempotency_claim, idempotency_complete

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MARKER = "ipam_idempotent"  # attribute set on decorated handlers (read by ipam_project.schema)
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, like the UUIDs clients usually send

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional, 1-200 visible ASCII characters (a UUID is a good choice). Repeating the request with the same key "
        "within 24 h returns the first response (same status and body, header `Idempotent-Replayed: true`) and "
        "allocates nothing new; the same key with a different body is 409 `idempotency_key_reused`."
    ),
)

F = TypeVar("F", bound=Callable[..., Any])


def _plain(data: Any) -> Any:
    """The request body as JSON-able data, uploaded files as their name, size and digest."""
    if isinstance(data, QueryDict):
        return {key: [_plain(value) for value in data.getlist(key)] for key in data}
    if isinstance(data, UploadedFile):
        digest = hashlib.sha256()
        for chunk in data.chunks():
            digest.update(chunk)
        data.seek(0)
        return {"file": data.name, "size": data.size, "sha256": digest.hexdigest()}
    if isinstance(data, dict):
        return {str(key): _plain(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(value) for value in data]
    return data


def request_fingerprint(request: Request) -> str:
    """sha256 of the parsed body with sorted keys (key order and whitespace do not matter)."""
    canonical = json.dumps(_plain(request.data), sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def idempotent(handler: F) -> F:
    """Honour an optional `Idempotency-Key` header on this (allocating POST) handler."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None or not request.user or not request.user.is_authenticated:
            return handler(view, request, *args, **kwargs)
        if not _KEY_RE.match(key):
            raise ValidationFailed(
                f"The {HEADER} header must be 1-200 visible ASCII characters.",
                details={HEADER: ["Must be 1-200 visible ASCII characters."]},
            )
        method_path = f"{request.method} {request.path.rstrip('/') or '/'}"[:300]
        with transaction.atomic():
            claim = idempotency_claim(user=request.user, key=key, method_path=method_path, request_hash=request_fingerprint(request))
            if claim.replay:
                return Response(claim.record.response_body, status=claim.record.status_code, headers={REPLAYED_HEADER: "true"})
            response = handler(view, request, *args, **kwargs)
            data = getattr(response, "data", None)
            body = json.loads(json.dumps(data, cls=JSONEncoder)) if data is not None else {}
            idempotency_complete(record=claim.record, status_code=response.status_code, body=body)
        return response

    setattr(wrapper, MARKER, True)
    return cast(F, wrapper)


def is_idempotent(handler: Any) -> bool:
    return bool(getattr(handler, MARKER, False))
