"""The authorization matrix: every operation in the OpenAPI schema (and every other URL route) has an entry.

Each entry says who may call it: `public` (no login), or the IPAM permission it needs (`read`, `allocate`,
`update`, `release`, `admin`), and whether its path names one of the caller's own objects (another user's
object answers 404, never 403). The tests check, for every entry:

- unauthenticated → 401 `not_authenticated` (public ones excepted);
- a user without the needed permission → 403 `insufficient_permissions` (admin-only ones refuse operators);
- another user's object → 404 `not_found`;

and `test_every_route_has_a_matrix_entry` fails when a route is added without an entry here.
"""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

import pytest
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from tests.factories import UserFactory, make_host, make_region

PUBLIC = "public"
# (METHOD, schema path) -> (needed permission or PUBLIC, the path names the caller's own object)
MATRIX: dict[tuple[str, str], tuple[str, bool]] = {
    ("POST", "/auth/token"): (PUBLIC, False),
    ("POST", "/auth/token/refresh"): (PUBLIC, False),
    ("POST", "/auth/logout"): (PUBLIC, False),  # proves itself with the refresh token in the body
    ("GET", "/auth/tokens"): ("read", False),
    ("POST", "/auth/tokens"): ("read", False),
    ("GET", "/auth/tokens/{token_id}"): ("read", True),
    ("DELETE", "/auth/tokens/{token_id}"): ("read", True),
    ("GET", "/health"): (PUBLIC, False),
    ("GET", "/ipam/health"): (PUBLIC, False),
    ("GET", "/ipam/shares/{share_key}"): (PUBLIC, False),  # the public share view, by token
    ("GET", "/ipam/admin/quotas"): ("admin", False),
    ("GET", "/ipam/admin/quotas/{user_id}"): ("admin", False),
    ("PATCH", "/ipam/admin/quotas/{user_id}"): ("admin", False),
    ("GET", "/ipam/audit"): ("read", False),
    ("POST", "/ipam/audit/export"): ("read", False),
    ("GET", "/ipam/audit/history"): ("read", False),
    ("GET", "/ipam/audit/history/{ip_address}"): ("read", False),  # a query over the caller's own audit rows
    ("GET", "/ipam/bulk/jobs/{job_id}"): ("read", True),
    ("GET", "/ipam/import/jobs/{job_id}"): ("read", True),
    ("POST", "/ipam/bulk/tags"): ("update", False),
    ("GET", "/ipam/countries"): ("read", False),
    ("GET", "/ipam/countries/{country}"): ("read", False),
    ("GET", "/ipam/countries/{country}/utilization"): ("read", False),
    ("GET", "/ipam/dashboard/recent-activity"): ("read", False),
    ("GET", "/ipam/dashboard/stats"): ("read", False),
    ("GET", "/ipam/dashboard/top-countries"): ("read", False),
    ("POST", "/ipam/export"): ("read", False),
    ("GET", "/ipam/export/{job_id}"): ("read", True),
    ("GET", "/ipam/export/{job_id}/download"): ("read", True),
    ("GET", "/ipam/hosts"): ("read", False),
    ("POST", "/ipam/hosts"): ("allocate", False),
    ("GET", "/ipam/hosts/{host_id}"): ("read", True),
    ("PATCH", "/ipam/hosts/{host_id}"): ("update", True),
    ("DELETE", "/ipam/hosts/{host_id}"): ("release", True),
    ("GET", "/ipam/hosts/{host_id}/comments"): ("read", True),
    ("POST", "/ipam/hosts/{host_id}/comments"): ("update", True),
    ("POST", "/ipam/hosts/batch"): ("allocate", False),
    ("POST", "/ipam/hosts/bulk-lookup"): ("read", False),
    ("POST", "/ipam/hosts/bulk-release"): ("release", False),
    ("GET", "/ipam/hosts/by-ip/{ip_address}"): ("read", True),
    ("GET", "/ipam/hosts/preview-next"): ("read", False),
    ("POST", "/ipam/import"): ("allocate", False),
    ("POST", "/ipam/import/preview"): ("allocate", False),
    ("POST", "/ipam/interpret"): ("update", False),
    ("GET", "/ipam/notifications"): ("read", False),
    ("GET", "/ipam/notifications/{notification_id}"): ("read", True),
    ("PATCH", "/ipam/notifications/{notification_id}"): ("read", True),
    ("DELETE", "/ipam/notifications/{notification_id}"): ("read", True),
    ("POST", "/ipam/notifications/mark-all-read"): ("read", False),
    ("GET", "/ipam/notifications/rules"): ("read", False),
    ("POST", "/ipam/notifications/rules"): ("update", False),
    ("GET", "/ipam/notifications/rules/{rule_id}"): ("read", True),
    ("PATCH", "/ipam/notifications/rules/{rule_id}"): ("update", True),
    ("DELETE", "/ipam/notifications/rules/{rule_id}"): ("update", True),
    ("GET", "/ipam/notifications/unread"): ("read", False),
    ("GET", "/ipam/preferences"): ("read", False),
    ("PUT", "/ipam/preferences"): ("read", False),
    ("GET", "/ipam/preferences/filters"): ("read", False),
    ("POST", "/ipam/preferences/filters"): ("read", False),
    ("DELETE", "/ipam/preferences/filters/{filter_id}"): ("read", True),
    ("GET", "/ipam/quotas/me"): ("read", False),
    ("GET", "/ipam/regions"): ("read", False),
    ("POST", "/ipam/regions"): ("allocate", False),
    ("GET", "/ipam/regions/{region_id}"): ("read", True),
    ("PATCH", "/ipam/regions/{region_id}"): ("update", True),
    ("DELETE", "/ipam/regions/{region_id}"): ("release", True),
    ("GET", "/ipam/regions/{region_id}/comments"): ("read", True),
    ("POST", "/ipam/regions/{region_id}/comments"): ("update", True),
    ("GET", "/ipam/regions/{region_id}/utilization"): ("read", True),
    ("GET", "/ipam/regions/preview-next"): ("read", False),
    ("GET", "/ipam/reservations"): ("read", False),
    ("POST", "/ipam/reservations"): ("allocate", False),
    ("GET", "/ipam/reservations/{reservation_id}"): ("read", True),
    ("DELETE", "/ipam/reservations/{reservation_id}"): ("release", True),
    ("POST", "/ipam/reservations/{reservation_id}/convert"): ("allocate", True),
    ("GET", "/ipam/search"): ("read", False),
    ("GET", "/ipam/shares"): ("read", False),
    ("POST", "/ipam/shares"): ("update", False),
    ("DELETE", "/ipam/shares/{share_key}"): ("update", True),  # revoke, by share_id
    ("GET", "/ipam/statistics/allocation-velocity"): ("read", False),
    ("GET", "/ipam/statistics/continent/{continent}"): ("read", False),
    ("GET", "/ipam/statistics/dashboard"): ("read", False),
    ("GET", "/ipam/statistics/forecast/{resource_type}/{resource_id}"): ("read", True),
    ("GET", "/ipam/statistics/top-utilized"): ("read", False),
    ("GET", "/ipam/statistics/trends"): ("read", False),
    ("GET", "/ipam/webhooks"): ("read", False),
    ("POST", "/ipam/webhooks"): ("update", False),
    ("GET", "/ipam/webhooks/{webhook_id}"): ("read", True),
    ("PATCH", "/ipam/webhooks/{webhook_id}"): ("update", True),
    ("DELETE", "/ipam/webhooks/{webhook_id}"): ("update", True),
    ("GET", "/ipam/webhooks/{webhook_id}/deliveries"): ("read", True),
    ("POST", "/ipam/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): ("update", True),
    ("POST", "/ipam/webhooks/{webhook_id}/rotate-secret"): ("update", True),
    ("POST", "/ipam/webhooks/{webhook_id}/test"): ("update", True),
}

# URL routes outside the OpenAPI schema, by their regex in the URLconf, and who may use them.
ROUTES_OUTSIDE_SCHEMA = {
    "admin/login/": "Django admin login (public, behind the login rate limit)",
    "admin/": "Django admin (staff session login)",
    "^openapi\\.json$": PUBLIC,
    "^docs/?$": PUBLIC,
    "^redoc/?$": PUBLIC,
    "": "public: the front door (links to the console, API docs, health)",
    "^metrics/?$": "public unless IPAM_METRICS_TOKEN is set (then bearer token)",
    "^ipam/": "catch-all: standard 404 body for unknown API paths",
}

PERMISSION_ORDER = ["read", "allocate", "update", "release", "admin"]

pytestmark = pytest.mark.django_db


def _schema_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }


def _top_level_route_regexes() -> set[str]:
    found = set()
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and str(entry.pattern) == "ipam/":
            continue  # the API apps: every route in them is in the schema (checked below)
        if isinstance(entry, (URLPattern, URLResolver)):
            found.add(str(entry.pattern))
    return found


def test_every_schema_operation_has_a_matrix_entry_and_no_entry_is_stale():
    operations = _schema_operations()
    assert sorted(operations - set(MATRIX)) == [], "add these operations to MATRIX"
    assert sorted(set(MATRIX) - operations) == [], "these MATRIX entries no longer exist"


def test_every_route_has_a_matrix_entry():
    """Routes under /ipam/ that the schema does not show (and other top-level routes) must be listed too."""
    schema_paths = {path for _, path in MATRIX}
    api_routes: set[str] = set()
    for entry in get_resolver().url_patterns:  # the top-level API routes outside /ipam/ are in the schema too
        pattern = str(entry.pattern)
        if isinstance(entry, URLPattern) and pattern.startswith("^auth/"):
            sample = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern).replace("^", "").replace("$", "").replace("/?", "")
            assert "/" + sample in schema_paths, f"route {pattern!r} has no MATRIX entry"

    def walk(patterns: list[Any], prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            else:
                api_routes.add(prefix + str(entry.pattern))

    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and str(entry.pattern) == "ipam/":
            walk(entry.url_patterns, "ipam/")
    for route in api_routes:
        # a concrete path the route matches: parameters become a sample value
        sample = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
        sample = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", sample)
        sample = "/" + sample.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".").replace("ipam/^", "ipam/")
        sample = sample.rstrip("/")
        if "format" in sample or "(" in sample:
            continue  # DRF format-suffix variants of listed routes
        assert sample in schema_paths, f"route {route!r} ({sample}) has no MATRIX entry"
    assert _top_level_route_regexes() == set(ROUTES_OUTSIDE_SCHEMA) | {
        "^auth/token/?$",
        "^auth/token/refresh/?$",
        "^auth/logout/?$",
        "^auth/tokens/?$",
        "^auth/tokens/(?P<token_id>[^/]+)/?$",
        "^health/?$",
        "^ipam/health/?$",
    }


@pytest.fixture
def nobody(db: Any) -> Any:
    """Logged in, but in no IPAM group: no permission at all."""
    return UserFactory(username="nobody")


@pytest.fixture
def alice_objects(alice: Any, client_for: Any, django_capture_on_commit_callbacks: Any) -> dict[str, str]:
    """One of each of alice's objects, by the path parameter that names it."""
    from ipam.models import BulkJob, ExportJob, ImportJob
    from notifications.services import notification_create
    from webhooks.services import webhook_create, webhook_test

    region = make_region(alice, country="India")
    host = make_host(alice, region)
    client = client_for(alice)
    reservation = client.post(
        "/ipam/reservations", {"resource_type": "region", "reason": "planned", "x_octet": 0, "y_octet": 7}, format="json"
    ).json()
    share = client.post("/ipam/shares", {"resource_type": "region", "resource_id": str(region.pk)}, format="json").json()
    rule = client.post(
        "/ipam/notifications/rules",
        {"rule_name": "r", "conditions": {"utilization_threshold": 90}, "notification_channels": ["in_app"]},
        format="json",
    ).json()
    saved = client.post("/ipam/preferences/filters", {"name": "f", "criteria": {}}, format="json").json()
    notification = notification_create(user=alice, notification_type="capacity", severity="info", message="m")
    with override_settings(IPAM_WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"]):
        webhook, _ = webhook_create(actor=alice, webhook_url="http://127.0.0.1:9/hook", events=["region.created"])
        delivery = webhook_test(actor=alice, webhook_id=webhook.pk)
    expires = timezone.now() + datetime.timedelta(days=1)
    export = ExportJob.objects.create(user=alice, format="json", status="completed", content=b"[]", expires_at=expires)
    bulk = BulkJob.objects.create(user=alice, operation="tags", params={}, total=0)
    token = client.post("/auth/tokens", {"name": "ci", "scope": "write"}, format="json").json()
    imported = ImportJob.objects.create(user=alice, format="csv", mode="auto", content=b"country,region_name\n", expires_at=expires)
    assert notification is not None and "reservation_id" in reservation and "share_id" in share, (reservation, share)
    return {
        "region_id": str(region.pk),
        "host_id": str(host.pk),
        "ip_address": str(host.ip_address),
        "reservation_id": reservation["reservation_id"],
        "share_key": share["share_id"],
        "rule_id": rule["rule_id"],
        "filter_id": saved["filter_id"],
        "notification_id": str(notification.pk),
        "webhook_id": str(webhook.pk),
        "delivery_id": str(delivery.pk),
        "job_id": str(export.pk),
        "bulk_job_id": str(bulk.pk),
        "token_id": token["id"],
        "import_job_id": str(imported.pk),
        "resource_type": "region",
        "resource_id": str(region.pk),
        "user_id": str(alice.pk),
        "country": "IN",
        "continent": "Asia",
    }


def _url(path: str, values: dict[str, str]) -> str:
    if path.startswith("/ipam/bulk/jobs/"):
        values = {**values, "job_id": values["bulk_job_id"]}
    if path.startswith("/ipam/import/jobs/"):
        values = {**values, "job_id": values["import_job_id"]}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


PLACEHOLDERS = {
    "region_id": str(uuid.UUID(int=1)),
    "host_id": str(uuid.UUID(int=2)),
    "ip_address": "10.0.0.1",
    "reservation_id": str(uuid.UUID(int=3)),
    "share_key": str(uuid.UUID(int=4)),
    "rule_id": str(uuid.UUID(int=5)),
    "filter_id": str(uuid.UUID(int=6)),
    "notification_id": str(uuid.UUID(int=7)),
    "webhook_id": str(uuid.UUID(int=8)),
    "delivery_id": str(uuid.UUID(int=9)),
    "job_id": str(uuid.UUID(int=10)),
    "bulk_job_id": str(uuid.UUID(int=11)),
    "token_id": str(uuid.UUID(int=13)),
    "import_job_id": str(uuid.UUID(int=13)),
    "resource_type": "region",
    "resource_id": str(uuid.UUID(int=12)),
    "user_id": "1",
    "country": "IN",
    "continent": "Asia",
}


# A valid query string / body where the view validates it before looking the object up (so the lookup decides).
VALID_QUERIES = {("DELETE", "/ipam/regions/{region_id}"): "?reason=decommissioned"}
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/ipam/notifications/{notification_id}"): {"is_read": True},
    ("POST", "/ipam/hosts/{host_id}/comments"): {"text": "hello"},
    ("POST", "/ipam/regions/{region_id}/comments"): {"text": "hello"},
}


def _call(client: Any, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    if method == "GET" or (method == "DELETE" and not body):
        return getattr(client, method.lower())(url)
    return getattr(client, method.lower())(url, data=body or {}, format="json")


PROTECTED = sorted(key for key, (perm, _) in MATRIX.items() if perm != PUBLIC)


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_unauthenticated_callers_get_401(anon, method, path):
    response = _call(anon, method, _url(path, PLACEHOLDERS))
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "not_authenticated"


def _user_lacking(perm: str, nobody: Any, reader: Any, alice: Any) -> Any:
    return {"read": nobody, "allocate": reader, "update": reader, "release": reader, "admin": alice}[perm]


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_callers_without_the_permission_get_403_insufficient_permissions(client_for, nobody, reader, alice, method, path):
    perm = MATRIX[(method, path)][0]
    response = _call(client_for(_user_lacking(perm, nobody, reader, alice)), method, _url(path, PLACEHOLDERS))
    assert response.status_code == 403, response.content
    body = response.json()
    assert body["error"] == "insufficient_permissions"
    assert body["details"]["required_permission"] == perm


ADMIN_ONLY = sorted(key for key, (perm, _) in MATRIX.items() if perm == "admin")


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY, ids=[f"{m} {p}" for m, p in ADMIN_ONLY])
def test_admin_only_endpoints_refuse_operators_and_admit_admins(client_for, alice, admin_user, method, path):
    assert _call(client_for(alice), method, _url(path, PLACEHOLDERS)).status_code == 403
    values = {**PLACEHOLDERS, "user_id": str(alice.pk)}
    response = _call(client_for(admin_user), method, _url(path, values), ADMIN_BODIES.get((method, path)))
    assert response.status_code == 200, response.content
    if method == "PATCH":  # the valid body took effect
        assert client_for(admin_user).get(_url(path, values)).json()["regions"]["limit"] == 7


ADMIN_BODIES: dict[tuple[str, str], dict[str, Any]] = {("PATCH", "/ipam/admin/quotas/{user_id}"): {"region_limit": 7}}


def _data_snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the apps' own tables (IPAM, enhancement stores, notifications, webhooks), by model."""
    from django.apps import apps
    from django.forms.models import model_to_dict

    tables: dict[str, list[dict[str, Any]]] = {}
    for model in apps.get_models():
        if model._meta.app_label in ("ipam", "enhancements", "notifications", "webhooks") and model._meta.managed:
            rows = [{**model_to_dict(row), "pk": row.pk} for row in model.objects.order_by("pk")]
            tables[model._meta.label] = [{k: repr(v) for k, v in row.items()} for row in rows]
    return tables


OWNED = sorted(key for key, (_, owned) in MATRIX.items() if owned)


@pytest.mark.parametrize(("method", "path"), OWNED, ids=[f"{m} {p}" for m, p in OWNED])
def test_another_users_object_answers_404(client_for, alice_objects, alice, bob, method, path):
    values = alice_objects
    before = _data_snapshot() if method != "GET" else None
    response = _call(client_for(bob), method, _url(path, values) + VALID_QUERIES.get((method, path), ""), VALID_BODIES.get((method, path)))
    assert response.status_code == 404, response.content
    assert response.json()["error"].endswith("not_found")
    if before is not None:  # a refused write changed nothing: not alice's object, not anything else
        after = _data_snapshot()
        assert after == before, {label: (before.get(label), rows) for label, rows in after.items() if before.get(label) != rows}
    if method == "GET":  # the owner still reaches it
        assert client_for(alice).get(_url(path, values)).status_code == 200


def test_another_users_address_history_is_empty(client_for, alice_objects, alice, bob):
    url = f"/ipam/audit/history/{alice_objects['ip_address']}"
    assert client_for(bob).get(url).json()["results"] == []
    assert client_for(alice).get(url).json()["results"] != []


@pytest.mark.parametrize("url", ["/openapi.json", "/docs", "/health", "/ipam/health", "/metrics"])
def test_public_routes_outside_the_schema_answer_without_login(anon, url):
    assert anon.get(url).status_code == 200


# Conditional writes (`If-Match`, issue 17): the precondition is checked only after authentication, the
# permission and the ownership lookup, so the header never changes who may do what and never reveals an ETag.
CONDITIONAL_WRITES = [
    ("DELETE", "/ipam/hosts/{host_id}"),
    ("DELETE", "/ipam/notifications/rules/{rule_id}"),
    ("DELETE", "/ipam/notifications/{notification_id}"),
    ("DELETE", "/ipam/preferences/filters/{filter_id}"),
    ("DELETE", "/ipam/regions/{region_id}"),
    ("DELETE", "/ipam/reservations/{reservation_id}"),
    ("DELETE", "/ipam/webhooks/{webhook_id}"),
    ("PATCH", "/ipam/admin/quotas/{user_id}"),
    ("PATCH", "/ipam/hosts/{host_id}"),
    ("PATCH", "/ipam/notifications/rules/{rule_id}"),
    ("PATCH", "/ipam/notifications/{notification_id}"),
    ("PATCH", "/ipam/regions/{region_id}"),
    ("PATCH", "/ipam/webhooks/{webhook_id}"),
    ("PUT", "/ipam/preferences"),
]


def test_the_conditional_writes_are_exactly_the_operations_documenting_if_match():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = sorted(
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(parameter.get("name") == "If-Match" for parameter in operation.get("parameters", []))
    )
    assert documented == sorted(CONDITIONAL_WRITES)


@pytest.mark.parametrize(("method", "path"), CONDITIONAL_WRITES, ids=[f"{m} {p}" for m, p in CONDITIONAL_WRITES])
def test_if_match_never_bypasses_or_precedes_authorization(anon, client_for, nobody, reader, alice, bob, alice_objects, method, path):
    def call(client: Any, values: dict[str, str]) -> Any:
        url = _url(path, values) + VALID_QUERIES.get((method, path), "")
        body = VALID_BODIES.get((method, path))
        if method == "DELETE" and not body:
            return client.delete(url, HTTP_IF_MATCH='"stale"')
        return getattr(client, method.lower())(url, data=body or {}, format="json", HTTP_IF_MATCH='"stale"')

    assert call(anon, PLACEHOLDERS).status_code == 401
    perm, owned = MATRIX[(method, path)]
    assert call(client_for(_user_lacking(perm, nobody, reader, alice)), PLACEHOLDERS).status_code == 403
    if owned:
        refused = call(client_for(bob), alice_objects)
        assert refused.status_code == 404 and "current_etag" not in refused.json()["details"]
        stale = call(client_for(alice), alice_objects)  # the owner, with a tag that does not match
        assert stale.status_code == 412 and stale.json()["error"] == "precondition_failed"


# --- API tokens (issue 17): a token acts as its user, capped by its scope ------------------------------------


def _token_client(owner_client: Any, scope: str) -> Any:
    from rest_framework.test import APIClient

    secret = owner_client.post("/auth/tokens", {"name": f"{scope} token", "scope": scope}, format="json").json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


WRITES = sorted(key for key, (perm, _) in MATRIX.items() if perm != PUBLIC and key[0] != "GET")
READS = sorted(key for key, (perm, _) in MATRIX.items() if perm not in (PUBLIC, "admin") and key[0] == "GET")


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_a_read_token_is_refused_every_write_with_403(client_for, alice, alice_objects, method, path):
    client = _token_client(client_for(alice), "read")
    response = _call(client, method, _url(path, alice_objects) + VALID_QUERIES.get((method, path), ""), VALID_BODIES.get((method, path)))
    assert response.status_code == 403, response.content
    assert response.json()["error"] == "token_read_only"


@pytest.mark.parametrize(("method", "path"), READS, ids=[f"{m} {p}" for m, p in READS])
def test_a_read_token_reads_exactly_what_its_user_reads(client_for, alice, alice_objects, method, path):
    url = _url(path, alice_objects)
    expected = client_for(alice).get(url)
    response = _token_client(client_for(alice), "read").get(url)
    assert response.status_code == expected.status_code, response.content
    assert response.status_code not in (401, 403)


def test_a_write_token_writes_as_its_user_and_never_beyond_the_users_permissions(client_for, alice, reader):
    created = _token_client(client_for(alice), "write").post("/ipam/regions", {"country": "IN", "region_name": "by-token"}, format="json")
    assert created.status_code == 201, created.content
    region_id = created.json()["region_id"]
    assert client_for(alice).get(f"/ipam/regions/{region_id}").status_code == 200  # alice's region
    capped = _token_client(client_for(reader), "write").post("/ipam/regions", {"country": "IN", "region_name": "nope"}, format="json")
    assert capped.status_code == 403
    assert capped.json() == {
        "error": "insufficient_permissions",
        "message": capped.json()["message"],
        "details": {"required_permission": "allocate"},
    }


def test_another_users_token_cannot_be_revoked_and_stays_usable(client_for, alice_objects, alice, bob):
    from foundation.models import ApiToken

    assert client_for(bob).delete(f"/auth/tokens/{alice_objects['token_id']}").status_code == 404
    assert ApiToken.objects.get(pk=alice_objects["token_id"]).revoked_at is None
