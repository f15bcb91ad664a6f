"""Shareable links: token shown once and stored hashed, absolute URL, public allow-listed view without
authentication, view counting, revoke/expiry/unknown → 404, rate limit per IP, hourly expiry job."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from ipam.models import AuditLog, Share
from ipam.services.shares import share_expiration_check
from ipam.tasks.reservations import share_expiration_checker
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db

SHARE_KEYS = {
    "legacy_id",
    "share_id",
    "resource_type",
    "resource_id",
    "description",
    "expires_at",
    "is_active",
    "view_count",
    "last_accessed",
    "created_at",
}
PUBLIC_KEYS = {"resource_type", "resource_data", "shared_by", "created_at", "expires_at"}
PUBLIC_COUNTRY_KEYS = {
    "country",
    "code",
    "code3",
    "continent",
    "x_start",
    "x_end",
    "total_capacity",
    "allocated_regions",
    "utilization_percentage",
}
PUBLIC_REGION_KEYS = {
    "region_name",
    "cidr",
    "country",
    "continent",
    "status",
    "description",
    "tags",
    "total_hosts",
    "allocated_hosts",
    "utilization_percentage",
    "created_at",
    "updated_at",
}
PUBLIC_HOST_KEYS = {
    "hostname",
    "ip_address",
    "region_name",
    "cidr",
    "country",
    "continent",
    "device_type",
    "os_type",
    "application",
    "status",
    "tags",
    "created_at",
    "updated_at",
}


def share(api, resource_type, resource_id, **extra):
    return api.post("/ipam/shares", {"resource_type": resource_type, "resource_id": str(resource_id), **extra}, format="json")


def test_create_returns_a_32_byte_token_once_and_stores_only_its_hash(api, alice):
    region = make_region(alice)
    response = share(api, "region", region.pk, description="for the NOC")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == SHARE_KEYS | {"share_token", "share_url"}
    token = body["share_token"]
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert body["share_url"] == f"http://testserver/ipam/shares/{token}"
    row = Share.objects.get(pk=body["share_id"])
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.token_hash, row.resource_id, row.description}
    assert (row.user, row.resource_type, row.resource_id, row.description) == (alice, "region", str(region.pk), "for the NOC")
    expires = row.expires_at - timezone.now()
    assert timedelta(days=6, hours=23) < expires <= timedelta(days=7)  # default 7 days
    # The token never appears again: not in the list, not in the audit row.
    listed = api.get("/ipam/shares").json()
    assert token not in str(listed) and "share_token" not in listed["results"][0]
    audit = AuditLog.objects.get(resource_type="share", action_type="create")
    assert audit.resource_id == body["share_id"] and token not in str(audit.snapshot) and row.token_hash not in str(audit.snapshot)


def test_two_shares_get_different_tokens(api, alice):
    region = make_region(alice)
    first = share(api, "region", region.pk).json()["share_token"]
    second = share(api, "region", region.pk).json()["share_token"]
    assert first != second


def test_share_url_uses_the_configured_public_base_url(api, alice, settings):
    settings.IPAM_PUBLIC_BASE_URL = "https://ipam.example.com/"
    body = share(api, "country", "Japan").json()
    assert body["share_url"] == f"https://ipam.example.com/ipam/shares/{body['share_token']}"


def test_expires_in_days_is_honoured_and_validated(api, alice):
    region = make_region(alice)
    body = share(api, "region", region.pk, expires_in_days=90).json()
    assert timedelta(days=89, hours=23) < Share.objects.get(pk=body["share_id"]).expires_at - timezone.now()
    for bad in (0, 91, "x"):
        response = share(api, "region", region.pk, expires_in_days=bad)
        assert response.status_code == 400 and "expires_in_days" in response.json()["details"]


def test_sharing_something_that_is_not_yours_is_404_and_bad_ids_are_400(api, alice, bob):
    theirs = make_region(bob)
    assert share(api, "region", theirs.pk).status_code == 404
    assert share(api, "host", make_host(bob, theirs).pk).status_code == 404
    assert share(api, "country", "Atlantis").status_code == 404
    response = share(api, "region", "not-a-uuid")
    assert response.status_code == 400 and "resource_id" in response.json()["details"]
    assert share(api, "planet", "x").status_code == 400
    assert not Share.objects.exists()


def test_public_view_of_a_region_needs_no_auth_and_shows_only_allowed_fields(api, anon, alice):
    region = make_region(alice, country="Japan", name="tokyo", description="core", tags={"env": "prod"}, owner="Jane Doe")
    make_host(alice, region)
    token = share(api, "region", region.pk).json()["share_token"]
    response = anon.get(f"/ipam/shares/{token}")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == PUBLIC_KEYS
    assert body["resource_type"] == "region" and body["shared_by"] == "alice"
    data = body["resource_data"]
    assert set(data) == PUBLIC_REGION_KEYS
    assert (data["cidr"], data["region_name"], data["allocated_hosts"], data["tags"]) == ("10.46.0.0/24", "tokyo", 1, {"env": "prod"})
    text = response.content.decode()
    for internal in (str(region.pk), "owner", "Jane Doe", "region_id", "user", "share_id"):
        assert internal not in text.replace("shared_by", ""), internal
    assert data["created_at"].endswith("Z") and body["expires_at"].endswith("Z")


def test_public_view_of_a_host_hides_notes_ids_and_internal_fields(api, anon, alice):
    region = make_region(alice)
    host = make_host(alice, region, hostname="web-1", notes="root password is on the wiki", cost_center="CC-9", device_type="VM")
    token = share(api, "host", host.pk).json()["share_token"]
    body = anon.get(f"/ipam/shares/{token}").json()
    assert set(body) == PUBLIC_KEYS
    assert set(body["resource_data"]) == PUBLIC_HOST_KEYS
    assert body["resource_data"]["ip_address"] == "10.0.0.1" and body["resource_data"]["device_type"] == "VM"
    text = str(body)
    for internal in ("root password", "CC-9", str(host.pk), str(region.pk), "notes", "host_id", "owner_id"):
        assert internal not in text, internal


def test_public_view_of_a_country_shows_the_sharers_utilization(api, anon, alice):
    make_region(alice, country="Chile")
    body = share(api, "country", "chl").json()
    assert Share.objects.get(pk=body["share_id"]).resource_id == "CL"
    public = anon.get(f"/ipam/shares/{body['share_token']}").json()
    assert set(public) == PUBLIC_KEYS
    assert set(public["resource_data"]) == PUBLIC_COUNTRY_KEYS
    assert public["resource_data"]["country"] == "Chile" and public["resource_data"]["allocated_regions"] == 1


def test_public_view_counts_views_and_last_access(api, anon, alice):
    region = make_region(alice)
    body = share(api, "region", region.pk).json()
    before = timezone.now()
    for _ in range(3):
        assert anon.get(f"/ipam/shares/{body['share_token']}/").status_code == 200
    row = Share.objects.get(pk=body["share_id"])
    assert row.view_count == 3 and row.last_accessed >= before
    listed = api.get("/ipam/shares").json()["results"][0]
    assert listed["view_count"] == 3 and listed["last_accessed"] is not None


def test_public_view_works_even_with_bad_credentials_attached(api, client_for, alice):
    from rest_framework.test import APIClient

    token = share(api, "region", make_region(alice).pk).json()["share_token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert client.get(f"/ipam/shares/{token}").status_code == 200


def test_unknown_revoked_and_expired_links_are_404(api, anon, alice):
    region = make_region(alice)
    assert anon.get("/ipam/shares/not-a-real-token").status_code == 404
    assert anon.get("/ipam/shares/" + "x" * 300).status_code == 404
    revoked = share(api, "region", region.pk).json()
    assert api.delete(f"/ipam/shares/{revoked['share_id']}").status_code == 204
    response = anon.get(f"/ipam/shares/{revoked['share_token']}")
    assert response.status_code == 404 and response.json()["error"] == "share_not_found"
    expired = share(api, "region", region.pk).json()
    Share.objects.filter(pk=expired["share_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert anon.get(f"/ipam/shares/{expired['share_token']}").status_code == 404  # before the job runs
    assert Share.objects.get(pk=expired["share_id"]).view_count == 0


def test_a_retired_resource_makes_its_link_404(api, anon, alice):
    region = make_region(alice)
    token = share(api, "region", region.pk).json()["share_token"]
    api.delete(f"/ipam/regions/{region.pk}?reason=gone")
    assert anon.get(f"/ipam/shares/{token}").status_code == 404


def test_revoke_is_204_audited_and_removes_it_from_the_list(api, alice):
    region = make_region(alice)
    keep = share(api, "region", region.pk).json()
    drop = share(api, "region", region.pk).json()
    response = api.delete(f"/ipam/shares/{drop['share_id']}")
    assert response.status_code == 204
    assert Share.objects.get(pk=drop["share_id"]).is_active is False
    assert [s["share_id"] for s in api.get("/ipam/shares").json()["results"]] == [keep["share_id"]]
    assert AuditLog.objects.filter(resource_type="share", action_type="revoke", resource_id=drop["share_id"]).count() == 1
    assert api.delete(f"/ipam/shares/{drop['share_id']}").status_code == 404


def test_revoke_needs_authentication_and_ownership(api, anon, client_for, alice, bob, reader):
    body = share(api, "region", make_region(alice).pk).json()
    assert anon.delete(f"/ipam/shares/{body['share_id']}").status_code == 401
    assert client_for(bob).delete(f"/ipam/shares/{body['share_id']}").status_code == 404
    assert client_for(reader).delete(f"/ipam/shares/{body['share_id']}").status_code == 403
    assert api.delete("/ipam/shares/not-a-uuid").status_code == 404
    # The token is not a revoke handle.
    assert api.delete(f"/ipam/shares/{body['share_token']}").status_code == 404
    assert Share.objects.get(pk=body["share_id"]).is_active


def test_list_shows_only_the_callers_active_shares(api, client_for, alice, bob):
    region = make_region(alice)
    active = share(api, "region", region.pk).json()
    expired = share(api, "region", region.pk).json()
    Share.objects.filter(pk=expired["share_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    share(client_for(bob), "country", "IN")
    body = api.get("/ipam/shares").json()
    assert body["count"] == 1
    assert set(body["results"][0]) == SHARE_KEYS
    assert body["results"][0]["share_id"] == active["share_id"]


def test_readers_can_list_but_not_create_shares(client_for, reader):
    client = client_for(reader)
    assert client.get("/ipam/shares").status_code == 200
    response = share(client, "country", "IN")
    assert response.status_code == 403 and response.json()["details"]["required_permission"] == "update"


def test_anonymous_callers_cannot_list_or_create(anon):
    assert anon.get("/ipam/shares").status_code == 401
    assert anon.post("/ipam/shares", {"resource_type": "country", "resource_id": "IN"}, format="json").status_code == 401


def test_public_view_is_rate_limited_per_client_ip(api, alice, settings):
    from rest_framework.test import APIClient

    token = share(api, "region", make_region(alice).pk).json()["share_token"]
    settings.IPAM_RATE_LIMITS_ENABLED = True
    settings.IPAM_PUBLIC_SHARE_RATE_LIMIT_PER_HOUR = 3
    visitor = APIClient(REMOTE_ADDR="203.0.113.7")
    for remaining in (2, 1, 0):
        response = visitor.get(f"/ipam/shares/{token}")
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "3" and response["X-RateLimit-Remaining"] == str(remaining)
    response = visitor.get(f"/ipam/shares/{token}")
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1
    # Unknown tokens count too (no free guessing), and another address has its own budget.
    assert visitor.get("/ipam/shares/guess").status_code == 429
    assert APIClient(REMOTE_ADDR="198.51.100.1").get(f"/ipam/shares/{token}").status_code == 200
    assert Share.objects.get().view_count == 4


def test_expiration_job_deactivates_expired_shares_once_with_audit(api, alice):
    region = make_region(alice)
    due = share(api, "region", region.pk).json()
    fresh = share(api, "region", region.pk).json()
    Share.objects.filter(pk=due["share_id"]).update(expires_at=timezone.now() - timedelta(hours=1))
    assert share_expiration_checker.apply().get() == {"expired": 1}
    assert Share.objects.get(pk=due["share_id"]).is_active is False
    assert Share.objects.get(pk=fresh["share_id"]).is_active is True
    audit = AuditLog.objects.get(action_type="share_expired")
    assert (audit.resource_type, audit.resource_id, audit.user_id, audit.actor_type) == ("share", due["share_id"], alice.pk, "system")
    assert share_expiration_checker.apply().get() == {"expired": 0}
    assert AuditLog.objects.filter(action_type="share_expired").count() == 1


def test_expiration_job_works_in_batches(api, alice):
    region = make_region(alice)
    for _ in range(5):
        share(api, "region", region.pk)
    Share.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert share_expiration_check(batch_size=2) == 5
    assert not Share.objects.filter(is_active=True).exists()
