"""Console pages cost a fixed number of queries: the same with a little data and with several times more
(more users, regions, hosts and audit rows), and under a small ceiling (issue 15, "Speed")."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ipam.models import AuditLog, Host
from tests.factories import UserFactory
from tests.ipam.console_support import console_operator, seed

pytestmark = pytest.mark.django_db

MAX_QUERIES = 30


def _pages(owner, region, host, row):
    return [
        "/admin/",
        "/admin/ipam/region/",
        f"/admin/ipam/region/?q={region.cidr}",
        f"/admin/ipam/region/{region.pk}/change/",
        "/admin/ipam/region/map/",
        f"/admin/ipam/region/map/{owner.pk}/IN/",
        "/admin/ipam/host/",
        f"/admin/ipam/host/?q={host.ip_address}",
        "/admin/ipam/country/",
        "/admin/ipam/auditlog/",
        f"/admin/ipam/auditlog/{row.pk}/change/",
    ]


def _counts(client, pages):
    counts = {}
    for url in pages:
        client.get(url)  # warm the per-day caches (forecasts, settled activity days) as a running console has them
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200, url
        counts[url] = len(captured)
    return counts


def _grow(users: int, regions: int, hosts: int) -> None:
    for index in range(users):
        seed(UserFactory(username=f"grow{index}-{UserFactory._meta.model.objects.count()}"), regions=regions, hosts=hosts)


def test_console_query_counts_do_not_grow_with_the_data(django_assert_max_num_queries):
    client = Client()
    client.force_login(console_operator())
    owner = UserFactory(username="owner")
    region = seed(owner, regions=6, hosts=4)[0]
    _grow(users=6, regions=1, hosts=1)  # enough namespaces and regions to fill every "top 5" list already
    host = Host.objects.filter(region=region).first()
    row = AuditLog.objects.filter(user=owner).first()
    pages = _pages(owner, region, host, row)
    small = _counts(client, pages)
    _grow(users=4, regions=5, hosts=12)
    seed(owner, regions=4, hosts=20, prefix="more")
    assert Host.objects.count() > 3 * 30
    large = _counts(client, pages)
    assert large == small
    for url in pages:
        with django_assert_max_num_queries(MAX_QUERIES):
            client.get(url)
