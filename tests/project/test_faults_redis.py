"""Fault: Redis (cache, rate limits, Celery broker) stops under a running gunicorn and comes back.

A private redis-server on port 6389 (never the machine's Redis) and gunicorn with two workers from
`deploy/gunicorn.conf.py` on the test database. While Redis is down the API keeps serving reads and
writes, /health says `degraded` (200), the rate-limit degradation is logged and counted in /metrics; once
Redis is back, /health is `healthy` again without restarting anything.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.auth.models import Group
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import UserFactory
from tests.ops_support import BIN, Background, free_port, subprocess_env, wait_for

REDIS_PORT = 6389

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _redis(tmp_path: Path) -> Background:
    server = shutil.which("redis-server")
    assert server, "redis-server is required (CI installs it)"
    args = [server, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    return Background(args, {"PATH": "/usr/bin:/bin"}, tmp_path / f"redis-{len(list(tmp_path.glob('redis-*')))}.out")


def _get(url: str, **kwargs: Any) -> requests.Response | None:
    try:
        return requests.get(url, timeout=10, **kwargs)
    except requests.RequestException:
        return None


def test_the_api_keeps_serving_while_redis_is_stopped_and_health_recovers_when_it_is_back(tmp_path):
    user = UserFactory(username="fault-operator")
    user.groups.add(Group.objects.get(name="IPAM Operators"))
    auth = {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = subprocess_env(
        tmp_path,
        redis_url=f"redis://127.0.0.1:{REDIS_PORT}/0",
        IPAM_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        GUNICORN_ACCESS_LOG="",
        IPAM_RATE_LIMITS_ENABLED="true",
        IPAM_RATE_LIMIT_PER_HOUR="1000",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
    )
    (tmp_path / "prom").mkdir()
    redis = _redis(tmp_path)
    gunicorn = Background([str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "ipam_project.wsgi"], env, tmp_path / "gunicorn.out")
    try:
        wait_for(lambda: (r := _get(base + "/health")) is not None and r.json()["status"] == "healthy", 120, gunicorn.output)

        def write(name: str) -> int:
            response = requests.post(base + "/ipam/regions", json={"country": "IN", "region_name": name}, headers=auth, timeout=20)
            return response.status_code

        assert write("before") == 201
        redis.stop()

        # Each gunicorn worker reuses its cache check for IPAM_HEALTH_CACHE_SECONDS (2 s): within that, every
        # worker reports the failure.
        seen: list[requests.Response] = []

        def degraded() -> bool:
            response = _get(base + "/health")
            if response is not None and response.json()["status"] == "degraded":
                seen.append(response)
            return len(seen) >= 4  # a few degraded probes, whichever worker answers them

        wait_for(degraded, 10, "every worker's health to see Redis down")
        health = seen[-1]
        assert health.status_code == 200
        assert health.json()["status"] == "degraded" and health.json()["checks"]["cache"]["status"] == "error"
        reads = [_get(base + "/ipam/regions", headers=auth) for _ in range(6)]
        assert [r.status_code if r else 0 for r in reads] == [200] * 6
        assert [write(f"during-{i}") for i in range(4)] == [201] * 4
        assert "before" in {row["region_name"] for row in reads[-1].json()["results"]}
        metrics = _get(base + "/metrics")
        assert metrics is not None
        degraded = [float(line.split()[-1]) for line in metrics.text.splitlines() if line.startswith("ipam_rate_limit_degraded_total")]
        assert degraded and degraded[0] >= 10, degraded  # every request while Redis was down
        log = (tmp_path / "logs" / "app.log").read_text()
        assert "Rate limit store unavailable" in log

        redis = _redis(tmp_path)
        wait_for(lambda: (r := _get(base + "/health")) is not None and r.json()["status"] == "healthy", 60, "health to recover")
        assert write("after") == 201
    finally:
        gunicorn.stop()
        redis.stop()
