"""/health under failure: a stopped Redis is degraded (200), an unreachable database unhealthy (503); the
endpoint is never rate limited."""

from __future__ import annotations

import json

import pytest

from tests.ops_support import closed_port, run_django, subprocess_env

pytestmark = pytest.mark.django_db

HEALTH = (
    "import json\n"
    "from django.test import Client\n"
    "response = Client().get('/health', HTTP_X_REQUEST_ID='health-probe-1')\n"
    "print(json.dumps({'code': response.status_code, 'body': response.json()}))\n"
)


def test_health_reports_a_stopped_redis_as_degraded(tmp_path):
    env = subprocess_env(tmp_path, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    result = run_django(HEALTH, env)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 200
    body = outcome["body"]
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["status"] == "error"
    assert body["checks"]["broker"]["status"] == "error"
    for name in ("database", "migrations", "countries"):
        assert body["checks"][name]["status"] == "ok", body
    log = (tmp_path / "logs" / "app.log").read_text()
    assert "[WARNING] [ipam.health] Health check cache failed: ConnectionError [request_id=health-probe-1]" in log


def test_health_is_unhealthy_503_when_the_database_is_unreachable(tmp_path):
    env = subprocess_env(tmp_path, DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/ipam", DB_CONNECT_TIMEOUT="2")
    result = run_django(HEALTH, env)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 503
    assert outcome["body"]["status"] == "unhealthy"
    assert outcome["body"]["checks"]["database"]["status"] == "error"
    assert outcome["body"]["checks"]["migrations"] == {"status": "error", "error": "database unavailable"}


def test_health_is_healthy_on_a_fresh_run_in_a_subprocess(tmp_path):
    result = run_django(HEALTH, subprocess_env(tmp_path))
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 200 and outcome["body"]["status"] == "healthy", outcome


def test_health_is_never_rate_limited(anon, settings):
    settings.IPAM_RATE_LIMITS_ENABLED = True
    settings.IPAM_RATE_LIMIT_PER_HOUR = 1
    settings.IPAM_READ_RATE_LIMIT_PER_HOUR = 1
    codes = [anon.get(path).status_code for path in ["/health", "/ipam/health", "/health/"] * 3]
    assert codes == [200] * 9
