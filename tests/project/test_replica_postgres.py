"""Read replicas for real: a primary and a streaming replica, both private clusters started by the test.

The primary is `initdb` in a temporary directory (port 15440), the replica a `pg_basebackup -R` of it
(port 15441, hot standby). The application runs in a child process with `DATABASE_URL` = primary and
`DATABASE_REPLICA_URLS` = replica, and the scenario goes through the API (Django's test client):

1. a write lands on the primary (the replica's connection ran no statement for it);
2. a lag-tolerant list right after the same user's write is served by the primary (read-your-writes);
3. once the pin expires, the list is served by the replica — the connection it used answers
   `pg_is_in_recovery() = true`;
4. with replay paused on the replica, a write still succeeds (the reads inside it are on the primary) and
   the lag is visible exactly where it is allowed: the list (replica) misses the new region, the detail
   (primary) has it;
5. /health reports the replica as a standby, with its lag.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.ops_support import run_django, subprocess_env

PRIMARY_PORT, REPLICA_PORT = 15440, 15441
PG_BIN = Path("/usr/lib/postgresql/15/bin")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL runs only (the suite runs once per backend)"),
]


def _as_postgres(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=timeout, check=False)


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


def _start(data: Path, port: int, log: Path) -> None:
    options = f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1 -c fsync=off"
    _ok(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"))


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[str, str]]:
    assert (PG_BIN / "pg_basebackup").exists(), "PostgreSQL 15 server binaries are required (CI installs them)"
    directory = Path(tempfile.mkdtemp(prefix="ipam-pg-replica-"))
    if os.geteuid() == 0:  # initdb refuses to run as root: the clusters belong to the postgres user
        shutil.chown(directory, "postgres")
    primary, replica = directory / "primary", directory / "replica"
    try:
        _ok(_as_postgres(str(PG_BIN / "initdb"), "-D", str(primary), "-A", "trust", "-U", "postgres", "--no-sync"))
        _start(primary, PRIMARY_PORT, directory / "primary.log")
        _ok(_as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U", "postgres", "ipam_replica"))
        _ok(
            _as_postgres(
                str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U", "postgres",
                "-D", str(replica), "-R", "-X", "stream", "-c", "fast", "--no-sync",
            )
        )  # fmt: skip
        _start(replica, REPLICA_PORT, directory / "replica.log")
        yield (
            f"postgres://postgres@127.0.0.1:{PRIMARY_PORT}/ipam_replica",
            f"postgres://postgres@127.0.0.1:{REPLICA_PORT}/ipam_replica",
        )
    finally:
        for data in (replica, primary):
            if data.exists():
                _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "stop", "-m", "immediate")
        shutil.rmtree(directory, ignore_errors=True)


SCENARIO = r"""
import json, time
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.signals import request_started
from django.db import connections, reset_queries
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken
from ipam.models import Region

from django.core.management import call_command

call_command("migrate", "--no-input", verbosity=0)  # on the primary only (the router allows nothing else)
ALIASES = ("default", "replica_0")
request_started.disconnect(reset_queries)  # keep the statement logs across requests
out = {}
for alias in ALIASES:
    connections[alias].force_debug_cursor = True  # keep every statement, per connection
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_setting('port')")
        out[alias] = list(cursor.fetchone())

user = User.objects.create_user("replica-operator", password="not-used-here-1")
user.groups.add(Group.objects.get(name="IPAM Operators"))
client = Client(HTTP_AUTHORIZATION="Bearer " + str(RefreshToken.for_user(user).access_token))

def mark():
    return {alias: len(connections[alias].queries) for alias in ALIASES}

def since(start, alias):
    return [q["sql"] for q in connections[alias].queries[start[alias]:]]

def names():
    return sorted(r["region_name"] for r in client.get("/ipam/regions").json()["results"])

def replica_has(region_id):
    return Region.objects.using("replica_0").filter(pk=region_id).exists()

# 1. a write
start = mark()
created = client.post("/ipam/regions", data=json.dumps({"country": "IN", "region_name": "first"}), content_type="application/json")
out["create"] = created.status_code
first = created.json()["region_id"]
# (the region's INSERT is a part of one WITH statement on PostgreSQL: region allocation, issue 19)
out["insert_on_primary"] = any('INSERT INTO "ipam_region"' in q for q in since(start, "default"))
out["replica_statements_during_write"] = len(since(start, "replica_0"))

# 2. the same user's list right after it
start = mark()
out["list_after_write"] = names()
out["replica_statements_after_write"] = len(since(start, "replica_0"))
out["primary_region_selects_after_write"] = sum("ipam_region" in q for q in since(start, "default"))

# 3. once the pin has expired (and the replica has replayed the write)
deadline = time.monotonic() + 20
while not replica_has(first) and time.monotonic() < deadline:
    time.sleep(0.1)
time.sleep(settings.IPAM_DB_READ_YOUR_WRITES_SECONDS + 0.5)  # the pin expires
start = mark()
out["list_later"] = names()
out["replica_region_selects_later"] = sum("ipam_region" in q for q in since(start, "replica_0"))
with connections["replica_0"].cursor() as cursor:  # the very connection the list used
    cursor.execute("SELECT pg_is_in_recovery()")
    out["list_connection_in_recovery"] = cursor.fetchone()[0]

# 4. replay paused: lag is visible only where it is allowed
with connections["replica_0"].cursor() as cursor:
    cursor.execute("SELECT pg_wal_replay_pause()")
second = client.post("/ipam/regions", data=json.dumps({"country": "IN", "region_name": "second"}), content_type="application/json")
out["create_while_paused"] = second.status_code
time.sleep(settings.IPAM_DB_READ_YOUR_WRITES_SECONDS + 0.5)  # the pin expires
out["list_while_paused"] = names()
out["detail_while_paused"] = client.get("/ipam/regions/" + second.json()["region_id"]).status_code
with connections["replica_0"].cursor() as cursor:
    cursor.execute("SELECT pg_wal_replay_resume()")
out["health"] = client.get("/health").json()["checks"]["replicas"]
print(json.dumps(out))
"""


def test_writes_go_to_the_primary_and_lag_tolerant_lists_to_the_replica(tmp_path, primary_and_replica):
    primary_url, replica_url = primary_and_replica
    env = subprocess_env(
        tmp_path,
        DATABASE_URL=primary_url,
        DATABASE_REPLICA_URLS=replica_url,
        IPAM_DB_READ_YOUR_WRITES_SECONDS="1",
        IPAM_ENABLE_WEBHOOKS="false",
    )
    result = run_django(SCENARIO, env, timeout=90)
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])

    assert out["default"] == [False, str(PRIMARY_PORT)] and out["replica_0"] == [True, str(REPLICA_PORT)]
    # 1. the write
    assert out["create"] == 201
    assert out["insert_on_primary"] is True
    assert out["replica_statements_during_write"] == 0
    # 2. read-your-writes
    assert out["list_after_write"] == ["first"]
    assert out["replica_statements_after_write"] == 0
    assert out["primary_region_selects_after_write"] >= 1
    # 3. the replica serves the list
    assert out["list_later"] == ["first"]
    assert out["replica_region_selects_later"] >= 1
    assert out["list_connection_in_recovery"] is True
    # 4. lag, where it is allowed
    assert out["create_while_paused"] == 201
    assert out["list_while_paused"] == ["first"]
    assert out["detail_while_paused"] == 200
    # /health reports the replica (a standby) and its lag
    assert out["health"]["status"] == "ok"
    assert out["health"]["replicas"]["replica_0"]["standby"] is True
