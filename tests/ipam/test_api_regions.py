"""Regions over HTTP: status codes, body shape, filters, errors, isolation."""

from __future__ import annotations

import pytest

from ipam.models import AuditLog, Host, Region
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db

REGION_KEYS = {
    "legacy_id",
    "region_id",
    "country",
    "continent",
    "x_octet",
    "y_octet",
    "cidr",
    "region_name",
    "description",
    "status",
    "owner",
    "owner_id",
    "tags",
    "allocated_hosts",
    "utilization_percentage",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
}


def test_create_region_returns_201_with_the_full_body(api, alice):
    response = api.post("/ipam/regions", {"country": "United States", "region_name": "us-east", "tags": {"env": "prod"}}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == REGION_KEYS
    assert body["cidr"] == "10.153.0.0/24"
    assert body["country"] == "United States" and body["continent"] == "North America"
    assert body["owner"] == "alice" and body["owner_id"] == alice.pk
    assert body["created_at"].endswith("Z") or "+00:00" in body["created_at"]
    assert Region.objects.get(pk=body["region_id"]).tags == {"env": "prod"}


def test_trailing_slash_works_for_post(api):
    response = api.post("/ipam/regions/", {"country": "US", "region_name": "slash"}, format="json")
    assert response.status_code == 201


def test_validation_errors_are_400_with_details(api):
    response = api.post("/ipam/regions", {"country": "US", "region_name": "", "tags": {"bad key!": "v"}}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert "region_name" in body["details"]


def test_bad_tags_are_400(api):
    response = api.post("/ipam/regions", {"country": "US", "region_name": "t", "tags": {"bad key!": "v"}}, format="json")
    assert response.status_code == 400
    assert "tags" in response.json()["details"]
    assert not Region.objects.exists()


def test_unknown_country_is_404(api):
    response = api.post("/ipam/regions", {"country": "Atlantis", "region_name": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"] == "country_not_found"


def test_malformed_json_is_400_not_500(api):
    response = api.generic("POST", "/ipam/regions", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"


def test_duplicate_name_is_409(api):
    api.post("/ipam/regions", {"country": "US", "region_name": "dup"}, format="json")
    response = api.post("/ipam/regions", {"country": "USA", "region_name": "DUP"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "duplicate_name"


def test_reserved_block_is_409_reserved_range_for_operators(api):
    response = api.post("/ipam/regions", {"country": "Reserved", "region_name": "x"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "reserved_range"


def test_list_filters_and_pagination(api, alice):
    make_region(alice, "India", "in-a", tags={"env": "prod", "team": "a"})
    make_region(alice, "India", "in-b", tags={"env": "dev"})
    make_region(alice, "Japan", "jp-a", tags={"env": "prod", "team": "b"})
    body = api.get("/ipam/regions", {"country": "IND"}).json()
    assert body["count"] == 2 and {r["region_name"] for r in body["results"]} == {"in-a", "in-b"}
    body = api.get("/ipam/regions?tag=env:prod&tag=team:b").json()
    assert [r["region_name"] for r in body["results"]] == ["jp-a"]
    body = api.get("/ipam/regions", {"continent": "asia", "name": "-a", "ordering": "-region_name"}).json()
    assert [r["region_name"] for r in body["results"]] == ["jp-a", "in-a"]
    body = api.get("/ipam/regions", {"page_size": 1, "page": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 1 and body["previous"] and body["next"]


def test_bad_pagination_and_tag_filters_are_400(api):
    assert api.get("/ipam/regions", {"page_size": 5000}).status_code == 400
    assert api.get("/ipam/regions", {"page": "abc"}).status_code == 400
    assert api.get("/ipam/regions", {"tag": "novalue"}).status_code == 400


def test_utilization_filter(api, alice):
    busy = make_region(alice, name="busy")
    make_region(alice, name="idle")
    for _ in range(127):
        make_host(alice, busy)
    names = [r["region_name"] for r in api.get("/ipam/regions", {"utilization_gte": 50}).json()["results"]]
    assert names == ["busy"]
    names = [r["region_name"] for r in api.get("/ipam/regions", {"utilization_lte": 10}).json()["results"]]
    assert names == ["idle"]


def test_other_users_regions_are_404(client_for, alice, bob):
    region = make_region(alice)
    bobs = client_for(bob)
    assert bobs.get(f"/ipam/regions/{region.pk}").status_code == 404
    assert bobs.patch(f"/ipam/regions/{region.pk}", {"description": "x"}, format="json").status_code == 404
    assert bobs.delete(f"/ipam/regions/{region.pk}?reason=x").status_code == 404
    assert bobs.get("/ipam/regions").json()["count"] == 0


def test_patch_region_updates_and_audits_changes(api, alice):
    region = make_region(alice, name="old")
    response = api.patch(f"/ipam/regions/{region.pk}", {"region_name": "new", "status": "reserved", "owner": "team-x"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["region_name"] == "new" and response.json()["owner"] == "team-x"
    row = AuditLog.objects.get(user=alice, action_type="update")
    assert {c["field"] for c in row.changes} == {"region_name", "status", "owner"}


def test_patch_rejects_unknown_status(api, alice):
    region = make_region(alice)
    response = api.patch(f"/ipam/regions/{region.pk}", {"status": "gone"}, format="json")
    assert response.status_code == 400


def test_retire_needs_reason_and_cascade(api, alice):
    region = make_region(alice)
    make_host(alice, region)
    assert api.delete(f"/ipam/regions/{region.pk}").status_code == 400
    response = api.delete(f"/ipam/regions/{region.pk}?reason=cleanup")
    assert response.status_code == 409 and response.json()["error"] == "region_not_empty"
    response = api.delete(f"/ipam/regions/{region.pk}?reason=cleanup&cascade=true")
    assert response.status_code == 200
    assert response.json() == {"region_id": str(region.pk), "cascade": True, "hosts_retired": 1}
    assert not Region.objects.filter(pk=region.pk).exists() and not Host.objects.exists()


def test_preview_next_does_not_allocate(api, alice):
    make_region(alice, "Chile")
    body = api.get("/ipam/regions/preview-next", {"country": "CL"}).json()
    assert body == {"available": True, "next_cidr": "10.178.1.0/24", "x_octet": 178, "y_octet": 1, "country": "Chile"}
    assert Region.objects.filter(user=alice).count() == 1


def test_region_utilization(api, alice):
    region = make_region(alice)
    make_host(alice, region)
    body = api.get(f"/ipam/regions/{region.pk}/utilization").json()
    assert body == {
        "resource_type": "region",
        "resource_id": str(region.pk),
        "total_capacity": 254,
        "allocated": 1,
        "available": 253,
        "utilization_percent": 0.39,
    }
