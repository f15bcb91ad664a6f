"""Generate a mongodump of the original system with the `bson` module: N hosts in R regions, A audit rows.

    python bench/legacy_dump.py OUT --hosts 1000000 --regions 4000 --audit 1000000 [--users 20]

Writes OUT/platform/<collection>.bson in the shapes of the original's data model (naive datetimes,
tags as JSON strings on a few documents), ready for `manage.py import_original OUT`.
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta
from pathlib import Path

import bcrypt
import bson
from bson import ObjectId


def generate(out: Path, *, hosts: int, regions: int, audit: int, users: int) -> None:
    folder = out / "platform"
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(16)
    start = datetime(2024, 1, 1)
    password = bcrypt.hashpw(b"bench-password", bcrypt.gensalt(rounds=4)).decode()
    user_ids = [ObjectId() for _ in range(users)]
    with open(folder / "users.bson", "wb") as f:
        for i, uid in enumerate(user_ids):
            f.write(
                bson.encode(
                    {
                        "_id": uid,
                        "username": f"legacy{i}",
                        "email": f"legacy{i}@example.org",
                        "hashed_password": password,
                        "is_active": True,
                        "created_at": start,
                        "permissions": ["ipam:read", "ipam:allocate", "ipam:update", "ipam:release"],
                    }
                )
            )
    per_user = max(regions // users, 1)
    region_rows: list[tuple[ObjectId, str, int, int]] = []
    with open(folder / "ipam_regions.bson", "wb") as f:
        for n in range(regions):
            uid = str(user_ids[min(n // per_user, users - 1)])
            index = n % per_user
            x, y = index // 256, index % 256  # India: X 0..29 holds 7,680 /24s per user
            rid = ObjectId()
            region_rows.append((rid, uid, x, y))
            f.write(
                bson.encode(
                    {
                        "_id": rid,
                        "user_id": uid,
                        "owner_id": uid,
                        "owner": "bench",
                        "country": "India",
                        "continent": "Asia",
                        "x_octet": x,
                        "y_octet": y,
                        "cidr": f"10.{x}.{y}.0/24",
                        "region_name": f"r{n}",
                        "description": "",
                        "status": "Active",
                        "tags": '{"env": "bench"}' if n % 10 == 0 else {"env": "bench"},
                        "comments": [],
                        "created_at": start + timedelta(minutes=n),
                        "updated_at": start + timedelta(minutes=n),
                        "created_by": uid,
                        "updated_by": uid,
                    }
                )
            )
    per_region = max(hosts // regions, 1)
    written = 0
    with open(folder / "ipam_hosts.bson", "wb") as f:
        for rid, uid, x, y in region_rows:
            for z in range(1, min(per_region, 254) + 1):
                if written >= hosts:
                    break
                moment = start + timedelta(seconds=written * 30)
                f.write(
                    bson.encode(
                        {
                            "_id": ObjectId(),
                            "user_id": uid,
                            "owner_id": uid,
                            "owner": "bench",
                            "region_id": rid,
                            "x_octet": x,
                            "y_octet": y,
                            "z_octet": z,
                            "ip_address": f"10.{x}.{y}.{z}",
                            "hostname": f"h{z}",
                            "device_type": "VM",
                            "os_type": "Linux",
                            "application": None,
                            "cost_center": None,
                            "purpose": None,
                            "status": "Active",
                            "tags": {"env": "bench"},
                            "notes": "",
                            "comments": [],
                            "created_at": moment,
                            "updated_at": moment,
                            "created_by": uid,
                            "updated_by": uid,
                        }
                    )
                )
                written += 1
    with open(folder / "ipam_audit_history.bson", "wb") as f:
        for n in range(audit):
            rid, uid, x, y = region_rows[rng.randrange(len(region_rows))]
            f.write(
                bson.encode(
                    {
                        "_id": ObjectId(),
                        "user_id": uid,
                        "action_type": "update",
                        "resource_type": "region",
                        "resource_id": str(rid),
                        "ip_address": None,
                        "cidr": f"10.{x}.{y}.0/24",
                        "reason": "",
                        "timestamp": start + timedelta(seconds=n * 20),
                        "snapshot": {"_id": str(rid), "region_name": "r"},
                        "changes": [{"field": "description", "old_value": "", "new_value": "x"}],
                        "metadata": {"user_agent": None, "ip_source": None},
                    }
                )
            )
    print(f"wrote {len(user_ids)} users, {len(region_rows)} regions, {written} hosts, {audit} audit rows to {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--hosts", type=int, default=1_000_000)
    parser.add_argument("--regions", type=int, default=4000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    generate(args.out, hosts=args.hosts, regions=args.regions, audit=args.audit, users=args.users)


if __name__ == "__main__":
    main()
