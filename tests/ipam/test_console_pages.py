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
