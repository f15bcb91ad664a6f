"""Reservations over HTTP: the deployment guide's smoke test, create/list/detail/convert/delete, conflicts,
validation, permissions, isolation, audit rows and events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ipam.models import AuditLog, Host, Region, Reservation, ReservationStatus, UserQuota
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db

RESERVATION_KEYS = {
    "legacy_id",
    "reservation_id",
    "resource_type",
    "country",
    "continent",
    "x_octet",
    "y_octet",
    "z_octet",
    "reserved_address",
    "reason",
    "status",
    "expires_at",
    "converted_resource_id",
    "created_by",
    "created_at",
    "updated_at",
}


@pytest.fixture
def events(monkeypatch):
    """Records the events the reservation services publish (and still publishes them)."""
    from ipam.services import reservation_conversion, reservations

    published: list[tuple[str, dict]] = []
    original = reservations.event_publish

    def record(*, user, event_type, data):
        published.append((event_type, data))
        return original(user=user, event_type=event_type, data=data)

    for module in (reservations, reservation_conversion):
        monkeypatch.setattr(module, "event_publish", record)
    return published


def reserve(api, **body):
    return api.post("/ipam/reservations", {"resource_type": "region", "reason": "planned", **body}, format="json")


def test_deployment_guide_smoke_test_works_verbatim(api, alice):
    response = api.post(
        "/ipam/reservations",
        {"resource_type": "region", "x_octet": 99, "y_octet": 99, "reason": "Deployment smoke test", "expires_in_days": 1},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == RESERVATION_KEYS
    assert body["reserved_address"] == "10.99.99.0/24"
    assert body["country"] == "Finland" and body["status"] == "active" and body["z_octet"] is None
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - timezone.now() <= timedelta(days=1)
    listed = api.get("/ipam/reservations")
    assert listed.status_code == 200
    assert len(listed.json()["results"]) == 1
    row = Reservation.objects.get(pk=body["reservation_id"])
    assert (row.user, row.x_octet, row.y_octet, row.status) == (alice, 99, 99, "active")


def test_create_writes_an_audit_row_and_publishes_reservation_created(api, alice, events):
    body = reserve(api, x_octet=0, y_octet=3).json()
    audit = AuditLog.objects.get(resource_type="reservation", action_type="create")
    assert audit.resource_id == body["reservation_id"] and audit.user == alice and audit.actor == "alice"
    assert audit.cidr == "10.0.3.0/24" and audit.country_code == "IN" and audit.reason == "planned"
    assert [e[0] for e in events] == ["reservation.created"]
    assert events[0][1]["reservation_id"] == body["reservation_id"]


def test_reservation_without_expiry_has_null_expires_at(api):
    body = reserve(api, x_octet=0, y_octet=0).json()
    assert body["expires_at"] is None
    assert Reservation.objects.get(pk=body["reservation_id"]).expires_at is None


def test_host_reservation_needs_the_callers_region(api, alice):
    response = api.post(
        "/ipam/reservations", {"resource_type": "host", "x_octet": 0, "y_octet": 0, "z_octet": 5, "reason": "x"}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"] == "region_not_found"
    region = make_region(alice)
    response = api.post(
        "/ipam/reservations", {"resource_type": "host", "x_octet": 0, "y_octet": 0, "z_octet": 5, "reason": "x"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["reserved_address"] == "10.0.0.5"
    assert Reservation.objects.get(pk=response.json()["reservation_id"]).z_octet == 5
    assert AuditLog.objects.get(resource_type="reservation").region_id == region.pk


def test_reserving_an_allocated_region_is_409(api, alice):
    make_region(alice)  # 10.0.0.0/24
    response = reserve(api, x_octet=0, y_octet=0)
    assert response.status_code == 409
    assert response.json()["error"] == "address_in_use"
    assert not Reservation.objects.exists()


def test_reserving_an_allocated_host_is_409(api, alice):
    region = make_region(alice)
    make_host(alice, region)  # 10.0.0.1
    response = api.post(
        "/ipam/reservations", {"resource_type": "host", "x_octet": 0, "y_octet": 0, "z_octet": 1, "reason": "x"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"] == "address_in_use"


def test_reserving_an_already_reserved_address_is_409(api):
    first = reserve(api, x_octet=5, y_octet=6).json()
    response = reserve(api, x_octet=5, y_octet=6)
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "address_reserved"
    assert body["details"]["reservation_id"] == first["reservation_id"]
    assert Reservation.objects.count() == 1


def test_a_host_inside_a_reserved_region_counts_as_reserved(api, alice):
    region = make_region(alice)  # 10.0.0.0/24
    # A region reservation over the caller's region can only exist through data repair; it still wins.
    Reservation.objects.create(user=alice, resource_type="region", country=region.country, x_octet=0, y_octet=0, reason="hold")
    response = api.post(
        "/ipam/reservations", {"resource_type": "host", "x_octet": 0, "y_octet": 0, "z_octet": 9, "reason": "x"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"] == "address_reserved"


def test_reserved_block_is_409_for_operators_and_open_to_admins(api, client_for, admin_user):
    response = reserve(api, x_octet=210, y_octet=0)
    assert response.status_code == 409
    assert response.json()["error"] == "reserved_range"
    assert reserve(client_for(admin_user), x_octet=210, y_octet=0).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"x_octet": 256, "y_octet": 0}, "x_octet"),
        ({"x_octet": 1, "y_octet": -1}, "y_octet"),
        ({"x_octet": 1, "y_octet": 1, "z_octet": 4}, "z_octet"),
        ({"x_octet": 1, "y_octet": 1, "reason": ""}, "reason"),
        ({"x_octet": 1, "y_octet": 1, "reason": "r" * 501}, "reason"),
        ({"x_octet": 1, "y_octet": 1, "expires_in_days": 0}, "expires_in_days"),
        ({"x_octet": 1, "y_octet": 1, "expires_in_days": 91}, "expires_in_days"),
        ({"x_octet": "a", "y_octet": 1}, "x_octet"),
        ({"resource_type": "country", "x_octet": 1, "y_octet": 1}, "resource_type"),
        ({"resource_type": "host", "x_octet": 1, "y_octet": 1}, "z_octet"),
        ({"resource_type": "host", "x_octet": 1, "y_octet": 1, "z_octet": 255}, "z_octet"),
        ({"resource_type": "host", "x_octet": 1, "y_octet": 1, "z_octet": 0}, "z_octet"),
    ],
)
def test_invalid_reservations_are_400_with_details(api, alice, body, field):
    make_region(alice, name="r", country="India")  # so host checks reach validation, not 404
    response = reserve(api, **body)
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "validation_error"
    assert field in response.json()["details"]
    assert not Reservation.objects.exists()


def test_list_filters_by_status_and_resource_type_and_respects_expiry(api, alice):
    region = make_region(alice)
    kept = reserve(api, x_octet=0, y_octet=10).json()
    lapsed = reserve(api, x_octet=0, y_octet=11, expires_in_days=5).json()
    host = api.post(
        "/ipam/reservations", {"resource_type": "host", "x_octet": region.x_octet, "y_octet": 0, "z_octet": 3, "reason": "x"}, format="json"
    ).json()
    # Time passes: the reservation's expiry is behind us, and the hourly job has not run yet.
    Reservation.objects.filter(pk=lapsed["reservation_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    def ids(query):
        response = api.get(f"/ipam/reservations{query}")
        assert response.status_code == 200
        return {r["reservation_id"] for r in response.json()["results"]}

    assert ids("") == {kept["reservation_id"], lapsed["reservation_id"], host["reservation_id"]}
    assert ids("?status=active") == {kept["reservation_id"], host["reservation_id"]}
    assert ids("?status=expired") == {lapsed["reservation_id"]}
    assert ids("?resource_type=host") == {host["reservation_id"]}
    assert ids("?resource_type=region&status=active") == {kept["reservation_id"]}
    assert ids("?country=IND") == {kept["reservation_id"], lapsed["reservation_id"], host["reservation_id"]}
    assert ids("?country=Japan") == set()
    detail = api.get(f"/ipam/reservations/{lapsed['reservation_id']}").json()
    assert detail["status"] == "expired"
    assert api.get("/ipam/reservations?status=bogus").status_code == 400


def test_list_is_ordered_newest_first_and_paginated(api):
    for y in range(3):
        reserve(api, x_octet=0, y_octet=y)
    body = api.get("/ipam/reservations?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert [r["y_octet"] for r in body["results"]] == [2, 1]
    assert [r["y_octet"] for r in api.get("/ipam/reservations?ordering=y_octet").json()["results"]] == [0, 1, 2]


def test_other_users_reservations_are_invisible_and_their_addresses_are_independent(api, client_for, bob):
    mine = reserve(api, x_octet=0, y_octet=0).json()
    theirs = client_for(bob)
    assert theirs.get(f"/ipam/reservations/{mine['reservation_id']}").status_code == 404
    assert theirs.delete(f"/ipam/reservations/{mine['reservation_id']}").status_code == 404
    assert theirs.post(f"/ipam/reservations/{mine['reservation_id']}/convert", {"region_name": "x"}, format="json").status_code == 404
    assert theirs.get("/ipam/reservations").json()["count"] == 0
    assert reserve(theirs, x_octet=0, y_octet=0).status_code == 201  # bob's own namespace
    assert Reservation.objects.get(pk=mine["reservation_id"]).status == "active"


def test_readers_can_list_but_not_reserve_convert_or_delete(api, client_for, reader):
    mine = reserve(api, x_octet=0, y_octet=0).json()
    client = client_for(reader)
    assert client.get("/ipam/reservations").status_code == 200
    response = reserve(client, x_octet=0, y_octet=1)
    assert response.status_code == 403
    assert response.json()["details"]["required_permission"] == "allocate"
    assert client.post(f"/ipam/reservations/{mine['reservation_id']}/convert", {}, format="json").status_code == 403
    assert client.delete(f"/ipam/reservations/{mine['reservation_id']}").status_code == 403


def test_anonymous_callers_get_401(anon):
    assert anon.get("/ipam/reservations").status_code == 401
    assert anon.post("/ipam/reservations", {}, format="json").status_code == 401


def test_trailing_slash_works_for_every_method(api):
    created = api.post("/ipam/reservations/", {"resource_type": "region", "x_octet": 0, "y_octet": 0, "reason": "x"}, format="json")
    assert created.status_code == 201
    rid = created.json()["reservation_id"]
    assert api.get("/ipam/reservations/").status_code == 200
    assert api.get(f"/ipam/reservations/{rid}/").status_code == 200
    assert api.post(f"/ipam/reservations/{rid}/convert/", {"region_name": "slash"}, format="json").status_code == 201
    assert api.delete(f"/ipam/reservations/{rid}/").status_code == 204


def test_convert_region_allocates_exactly_the_reserved_address_and_consumes_quota(api, alice, events):
    make_region(alice)  # 10.0.0.0/24
    rid = reserve(api, x_octet=0, y_octet=7).json()["reservation_id"]
    response = api.post(
        f"/ipam/reservations/{rid}/convert", {"region_name": "kept", "description": "d", "tags": {"env": "prod"}}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"reservation_id", "resource_type", "resource_id", "allocation"}
    assert body["resource_type"] == "region" and body["reservation_id"] == rid
    assert body["allocation"]["cidr"] == "10.0.7.0/24"
    assert body["allocation"]["region_id"] == body["resource_id"]
    assert body["allocation"]["tags"] == {"env": "prod"}
    region = Region.objects.get(pk=body["resource_id"])
    assert (region.x_octet, region.y_octet, region.region_name, region.description) == (0, 7, "kept", "d")
    reservation = Reservation.objects.get(pk=rid)
    assert reservation.status == "converted" and reservation.converted_resource_id == region.pk
    assert UserQuota.objects.get(user=alice).regions_used == 2
    assert AuditLog.objects.filter(resource_type="reservation", action_type="convert", resource_id=rid).count() == 1
    assert AuditLog.objects.filter(resource_type="region", action_type="create", resource_id=str(region.pk)).count() == 1
    assert [e[0] for e in events] == ["reservation.created", "reservation.converted"]
    assert events[1][1]["converted_resource_id"] == str(region.pk)
    detail = api.get(f"/ipam/reservations/{rid}").json()
    assert detail["status"] == "converted" and detail["converted_resource_id"] == str(region.pk)


def test_convert_host_allocates_exactly_the_reserved_address(api, alice):
    region = make_region(alice)
    rid = api.post(
        "/ipam/reservations", {"resource_type": "host", "x_octet": 0, "y_octet": 0, "z_octet": 42, "reason": "db"}, format="json"
    ).json()["reservation_id"]
    response = api.post(f"/ipam/reservations/{rid}/convert", {"hostname": "db-1", "device_type": "VM", "notes": "primary"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["resource_type"] == "host"
    assert body["allocation"]["ip_address"] == "10.0.0.42"
    assert body["allocation"]["host_id"] == body["resource_id"]
    host = Host.objects.get(pk=body["resource_id"])
    assert (host.region_id, host.z_octet, host.hostname, host.device_type, host.notes) == (region.pk, 42, "db-1", "VM", "primary")
    assert Reservation.objects.get(pk=rid).status == "converted"
    assert UserQuota.objects.get(user=alice).hosts_used == 1


def test_convert_needs_the_name_of_its_kind_and_refuses_the_other_kinds_fields(api, alice):
    region = make_region(alice)
    rid = reserve(api, x_octet=0, y_octet=1).json()["reservation_id"]
    response = api.post(f"/ipam/reservations/{rid}/convert", {}, format="json")
    assert response.status_code == 400 and "region_name" in response.json()["details"]
    response = api.post(f"/ipam/reservations/{rid}/convert", {"region_name": "r", "hostname": "h"}, format="json")
    assert response.status_code == 400 and "hostname" in response.json()["details"]
    hid = api.post(
        "/ipam/reservations", {"resource_type": "host", "x_octet": region.x_octet, "y_octet": 0, "z_octet": 2, "reason": "x"}, format="json"
    ).json()["reservation_id"]
    response = api.post(f"/ipam/reservations/{hid}/convert", {"hostname": "h", "region_name": "r"}, format="json")
    assert response.status_code == 400 and "region_name" in response.json()["details"]
    assert Reservation.objects.filter(status="active").count() == 2
    assert not Host.objects.exists()


def test_converting_twice_is_409(api):
    rid = reserve(api, x_octet=0, y_octet=1).json()["reservation_id"]
    assert api.post(f"/ipam/reservations/{rid}/convert", {"region_name": "a"}, format="json").status_code == 201
    response = api.post(f"/ipam/reservations/{rid}/convert", {"region_name": "b"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "reservation_not_active"
    assert response.json()["details"]["status"] == "converted"
    assert Region.objects.count() == 1


def test_converting_an_expired_reservation_is_409_even_before_the_job_runs(api):
    rid = reserve(api, x_octet=0, y_octet=1, expires_in_days=1).json()["reservation_id"]
    Reservation.objects.filter(pk=rid).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.post(f"/ipam/reservations/{rid}/convert", {"region_name": "late"}, format="json")
    assert response.status_code == 409
    assert response.json()["details"]["status"] == "expired"
    assert not Region.objects.exists()


def test_convert_over_quota_is_429_and_keeps_the_reservation(api, alice):
    UserQuota.objects.create(user=alice, region_limit=1)
    make_region(alice)
    rid = reserve(api, x_octet=0, y_octet=9).json()["reservation_id"]
    response = api.post(f"/ipam/reservations/{rid}/convert", {"region_name": "over"}, format="json")
    assert response.status_code == 429
    assert response.json()["error"] == "quota_exceeded"
    assert Reservation.objects.get(pk=rid).status == "active"
    assert Region.objects.filter(user=alice).count() == 1


def test_convert_with_a_duplicate_region_name_is_409_and_keeps_the_reservation(api, alice):
    make_region(alice, name="taken")
    rid = reserve(api, x_octet=0, y_octet=9).json()["reservation_id"]
    response = api.post(f"/ipam/reservations/{rid}/convert", {"region_name": "taken"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "duplicate_name"
    assert Reservation.objects.get(pk=rid).status == "active"


def test_convert_of_a_host_reservation_whose_region_was_retired_is_409(api, alice):
    region = make_region(alice)
    rid = api.post(
        "/ipam/reservations", {"resource_type": "host", "x_octet": 0, "y_octet": 0, "z_octet": 2, "reason": "x"}, format="json"
    ).json()["reservation_id"]
    api.delete(f"/ipam/regions/{region.pk}?reason=gone")  # cancels the reservation
    response = api.post(f"/ipam/reservations/{rid}/convert", {"hostname": "h"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "reservation_not_active"
    assert response.json()["details"]["status"] == "cancelled"


def test_convert_of_an_active_host_reservation_without_its_region_is_409(api, alice):
    """Data from before retirements cancelled host reservations: the region is gone, the reservation active."""
    region = make_region(alice)
    rid = api.post(
        "/ipam/reservations", {"resource_type": "host", "x_octet": 0, "y_octet": 0, "z_octet": 2, "reason": "x"}, format="json"
    ).json()["reservation_id"]
    Region.objects.filter(pk=region.pk).delete()
    response = api.post(f"/ipam/reservations/{rid}/convert", {"hostname": "h"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "region_not_found"


def test_delete_is_204_frees_the_address_and_is_audited(api, alice):
    rid = reserve(api, x_octet=0, y_octet=0).json()["reservation_id"]
    assert api.post("/ipam/regions", {"country": "IN", "region_name": "a"}, format="json").json()["cidr"] == "10.0.1.0/24"
    response = api.delete(f"/ipam/reservations/{rid}")
    assert response.status_code == 204
    assert not Reservation.objects.filter(pk=rid).exists()
    audit = AuditLog.objects.get(resource_type="reservation", action_type="delete")
    assert audit.resource_id == rid and audit.snapshot["reserved_address"] == "10.0.0.0/24"
    assert api.post("/ipam/regions", {"country": "IN", "region_name": "b"}, format="json").json()["cidr"] == "10.0.0.0/24"
    assert api.delete(f"/ipam/reservations/{rid}").status_code == 404


def test_unknown_reservation_is_404(api):
    assert api.get("/ipam/reservations/00000000-0000-0000-0000-000000000000").status_code == 404
    assert api.get("/ipam/reservations/not-a-uuid").status_code == 404


def test_openapi_schema_lists_the_fourteen_enhancement_endpoints(anon):
    paths = anon.get("/openapi.json").json()["paths"]
    expected = {
        "/ipam/reservations": {"get", "post"},
        "/ipam/reservations/{reservation_id}": {"get", "delete"},
        "/ipam/reservations/{reservation_id}/convert": {"post"},
        "/ipam/shares": {"get", "post"},
        "/ipam/shares/{share_key}": {"get", "delete"},
        "/ipam/preferences": {"get", "put"},
        "/ipam/preferences/filters": {"get", "post"},
        "/ipam/preferences/filters/{filter_id}": {"delete"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert set(paths[path]) - {"parameters"} == methods, (path, set(paths[path]))
        for method in methods:
            operation = paths[path][method]
            success = next(code for code in operation["responses"] if code.startswith("2"))
            if method in {"post", "put"}:
                assert "requestBody" in operation, (path, method)
            if success != "204":
                assert "content" in operation["responses"][success], (path, method)
    assert sum(len(m) for m in expected.values()) == 14


def test_reservation_status_enum_is_a_named_component(anon):
    schemas = anon.get("/openapi.json").json()["components"]["schemas"]
    assert set(schemas["ReservationStatusEnum"]["enum"]) == set(ReservationStatus.values)
    assert set(schemas["ReservationResourceTypeEnum"]["enum"]) == {"region", "host"}
