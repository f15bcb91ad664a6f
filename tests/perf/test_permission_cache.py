"""The cached IPAM permission set (foundation.permcache): fewer queries, never stale after a change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from foundation.permcache import ipam_permissions_of
from foundation.permissions import has_ipam_permission


def fresh(user: Any) -> Any:
    return type(user).objects.get(pk=user.pk)  # a new instance: no per-instance Django permission cache


def test_a_second_request_reads_the_permission_set_without_a_query(alice: Any) -> None:
    assert ipam_permissions_of(fresh(alice)) >= {"read", "allocate"}
    user = fresh(alice)
    with CaptureQueriesContext(connection) as captured:
        assert has_ipam_permission(user, "allocate") is True
    assert len(captured) == 0


def test_leaving_a_group_takes_the_permissions_away_at_once(alice: Any, client_for: Any) -> None:
    assert has_ipam_permission(fresh(alice), "read") is True
    alice.groups.clear()
    assert has_ipam_permission(fresh(alice), "read") is False
    response = client_for(fresh(alice)).get("/ipam/regions")
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_permissions"


def test_joining_a_group_grants_its_permissions_at_once(reader: Any) -> None:
    assert has_ipam_permission(fresh(reader), "allocate") is False
    reader.groups.add(Group.objects.get(name="IPAM Operators"))
    assert has_ipam_permission(fresh(reader), "allocate") is True


def test_changing_a_groups_permissions_reaches_its_members(reader: Any) -> None:
    assert has_ipam_permission(fresh(reader), "release") is False
    readers = Group.objects.get(name="IPAM Readers")
    readers.permissions.add(Permission.objects.get(content_type__app_label="ipam", codename="release"))
    assert has_ipam_permission(fresh(reader), "release") is True
    readers.permissions.remove(Permission.objects.get(content_type__app_label="ipam", codename="release"))
    assert has_ipam_permission(fresh(reader), "release") is False


def test_a_direct_user_permission_counts_and_its_removal_too(reader: Any) -> None:
    admin = Permission.objects.get(content_type__app_label="ipam", codename="admin")
    reader.user_permissions.add(admin)
    assert has_ipam_permission(fresh(reader), "release") is True  # admin implies the others
    reader.user_permissions.remove(admin)
    assert has_ipam_permission(fresh(reader), "release") is False


def test_a_deactivated_user_has_no_permission(alice: Any) -> None:
    assert has_ipam_permission(fresh(alice), "read") is True
    alice.is_active = False
    alice.save()
    assert has_ipam_permission(fresh(alice), "read") is False


def test_a_login_does_not_invalidate_the_cached_sets(alice: Any) -> None:
    from django.contrib.auth.models import update_last_login

    ipam_permissions_of(fresh(alice))
    update_last_login(None, alice)
    with CaptureQueriesContext(connection) as captured:
        assert has_ipam_permission(fresh(alice), "read") is True
    assert [q["sql"] for q in captured if "permission" in q["sql"].lower()] == []


def test_permissions_are_checked_from_the_database_when_the_cache_fails(alice: Any, monkeypatch: Any) -> None:
    from foundation import permcache

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache down")

    monkeypatch.setattr(permcache.cache, "get_many", broken)
    monkeypatch.setattr(permcache.cache, "incr", broken)
    assert has_ipam_permission(fresh(alice), "allocate") is True
    alice.groups.clear()  # the bump fails too: the change itself still succeeds
    assert has_ipam_permission(fresh(alice), "read") is False


# --- The JWT user snapshot (permcache.request_user): one cache read, no query, never stale ----------------
def _jwt_client(user: Any) -> Any:
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def test_a_jwt_request_reads_its_user_and_permissions_without_a_query(alice: Any, django_assert_num_queries: Any) -> None:
    client = _jwt_client(alice)
    assert client.get("/ipam/statistics/dashboard").status_code == 200  # loads and caches user and dashboard
    with django_assert_num_queries(0):
        response = client.get("/ipam/statistics/dashboard")
    assert response.status_code == 200
    assert response["X-Cache"] == "HIT"


def test_the_cached_snapshot_never_holds_the_password_hash(alice: Any) -> None:
    from django.core.cache import cache

    from foundation import permcache

    permcache.request_user(alice.pk)
    stored = cache.get(f"ipam:auth:{alice.pk}")
    assert stored is not None
    assert "password" not in stored[1]
    assert alice.password not in repr(stored)


def test_saving_a_snapshot_user_keeps_the_password(alice: Any) -> None:
    from foundation import permcache

    permcache.request_user(alice.pk)
    snapshot = permcache.request_user(alice.pk)  # rebuilt from the cache, password deferred
    assert "password" in snapshot.get_deferred_fields()
    snapshot.first_name = "Alice"
    snapshot.save()
    stored = type(alice).objects.get(pk=alice.pk)
    assert stored.first_name == "Alice"
    assert stored.password == alice.password
    assert snapshot.check_password("x") is False  # reading the password loads it from the database


def test_a_deactivated_user_is_refused_on_the_next_jwt_request(alice: Any) -> None:
    client = _jwt_client(alice)
    assert client.get("/ipam/quotas/me").status_code == 200
    alice.is_active = False
    alice.save()
    response = client.get("/ipam/quotas/me")
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"


def test_a_deleted_user_is_refused_on_the_next_jwt_request(alice: Any) -> None:
    client = _jwt_client(alice)
    assert client.get("/ipam/quotas/me").status_code == 200
    type(alice).objects.filter(pk=alice.pk).delete()
    assert client.get("/ipam/quotas/me").status_code == 401


def test_losing_a_group_is_seen_by_the_next_jwt_request(alice: Any) -> None:
    client = _jwt_client(alice)
    assert client.get("/ipam/regions").status_code == 200
    alice.groups.clear()
    response = client.get("/ipam/regions")
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_permissions"


def test_a_jwt_request_is_served_from_the_database_when_the_cache_fails(alice: Any, monkeypatch: Any) -> None:
    from foundation import permcache

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache down")

    client = _jwt_client(alice)
    monkeypatch.setattr(permcache.cache, "get_many", broken)
    assert client.get("/ipam/quotas/me").status_code == 200
    alice.is_active = False
    alice.save()
    assert client.get("/ipam/quotas/me").status_code == 401
