"""Bad input never produces a 500: wrong types, nulls, huge numbers, odd encodings, odd methods and paths.

Table-driven: each row is one request and the status (and error code) it must get, always with the
standard error body. The database must be unchanged by every refused request.
"""

from __future__ import annotations

import json

import pytest

from ipam.models import AuditLog, Host, Region
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"error", "message", "details"}


def _assert_error(response, status, code=None):
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    if code:
        assert body["error"] == code, body


# --- JSON bodies of the allocating POSTs ----------------------------------------------------------
REGION_OK = {"country": "US", "region_name": "r"}

REGION_BODIES = [
    ("country number", {**REGION_OK, "country": 840}, "validation_error"),
    ("country object", {**REGION_OK, "country": {"name": "US"}}, "validation_error"),
    ("country array", {**REGION_OK, "country": ["US"]}, "validation_error"),
    ("country null", {**REGION_OK, "country": None}, "validation_error"),
    ("country bool", {**REGION_OK, "country": True}, "validation_error"),
    ("country blank", {**REGION_OK, "country": "   "}, "validation_error"),
    ("country too long", {**REGION_OK, "country": "x" * 101}, "validation_error"),
    ("region_name number", {**REGION_OK, "region_name": 12345}, "validation_error"),
    ("region_name array", {**REGION_OK, "region_name": ["r"]}, "validation_error"),
    ("region_name null", {**REGION_OK, "region_name": None}, "validation_error"),
    ("region_name only spaces", {**REGION_OK, "region_name": "   "}, "validation_error"),
    ("region_name 101 chars", {**REGION_OK, "region_name": "é" * 101}, "validation_error"),
    ("region_name NUL", {**REGION_OK, "region_name": "a\x00b"}, "parse_error"),
    ("description null", {**REGION_OK, "description": None}, "validation_error"),
    ("description object", {**REGION_OK, "description": {}}, "validation_error"),
    ("owner number", {**REGION_OK, "owner": 7}, "validation_error"),
    ("tags string", {**REGION_OK, "tags": "env:prod"}, "validation_error"),
    ("tags array", {**REGION_OK, "tags": [["env", "prod"]]}, "validation_error"),
    ("tags null", {**REGION_OK, "tags": None}, "validation_error"),
    ("tag value number", {**REGION_OK, "tags": {"env": 1}}, "validation_error"),
    ("tag value null", {**REGION_OK, "tags": {"env": None}}, "validation_error"),
    ("tag value object", {**REGION_OK, "tags": {"env": {"a": "b"}}}, "validation_error"),
    ("tag value 501 chars", {**REGION_OK, "tags": {"env": "v" * 501}}, "validation_error"),
    ("tag key invalid", {**REGION_OK, "tags": {"bad key": "v"}}, "validation_error"),
    ("tag key unicode", {**REGION_OK, "tags": {"clé": "v"}}, "validation_error"),
    ("51 tags", {**REGION_OK, "tags": {f"k{i}": "v" for i in range(51)}}, "validation_error"),
    ("unknown country", {**REGION_OK, "country": "Atlantis"}, "country_not_found"),
    ("missing fields", {}, "validation_error"),
]


@pytest.mark.parametrize(("case", "body", "code"), REGION_BODIES, ids=[row[0] for row in REGION_BODIES])
def test_bad_region_bodies_are_4xx(api, case, body, code):
    response = api.post("/ipam/regions", body, format="json")
    _assert_error(response, 404 if code == "country_not_found" else 400, code)
    assert not Region.objects.exists() and not AuditLog.objects.exists()


@pytest.mark.parametrize("name", ["東京-1", "Zürich ☃", "🚀 launch", "  spaced  ", "Ω" * 100])
def test_unicode_region_names_are_accepted_and_trimmed(api, name):
    response = api.post("/ipam/regions", {"country": "Japan", "region_name": name}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["region_name"] == name.strip()
    assert Region.objects.get().region_name == name.strip()


RAW_BODIES = [
    ("array", b"[]", "validation_error"),
    ("string", b'"US"', "validation_error"),
    ("number", b"42", "validation_error"),
    ("null", b"null", "validation_error"),
    ("empty", b"", "validation_error"),
    ("truncated", b'{"country": "US"', "parse_error"),
    ("not UTF-8", b'{"country": "\xff\xfe", "region_name": "r"}', "parse_error"),
    ("lone surrogate", b'{"country": "US", "region_name": "\\ud800"}', "parse_error"),
    ("lone surrogate key", b'{"country": "US", "region_name": "r", "tags": {"\\udfff": "v"}}', "parse_error"),
    ("NUL escape", b'{"country": "US", "region_name": "a\\u0000"}', "parse_error"),
    ("NaN", b'{"country": "US", "region_name": NaN}', "parse_error"),
    ("deep nesting", b'{"tags": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "parse_error"),
    ("huge number", b'{"country": "US", "region_name": ' + b"9" * 5000 + b"}", "parse_error"),
]


@pytest.mark.parametrize(("case", "raw", "code"), RAW_BODIES, ids=[row[0] for row in RAW_BODIES])
def test_malformed_json_bodies_are_400(api, case, raw, code):
    response = api.generic("POST", "/ipam/regions", raw, content_type="application/json")
    _assert_error(response, 400, code)
    assert not Region.objects.exists()


def test_unsupported_content_type_is_415(api):
    response = api.generic("POST", "/ipam/regions", "country=US", content_type="text/plain")
    _assert_error(response, 415, "unsupported_media_type")


FORM = "application/x-www-form-urlencoded"


def test_form_encoded_bodies_work_like_json(api, alice):
    response = api.post("/ipam/regions", {"country": "US", "region_name": "from-a-form"})  # multipart
    assert response.status_code == 201
    response = api.generic("POST", "/ipam/regions", "country=Japan&region_name=urlencoded", content_type=FORM)
    assert response.status_code == 201, response.json()
    region = Region.objects.get(region_name="urlencoded")
    response = api.generic("PATCH", f"/ipam/regions/{region.pk}", "description=d&owner=o", content_type=FORM)
    assert response.status_code == 200, response.json()
    region.refresh_from_db()
    assert (region.description, region.owner) == ("d", "o")
    response = api.generic("POST", "/ipam/hosts", f"region_id={region.pk}&hostname=web", content_type=FORM)
    assert response.status_code == 201 and response.json()["ip_address"] == "10.46.0.1"
    response = api.generic("POST", "/ipam/regions", "country=US&region_name=a%00b", content_type=FORM)
    _assert_error(response, 400, "validation_error")


HOST_BODIES = [
    ("region_id number", {"region_id": 10**40, "hostname": "h"}, 400, "validation_error"),
    ("region_id small number", {"region_id": 7, "hostname": "h"}, 404, "region_not_found"),
    ("region_id negative", {"region_id": -1, "hostname": "h"}, 400, "validation_error"),
    ("region_id array", {"region_id": [], "hostname": "h"}, 400, "validation_error"),
    ("region_id null", {"region_id": None, "hostname": "h"}, 400, "validation_error"),
    ("region_id not a uuid", {"region_id": "nope", "hostname": "h"}, 400, "validation_error"),
    ("unknown region", {"region_id": "00000000-0000-0000-0000-000000000000", "hostname": "h"}, 404, "region_not_found"),
    ("hostname number", {"hostname": 42}, 400, "validation_error"),
    ("hostname unicode", {"hostname": "hôte"}, 400, "validation_error"),
    ("hostname label too long", {"hostname": "a" * 64}, 400, "validation_error"),
    ("hostname too long", {"hostname": ".".join(["a" * 60] * 5)}, 400, "validation_error"),
    ("hostname null", {"hostname": None}, 400, "validation_error"),
    ("device_type unknown", {"hostname": "h", "device_type": "Toaster"}, 400, "validation_error"),
    ("device_type number", {"hostname": "h", "device_type": 1}, 400, "validation_error"),
    ("notes too long", {"hostname": "h", "notes": "n" * 2001}, 400, "validation_error"),
    ("os_type object", {"hostname": "h", "os_type": {"name": "linux"}}, 400, "validation_error"),
    ("purpose null", {"hostname": "h", "purpose": None}, 400, "validation_error"),
]


@pytest.mark.parametrize(("case", "body", "status", "code"), HOST_BODIES, ids=[row[0] for row in HOST_BODIES])
def test_bad_host_bodies_are_4xx(api, alice, case, body, status, code):
    region = make_region(alice)
    response = api.post("/ipam/hosts", {"region_id": str(region.pk), **body}, format="json")
    _assert_error(response, status, code)
    assert not Host.objects.exists()


BATCH_BODIES = [
    ("count huge", {"count": 10**30}),
    ("count float", {"count": 2.5}),
    ("count infinity", {"count": float("inf")}),
    ("count negative", {"count": -3}),
    ("count zero", {"count": 0}),
    ("count 101", {"count": 101}),
    ("count bool", {"count": True}),
    ("count string", {"count": "many"}),
    ("count null", {"count": None}),
    ("prefix invalid", {"count": 2, "hostname_prefix": "bad prefix"}),
    ("prefix too long", {"count": 2, "hostname_prefix": "a" * 241}),
    ("prefix array", {"count": 2, "hostname_prefix": ["a"]}),
]


@pytest.mark.parametrize(("case", "body"), BATCH_BODIES, ids=[row[0] for row in BATCH_BODIES])
def test_bad_batch_bodies_are_400(api, alice, case, body):
    region = make_region(alice)
    payload = {"region_id": str(region.pk), "hostname_prefix": "n", **body}
    raw = json.dumps(payload).replace("Infinity", "1e400")  # a JSON number too big for a float
    response = api.generic("POST", "/ipam/hosts/batch", raw, content_type="application/json")
    _assert_error(response, 400, "validation_error")
    assert not Host.objects.exists()


PATCH_REGION = [
    ({"status": 5}, "validation_error"),
    ({"status": "gone"}, "validation_error"),
    ({"tags": None}, "validation_error"),
    ({"region_name": None}, "validation_error"),
    ({"region_name": ""}, "validation_error"),
    ({"description": ["x"]}, "validation_error"),
    ({"country": "Japan"}, "validation_error"),  # not updatable
    ({"x_octet": 9}, "validation_error"),
]


@pytest.mark.parametrize(("body", "code"), PATCH_REGION, ids=[json.dumps(row[0]) for row in PATCH_REGION])
def test_bad_region_patches_are_400_and_change_nothing(api, alice, body, code):
    region = make_region(alice, "India", "keep")
    response = api.patch(f"/ipam/regions/{region.pk}", body, format="json")
    _assert_error(response, 400, code)
    region.refresh_from_db()
    assert (region.region_name, region.country.code, region.x_octet) == ("keep", "IN", 0)
    assert not AuditLog.objects.filter(action_type="update").exists()


PATCH_HOST = [{"status": "gone"}, {"hostname": "Bad_Name"}, {"tags": {"k": 1}}, {"device_type": "x"}, {"ip_address": "10.0.0.9"}]


@pytest.mark.parametrize("body", PATCH_HOST, ids=[json.dumps(row) for row in PATCH_HOST])
def test_bad_host_patches_are_400(api, alice, body):
    host = make_host(alice, make_region(alice), hostname="keep")
    _assert_error(api.patch(f"/ipam/hosts/{host.pk}", body, format="json"), 400, "validation_error")
    host.refresh_from_db()
    assert (host.hostname, host.ip_address) == ("keep", "10.0.0.1")


def test_interpret_rejects_non_strings_and_odd_addresses(api):
    for body in ({"ip_address": 167772161}, {"ip_address": None}, {"ip_address": ["10.0.0.1"]}, {}):
        _assert_error(api.post("/ipam/interpret", body, format="json"), 400, "validation_error")
    for address in ("10.0.0", "10.0.0.256", "192.168.0.1", "１０.０.０.１", "10.0.0.1 x", "10.0.0.1/24", " "):
        _assert_error(api.post("/ipam/interpret", {"ip_address": address}, format="json"), 400, "validation_error")
    _assert_error(api.post("/ipam/interpret", {"ip_address": "10.0.0.1\x00"}, format="json"), 400, "parse_error")
    assert api.post("/ipam/interpret", {"ip_address": " 10.1.2.3 "}, format="json").json()["ip_address"] == "10.1.2.3"


# --- Query strings and path parameters ------------------------------------------------------------
QUERIES = [
    ("/ipam/regions?page=0", 400),
    ("/ipam/regions?page=-1", 400),
    ("/ipam/regions?page=abc", 400),
    ("/ipam/regions?page=1e3", 400),
    ("/ipam/regions?page=2", 404),
    ("/ipam/regions?page=" + "9" * 40, 404),
    ("/ipam/regions?page_size=0", 400),
    ("/ipam/regions?page_size=1001", 400),
    ("/ipam/regions?page_size=" + "9" * 40, 400),
    ("/ipam/regions?page_size=ten", 400),
    ("/ipam/regions?utilization_gte=abc", 400),
    ("/ipam/regions?utilization_gte=1e400", 400),
    ("/ipam/regions?utilization_lte=-1e400", 400),
    ("/ipam/regions?utilization_gte=101", 400),
    ("/ipam/regions?utilization_lte=NaN", 400),
    ("/ipam/regions?utilization_gte=Infinity", 400),
    ("/ipam/regions?created_after=yesterday", 400),
    ("/ipam/regions?created_before=2025-13-45", 400),
    ("/ipam/regions?status=bogus", 400),
    ("/ipam/regions?tag=novalue", 400),
    ("/ipam/regions?tag=a:b&tag=bad", 400),
    ("/ipam/regions?tag=a:b&tag=c:%00", 400),
    ("/ipam/regions?tag=bad%20key:v", 400),
    ("/ipam/regions?name=%00", 400),
    ("/ipam/regions?country=%00", 400),
    ("/ipam/regions?owner=%00", 400),
    ("/ipam/regions?continent=%00", 400),
    ("/ipam/regions?ordering=nonexistent", 200),
    ("/ipam/regions?ordering=-region_name,,", 200),
    ("/ipam/regions?name=%FF%FE", 200),
    ("/ipam/regions?name=%E6%9D%B1", 200),
    ("/ipam/regions/preview-next", 400),
    ("/ipam/regions/preview-next?country=", 400),
    ("/ipam/regions/preview-next?country=%00", 400),
    ("/ipam/regions/preview-next?country=Atlantis", 404),
    ("/ipam/hosts?region_id=nope", 400),
    ("/ipam/hosts?region_id=%00", 400),
    ("/ipam/hosts?ip_address=10.0.0", 400),
    ("/ipam/hosts?ip_address=8.8.8.8", 400),
    ("/ipam/hosts?device_type=Toaster", 400),
    ("/ipam/hosts?hostname=%00", 400),
    ("/ipam/hosts?page=5", 404),
    ("/ipam/hosts/preview-next", 400),
    ("/ipam/hosts/preview-next?region_id=nope", 400),
    ("/ipam/hosts/preview-next?region_id=00000000-0000-0000-0000-000000000000", 404),
    ("/ipam/hosts/by-ip/not-an-ip", 400),
    ("/ipam/hosts/by-ip/10.0.0.1%00", 400),
    ("/ipam/hosts/by-ip/%EF%BC%91%EF%BC%90.0.0.1", 400),
    ("/ipam/hosts/by-ip/10.0.0.999", 400),
    ("/ipam/countries?continent=%00", 400),
    ("/ipam/countries?continent=Atlantis", 200),
    ("/ipam/countries/%00", 404),
    ("/ipam/countries/%FF", 404),
    ("/ipam/countries/" + "x" * 5000, 404),
    ("/ipam/countries/%00/utilization", 404),
    ("/ipam/regions/not-a-uuid", 404),
    ("/ipam/regions/00000000-0000-0000-0000-000000000000", 404),
    ("/ipam/regions/00000000-0000-0000-0000-000000000000/utilization", 404),
    ("/ipam/hosts/00000000-0000-0000-0000-000000000000", 404),
    ("/ipam/nothing-here", 404),
]


@pytest.mark.parametrize(("url", "status"), QUERIES, ids=[row[0] for row in QUERIES])
def test_odd_queries_and_paths_are_never_500(api, alice, url, status):
    make_region(alice)
    response = api.get(url)
    if status == 200:
        assert response.status_code == 200, response.content[:300]
    else:
        _assert_error(response, status)


def test_page_beyond_the_last_is_404_with_the_standard_body(api, alice):
    for _ in range(3):
        make_region(alice)
    assert api.get("/ipam/regions?page_size=2&page=2").status_code == 200
    response = api.get("/ipam/regions?page_size=2&page=3")
    _assert_error(response, 404, "not_found")
    assert "page" in response.json()["message"].lower()


DELETES = [
    ("", 400),
    ("?reason=", 400),
    ("?reason=%20%20", 400),
    ("?reason=" + "r" * 501, 400),
    ("?reason=%00", 400),
    ("?reason=ok&cascade=maybe", 400),
    ("?reason=ok&cascade=2", 400),
]


@pytest.mark.parametrize(("query", "status"), DELETES, ids=[row[0][:30] for row in DELETES])
def test_bad_retire_queries_are_400_and_keep_the_region(api, alice, query, status):
    region = make_region(alice)
    _assert_error(api.delete(f"/ipam/regions/{region.pk}{query}"), status)
    assert Region.objects.filter(pk=region.pk).exists()


def test_bad_host_retire_reason_is_400(api, alice):
    host = make_host(alice, make_region(alice))
    _assert_error(api.delete(f"/ipam/hosts/{host.pk}?reason=" + "r" * 501), 400)
    _assert_error(api.delete(f"/ipam/hosts/{host.pk}?reason=%00"), 400)
    assert Host.objects.filter(pk=host.pk).exists()


# --- Every method, with and without the trailing slash --------------------------------------------
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
ENDPOINTS = [
    ("/ipam/countries", {"GET", "HEAD", "OPTIONS"}),
    ("/ipam/countries/IN", {"GET", "HEAD", "OPTIONS"}),
    ("/ipam/countries/IN/utilization", {"GET", "HEAD", "OPTIONS"}),
    ("/ipam/regions", {"GET", "POST", "HEAD", "OPTIONS"}),
    ("/ipam/regions/preview-next?country=IN", {"GET", "HEAD", "OPTIONS"}),
    ("/ipam/regions/{region}", {"GET", "PATCH", "DELETE", "HEAD", "OPTIONS"}),
    ("/ipam/regions/{region}/utilization", {"GET", "HEAD", "OPTIONS"}),
    ("/ipam/hosts", {"GET", "POST", "HEAD", "OPTIONS"}),
    ("/ipam/hosts/batch", {"POST", "OPTIONS"}),
    ("/ipam/hosts/preview-next?region_id={region}", {"GET", "HEAD", "OPTIONS"}),
    ("/ipam/hosts/by-ip/10.0.0.1", {"GET", "HEAD", "OPTIONS"}),
    ("/ipam/hosts/{host}", {"GET", "PATCH", "DELETE", "HEAD", "OPTIONS"}),
    ("/ipam/interpret", {"POST", "OPTIONS"}),
    ("/ipam/quotas/me", {"GET", "HEAD", "OPTIONS"}),
]


def _with_slash(url):
    path, sep, query = url.partition("?")
    return f"{path}/{sep}{query}"


@pytest.mark.parametrize(("template", "allowed"), ENDPOINTS, ids=[row[0] for row in ENDPOINTS])
def test_every_method_with_and_without_trailing_slash(client_for, admin_user, template, allowed):
    api = client_for(admin_user)
    for method in ALL_METHODS:
        statuses = []
        for slash in (False, True):
            region = make_region(admin_user)  # fresh objects: a DELETE without reason retires a host (reason is optional)
            host = make_host(admin_user, region)
            url = template.format(region=region.pk, host=host.pk)
            variant = _with_slash(url) if slash else url
            # Empty bodies: writes are refused with 400 (a POST without fields, a region DELETE without reason).
            response = api.generic(method, variant, "{}" if method in ("POST", "PATCH", "PUT") else "", content_type="application/json")
            assert response.status_code < 500, (method, variant, response.status_code)
            if method not in allowed:
                if method == "HEAD":
                    assert response.status_code == 405, (variant, response.status_code)
                else:
                    _assert_error(response, 405, "method_not_allowed")
            elif method in ("GET", "HEAD", "OPTIONS"):
                assert response.status_code == 200, (method, variant, response.status_code)
            if method == "HEAD":
                assert response.content == b""
            statuses.append(response.status_code)
        assert statuses[0] == statuses[1], (method, template, statuses)


def test_unauthenticated_odd_methods_are_401_not_500(anon):
    for method in ALL_METHODS:
        response = anon.generic(method, "/ipam/regions/", "")
        assert response.status_code in (401, 405) if method != "OPTIONS" else response.status_code in (200, 401)
        if method != "HEAD":
            assert set(response.json()) == ERROR_KEYS or method == "OPTIONS"


# --- Query counts of the lists ---------------------------------------------------------------------
@pytest.mark.parametrize("page_size", [1, 10, 60])
def test_region_list_uses_a_constant_number_of_queries(api, alice, django_assert_max_num_queries, page_size):
    for _ in range(60):
        make_region(alice, "Chile")
    with django_assert_max_num_queries(4):
        response = api.get(f"/ipam/regions?page_size={page_size}&ordering=-created_at&tag=&continent=South%20America")
    assert response.status_code == 200 and len(response.json()["results"]) == page_size


@pytest.mark.parametrize("page_size", [1, 10, 60])
def test_host_list_uses_a_constant_number_of_queries(api, alice, django_assert_max_num_queries, page_size):
    regions = [make_region(alice) for _ in range(3)]
    for i in range(60):
        make_host(alice, regions[i % 3])
    with django_assert_max_num_queries(4):
        response = api.get(f"/ipam/hosts?page_size={page_size}&country=IN")
    assert response.status_code == 200 and len(response.json()["results"]) == page_size
    assert all(item["country"] == "India" and item["region_name"] for item in response.json()["results"])


def test_country_list_uses_a_constant_number_of_queries(api, alice, django_assert_max_num_queries):
    for country in ("India", "Japan", "Chile"):
        make_region(alice, country)
    with django_assert_max_num_queries(4):
        response = api.get("/ipam/countries")
    assert response.status_code == 200 and len(response.json()) == 18


# --- Last lines of defence -------------------------------------------------------------------------
def test_a_value_the_database_refuses_is_a_400_not_a_500():
    from django.db import DataError

    from foundation.errors import exception_handler

    response = exception_handler(DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"), {})
    assert response.status_code == 400 and response.data["error"] == "invalid_value"


def test_unrouted_paths_and_crashes_use_the_standard_body(anon, api, rf, settings):
    from foundation.errors import json_server_error

    response = anon.get("/no/such/path")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    settings.DEBUG = True  # `make run`: API paths still answer JSON
    for method in ("GET", "POST", "PATCH", "DELETE"):
        response = api.generic(method, "/ipam/regions/not-a-uuid/", "{}", content_type="application/json")
        assert response.status_code == 404 and response.json()["error"] == "not_found", method
    crash = json_server_error(rf.get("/ipam/regions"))
    assert crash.status_code == 500 and json.loads(crash.content)["error"] == "server_error"
