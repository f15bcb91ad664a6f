"""A small dataset of the original system, in exactly the shapes of ORIGINAL_DATA_MODEL.md (quirks included),
and writers for the three source kinds: a mongodump directory, mongoexport files, and a pymongo-compatible
client for the live-URI reader (there is no MongoDB server on this machine)."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bcrypt
import bson
from bson import ObjectId, json_util

NOW = datetime.now(UTC).replace(microsecond=0, tzinfo=None)  # the original read datetimes back naive (UTC)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def bcrypt_hash(password: str, prefix: str = "$2b$") -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return prefix + hashed[4:]


def oid(n: int) -> ObjectId:
    return ObjectId(f"{n:024x}")


OLGA, PAVEL, QUINN, GHOST = oid(0xA1), oid(0xA2), oid(0xA3), oid(0xA4)
R_MUMBAI, R_AVAILABLE, R_DUP, R_RESERVED_RANGE, R_USA, R_PAVEL, R_QUINN, R_SAMENAME = (oid(0xB0 + i) for i in range(8))
H_FIRST = 0xC00  # olga's hosts 10.0.0.1..10
H_DUP, H_ORPHAN, H_ORPHAN_LOST, H_OUTSIDE, H_AVAILABLE, H_PAVEL, H_QUINN, H_SAMENAME = (oid(0xD0 + i) for i in range(8))
SHARE_TOKEN_REGION = str(uuid.UUID(int=0x5151))
SHARE_TOKEN_COUNTRY = str(uuid.UUID(int=0x5152))
SHARE_TOKEN_HOST = str(uuid.UUID(int=0x5153))
WEBHOOK_SECRET = "kPz4d3Yq7oTq1bWc8u2mVxR0sNn5hGfJeLaS9yZ6wQk"


def _comment(text: str, author: Any, when: datetime) -> dict[str, Any]:
    return {"text": text, "author_id": str(author), "timestamp": when}


def _region(_id: ObjectId, user: Any, x: int, y: int, name: str, country: str, created: datetime, **extra: Any) -> dict[str, Any]:
    doc = {
        "_id": _id,
        "user_id": str(user),
        "owner_id": str(user),
        "owner": "olga" if user == OLGA else "someone",
        "country": country,
        "continent": "Asia",
        "x_octet": x,
        "y_octet": y,
        "cidr": f"10.{x}.{y}.0/24",
        "region_name": name,
        "description": "",
        "status": "Active",
        "tags": {},
        "comments": [],
        "created_at": created,
        "updated_at": created,
        "created_by": str(user),
        "updated_by": str(user),
    }
    doc.update(extra)
    return doc


def _host(_id: ObjectId, user: Any, region: ObjectId, x: int, y: int, z: int, created: datetime, **extra: Any) -> dict[str, Any]:
    doc = {
        "_id": _id,
        "user_id": str(user),
        "owner_id": str(user),
        "owner": "olga",
        "region_id": region,
        "x_octet": x,
        "y_octet": y,
        "z_octet": z,
        "ip_address": f"10.{x}.{y}.{z}",
        "hostname": f"web-{z:02d}",
        "device_type": "VM",
        "os_type": "Ubuntu 22.04",
        "application": None,
        "cost_center": None,
        "purpose": None,
        "status": "Active",
        "tags": {"env": "prod"},
        "notes": "",
        "comments": [],
        "created_at": created,
        "updated_at": created,
        "created_by": str(user),
        "updated_by": str(user),
    }
    doc.update(extra)
    return doc


def dataset() -> dict[str, list[dict[str, Any]]]:
    """Collection name → documents."""
    users = [
        {
            "_id": OLGA,
            "username": "olga",
            "email": "olga@example.org",
            "hashed_password": bcrypt_hash("olga-old-password", "$2b$"),
            "is_active": True,
            "is_verified": True,
            "created_at": days_ago(400),
            "last_login": days_ago(2),
            "role": "user",
            "primary_tenant_id": "t1",
            "tenant_memberships": [{"tenant_id": "t1", "role": "member"}],
            "permissions": ["ipam:read", "ipam:allocate", "ipam:update", "ipam:release", "chat:use"],
            "chat_settings": {"unrelated": True},
        },
        {  # an older document: `password_hash`, a $2y$ hash (PHP-style), flat ipam:admin
            "_id": PAVEL,
            "username": "pavel",
            "email": "pavel@example.org",
            "password_hash": bcrypt_hash("pavel-old-password", "$2y$"),
            "is_active": True,
            "created_at": days_ago(300),
            "permissions": ["ipam:admin"],
        },
        {  # $2a$ hash; documents keyed by username (the fallback); read + allocate only
            "_id": QUINN,
            "username": "quinn",
            "email": "quinn@example.org",
            "hashed_password": bcrypt_hash("quinn-old-password", "$2a$"),
            "is_active": True,
            "created_at": days_ago(100),
            "permissions": ["ipam:read", "ipam:allocate"],
        },
    ]
    mumbai_comments = [_comment("newest note", OLGA, days_ago(1)), _comment("  first note  ", OLGA, days_ago(19))]
    regions = [
        _region(R_MUMBAI, OLGA, 0, 0, "Mumbai DC", "India", days_ago(20), tags='{"env": "prod", "team": "core"}', comments=mumbai_comments),
        _region(R_AVAILABLE, OLGA, 0, 1, "Freed", "India", days_ago(18), status="Available", owner_id=None),
        _region(R_DUP, OLGA, 0, 0, "Mumbai copy", "India", days_ago(5)),  # same /24 as R_MUMBAI, later
        _region(R_RESERVED_RANGE, OLGA, 210, 0, "Lab", "Future Use", days_ago(15)),
        _region(R_USA, OLGA, 160, 3, "Ashburn", "USA", days_ago(14)),
        _region(R_SAMENAME, OLGA, 0, 4, "mumbai dc", "India", days_ago(13)),  # differs from R_MUMBAI by case only
        _region(R_PAVEL, PAVEL, 0, 0, "Pavel's first", "India", days_ago(30)),  # same CIDR, another namespace
        _region(R_QUINN, "quinn", 38, 0, "SG", "Singapore", days_ago(12)),
    ]
    del regions[1]["owner_id"]
    hosts = [_host(oid(H_FIRST + z), OLGA, R_MUMBAI, 0, 0, z, days_ago(16 - z)) for z in range(1, 11)]
    hosts[1]["tags"] = '{"role": "db"}'
    hosts[2]["comments"] = [_comment("patched", OLGA, days_ago(3))]
    hosts += [
        _host(H_DUP, OLGA, R_MUMBAI, 0, 0, 1, days_ago(1), hostname="dup-of-first"),
        _host(H_ORPHAN, OLGA, oid(0xDEAD), 0, 1, 7, days_ago(10), hostname="orphan"),  # region gone; 10.0.1.0/24 is olga's
        _host(H_ORPHAN_LOST, OLGA, oid(0xDEAD), 9, 9, 9, days_ago(10), hostname="lost"),  # no region holds 10.9.9.0/24
        _host(H_OUTSIDE, OLGA, R_MUMBAI, 160, 3, 4, days_ago(9), hostname="outside"),  # parent says 10.0.0.0/24
        _host(H_AVAILABLE, OLGA, R_MUMBAI, 0, 0, 20, days_ago(8), hostname="freed", status="Available"),
        _host(H_SAMENAME, OLGA, R_MUMBAI, 0, 0, 21, days_ago(7), hostname="web-01"),  # duplicate hostname in the region
        _host(H_PAVEL, PAVEL, R_PAVEL, 0, 0, 1, days_ago(29), hostname="p1"),
        _host(H_QUINN, "quinn", R_QUINN, 38, 0, 1, days_ago(11), hostname="q1"),
    ]
    del hosts[11]["owner_id"]  # H_ORPHAN: created by reservation conversion
    audit = [
        {
            "_id": oid(0xE01),
            "user_id": str(OLGA),
            "action_type": "update",
            "resource_type": "region",
            "resource_id": str(R_MUMBAI),
            "ip_address": None,
            "cidr": "10.0.0.0/24",
            "reason": "rename",
            "timestamp": days_ago(6),
            "snapshot": {**regions[0], "_id": str(R_MUMBAI), "comments": []},
            "changes": [{"field": "region_name", "old_value": "Mumbai", "new_value": "Mumbai DC"}],
            "metadata": {"user_agent": None, "ip_source": None},
        },
        {  # the richer helper's `create`: no synthesised create for this host
            "_id": oid(0xE02),
            "user_id": str(OLGA),
            "action_type": "create",
            "resource_type": "host",
            "resource_id": str(oid(H_FIRST + 1)),
            "ip_address": "10.0.0.1",
            "cidr": "10.0.0.0/24",
            "reason": "",
            "timestamp": days_ago(15),
            "metadata": {"country": "India", "hostname": "web-01", "x_octet": 0, "y_octet": 0, "z_octet": 1},
            "result": "success",
        },
        {
            "_id": oid(0xE03),
            "user_id": str(OLGA),
            "action_type": "release",
            "resource_type": "host",
            "resource_id": str(oid(0xBEEF)),
            "ip_address": "10.0.0.30",
            "cidr": "10.0.0.0/24",
            "reason": "decommissioned",
            "timestamp": days_ago(4),
            "snapshot": {"_id": str(oid(0xBEEF)), "hostname": "old"},
            "changes": [],
            "metadata": {"user_agent": None, "ip_source": None},
        },
        {
            "_id": oid(0xE04),
            "user_id": "system",
            "action_type": "notifications_cleanup",
            "resource_type": "notification",
            "resource_id": "",
            "timestamp": days_ago(3),
            "metadata": {"automated": True, "cleanup_task": "notifications"},
        },
        {"_id": oid(0xE05), "user_id": str(GHOST), "action_type": "update", "resource_type": "host", "timestamp": days_ago(3)},
    ]
    quotas = [
        {
            "_id": oid(0xF01),
            "user_id": str(OLGA),
            "region_quota": 1000,
            "host_quota": 500,
            "region_count": 99,
            "host_count": 7,
            "last_updated": days_ago(1),
        },
        {"_id": oid(0xF02), "user_id": "quinn", "region_count": 1, "host_count": 1, "last_updated": days_ago(1)},  # upsert bug
    ]
    reservations = [
        {
            "_id": oid(0x101),
            "user_id": str(OLGA),
            "resource_type": "region",
            "x_octet": 0,
            "y_octet": 2,
            "z_octet": None,
            "reason": "next DC",
            "status": "active",
            "expires_at": None,
            "created_at": days_ago(5),
            "created_by": str(OLGA),
            "metadata": {},
        },
        {
            "_id": oid(0x102),
            "user_id": str(OLGA),
            "resource_type": "host",
            "x_octet": 0,
            "y_octet": 0,
            "z_octet": 11,
            "reason": "lb",
            "status": "active",
            "expires_at": NOW + timedelta(days=30),
            "created_at": days_ago(5),
            "created_by": str(OLGA),
            "metadata": {},
        },
        {
            "_id": oid(0x103),
            "user_id": str(OLGA),
            "resource_type": "region",
            "x_octet": 0,
            "y_octet": 2,
            "z_octet": None,
            "reason": "again",
            "status": "active",
            "expires_at": None,
            "created_at": days_ago(4),
            "created_by": str(OLGA),
            "metadata": {},
        },
        {
            "_id": oid(0x104),
            "user_id": str(OLGA),
            "resource_type": "region",
            "x_octet": 0,
            "y_octet": 9,
            "z_octet": None,
            "reason": "old",
            "status": "expired",
            "expires_at": days_ago(40),
            "created_at": days_ago(50),
            "created_by": str(OLGA),
            "metadata": {},
            "updated_at": days_ago(39),
        },
    ]
    shares = [
        {
            "_id": oid(0x201),
            "share_token": SHARE_TOKEN_REGION,
            "user_id": str(OLGA),
            "resource_type": "region",
            "resource_id": str(R_MUMBAI),
            "expires_at": NOW + timedelta(days=20),
            "view_count": 4,
            "last_accessed": days_ago(1),
            "created_at": days_ago(10),
            "created_by": str(OLGA),
            "is_active": True,
            "description": "for the NOC",
        },
        {
            "_id": oid(0x202),
            "share_token": SHARE_TOKEN_COUNTRY,
            "user_id": str(OLGA),
            "resource_type": "country",
            "resource_id": "India",
            "expires_at": NOW + timedelta(days=20),
            "view_count": 0,
            "last_accessed": None,
            "created_at": days_ago(10),
            "created_by": str(OLGA),
            "is_active": True,
            "description": "",
        },
        {
            "_id": oid(0x203),
            "share_token": SHARE_TOKEN_HOST,
            "user_id": str(OLGA),
            "resource_type": "host",
            "resource_id": str(oid(H_FIRST + 3)),
            "expires_at": NOW + timedelta(days=20),
            "view_count": 0,
            "last_accessed": None,
            "created_at": days_ago(10),
            "created_by": str(OLGA),
            "is_active": True,
            "description": "",
        },
        {
            "_id": oid(0x204),
            "share_token": str(uuid.UUID(int=0x5154)),
            "user_id": str(OLGA),
            "resource_type": "region",
            "resource_id": str(oid(0xDEAD)),
            "expires_at": NOW + timedelta(days=20),
            "view_count": 0,
            "created_at": days_ago(10),
            "created_by": str(OLGA),
            "is_active": True,
            "description": "gone",
        },
    ]
    preferences = [
        {
            "_id": oid(0x301),
            "user_id": str(OLGA),
            "theme_preference": "dark",
            "dashboard_layout": {"widgets": ["top"]},
            "notification_settings": {"email": False},
            "updated_at": days_ago(2),
            "saved_filters": [
                {"filter_id": str(uuid.UUID(int=0x71)), "name": "prod", "criteria": {"tags": {"env": "prod"}}, "created_at": days_ago(9)},
                {"filter_id": str(uuid.UUID(int=0x72)), "name": "india", "criteria": {"country": "India"}, "created_at": days_ago(8)},
            ],
        },
    ]
    notifications = [
        {
            "_id": oid(0x401),
            "user_id": str(OLGA),
            "notification_type": "capacity_warning",
            "severity": "warning",
            "message": "Mumbai DC is 80% full",
            "resource_type": "region",
            "resource_id": str(R_MUMBAI),
            "resource_link": f"/ipam/regions/{R_MUMBAI}",
            "is_read": False,
            "read_at": None,
            "created_at": days_ago(2),
            "expires_at": days_ago(2) + timedelta(days=90),
        },
        {
            "_id": oid(0x402),
            "user_id": str(OLGA),
            "notification_type": "info",
            "severity": "info",
            "message": "welcome",
            "resource_type": None,
            "resource_id": None,
            "resource_link": None,
            "is_read": True,
            "read_at": days_ago(5),
            "created_at": days_ago(6),
            "expires_at": days_ago(6) + timedelta(days=90),
        },
    ]
    rules = [
        {
            "_id": oid(0x501),
            "user_id": str(OLGA),
            "rule_name": "80 percent",
            "conditions": {"utilization_threshold": 80, "resource_type": "region", "resource_ids": [str(R_MUMBAI)]},
            "notification_channels": ["in_app", "webhook"],
            "is_active": True,
            "last_triggered": None,
            "created_at": days_ago(9),
            "updated_at": days_ago(9),
        },
        {
            "_id": oid(0x502),
            "user_id": str(OLGA),
            "rule_name": "patched",
            "conditions": {},
            "threshold": 90,
            "notification_channels": ["in_app"],
            "is_active": True,
            "created_at": days_ago(9),
            "updated_at": days_ago(8),
        },
        {
            "_id": oid(0x503),
            "user_id": str(OLGA),
            "rule_name": "empty",
            "conditions": {},
            "notification_channels": ["email"],
            "is_active": True,
            "created_at": days_ago(9),
            "updated_at": days_ago(9),
        },
    ]
    webhooks = [
        {
            "_id": oid(0x601),
            "user_id": str(OLGA),
            "webhook_url": "https://hooks.example.org/ipam",
            "secret_key": WEBHOOK_SECRET,
            "events": ["region.created", "host.created"],
            "is_active": True,
            "failure_count": 0,
            "last_delivery": days_ago(1),
            "description": "ops",
            "created_at": days_ago(30),
            "updated_at": days_ago(30),
        },
    ]
    deliveries = [
        {
            "_id": oid(0x701 + i),
            "webhook_id": oid(0x601),
            "event_type": "region.created",
            "payload": {"x": i},
            "status_code": 200,
            "response_time_ms": 12,
            "error_message": None,
            "attempt_number": 1,
            "delivered_at": days_ago(1),
        }
        for i in range(2)
    ]
    return {
        "users": users,
        "ipam_regions": regions,
        "ipam_hosts": hosts,
        "ipam_audit_history": audit,
        "ipam_user_quotas": quotas,
        "ipam_reservations": reservations,
        "ipam_shares": shares,
        "ipam_user_preferences": preferences,
        "ipam_notifications": notifications,
        "ipam_notification_rules": rules,
        "ipam_webhooks": webhooks,
        "ipam_webhook_deliveries": deliveries,
        "ipam_export_jobs": [
            {
                "_id": oid(0x801),
                "user_id": str(OLGA),
                "format": "csv",
                "status": "completed",
                "export_content": "a,b\n",
                "created_at": days_ago(1),
            }
        ],
        "ipam_bulk_jobs": [
            {
                "_id": oid(0x901),
                "job_id": str(uuid.UUID(int=0x91)),
                "user_id": str(OLGA),
                "operation_type": "bulk_tag_update",
                "status": "pending",
                "created_at": days_ago(1),
            }
        ],
        "continent_country_mapping": [
            {"_id": oid(0xA01), "continent": "Reserved", "country": "Future Use", "x_start": 208, "x_end": 255, "is_reserved": True}
        ],
    }


def write_dump(root: Path, data: dict[str, list[dict[str, Any]]], *, gzip_some: bool = True) -> Path:
    """`mongodump --out root`: root/<db>/<collection>.bson (gzipped for some) + .metadata.json."""
    folder = root / "platform"
    folder.mkdir(parents=True)
    for index, (name, docs) in enumerate(data.items()):
        payload = b"".join(bson.encode(doc) for doc in docs)
        if gzip_some and index % 2:
            (folder / f"{name}.bson.gz").write_bytes(gzip.compress(payload))
        else:
            (folder / f"{name}.bson").write_bytes(payload)
        (folder / f"{name}.metadata.json").write_text(json.dumps({"options": {}, "indexes": [], "collectionName": name}))
    return root


def write_export(root: Path, data: dict[str, list[dict[str, Any]]]) -> Path:
    """`mongoexport`: JSON lines in canonical Extended JSON, and JSON arrays in relaxed mode, alternately."""
    root.mkdir(parents=True, exist_ok=True)
    for index, (name, docs) in enumerate(data.items()):
        if index % 2:
            text = json_util.dumps(docs, json_options=json_util.RELAXED_JSON_OPTIONS)
            (root / f"{name}.json").write_text(text)
        else:
            lines = [json_util.dumps(doc, json_options=json_util.CANONICAL_JSON_OPTIONS) for doc in docs]
            (root / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    return root


class FakeMongoClient:
    """pymongo-compatible stand-in for the connection only: what `MongoReader` calls (get_default_database,
    list_collection_names, find, close), serving documents round-tripped through BSON as a server would."""

    def __init__(self, data: dict[str, list[dict[str, Any]]]):
        self._data = {name: [bson.decode(bson.encode(d)) for d in docs] for name, docs in data.items()}
        self.calls: list[str] = []
        self.closed = False

    def __call__(self, uri: str, **kwargs: Any) -> FakeMongoClient:
        self.uri, self.kwargs = uri, kwargs
        return self

    def get_default_database(self) -> FakeMongoClient:
        self.name = self.uri.rsplit("/", 1)[-1]
        return self

    def list_collection_names(self) -> list[str]:
        return list(self._data)

    def __getitem__(self, name: str) -> _FakeCollection:
        return _FakeCollection(self, name)

    def close(self) -> None:
        self.closed = True


class _FakeCollection:
    def __init__(self, client: FakeMongoClient, name: str):
        self.client, self.name = client, name

    def find(self, query: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
        self.client.calls.append(f"find {self.name} {query}")
        return list(self.client._data[self.name])
