"""The cached IPAM permission set (ipam_project.permcache): fewer queries, never stale after a change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ipam_project.api import has_ipam_permission
from ipam_project.permcache import ipam_permissions_of


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
    from ipam_project import permcache

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache down")

    monkeypatch.setattr(permcache.cache, "get_many", broken)
    monkeypatch.setattr(permcache.cache, "incr", broken)
    assert has_ipam_permission(fresh(alice), "allocate") is True
    alice.groups.clear()  # the bump fails too: the change itself still succeeds
    assert has_ipam_permission(fresh(alice), "read") is False
