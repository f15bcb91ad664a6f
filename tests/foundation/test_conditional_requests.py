"""Conditional requests: ETag on single objects and writes, If-None-Match → 304, If-Match → 412."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from ipam.models import AuditLog, Host, Region, Reservation
from tests.concurrency import run_parallel
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def test_region_get_has_an_etag_and_if_none_match_answers_304_without_a_body(api, alice):
    region = make_region(alice)
    first = api.get(f"/ipam/regions/{region.id}")
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and len(etag) == 34
    assert api.get(f"/ipam/regions/{region.id}")["ETag"] == etag  # stable while nothing changes
    not_modified = api.get(f"/ipam/regions/{region.id}", HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified["ETag"] == etag and not_modified.content == b""
    assert api.get(f"/ipam/regions/{region.id}", HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert api.get(f"/ipam/regions/{region.id}", HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_the_etag_changes_with_every_change_of_the_representation_including_derived_fields(api, alice):
    region = make_region(alice)
    before = api.get(f"/ipam/regions/{region.id}")["ETag"]
    api.post("/ipam/hosts", {"region_id": str(region.id), "hostname": "web-1"}, format="json")  # allocated_hosts moves
    after_host = api.get(f"/ipam/regions/{region.id}")
    assert after_host.json()["allocated_hosts"] == 1 and after_host["ETag"] != before
    assert api.get(f"/ipam/regions/{region.id}", HTTP_IF_NONE_MATCH=before).status_code == 200


def test_patch_with_the_current_etag_succeeds_and_answers_the_new_etag_of_the_get(api, alice):
    region = make_region(alice)
    etag = api.get(f"/ipam/regions/{region.id}")["ETag"]
    response = api.patch(f"/ipam/regions/{region.id}", {"description": "edge"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.json()
    assert response["ETag"] != etag
    assert response["ETag"] == api.get(f"/ipam/regions/{region.id}")["ETag"]  # usable for the next If-Match
    assert Region.objects.get(pk=region.pk).description == "edge"


def test_patch_with_a_stale_etag_is_412_and_writes_nothing(api, alice):
    region = make_region(alice)
    stale = api.get(f"/ipam/regions/{region.id}")["ETag"]
    assert api.patch(f"/ipam/regions/{region.id}", {"description": "first"}, format="json", HTTP_IF_MATCH=stale).status_code == 200
    audits = AuditLog.objects.count()
    response = api.patch(f"/ipam/regions/{region.id}", {"description": "second"}, format="json", HTTP_IF_MATCH=stale)
    assert response.status_code == 412
    body = response.json()
    assert body["error"] == "precondition_failed" and set(body) == {"error", "message", "details"}
    assert body["details"]["current_etag"] == api.get(f"/ipam/regions/{region.id}")["ETag"]
    assert Region.objects.get(pk=region.pk).description == "first"
    assert AuditLog.objects.count() == audits


def test_if_match_star_and_lists_and_weak_tags(api, alice):
    region = make_region(alice)
    etag = api.get(f"/ipam/regions/{region.id}")["ETag"]
    assert api.patch(f"/ipam/regions/{region.id}", {"owner": "ops"}, format="json", HTTP_IF_MATCH=f"W/{etag}").status_code == 412
    assert api.patch(f"/ipam/regions/{region.id}", {"owner": "ops"}, format="json", HTTP_IF_MATCH=f'"nope", {etag}').status_code == 200
    assert api.patch(f"/ipam/regions/{region.id}", {"owner": "sre"}, format="json", HTTP_IF_MATCH="*").status_code == 200


def test_delete_with_a_stale_etag_is_412_and_keeps_the_object(api, alice):
    region = make_region(alice)
    host = make_host(alice, region)
    etag = api.get(f"/ipam/hosts/{host.id}")["ETag"]
    assert api.patch(f"/ipam/hosts/{host.id}", {"hostname": "renamed"}, format="json").status_code == 200
    assert api.delete(f"/ipam/hosts/{host.id}", HTTP_IF_MATCH=etag).status_code == 412
    assert Host.objects.filter(pk=host.pk).exists()
    fresh = api.get(f"/ipam/hosts/{host.id}")["ETag"]
    assert api.delete(f"/ipam/hosts/{host.id}", HTTP_IF_MATCH=fresh).status_code == 200
    assert not Host.objects.filter(pk=host.pk).exists()


def test_if_match_on_a_missing_or_foreign_object_is_404(api, alice, bob):
    foreign = make_region(bob)
    assert api.patch(f"/ipam/regions/{foreign.id}", {"description": "x"}, format="json", HTTP_IF_MATCH="*").status_code == 404


def test_host_create_and_by_ip_carry_the_same_etag_as_the_host_get(api, alice):
    region = make_region(alice)
    created = api.post("/ipam/hosts", {"region_id": str(region.id), "hostname": "db-1"}, format="json")
    assert created.status_code == 201
    host_id = created.json()["host_id"]
    assert created["ETag"] == api.get(f"/ipam/hosts/{host_id}")["ETag"]
    assert api.get(f"/ipam/hosts/by-ip/{created.json()['ip_address']}")["ETag"] == created["ETag"]


def test_region_create_etag_matches_the_get(api, alice):
    created = api.post("/ipam/regions", {"country": "India", "region_name": "r1"}, format="json")
    assert created["ETag"] == api.get(f"/ipam/regions/{created.json()['region_id']}")["ETag"]


def test_reservation_delete_honours_if_match(api, alice):
    body = {"resource_type": "region", "x_octet": 99, "y_octet": 99, "reason": "planned"}
    created = api.post("/ipam/reservations", body, format="json")
    assert created.status_code == 201, created.json()
    rid = created.json()["reservation_id"]
    etag = api.get(f"/ipam/reservations/{rid}")["ETag"]
    assert created["ETag"] == etag
    assert api.delete(f"/ipam/reservations/{rid}", HTTP_IF_MATCH='"stale"').status_code == 412
    assert Reservation.objects.filter(pk=rid).exists()
    assert api.delete(f"/ipam/reservations/{rid}", HTTP_IF_MATCH=etag).status_code == 204


def test_preferences_put_with_a_stale_etag_is_412(api, alice):
    etag = api.get("/ipam/preferences")["ETag"]
    assert api.put("/ipam/preferences", {"theme": "dark"}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    response = api.put("/ipam/preferences", {"theme": "light"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert api.get("/ipam/preferences").json()["theme"] == "dark"


def test_country_and_notification_rule_carry_etags_and_a_rule_patch_honours_if_match(api, alice):
    assert api.get("/ipam/countries/IN")["ETag"]
    rule = {"rule_name": "full", "conditions": {"utilization_threshold": 90}, "notification_channels": ["in_app"]}
    created = api.post("/ipam/notifications/rules", rule, format="json")
    assert created.status_code == 201, created.json()
    url = f"/ipam/notifications/rules/{created.json()['rule_id']}"
    assert api.get(url)["ETag"] == created["ETag"]
    assert api.patch(url, {"rule_name": "renamed"}, format="json", HTTP_IF_MATCH=created["ETag"]).status_code == 200
    assert api.patch(url, {"rule_name": "again"}, format="json", HTTP_IF_MATCH=created["ETag"]).status_code == 412
    assert api.get(url).json()["rule_name"] == "renamed"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_scripts_editing_one_region_with_the_same_etag_exactly_one_wins(alice):
    region = make_region(alice)
    client = APIClient()
    client.force_authenticate(alice)
    etag = client.get(f"/ipam/regions/{region.id}")["ETag"]
    calls = [
        (
            lambda c, i=i: (
                c.patch(f"/ipam/regions/{region.id}", {"description": f"script-{i}"}, format="json", HTTP_IF_MATCH=etag).status_code
            )
        )
        for i in range(8)
    ]
    codes = run_parallel(alice, calls)
    assert sorted(codes) == [200] + [412] * 7
    assert AuditLog.objects.filter(action_type="update", resource_id=str(region.id)).count() == 1
