"""Fault: PostgreSQL stops under a running gunicorn and comes back.

A private PostgreSQL cluster (initdb in a temporary directory, port 5442; never the machine's server) and
gunicorn with two workers from `deploy/gunicorn.conf.py`. While the database is down every API request
gets a prompt 503 with the standard error body (not a hang, not a 500 traceback) and /health is
`unhealthy` (503); once it is back the same workers serve again, without a restart.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.ops_support import BIN, Background, free_port, manage, run_django, subprocess_env, wait_for

PG_PORT = 5442

pytestmark = pytest.mark.slow


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"{name} is required (CI installs PostgreSQL)"
    return found[-1]


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=False)


class Cluster:
    def __init__(self, directory: Path) -> None:
        self.data = directory / "data"
        self.directory = directory

    def ctl(self, *args: str) -> None:
        options = f"-p {PG_PORT} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        result = _as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.directory / "pg.log"), "-w", *args)
        assert result.returncode == 0, result.stdout + result.stderr

    def start(self) -> None:
        self.ctl("start")

    def stop(self) -> None:
        self.ctl("stop", "-m", "fast")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    directory = Path(tempfile.mkdtemp(prefix="ipam-pg-fault-"))
    if os.geteuid() == 0:  # initdb refuses to run as root: the cluster belongs to the postgres user
        shutil.chown(directory, "postgres")
    pg = Cluster(directory)
    init = _as_postgres(_pg_bin("initdb"), "-D", str(pg.data), "-A", "trust", "-U", "postgres", "--no-sync")
    assert init.returncode == 0, init.stderr
    pg.start()
    try:
        created = _as_postgres(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "ipam_fault")
        assert created.returncode == 0, created.stderr
        yield pg
    finally:
        _as_postgres(_pg_bin("pg_ctl"), "-D", str(pg.data), "stop", "-m", "immediate")
        shutil.rmtree(directory, ignore_errors=True)


def _get(url: str, **kwargs: Any) -> requests.Response | None:
    try:
        return requests.get(url, timeout=15, **kwargs)
    except requests.RequestException:
        return None


def test_requests_get_503_while_postgres_is_down_and_the_workers_recover_without_a_restart(tmp_path, cluster):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = subprocess_env(
        tmp_path,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{PG_PORT}/ipam_fault",
        DB_CONNECT_TIMEOUT="2",
        IPAM_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        GUNICORN_ACCESS_LOG="",
    )
    migrated = manage("migrate", "--no-input", env=env)
    assert migrated.returncode == 0, migrated.stderr
    made = run_django(
        "import json\n"
        "from django.contrib.auth.models import Group, User\n"
        "from rest_framework_simplejwt.tokens import RefreshToken\n"
        "user = User.objects.create_user('fault-operator', password='not-used-here-1')\n"
        "user.groups.add(Group.objects.get(name='IPAM Operators'))\n"
        "print(json.dumps({'token': str(RefreshToken.for_user(user).access_token)}))\n",
        env,
    )
    assert made.returncode == 0, made.stderr
    auth = {"Authorization": "Bearer " + json.loads(made.stdout.strip().splitlines()[-1])["token"]}

    gunicorn = [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "ipam_project.wsgi"]
    with Background(gunicorn, env, tmp_path / "gunicorn.out") as server:
        wait_for(lambda: (r := _get(base + "/health")) is not None and r.status_code == 200, 120, server.output)
        created = requests.post(base + "/ipam/regions", json={"country": "IN", "region_name": "before"}, headers=auth, timeout=15)
        assert created.status_code == 201, created.text
        for _ in range(4):  # both workers hold an open connection
            assert (r := _get(base + "/ipam/regions", headers=auth)) is not None and r.status_code == 200

        cluster.stop()
        started = time.monotonic()
        answers = [_get(base + "/ipam/regions", headers=auth) for _ in range(4)]
        answers.append(_get(base + "/ipam/regions/" + created.json()["region_id"], headers=auth))
        write = requests.post(base + "/ipam/regions", json={"country": "IN", "region_name": "down"}, headers=auth, timeout=15)
        answers.append(write)
        assert time.monotonic() - started < 60  # prompt answers, no hangs
        for response in answers:
            assert response is not None and response.status_code == 503, (response and response.text, server.output()[-3000:])
            body = response.json()
            assert set(body) == {"error", "message", "details"} and body["error"] == "service_unavailable", body
            assert response.headers.get("Retry-After")
        health = _get(base + "/health")
        assert health is not None and health.status_code == 503 and health.json()["status"] == "unhealthy"

        cluster.start()
        wait_for(lambda: (r := _get(base + "/ipam/regions", headers=auth)) is not None and r.status_code == 200, 60, "recovery")
        for _ in range(4):  # every worker recovered
            assert (r := _get(base + "/ipam/regions", headers=auth)) is not None and r.status_code == 200
        after = requests.post(base + "/ipam/regions", json={"country": "IN", "region_name": "after"}, headers=auth, timeout=15)
        assert after.status_code == 201, after.text
        assert (h := _get(base + "/health")) is not None and h.json()["status"] in ("healthy", "degraded")
        assert "Traceback" not in server.output()
