"""Idempotency-Key records (SPEC §3): the first response to an allocating POST, replayed for 24 h.

The HTTP side (header, fingerprint, replay) is `ipam_project.idempotency.idempotent`; these functions
keep the rows. A key is *claimed* by inserting its row (status 0 = in progress) inside the request's
transaction, before anything is allocated: a concurrent request with the same key blocks on the unique
(user, key) index until the first one commits (then replays it) or rolls back (then proceeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ipam import exceptions
from ipam.models import IdempotencyRecord

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
            raise exceptions.IdempotencyKeyReused(
                f"The Idempotency-Key {key!r} was already used for a different request in the last 24 hours.",
                details={"idempotency_key": key, "first_request": record.method_path},
            )
        if record.status_code == IN_PROGRESS:  # defensive: claims are never committed in progress
            raise exceptions.Conflict("A request with this Idempotency-Key is still in progress.", code="idempotency_key_in_progress")
        return IdempotencyClaim(record=record, replay=True)
    raise exceptions.Conflict("A request with this Idempotency-Key is still in progress.", code="idempotency_key_in_progress")


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
