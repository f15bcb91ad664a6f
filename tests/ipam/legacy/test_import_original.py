"""import_original end to end: the old users log in, their data answers the API, the allocator continues."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from ipam.models import AuditLog, Comment, Host, Region, Reservation, SavedFilter, Share, UserPreference, UserQuota
from ipam.services.integrity import counters_check
from ipam.services.legacy.quirks import legacy_uuid
from notifications.models import Notification, NotificationRule
from tests.ipam.legacy.conftest import run_import
from tests.ipam.legacy.original import (
    H_AVAILABLE,
    H_DUP,
    H_FIRST,
    H_ORPHAN,
    H_ORPHAN_LOST,
    H_OUTSIDE,
    H_SAMENAME,
    R_AVAILABLE,
    R_MUMBAI,
    R_RESERVED_RANGE,
    R_SAMENAME,
    R_USA,
    SHARE_TOKEN_COUNTRY,
    SHARE_TOKEN_HOST,
    SHARE_TOKEN_REGION,
    WEBHOOK_SECRET,
    days_ago,
    oid,
)
from webhooks.crypto import secret_decrypt
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db(transaction=False)


def _login(username: str, password: str) -> APIClient:
    client = APIClient()
    response = client.post("/auth/token", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def test_old_passwords_log_in_for_every_bcrypt_variant(dump_dir: Path) -> None:
    run_import(dump_dir)
    User = get_user_model()
    assert User.objects.get(username="olga").password.startswith("bcrypt$$2b$")
    assert User.objects.get(username="pavel").password.startswith("bcrypt$$2y$")  # `password_hash`, older documents
    assert User.objects.get(username="quinn").password.startswith("bcrypt$$2a$")
    for name in ("olga", "pavel", "quinn"):
        _login(name, f"{name}-old-password")
    bad = APIClient().post("/auth/token", {"username": "olga", "password": "wrong"}, format="json")
    assert bad.status_code == 401


def test_permissions_map_to_the_ipam_groups(dump_dir: Path) -> None:
    run_import(dump_dir)
    User = get_user_model()
    imported = User.objects.filter(username__in=["olga", "pavel", "quinn"])
    groups = {u.username: sorted(u.groups.values_list("name", flat=True)) for u in imported}
    assert groups == {"olga": ["IPAM Operators"], "pavel": ["IPAM Admins"], "quinn": ["IPAM Readers"]}
    quinn = User.objects.get(username="quinn")
    assert set(quinn.user_permissions.values_list("codename", flat=True)) == {"allocate"}  # read+allocate fits no group


def test_imported_data_answers_the_api(dump_dir: Path) -> None:
    run_import(dump_dir)
    olga = _login("olga", "olga-old-password")
    host = olga.get("/ipam/hosts/by-ip/10.0.0.3")
    assert host.status_code == 200, host.content
    body = host.json()
    assert body["legacy_id"] == str(oid(H_FIRST + 3)) and body["host_id"] == str(legacy_uuid("host", str(oid(H_FIRST + 3))))
    assert body["hostname"] == "web-03" and body["tags"] == {"env": "prod"}
    region = olga.get(f"/ipam/regions/{legacy_uuid('region', str(R_MUMBAI))}").json()
    assert region["legacy_id"] == str(R_MUMBAI) and region["tags"] == {"env": "prod", "team": "core"}  # tags were a JSON string
    assert region["allocated_hosts"] == 12  # 10 + the freed one (Available → released) + the renamed duplicate hostname
    found = olga.get("/ipam/regions", {"legacy_id": str(R_MUMBAI)}).json()
    assert [r["region_id"] for r in found["results"]] == [region["region_id"]]
    # created_at preserved (naive in the source = UTC)
    assert region["created_at"].startswith(days_ago(20).replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    comments = olga.get(f"/ipam/regions/{region['region_id']}/comments").json()
    texts = [c["text"] for c in (comments["results"] if isinstance(comments, dict) else comments)]
    assert texts == ["first note", "newest note"]


def test_old_share_links_still_open(dump_dir: Path) -> None:
    run_import(dump_dir)
    anon = APIClient()
    region = anon.get(f"/ipam/shares/{SHARE_TOKEN_REGION}")
    assert region.status_code == 200, region.content
    assert region.json()["resource_data"]["region_name"] == "Mumbai DC"
    assert anon.get(f"/ipam/shares/{SHARE_TOKEN_COUNTRY}").json()["resource_data"]["code"] == "IN"
    assert anon.get(f"/ipam/shares/{SHARE_TOKEN_HOST}").json()["resource_data"]["ip_address"] == "10.0.0.3"
    assert not Share.objects.filter(token_hash=SHARE_TOKEN_REGION).exists()  # stored hashed, never in clear


def test_the_next_allocation_skips_every_imported_address(dump_dir: Path) -> None:
    run_import(dump_dir)
    olga = _login("olga", "olga-old-password")
    # 10.0.0 and 10.0.1 (Available → retired, still held) are regions, 10.0.2 is reserved, 10.0.4 a region
    created = olga.post("/ipam/regions", {"country": "India", "region_name": "new one"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["cidr"] == "10.0.3.0/24"
    # hosts 1-10, 20, 21 are taken, 11 is reserved
    host = olga.post("/ipam/hosts", {"region_id": str(legacy_uuid("region", str(R_MUMBAI))), "hostname": "next"}, format="json")
    assert host.status_code == 201, host.content
    assert host.json()["ip_address"] == "10.0.0.12"
    # pavel owns the same CIDR 10.0.0.0/24 in his own namespace: his next region is 10.0.1.0/24
    pavel = _login("pavel", "pavel-old-password")
    assert pavel.post("/ipam/regions", {"country": "India", "region_name": "p2"}, format="json").json()["cidr"] == "10.0.1.0/24"
    assert counters_check().drifts == []


def test_dashboard_and_forecast_count_the_imported_history(dump_dir: Path) -> None:
    run_import(dump_dir)
    olga = _login("olga", "olga-old-password")
    stats = olga.get("/ipam/statistics/dashboard").json()
    assert stats["total_hosts"] == Host.objects.filter(user__username="olga").count() == 14
    # the last 7 days: the update (6d), the release (4d), the create of a host (6d) — at their original times
    recent = AuditLog.objects.filter(user__username="olga", timestamp__gt=days_ago(6.99).replace(tzinfo=UTC)).count()
    assert stats["recent_activity_count"] == recent > 0
    forecast = olga.get(f"/ipam/statistics/forecast/region/{legacy_uuid('region', str(R_MUMBAI))}").json()
    assert forecast["allocated"] == 12
    assert forecast["daily_allocation_rate"] > 0  # from the synthesised create rows at the original created_at


def test_every_quirk_is_imported_normalised_or_skipped_with_a_reason(dump_dir: Path) -> None:
    out = run_import(dump_dir)
    olga_regions = {r.legacy_id: r for r in Region.objects.filter(user__username="olga")}
    assert len(olga_regions) == 5  # the duplicate /24 is skipped
    assert "skipped 1: duplicate /24 in the same user's namespace" in out
    assert olga_regions[str(R_AVAILABLE)].status == "retired"  # Available
    assert "status 'Available'" in out
    assert "owner_id missing" in out
    reserved = olga_regions[str(R_RESERVED_RANGE)]
    assert reserved.country.code == "ZZ" and "country 'Future Use' → 'Reserved'" in out and "reserved range" in out
    assert olga_regions[str(R_USA)].country.name == "United States" and "country 'USA' → 'United States'" in out
    assert olga_regions[str(R_SAMENAME)].region_name.startswith("mumbai dc (") and "names are case-insensitive" in out
    hosts = {h.legacy_id: h for h in Host.objects.filter(user__username="olga")}
    assert str(H_DUP) not in hosts and "duplicate address" in out
    assert hosts[str(H_ORPHAN)].region.legacy_id == str(R_AVAILABLE) and "orphan host (its region is gone): attached" in out
    assert str(H_ORPHAN_LOST) not in hosts and "no region 10.X.Y.0/24 holding it" in out
    assert hosts[str(H_OUTSIDE)].region.legacy_id == str(R_USA) and "host outside its region's /24: attached" in out
    assert hosts[str(H_AVAILABLE)].status == "released"
    assert hosts[str(H_SAMENAME)].hostname == "web-01-21"
    assert Host.objects.get(legacy_id=str(oid(H_FIRST + 2))).tags == {"role": "db"}
    # two users, same CIDR, separate namespaces
    assert Region.objects.filter(x_octet=0, y_octet=0).count() == 2
    # quotas: our defaults where the original lost the fields; limits kept where they differ
    assert UserQuota.objects.get(user__username="olga").host_limit == 500
    assert UserQuota.objects.get(user__username="quinn").host_limit is None and "region_quota missing" in out
    assert "user 'system'" in out and "owner (user_id) not in the users collection" in out
    assert "export jobs are transient" in out and "bulk jobs are transient" in out
    assert "second active reservation" in out and Reservation.objects.filter(user__username="olga").count() == 3
    assert "the shared region was not imported" in out and Share.objects.count() == 3
    assert "stray top-level 'threshold'" in out and NotificationRule.objects.count() == 2
    assert "no utilization_threshold" in out
    assert "event 'host.created'" not in out  # aliased to host.allocated


def test_audit_history_keeps_timestamps_and_gets_synthesised_creates(dump_dir: Path) -> None:
    run_import(dump_dir)
    olga_rows = AuditLog.objects.filter(user__username="olga")
    update = olga_rows.get(action_type="update")
    assert update.timestamp == days_ago(6).replace(tzinfo=UTC) and update.resource_id == str(legacy_uuid("region", str(R_MUMBAI)))
    assert update.changes == [{"field": "region_name", "old_value": "Mumbai", "new_value": "Mumbai DC"}]
    creates = olga_rows.filter(action_type="create")
    # 5 regions + 14 hosts, and the first host's create came from the source (not synthesised twice)
    assert creates.count() == 19
    first = str(legacy_uuid("host", str(oid(H_FIRST + 1))))
    assert creates.filter(resource_id=first).count() == 1
    synthesised = creates.get(resource_type="region", resource_id=str(legacy_uuid("region", str(R_MUMBAI))))
    assert synthesised.timestamp == days_ago(20).replace(tzinfo=UTC) and synthesised.country_code == "IN"


def test_stores_come_over(dump_dir: Path) -> None:
    out = run_import(dump_dir)
    olga = get_user_model().objects.get(username="olga")
    assert UserPreference.objects.get(user=olga).theme_preference == "dark"
    assert sorted(SavedFilter.objects.filter(user=olga).values_list("name", flat=True)) == ["india", "prod"]
    assert Notification.objects.filter(user=olga).count() == 2
    rule = NotificationRule.objects.get(legacy_id=str(oid(0x501)))
    assert rule.resource_ids == [str(legacy_uuid("region", str(R_MUMBAI)))]
    webhook = Webhook.objects.get(user=olga)
    assert webhook.legacy_id == str(oid(0x601)) and webhook.events == ["host.allocated", "region.created"]
    assert WEBHOOK_SECRET not in webhook.secret_encrypted and secret_decrypt(webhook.secret_encrypted) == WEBHOOK_SECRET
    assert "signature format changed" in out and "olga <olga@example.org>: https://hooks.example.org/ipam" in out
    assert Comment.objects.filter(user=olga).count() == 3


def test_reimport_is_a_no_op(dump_dir: Path) -> None:
    run_import(dump_dir)
    counts = _counts()
    out = run_import(dump_dir)
    assert "0 new objects in total" in out
    assert _counts() == counts


def test_dry_run_writes_nothing_and_reports_per_collection(dump_dir: Path) -> None:
    out = run_import(dump_dir, "--dry-run")
    assert "DRY RUN" in out and "ipam_hosts: 18 read, 16 would be created" in out
    assert "skipped 1: duplicate address" in out
    assert _counts() == {"users": 0, "regions": 0, "hosts": 0, "audit": 0, "shares": 0, "webhooks": 0}


def _counts() -> dict[str, Any]:
    return {
        "users": get_user_model().objects.filter(username__in=["olga", "pavel", "quinn"]).count(),
        "regions": Region.objects.count(),
        "hosts": Host.objects.count(),
        "audit": AuditLog.objects.count(),
        "shares": Share.objects.count(),
        "webhooks": Webhook.objects.count(),
    }
