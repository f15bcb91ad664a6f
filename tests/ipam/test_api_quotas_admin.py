"""Quota administration: admin only, reflected at once in /ipam/quotas/me and in enforcement, audited."""

from __future__ import annotations

import pytest

from ipam.models import AuditLog, UserQuota
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def test_admin_lists_every_users_limits_and_usage(client_for, admin_user, alice, bob, settings):
    settings.IPAM_DEFAULT_REGION_QUOTA = 10
    make_region(alice)
    make_region(alice)
    response = client_for(admin_user).get("/ipam/admin/quotas")
    assert response.status_code == 200
    rows = {row["username"]: row for row in response.json()["results"]}
    assert set(rows) == {"ipamadmin", "alice", "bob"}
    assert rows["alice"]["regions"] == {"limit": 10, "used": 2, "available": 8, "usage_percent": 20.0, "warning": False}
    assert rows["alice"]["region_limit"] is None and rows["alice"]["user_id"] == alice.pk
    assert rows["bob"]["hosts"]["used"] == 0 and rows["bob"]["updated_at"] is None
    filtered = client_for(admin_user).get("/ipam/admin/quotas", {"username": "ALI"}).json()
    assert [row["username"] for row in filtered["results"]] == ["alice"]


def test_admin_sets_limits_that_apply_at_once(client_for, admin_user, alice):
    region = make_region(alice)
    make_host(alice, region)
    admin = client_for(admin_user)
    response = admin.patch(f"/ipam/admin/quotas/{alice.pk}", {"host_limit": 1, "region_limit": 5}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["host_limit"] == 1 and body["hosts"]["limit"] == 1 and body["hosts"]["warning"] is True
    quota = UserQuota.objects.get(user=alice)
    assert (quota.region_limit, quota.host_limit) == (5, 1)
    me = client_for(alice).get("/ipam/quotas/me").json()
    assert me["hosts"] == {"limit": 1, "used": 1, "available": 0, "usage_percent": 100.0, "warning": True}
    assert me["regions"]["limit"] == 5
    refused = client_for(alice).post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "two"}, format="json")
    assert refused.status_code == 429 and refused.json()["details"] == {"quota_type": "hosts", "limit": 1, "current": 1}
    # null restores the default
    admin.patch(f"/ipam/admin/quotas/{alice.pk}/", {"host_limit": None}, format="json")
    assert client_for(alice).get("/ipam/quotas/me").json()["hosts"]["limit"] == 10000
    assert client_for(alice).post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "two"}, format="json").status_code == 201


def test_quota_changes_are_audited_in_the_users_namespace(client_for, admin_user, alice):
    client_for(admin_user).patch(f"/ipam/admin/quotas/{alice.pk}", {"region_limit": 3}, format="json")
    row = AuditLog.objects.get(action_type="quota_update")
    assert row.user == alice and row.actor == "ipamadmin" and row.resource_type == "quota"
    assert row.changes == [{"field": "region_limit", "old_value": None, "new_value": 3}]
    assert client_for(alice).get("/ipam/audit/history", {"resource_type": "quota"}).json()["count"] == 1
    # No change, no audit row.
    client_for(admin_user).patch(f"/ipam/admin/quotas/{alice.pk}", {"region_limit": 3}, format="json")
    assert AuditLog.objects.filter(action_type="quota_update").count() == 1


def test_admin_quota_detail_and_errors(client_for, admin_user, alice):
    admin = client_for(admin_user)
    detail = admin.get(f"/ipam/admin/quotas/{alice.pk}")
    assert detail.status_code == 200 and detail.json()["username"] == "alice"
    assert admin.get("/ipam/admin/quotas/999999").status_code == 404
    assert admin.patch("/ipam/admin/quotas/999999", {"host_limit": 1}, format="json").status_code == 404
    for payload in ({"host_limit": -1}, {"region_limit": "many"}, {"hosts_used": 0}, {"host_limit": 2**31}):
        response = admin.patch(f"/ipam/admin/quotas/{alice.pk}", payload, format="json")
        assert response.status_code == 400, payload
    assert not UserQuota.objects.filter(user=alice, host_limit__isnull=False).exists()


def test_quota_admin_needs_the_admin_permission(client_for, alice, bob, reader):
    for user in (alice, reader):
        client = client_for(user)
        for response in (
            client.get("/ipam/admin/quotas"),
            client.get(f"/ipam/admin/quotas/{bob.pk}"),
            client.patch(f"/ipam/admin/quotas/{alice.pk}", {"host_limit": 10**6}, format="json"),
        ):
            assert response.status_code == 403 and response.json()["details"]["required_permission"] == "admin"
    assert not UserQuota.objects.filter(host_limit__isnull=False).exists()


def test_quota_admin_list_uses_a_constant_number_of_queries(client_for, admin_user, django_user_model, django_assert_num_queries):
    admin = client_for(admin_user)
    admin.get("/ipam/admin/quotas")  # loads the caller's permissions once
    with django_assert_num_queries(2):  # count + page (quota rows joined)
        admin.get("/ipam/admin/quotas")
    for i in range(15):
        user = django_user_model.objects.create_user(f"u{i}")
        UserQuota.objects.create(user=user, host_limit=i)
    with django_assert_num_queries(2):
        assert admin.get("/ipam/admin/quotas").json()["count"] == 16
