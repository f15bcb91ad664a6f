"""Retention helpers delete only what is past its window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from foundation.idempotency import idempotency_prune
from foundation.models import IdempotencyRecord
from ipam.models import AuditLog
from ipam.services.audit import audit_prune
from tests.factories import make_region

pytestmark = pytest.mark.django_db


def test_audit_prune_removes_only_rows_past_retention_in_batches(alice):
    for _ in range(5):
        make_region(alice)
    old = list(AuditLog.objects.values_list("id", flat=True)[:3])
    AuditLog.objects.filter(id__in=old).update(timestamp=timezone.now() - timedelta(days=400))
    assert audit_prune(older_than_days=365, batch_size=2) == 3
    assert AuditLog.objects.count() == 2


def test_idempotency_prune_keeps_fresh_records(alice):
    fresh = IdempotencyRecord.objects.create(user=alice, key="a", method_path="POST /x", request_hash="h", status_code=201)
    stale = IdempotencyRecord.objects.create(user=alice, key="b", method_path="POST /x", request_hash="h", status_code=201)
    IdempotencyRecord.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_prune() == 1
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]
