"""The operator console (issue 15): every console page, over HTTP with a staff session, against the 1 M-host
dataset of `bench/generate.py` — target p95 ≤ 200 ms each — plus each page's SQL query count at the bench
user's size and at a small user's (`queries_small_large`, counted in-process; the two must be equal).

Pages: the dashboard (admin index), the region list and an address search, a region page (the fullest
region of the 1 M-host user), the global map, the user's map of `--country`, the host list with an exact
IP search, the country list, the audit log. The staff user `bench-staff` (IPAM Admins, staff) is made here.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext

from bench.measure import PASSWORD, Floor, Run
from bench.report import summarise
from ipam.models import Host, Region

GROUP = "console"
STAFF = "bench-staff"
WARM_UP_ROUNDS = 3


def _staff() -> Any:
    user, _ = get_user_model().objects.get_or_create(username=STAFF, defaults={"is_staff": True})
    user.is_staff = True
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="IPAM Admins"))
    return user


def _session(base_url: str) -> requests.Session:
    session = requests.Session()
    login = f"{base_url}/admin/login/"
    page = session.get(login, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the admin login page"
    response = session.post(
        login, data={"username": STAFF, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1), "next": "/admin/"}, timeout=30
    )
    response.raise_for_status()
    return session


def pages(user_id: int, country: str) -> dict[str, str]:
    region = Region.objects.filter(user_id=user_id).order_by("-allocated_hosts").first()
    host = Host.objects.filter(region=region).order_by("z_octet").first() if region else None
    if region is None or host is None:
        raise SystemExit(f"user {user_id} has no region with hosts: run bench/generate.py first")
    return {
        "console dashboard": "/admin/",
        "console region list": "/admin/ipam/region/",
        "console region search (CIDR)": f"/admin/ipam/region/?q={region.cidr}",
        "console region page": f"/admin/ipam/region/{region.pk}/change/",
        "console map (global)": "/admin/ipam/region/map/",
        "console map (user, country)": f"/admin/ipam/region/map/{user_id}/{country}/",
        "console host search (exact IP)": f"/admin/ipam/host/?q={host.ip_address}",
        "console country list": "/admin/ipam/country/",
        "console audit log": "/admin/ipam/auditlog/",
    }


def query_counts(staff: Any, urls: dict[str, str]) -> dict[str, int]:
    client = DjangoClient()
    client.force_login(staff)
    counts = {}
    for name, url in urls.items():
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        counts[name] = len(captured)
    return counts


def run(ctx: Run) -> list[dict[str, Any]]:
    staff = _staff()
    urls = pages(ctx.user_id, ctx.args.country)
    small_user = get_user_model().objects.filter(username__startswith="bench-small").order_by("pk").first()
    small_counts: dict[str, int] = {}
    if small_user is not None and Host.objects.filter(user=small_user).exists():
        small_urls = pages(small_user.pk, ctx.args.country)
        small_counts = dict(zip(urls, query_counts(staff, small_urls).values(), strict=True))
    large_counts = query_counts(staff, urls)
    session = _session(ctx.args.base_url)
    rows = []
    for name, url in urls.items():
        samples = []
        floor = Floor(ctx.client)  # the API floor, next to each page: the console has absolute targets, the ratio is for reference
        for index in range(WARM_UP_ROUNDS + ctx.args.requests // 4):
            floor.tick(record=index >= WARM_UP_ROUNDS)
            response = session.get(f"{ctx.args.base_url}{url}", timeout=60)
            if response.status_code != 200:
                raise SystemExit(f"GET {url}: {response.status_code}")
            if index >= WARM_UP_ROUNDS:
                samples.append(response.elapsed.total_seconds() * 1000)
        rows.append(summarise(name, samples, floor.samples, queries_small_large=[small_counts.get(name), large_counts[name]]))
    return rows
