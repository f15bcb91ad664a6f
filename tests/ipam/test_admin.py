"""The Django admin writes through the services: validated, audited with the staff user as actor."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from ipam import bitmaps, exceptions
from ipam.models import AllocationCursor, AuditLog, Country, Host, Region, UserQuota
from tests.factories import UserFactory, make_host, make_region

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def site(staff):
    client = Client()
    client.force_login(staff)
    return client


def _region_form(region, **changes):
    data = {
        "region_name": region.region_name,
        "description": region.description,
        "status": region.status,
        "tags": json.dumps(region.tags),
        "owner": region.owner,
    }
    return {**data, **changes}


def _host_form(host, **changes):
    names = ("hostname", "device_type", "status", "os_type", "application", "cost_center", "purpose", "notes")
    data = {name: getattr(host, name) for name in names}
    return {**data, "tags": json.dumps(host.tags), **changes}


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- Regions --------------------------------------------------------------------------------------
def test_region_change_goes_through_region_update_and_is_audited_as_the_staff_user(site, alice):
    region = make_region(alice, "India", "old-name")
    url = f"/admin/ipam/region/{region.pk}/change/"
    assert site.get(url).status_code == 200
    form = _region_form(region, region_name="  new-name ", status="reserved", tags='{"env": "prod"}', owner="team-x")
    response = site.post(url, form)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    region.refresh_from_db()
    assert (region.region_name, region.status, region.tags, region.owner) == ("new-name", "reserved", {"env": "prod"}, "team-x")
    assert region.updated_by == "root" and region.user == alice
    row = AuditLog.objects.get(action_type="update", resource_type="region")
    assert (row.user_id, row.actor, row.actor_type, row.auth_method) == (alice.pk, "root", "user", "admin")
    assert {c["field"] for c in row.changes} == {"region_name", "status", "tags", "owner"}


def test_region_form_without_changes_writes_nothing(site, alice):
    region = make_region(alice)
    response = site.post(f"/admin/ipam/region/{region.pk}/change/", _region_form(region))
    assert response.status_code == 302
    assert not AuditLog.objects.filter(action_type="update").exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"region_name": "   "}, "region_name"), ({"region_name": "x" * 101}, "region_name"), ({"tags": '{"bad key!": "v"}'}, "tags")],
)
def test_invalid_region_input_is_a_form_error(site, alice, changes, field):
    region = make_region(alice, name="keep")
    response = site.post(f"/admin/ipam/region/{region.pk}/change/", _region_form(region, **changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    region.refresh_from_db()
    assert region.region_name == "keep" and not AuditLog.objects.filter(action_type="update").exists()


def test_a_conflict_from_the_service_is_shown_and_nothing_is_saved(site, alice):
    make_region(alice, "India", "taken")
    region = make_region(alice, "India", "mine")
    url = f"/admin/ipam/region/{region.pk}/change/"
    response = site.post(url, _region_form(region, region_name="TAKEN", description="changed too"), follow=True)
    assert response.redirect_chain[-1][0] == url
    assert any("Not saved" in m and "already have a region named" in m for m in _messages(response))
    region.refresh_from_db()
    assert (region.region_name, region.description) == ("mine", "")
    assert not AuditLog.objects.filter(action_type="update").exists()


def test_region_retire_action_cascades_through_the_service(site, alice):
    region = make_region(alice)
    make_host(alice, region)
    keep = make_region(alice)
    response = site.post("/admin/ipam/region/", {"action": "retire_regions", "_selected_action": [str(region.pk)]}, follow=True)
    assert response.status_code == 200 and "Retired 1 region(s)." in _messages(response)
    assert list(Region.objects.values_list("pk", flat=True)) == [keep.pk]
    assert not Host.objects.exists()
    rows = AuditLog.objects.filter(action_type="retire")
    assert {(r.resource_type, r.actor, r.user_id) for r in rows} == {("region", "root", alice.pk), ("host", "root", alice.pk)}
    assert rows.get(resource_type="region").reason == "retired in admin by root"
    cursor = AllocationCursor.objects.get(user=alice)
    assert cursor.region_count == 1 and bitmaps.from_bytes(cursor.bitmap) == 0b10
    assert UserQuota.objects.filter(user=alice).values_list("regions_used", "hosts_used").get() == (1, 0)


def test_regions_and_hosts_cannot_be_added_or_deleted_directly(site, alice):
    region = make_region(alice)
    host = make_host(alice, region)
    assert site.get("/admin/ipam/region/add/").status_code == 403
    assert site.get("/admin/ipam/host/add/").status_code == 403
    assert site.post(f"/admin/ipam/region/{region.pk}/delete/", {"post": "yes"}).status_code == 403
    assert site.post(f"/admin/ipam/host/{host.pk}/delete/", {"post": "yes"}).status_code == 403
    response = site.post("/admin/ipam/region/", {"action": "delete_selected", "_selected_action": [str(region.pk)], "post": "yes"})
    assert Region.objects.filter(pk=region.pk).exists() and response.status_code in (200, 302)


def test_derived_rows_are_read_only(site, alice):
    make_region(alice)
    cursor = AllocationCursor.objects.get(user=alice)
    assert site.get(f"/admin/ipam/allocationcursor/{cursor.pk}/change/").status_code == 200  # view only
    response = site.post(f"/admin/ipam/allocationcursor/{cursor.pk}/change/", {"region_count": 99})
    assert response.status_code == 403
    assert site.post(f"/admin/ipam/allocationcursor/{cursor.pk}/delete/", {"post": "yes"}).status_code == 403
    cursor.refresh_from_db()
    assert cursor.region_count == 1


# --- Hosts ----------------------------------------------------------------------------------------
def test_host_change_goes_through_host_update(site, alice):
    region = make_region(alice)
    host = make_host(alice, region, hostname="web")
    url = f"/admin/ipam/host/{host.pk}/change/"
    assert site.get(url).status_code == 200
    response = site.post(url, _host_form(host, hostname="Web-02", device_type="VM", status="released", notes="moved"))
    assert response.status_code == 302
    host.refresh_from_db()
    assert (host.hostname, host.device_type, host.status, host.notes, host.updated_by) == ("web-02", "VM", "released", "moved", "root")
    row = AuditLog.objects.get(action_type="update", resource_type="host")
    assert (row.actor, row.user_id, row.ip_address) == ("root", alice.pk, host.ip_address)
    assert {c["field"] for c in row.changes} == {"hostname", "device_type", "status", "notes"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"hostname": "bad_name!"}, "hostname"), ({"os_type": "x" * 101}, "os_type"), ({"tags": '["not", "an", "object"]'}, "tags")],
)
def test_invalid_host_input_is_a_form_error(site, alice, changes, field):
    host = make_host(alice, make_region(alice), hostname="keep")
    response = site.post(f"/admin/ipam/host/{host.pk}/change/", _host_form(host, **changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    host.refresh_from_db()
    assert host.hostname == "keep" and host.os_type == ""


def test_duplicate_hostname_from_the_admin_is_refused(site, alice):
    region = make_region(alice)
    make_host(alice, region, hostname="taken")
    host = make_host(alice, region, hostname="mine")
    response = site.post(f"/admin/ipam/host/{host.pk}/change/", _host_form(host, hostname="taken"), follow=True)
    assert any("Not saved" in m for m in _messages(response))
    host.refresh_from_db()
    assert host.hostname == "mine"


def test_host_retire_action_frees_the_addresses(site, alice, bob):
    region = make_region(alice)
    hosts = [make_host(alice, region) for _ in range(3)]
    bobs = make_host(bob, make_region(bob))
    selected = [str(hosts[0].pk), str(hosts[2].pk), str(bobs.pk)]
    response = site.post("/admin/ipam/host/", {"action": "retire_hosts", "_selected_action": selected}, follow=True)
    assert "Retired 3 host(s)." in _messages(response)
    assert list(Host.objects.values_list("pk", flat=True)) == [hosts[1].pk]
    region.refresh_from_db()
    assert region.allocated_hosts == 1 and bitmaps.from_bytes(region.host_bitmap) == 0b100
    rows = AuditLog.objects.filter(action_type="retire", resource_type="host")
    assert {(r.user_id, r.actor) for r in rows} == {(alice.pk, "root"), (bob.pk, "root")}
    assert UserQuota.objects.get(user=bob).hosts_used == 0


# --- Countries ------------------------------------------------------------------------------------
def _country_form(country, **changes):
    data = {name: getattr(country, name) for name in ("name", "code", "code3", "continent", "x_start", "x_end")}
    if country.is_reserved:
        data["is_reserved"] = "on"
    return {**data, **changes}


def test_country_edit_is_validated_and_audited(site):
    reserved = Country.objects.get(code="ZZ")
    url = f"/admin/ipam/country/{reserved.pk}/change/"
    response = site.post(url, _country_form(reserved, x_end=250))
    assert response.status_code == 302
    reserved.refresh_from_db()
    assert reserved.x_end == 250
    row = AuditLog.objects.get(resource_type="country", action_type="update")
    assert (row.actor, row.user_id, row.country_code, row.resource_id) == ("root", None, "ZZ", str(reserved.pk))
    assert row.changes == [{"field": "x_end", "old_value": 255, "new_value": 250}]


def test_country_overlap_and_bad_codes_are_form_errors(site):
    india = Country.objects.get(code="IN")
    url = f"/admin/ipam/country/{india.pk}/change/"
    response = site.post(url, _country_form(india, x_end=31))
    assert response.status_code == 200 and "overlaps UAE" in str(response.context["adminform"].form.non_field_errors())
    response = site.post(url, _country_form(india, code="I1"))
    assert response.status_code == 200 and "code" in response.context["adminform"].form.errors
    india.refresh_from_db()
    assert (india.x_end, india.code) == (29, "IN") and not AuditLog.objects.filter(resource_type="country").exists()


def test_country_range_cannot_shrink_below_allocated_regions(site, alice):
    from ipam.services.regions import region_allocate

    region_allocate(actor=alice, country="India", region_name="edge", at=(29, 7))
    india = Country.objects.get(code="IN")
    response = site.post(f"/admin/ipam/country/{india.pk}/change/", _country_form(india, x_end=28))
    assert response.status_code == 200
    assert "allocated regions" in str(response.context["adminform"].form.non_field_errors())
    india.refresh_from_db()
    assert india.x_end == 29


def test_a_new_country_can_be_carved_from_free_space_and_is_audited(site):
    reserved = Country.objects.get(code="ZZ")
    site.post(f"/admin/ipam/country/{reserved.pk}/change/", _country_form(reserved, x_start=210))
    response = site.post(
        "/admin/ipam/country/add/",
        {"name": "Portugal", "code": "pt", "code3": "prt", "continent": "Europe", "x_start": 208, "x_end": 209},
    )
    assert response.status_code == 302
    portugal = Country.objects.get(name="Portugal")
    assert (portugal.code, portugal.code3, portugal.x_start, portugal.x_end) == ("PT", "PRT", 208, 209)
    assert AuditLog.objects.filter(resource_type="country", action_type="create", resource_id=str(portugal.pk), actor="root").exists()
    assert site.post(f"/admin/ipam/country/{portugal.pk}/delete/", {"post": "yes"}).status_code == 403


# --- Quotas ---------------------------------------------------------------------------------------
def test_quota_limit_change_in_admin_is_audited_and_enforced(site, alice):
    quota = UserQuota.objects.create(user=alice)
    response = site.post(f"/admin/ipam/userquota/{quota.pk}/change/", {"region_limit": "1", "host_limit": ""})
    assert response.status_code == 302, response.content[:500]
    quota.refresh_from_db()
    assert quota.region_limit == 1 and quota.host_limit is None
    row = AuditLog.objects.get(user=alice, action_type="quota_update")
    assert row.actor == "root" and row.changes == [{"field": "region_limit", "old_value": None, "new_value": 1}]
    make_region(alice)
    with pytest.raises(exceptions.QuotaExceeded):
        make_region(alice)
