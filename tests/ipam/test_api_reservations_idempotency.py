"""Reservation create and convert honour Idempotency-Key like every allocating POST."""

from __future__ import annotations

import pytest

from ipam.models import Region, Reservation

pytestmark = pytest.mark.django_db


def test_reservation_create_with_same_key_is_replayed_once(api):
    body = {"resource_type": "region", "x_octet": 99, "y_octet": 99, "reason": "smoke", "expires_in_days": 1}
    first = api.post("/ipam/reservations", body, format="json", HTTP_IDEMPOTENCY_KEY="res-1")
    second = api.post("/ipam/reservations", body, format="json", HTTP_IDEMPOTENCY_KEY="res-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Reservation.objects.count() == 1


def test_reservation_convert_with_same_key_allocates_once(api):
    reservation = api.post(
        "/ipam/reservations", {"resource_type": "region", "x_octet": 5, "y_octet": 7, "reason": "hold"}, format="json"
    ).json()
    url = f"/ipam/reservations/{reservation['reservation_id']}/convert"
    first = api.post(url, {"region_name": "kept"}, format="json", HTTP_IDEMPOTENCY_KEY="conv-1")
    second = api.post(url, {"region_name": "kept"}, format="json", HTTP_IDEMPOTENCY_KEY="conv-1")
    assert first.status_code == 201 and second.status_code == 201
    assert second.json() == first.json()
    assert Region.objects.filter(x_octet=5, y_octet=7).count() == 1
    reused = api.post(url, {"region_name": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="conv-1")
    assert reused.status_code == 409 and reused.json()["error"] == "idempotency_key_reused"
