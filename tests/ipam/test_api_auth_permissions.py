"""Authentication (JWT), permissions matrix of the core endpoints, the error shape."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory, make_host, make_region

pytestmark = pytest.mark.django_db


def test_jwt_token_obtain_and_use():
    UserFactory(username="carol", password="s3cret-pass-word")
    client = APIClient()
    response = client.post("/auth/token", {"username": "carol", "password": "s3cret-pass-word"}, format="json")
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    refreshed = client.post("/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed['access']}")
    # carol has no IPAM permission: authenticated but forbidden.
    response = client.get("/ipam/regions")
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_permissions"
    assert response.json()["details"] == {"required_permission": "read"}


def test_bad_credentials_and_bad_token_are_401():
    client = APIClient()
    assert client.post("/auth/token", {"username": "x", "password": "y"}, format="json").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = client.get("/ipam/regions")
    assert response.status_code == 401
    assert set(response.json()) == {"error", "message", "details"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/ipam/countries"),
        ("get", "/ipam/regions"),
        ("post", "/ipam/regions"),
        ("get", "/ipam/hosts"),
        ("post", "/ipam/hosts"),
        ("post", "/ipam/interpret"),
        ("get", "/ipam/quotas/me"),
    ],
)
def test_unauthenticated_is_401(anon, method, path):
    response = getattr(anon, method)(path)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_reader_can_read_but_not_write(client_for, reader, alice):
    client = client_for(reader)
    assert client.get("/ipam/regions").status_code == 200
    response = client.post("/ipam/regions", {"country": "US", "region_name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["details"] == {"required_permission": "allocate"}


def test_operator_permissions_split_by_action(client_for, db):
    from django.contrib.auth.models import Permission

    allocator = UserFactory(username="allocator")
    allocator.user_permissions.add(*Permission.objects.filter(content_type__app_label="ipam", codename__in=["read", "allocate"]))
    client = client_for(allocator)
    region = client.post("/ipam/regions", {"country": "US", "region_name": "x"}, format="json").json()
    response = client.patch(f"/ipam/regions/{region['region_id']}", {"description": "d"}, format="json")
    assert response.status_code == 403 and response.json()["details"]["required_permission"] == "update"
    response = client.delete(f"/ipam/regions/{region['region_id']}?reason=x")
    assert response.status_code == 403 and response.json()["details"]["required_permission"] == "release"


def test_admin_permission_implies_all_and_superuser_too(client_for, admin_user):
    region = make_region(admin_user)
    host = make_host(admin_user, region)
    client = client_for(admin_user)
    assert client.delete(f"/ipam/hosts/{host.pk}?reason=x").status_code == 200
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert client_for(superuser).post("/ipam/regions", {"country": "ZZ", "region_name": "r"}, format="json").status_code == 201


def test_unknown_path_and_wrong_method(api):
    assert api.put("/ipam/regions/00000000-0000-0000-0000-000000000000", {}, format="json").status_code == 405
    assert api.get("/ipam/regions/00000000-0000-0000-0000-000000000000").status_code == 404
