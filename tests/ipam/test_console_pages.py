"""The operator console (issue 15): front door, dashboard, region page, map, search, audit, transfer, access,
and no page loading anything from another host."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from ipam.models import AuditLog, Host, Region, Reservation
from tests.factories import UserFactory, make_host, make_region
from tests.ipam.console_support import console_operator, outside_hosts, seed

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return console_operator()


@pytest.fixture
def site(operator):
    client = Client()
    client.force_login(operator)
    return client


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- Front door, branding, offline -----------------------------------------------------------------
def test_front_door_describes_the_service_and_links_console_docs_and_health(client):
    response = client.get("/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for link in ('href="/admin/"', 'href="/docs"', 'href="/redoc"', 'href="/health"'):
        assert link in html


def test_admin_is_branded_and_view_site_goes_to_the_front_door(site):
    html = site.get("/admin/").content.decode()
    assert "IPAM operator console" in html and "<title>Address space overview | IPAM console</title>" in html
    assert re.search(r'<a href="/">View site</a>', html)


def test_no_page_loads_anything_from_another_host(site, alice, operator):
    regions = seed(alice)
    host = Host.objects.filter(region=regions[0]).first()
    row = AuditLog.objects.filter(user=alice).first()
    anonymous = Client()
    pages = ["/", "/docs", "/redoc", "/admin/login/"]
    staff_pages = [
        "/admin/",
        "/admin/ipam/region/",
        f"/admin/ipam/region/{regions[0].pk}/change/",
        f"/admin/ipam/region/{regions[0].pk}/history/",
        "/admin/ipam/region/map/",
        f"/admin/ipam/region/map/{alice.pk}/IN/",
        "/admin/ipam/region/transfer/",
        "/admin/ipam/host/",
        f"/admin/ipam/host/{host.pk}/change/",
        "/admin/ipam/country/",
        "/admin/ipam/auditlog/",
        f"/admin/ipam/auditlog/{row.pk}/change/",
        "/admin/ipam/exportjob/",
    ]
    for url in pages:
        response = anonymous.get(url)
        assert response.status_code == 200, url
        assert outside_hosts(response.content.decode()) == [], url
    for url in staff_pages:
        response = site.get(url)
        assert response.status_code == 200, url
        assert outside_hosts(response.content.decode()) == [], url


def test_swagger_and_redoc_are_served_from_our_static_files(client):
    docs = client.get("/docs").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in docs
    assert '"validatorUrl": null' in docs
    redoc = client.get("/redoc").content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


def test_the_outside_host_check_catches_a_cdn():
    assert outside_hosts('<script src="https://cdn.jsdelivr.net/x.js"></script><a href="http://testserver/">') == [
        "https://cdn.jsdelivr.net/x.js"
    ]


# --- Dashboard ------------------------------------------------------------------------------------
def test_dashboard_shows_totals_charts_nearest_exhaustion_activity_jobs_and_webhooks(site, alice, bob):
    seed(alice, regions=2, hosts=3)
    seed(bob, regions=1, hosts=2, country="Sweden")
    response = site.get("/admin/")
    html = response.content.decode()
    console = response.context["console"]
    assert (console["overview"]["regions"], console["overview"]["hosts"], console["overview"]["owners"]) == (3, 6, 2)
    assert html.count('class="chart-day"') == 90
    assert sum(c["allocations"] for c in console["activity"]["columns"]) == 3 + 6  # regions + hosts created today
    assert html.count("country-bar") == 2 and 'data-country="IN"' in html and 'data-country="SE"' in html
    assert [n["country"].code for n in console["nearest"]["countries"]] == ["SE", "IN"]
    assert console["nearest"]["regions"][0]["region"].allocated_hosts == 3
    assert 'id="recent-activity"' in html and "seed-alice-0 (10." in html  # objects by name and address
    assert 'id="job-status"' in html and 'id="webhook-health"' in html


def test_staff_without_the_ipam_admin_permission_get_the_plain_index(alice):
    staff = UserFactory(username="clerk", is_staff=True)
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 200 and response.context["console"] is None
    assert "chart-day" not in response.content.decode()


def test_non_staff_never_reach_the_admin(alice):
    client = Client()
    client.force_login(alice)
    for url in ("/admin/", "/admin/ipam/region/", "/admin/ipam/region/map/", "/admin/ipam/region/transfer/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_staff_see_only_what_their_django_permissions_allow(alice):
    from django.contrib.auth.models import Permission

    region = seed(alice, regions=1)[0]
    staff = UserFactory(username="viewer", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/ipam/region/").status_code == 403
    assert client.get("/admin/ipam/region/map/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_region"))
    staff = type(staff).objects.get(pk=staff.pk)
    client.force_login(staff)
    assert client.get("/admin/ipam/region/").status_code == 200
    assert client.get("/admin/ipam/region/map/").status_code == 200
    page = client.get(f"/admin/ipam/region/{region.pk}/change/")
    assert page.status_code == 200 and 'id="region-actions"' not in page.content.decode()  # view only: no actions
    refused = client.post(f"/admin/ipam/region/{region.pk}/act/allocate/", {"hostname": "nope"})
    assert refused.status_code == 403 and not Host.objects.filter(hostname="nope").exists()
    assert client.get("/admin/ipam/host/").status_code == 403


# --- Region page ----------------------------------------------------------------------------------
def test_region_page_shows_grid_hosts_reservations_comments_and_audit(site, alice):
    region = make_region(alice, "India", "web")
    make_host(alice, region, "web-1")
    make_host(alice, region, "web-2")
    html = site.get(f"/admin/ipam/region/{region.pk}/change/").content.decode()
    assert html.count('class="cell cell-') == 256
    assert html.count("cell cell-allocated") == 2 and html.count("cell cell-edge") == 2
    assert f'title="10.{region.x_octet}.{region.y_octet}.1 web-1 (active)"' in html
    web1 = Host.objects.get(hostname="web-1")
    assert f'<a class="cell cell-allocated" href="/admin/ipam/host/{web1.pk}/change/"' in html
    assert 'id="region-hosts-list"' in html and 'id="region-audit"' in html and html.count('class="audit-row"') == 3


def test_allocate_reserve_release_retire_from_the_region_page_are_audited_as_the_staff_user(site, alice, operator):
    region = make_region(alice, "India", "ops")
    page = f"/admin/ipam/region/{region.pk}/change/"
    response = site.post(f"/admin/ipam/region/{region.pk}/act/allocate/", {"hostname": "db-1"}, follow=True)
    ip = f"10.{region.x_octet}.{region.y_octet}.1"
    assert f"Allocated {ip} to db-1." in _messages(response)
    host = Host.objects.get(hostname="db-1")
    assert host.user == alice and host.created_by == "operator"
    row = AuditLog.objects.get(action_type="create", resource_type="host")
    assert (row.actor, row.user_id, row.ip_address) == ("operator", alice.pk, ip)
    assert "cell cell-allocated" in site.get(page).content.decode()

    response = site.post(f"/admin/ipam/region/{region.pk}/act/reserve/", {"z_octet": "9", "reason": "future lb"}, follow=True)
    assert f"Reserved 10.{region.x_octet}.{region.y_octet}.9." in _messages(response)
    assert Reservation.objects.get(z_octet=9).user == alice
    assert AuditLog.objects.get(resource_type="reservation", action_type="create").actor == "operator"
    assert site.get(page).content.decode().count("cell cell-reserved") == 1

    response = site.post(f"/admin/ipam/region/{region.pk}/act/release/", {"z_octet": "1", "reason": "decom"}, follow=True)
    assert f"Released {ip} (db-1)." in _messages(response)
    assert not Host.objects.filter(hostname="db-1").exists()
    assert AuditLog.objects.get(action_type="retire", resource_type="host").actor == "operator"

    response = site.post(f"/admin/ipam/region/{region.pk}/act/retire/", {"reason": "gone"}, follow=True)
    assert not Region.objects.filter(pk=region.pk).exists()
    assert AuditLog.objects.get(action_type="retire", resource_type="region").actor == "operator"


def test_region_page_actions_show_the_usual_error_messages(site, alice):
    region = make_region(alice, "India", "err")
    make_host(alice, region, "taken")
    act = f"/admin/ipam/region/{region.pk}/act/"
    messages = _messages(site.post(act + "allocate/", {"hostname": "taken"}, follow=True))
    assert any(m.startswith("Allocate refused:") and "taken" in m for m in messages), messages
    messages = _messages(site.post(act + "allocate/", {"hostname": "bad name!"}, follow=True))
    assert any(m.startswith("Allocate refused:") and "hostname" in m for m in messages), messages
    messages = _messages(site.post(act + "retire/", {"reason": "x"}, follow=True))
    assert any(m.startswith("Retire refused:") for m in messages) and Region.objects.filter(pk=region.pk).exists()
    messages = _messages(site.post(act + "release/", {"z_octet": "200"}, follow=True))
    assert any("No host at" in m for m in messages)
    assert site.get(act + "allocate/").status_code == 405
    assert Host.objects.filter(region=region).count() == 1


# --- Map --------------------------------------------------------------------------------------------
def test_map_shows_regions_in_their_cells_reserved_marked_and_links_to_the_region(site, alice):
    from ipam.services.reservations import reservation_create

    regions = seed(alice, regions=3, hosts=2)
    reservation_create(actor=alice, resource_type="region", x_octet=regions[0].x_octet, y_octet=200, reason="later")
    html = site.get(f"/admin/ipam/region/map/{alice.pk}/IN/").content.decode()
    for region in regions:
        assert f'href="/admin/ipam/region/{region.pk}/change/" title="{region.cidr} {region.region_name}:' in html
        assert f'data-xy="{region.x_octet}.{region.y_octet}"' in html
    assert html.count('class="cell ') == 3 and html.count('class="mres" title=') == 1
    overview = site.get("/admin/ipam/region/map/").content.decode()
    assert f'href="/admin/ipam/region/map/{alice.pk}/IN/"' in overview


# --- Search, lists ---------------------------------------------------------------------------------
def test_exact_ip_search_finds_that_host_only_and_prefix_or_cidr_find_regions(site, alice):
    region = make_region(alice, "India", "net")
    hosts = [make_host(alice, region, f"h{i}") for i in range(12)]
    other = make_region(alice, "India", "other")
    target = hosts[1]  # .2 — a text search would also match .20-.29
    found = site.get("/admin/ipam/host/", {"q": target.ip_address}).context["cl"].result_list
    assert [h.pk for h in found] == [target.pk]
    cidr = site.get("/admin/ipam/region/", {"q": region.cidr}).context["cl"].result_list
    assert [r.pk for r in cidr] == [region.pk]
    prefix = site.get("/admin/ipam/region/", {"q": f"10.{region.x_octet}"}).context["cl"].result_list
    assert {r.pk for r in prefix} == {region.pk, other.pk}
    by_name = site.get("/admin/ipam/region/", {"q": "other"}).context["cl"].result_list
    assert [r.pk for r in by_name] == [other.pk]


def test_region_list_has_utilization_bars_and_filters_by_user_status_and_tag(site, alice, bob):
    tagged = make_region(alice, "India", "tagged", tags={"env": "prod"})
    seed(bob, regions=1)
    html = site.get("/admin/ipam/region/").content.decode()
    assert html.count('class="ubar ') == 2
    assert [r.pk for r in site.get("/admin/ipam/region/", {"tag": "env"}).context["cl"].result_list] == [tagged.pk]
    assert [r.pk for r in site.get("/admin/ipam/region/", {"q": "tag:env=prod"}).context["cl"].result_list] == [tagged.pk]
    assert len(site.get("/admin/ipam/region/", {"user__id__exact": bob.pk}).context["cl"].result_list) == 1
    assert 'class="ubar ' in site.get("/admin/ipam/country/").content.decode()


# --- Audit ------------------------------------------------------------------------------------------
def test_audit_reads_with_names_and_a_diff_and_history_links_to_it(site, alice):
    from ipam.services.regions import region_update

    region = make_region(alice, "India", "before")
    region_update(actor=alice, region_id=region.pk, data={"region_name": "after"})
    listing = site.get("/admin/ipam/auditlog/", {"region_id": str(region.pk)})
    assert len(listing.context["cl"].result_list) == 2
    row = AuditLog.objects.get(action_type="update")
    html = site.get(f"/admin/ipam/auditlog/{row.pk}/change/").content.decode()
    assert "after (10." in html and "<td class='diff-old'>before</td><td class='diff-new'>after</td>" in html
    history = site.get(f"/admin/ipam/region/{region.pk}/history/").content.decode()
    assert f"/admin/ipam/auditlog/?resource_id={region.pk}" in history


def test_audit_rows_download_as_csv(site, alice):
    seed(alice, regions=1, hosts=1)
    ids = [str(pk) for pk in AuditLog.objects.values_list("pk", flat=True)]
    response = site.post("/admin/ipam/auditlog/", {"action": "export_csv", "_selected_action": ids})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    lines = response.content.decode().strip().splitlines()
    assert lines[0].startswith("audit_id,action_type") and len(lines) == 1 + len(ids)


# --- Import / export --------------------------------------------------------------------------------
def test_import_previews_then_imports_and_export_creates_a_job(site, alice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv_text = "resource_type,country,region_name\nregion,India,imported\n"
    upload = SimpleUploadedFile("in.csv", csv_text.encode(), content_type="text/csv")
    preview = site.post("/admin/ipam/region/transfer/", {"step": "preview", "username": "alice", "file": upload})
    assert preview.status_code == 200 and preview.context["result"]["dry_run"] is True
    assert not Region.objects.filter(region_name="imported").exists()
    done = site.post("/admin/ipam/region/transfer/", {"step": "import", "username": "alice", "format": "csv", "content": csv_text})
    assert done.context["result"]["created"]["regions"] == 1
    assert Region.objects.get(region_name="imported").user == alice
    response = site.post("/admin/ipam/region/transfer/", {"step": "export", "username": "alice", "kind": "export", "format": "csv"})
    assert response.status_code == 302 and "/admin/ipam/exportjob/" in response["Location"]
    job_page = site.get(response["Location"]).content.decode()
    assert "download" in job_page
