"""`Idempotency-Key` for allocating POSTs (contract §3), as a decorator for any APIView/ViewSet handler.

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

The rows: a key is *claimed* by inserting its row (status 0 = in progress) inside the request's
transaction, before anything is allocated; a concurrent request with the same key blocks on the unique
(user, key) index until the first one commits (then replays it) or rolls back (then proceeds).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, cast

from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from foundation.errors import Conflict, IdempotencyKeyReused, ValidationFailed
from foundation.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MARKER = "ipam_idempotent"  # attribute set on decorated handlers (read by foundation.schema)
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


# --- The rows -------------------------------------------------------------------------------------------
REPLAY_WINDOW = timedelta(hours=24)
IN_PROGRESS = 0  # status_code of a claimed key whose request has not finished (never visible to others)


@dataclass(frozen=True)
class IdempotencyClaim:
    record: IdempotencyRecord
    replay: bool  # True: `record` holds the first response, send it again and do nothing else


def idempotency_claim(*, user: Any, key: str, method_path: str, request_hash: str) -> IdempotencyClaim:
    """Claim `key` for this request or find the response to replay. Call inside the request's transaction.

    Raises `IdempotencyKeyReused` (409) when the key was used for a different request (body or path).
    """
    for _ in range(2):  # a second pass only if the row we collided with vanished meanwhile
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is not None and record.created_at < timezone.now() - REPLAY_WINDOW:
            record.delete()  # past the replay window: the key is free again
            record = None
        if record is None:
            try:
                with transaction.atomic():  # savepoint: a unique violation leaves the outer transaction usable
                    record = IdempotencyRecord.objects.create(
                        user=user, key=key, method_path=method_path, request_hash=request_hash, status_code=IN_PROGRESS, response_body={}
                    )
                return IdempotencyClaim(record=record, replay=False)
            except IntegrityError:
                # A concurrent request with this key committed first (we waited on its index entry).
                record = IdempotencyRecord.objects.filter(user=user, key=key).first()
                if record is None:
                    continue
        if record.method_path != method_path or record.request_hash != request_hash:
            raise IdempotencyKeyReused(
                f"The Idempotency-Key {key!r} was already used for a different request in the last 24 hours.",
                details={"idempotency_key": key, "first_request": record.method_path},
            )
        if record.status_code == IN_PROGRESS:  # defensive: claims are never committed in progress
            raise Conflict("A request with this Idempotency-Key is still in progress.", code="idempotency_key_in_progress")
        return IdempotencyClaim(record=record, replay=True)
    raise Conflict("A request with this Idempotency-Key is still in progress.", code="idempotency_key_in_progress")


def idempotency_complete(*, record: IdempotencyRecord, status_code: int, body: Any) -> None:
    """Store the response of a claimed key: 2xx are kept for replay, anything else frees the key."""
    if 200 <= status_code < 300:
        record.status_code = status_code
        record.response_body = body
        record.save(update_fields=["status_code", "response_body"])
    else:
        record.delete()


def idempotency_prune(*, older_than_hours: int = 24) -> int:
    """Delete records older than the replay window; returns how many were deleted."""
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
