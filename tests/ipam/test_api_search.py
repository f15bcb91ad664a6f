"""GET /ipam/search: regions and hosts together, every filter, counts and pagination over the union,
isolation, a constant number of queries, and address filters served by the integer indexes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from ipam.models import Host, Region
from ipam.selectors import search
from ipam.services.imports import import_run
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


@pytest.fixture
def inventory(alice, bob):
    """alice: mumbai 10.0.0.0/24 (3 hosts), pune 10.0.1.0/24 (retired), tokyo 10.46.0.0/24 (1 host); bob: a look-alike."""
    mumbai = make_region(alice, "India", "mumbai", description="west coast DC", tags={"env": "prod", "tier": "1"}, owner="netops")
    pune = make_region(alice, "India", "pune", tags={"env": "dev"})
    tokyo = make_region(alice, "Japan", "tokyo", tags={"env": "prod"})
    web = make_host(alice, mumbai, hostname="web-1", device_type="VM", tags={"role": "web", "env": "prod"})
    db = make_host(alice, mumbai, hostname="db-1", device_type="Physical", application="postgres", tags={"role": "db"})
    cache = make_host(alice, mumbai, hostname="cache-1", device_type="VM", notes="100% hot")
    edge = make_host(alice, tokyo, hostname="edge-1", device_type="Network")
    Host.objects.filter(pk=cache.pk).update(status="released")
    Region.objects.filter(pk=pune.pk).update(status="retired")
    bob_region = make_region(bob, "India", "mumbai", tags={"env": "prod"})
    make_host(bob, bob_region, hostname="web-1", device_type="VM")
    return {"mumbai": mumbai, "pune": pune, "tokyo": tokyo, "web": web, "db": db, "cache": cache, "edge": edge}


def _names(response):
    assert response.status_code == 200, response.json()
    return [
        (r["resource_type"], r.get("region_name") if r["resource_type"] == "region" else r["hostname"]) for r in response.json()["results"]
    ]


def test_search_returns_regions_and_hosts_in_address_order(api, inventory):
    response = api.get("/ipam/search")
    assert response.json()["count"] == 7
    assert _names(response) == [
        ("region", "mumbai"),
        ("host", "web-1"),
        ("host", "db-1"),
        ("host", "cache-1"),
        ("region", "pune"),
        ("region", "tokyo"),
        ("host", "edge-1"),
    ]
    region, host = response.json()["results"][:2]
    assert region["cidr"] == "10.0.0.0/24" and region["tags"] == {"env": "prod", "tier": "1"} and region["country"] == "India"
    assert host["ip_address"] == "10.0.0.1" and host["region_name"] == "mumbai" and host["continent"] == "Asia"


def test_search_paginates_over_the_union_with_correct_counts(api, inventory):
    first = api.get("/ipam/search", {"page_size": 3}).json()
    second = api.get("/ipam/search", {"page_size": 3, "page": 2}).json()
    third = api.get("/ipam/search", {"page_size": 3, "page": 3}).json()
    assert first["count"] == second["count"] == third["count"] == 7
    assert first["previous"] is None and "page=2" in first["next"]
    assert [len(p["results"]) for p in (first, second, third)] == [3, 3, 1]
    ids = [r.get("region_id") if r["resource_type"] == "region" else r["host_id"] for p in (first, second, third) for r in p["results"]]
    assert len(set(ids)) == 7
    assert third["next"] is None
    assert api.get("/ipam/search", {"page": 9}).status_code == 404
    assert api.get("/ipam/search", {"page_size": 1001}).status_code == 400


def test_search_never_shows_another_users_data(client_for, inventory, bob):
    response = client_for(bob).get("/ipam/search", {"q": "mumbai"})
    assert response.json()["count"] == 1
    assert {r["owner_id"] for r in client_for(bob).get("/ipam/search").json()["results"]} == {bob.pk}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "web"}, [("host", "web-1")]),
        ({"q": "WEST COAST"}, [("region", "mumbai")]),
        ({"q": "postgres"}, [("host", "db-1")]),
        ({"q": "10.46"}, [("region", "tokyo"), ("host", "edge-1")]),
        ({"q": "10.0.0.2"}, [("region", "mumbai"), ("host", "db-1")]),
        ({"q": "10.0.1.0/24"}, [("region", "pune")]),
        ({"ip_address": "10.0.0.3"}, [("region", "mumbai"), ("host", "cache-1")]),
        ({"ip_address": "10.46."}, [("region", "tokyo"), ("host", "edge-1")]),
        ({"cidr": "10.0.0.0/23"}, [("region", "mumbai"), ("host", "web-1"), ("host", "db-1"), ("host", "cache-1"), ("region", "pune")]),
        ({"cidr": "10.0.0.0/31"}, [("region", "mumbai"), ("host", "web-1")]),
        ({"ip_range": "10.0.0.2-10.0.1.0"}, [("region", "mumbai"), ("host", "db-1"), ("host", "cache-1"), ("region", "pune")]),
        ({"country": "JPN"}, [("region", "tokyo"), ("host", "edge-1")]),
        ({"continent": "asia", "resource_type": "region"}, [("region", "mumbai"), ("region", "pune"), ("region", "tokyo")]),
        ({"status": "retired"}, [("region", "pune")]),
        ({"status": "released"}, [("host", "cache-1")]),
        ({"owner": "NETOPS"}, [("region", "mumbai"), ("host", "web-1"), ("host", "db-1"), ("host", "cache-1")]),
        ({"hostname": "-1", "device_type": "VM"}, [("host", "web-1"), ("host", "cache-1")]),
        ({"region_name": "toky"}, [("region", "tokyo"), ("host", "edge-1")]),
        ({"resource_type": "host", "country": "IN"}, [("host", "web-1"), ("host", "db-1"), ("host", "cache-1")]),
        ({"tag": ["env:prod", "tier:1"]}, [("region", "mumbai")]),
        ({"tags": "env:prod,role:web"}, [("host", "web-1")]),
        ({"tags": "env:dev,role:db", "tag_logic": "or"}, [("host", "db-1"), ("region", "pune")]),
        ({"ordering": "-name", "resource_type": "region"}, [("region", "tokyo"), ("region", "pune"), ("region", "mumbai")]),
        ({"ordering": "resource_type,name", "country": "JP"}, [("host", "edge-1"), ("region", "tokyo")]),
    ],
)
def test_search_filters(api, inventory, params, expected):
    assert _names(api.get("/ipam/search", params)) == expected


def test_search_created_after_and_before(api, inventory):
    Region.objects.filter(pk=inventory["tokyo"].pk).update(created_at=timezone.now() - timedelta(days=10))
    Host.objects.filter(pk=inventory["edge"].pk).update(created_at=timezone.now() - timedelta(days=10))
    cutoff = (timezone.now() - timedelta(days=5)).date().isoformat()
    old = _names(api.get("/ipam/search", {"created_before": cutoff}))
    assert old == [("region", "tokyo"), ("host", "edge-1")]
    assert len(_names(api.get("/ipam/search", {"created_after": cutoff}))) == 5
    recent = (timezone.now() - timedelta(hours=1)).isoformat()
    assert len(_names(api.get("/ipam/search", {"created_after": recent}))) == 5


def test_search_input_is_never_a_pattern_or_regex(api, alice, inventory):
    make_region(alice, "Spain", "a.c_d%e")
    for q in [".*", "^mumbai", "[a-z]+", "mum.ai", "(", "\\"]:
        assert api.get("/ipam/search", {"q": q}).json()["count"] == 0, q
    assert _names(api.get("/ipam/search", {"q": "%"})) == [("host", "cache-1"), ("region", "a.c_d%e")]
    assert _names(api.get("/ipam/search", {"q": "c_d"})) == [("region", "a.c_d%e")]
    assert api.get("/ipam/search", {"q": "_"}).json()["count"] == 1
    assert api.get("/ipam/search", {"region_name": "%"}).json()["count"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cidr": "10.5.0.0"}, "cidr"),
        ({"cidr": "10.5.1.0/16"}, "cidr"),
        ({"cidr": "192.168.0.0/16"}, "cidr"),
        ({"cidr": "10.0.0.0/33"}, "cidr"),
        ({"ip_range": "10.0.0.9-10.0.0.1"}, "ip_range"),
        ({"ip_range": "10.0.0.1"}, "ip_range"),
        ({"ip_range": "10.0.0.1-11.0.0.1"}, "ip_range"),
        ({"ip_address": "10.0.0.256"}, "ip_address"),
        ({"ip_address": "172.16"}, "ip_address"),
        ({"ip_address": "10.a"}, "ip_address"),
        ({"status": "lost"}, "status"),
        ({"device_type": "Toaster"}, "device_type"),
        ({"tag": "no-colon"}, "tag"),
        ({"tag_logic": "xor"}, "tag_logic"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"ordering": "hostname"}, "ordering"),
        ({"resource_type": "country"}, "resource_type"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"tag": "env:a\x00"}, "tag"),
    ],
)
def test_search_bad_input_is_400_with_the_field(api, alice, params, field):
    response = api.get("/ipam/search", params)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error" and field in response.json()["details"]


def test_search_uses_a_constant_number_of_queries(api, alice, django_assert_num_queries):
    region = make_region(alice)
    make_host(alice, region)
    api.get("/ipam/search")  # loads the caller's permissions once
    with django_assert_num_queries(4):  # count, page, regions of the page, hosts of the page
        assert api.get("/ipam/search").json()["count"] == 2
    for i in range(5):
        other = make_region(alice, "Japan", f"r{i}")
        for _ in range(4):
            make_host(alice, other)
    with django_assert_num_queries(4):
        body = api.get("/ipam/search", {"page_size": 1000, "tag_logic": "or", "country": "JP"}).json()
    assert body["count"] == 25 and len(body["results"]) == 25


def test_address_filters_use_the_integer_indexes(alice, bob):
    """Containment and ranges are index range scans on (user, ip_int) / (user, network_int)."""
    rows = ["resource_type,country,region_name,hostname"]
    for r in range(40):
        rows.append(f"region,India,r{r},")
        rows += [f"host,India,r{r},h{h}" for h in range(50)]
    for user in (alice, bob):
        import_run(actor=user, content="\n".join(rows), format="csv", mode="auto")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE ipam_host")
            cursor.execute("ANALYZE ipam_region")
            cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small would be read whole; is the index usable?
        else:
            cursor.execute("ANALYZE")
    params = search.SearchParams(ranges=[search.parse_cidr("10.0.3.0/24")])
    host_plan = search._hosts(alice, params).explain()
    region_plan = search._regions(alice, params).explain()
    if connection.vendor == "postgresql":
        assert "Index Cond" in host_plan and "ip_int >=" in host_plan.split("Index Cond")[1], host_plan
        assert "Index Cond" in region_plan and "network_int >=" in region_plan.split("Index Cond")[1], region_plan
        assert "Seq Scan" not in host_plan + region_plan
    else:
        assert "ip_int>?" in host_plan and "USING" in host_plan and "INDEX" in host_plan, host_plan
        assert "network_int>?" in region_plan and "region_user_network" in region_plan, region_plan
    assert Host.objects.filter(user=alice).count() == 2000
