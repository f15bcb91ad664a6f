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


@pytest.fixture
def counted_checks(monkeypatch, settings):
    """The broker and migrations checks replaced by counters (their real versions are tested above)."""
    from foundation import health

    settings.IPAM_HEALTH_CACHE_SECONDS = 2
    calls = {"broker": 0, "database": 0}
    real_database = health.CHECKS["database"]

    def broker() -> dict:
        calls["broker"] += 1
        return {"status": "ok", "transport": "counted"}

    def database() -> dict:
        calls["database"] += 1
        return real_database()

    monkeypatch.setitem(health.CHECKS, "broker", broker)
    monkeypatch.setitem(health.CHECKS, "database", database)
    monkeypatch.setattr(health, "_recent", {})
    return calls


@pytest.mark.django_db
def test_health_reuses_the_slow_checks_for_a_moment_but_asks_the_database_every_time(anon, counted_checks, monkeypatch):
    from foundation import health

    clock = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: clock[0])
    for _ in range(3):
        assert anon.get("/health").status_code == 200
    assert counted_checks == {"broker": 1, "database": 3}
    clock[0] += 2.5  # past IPAM_HEALTH_CACHE_SECONDS: asked again
    assert anon.get("/health").status_code == 200
    assert counted_checks == {"broker": 2, "database": 4}


@pytest.mark.django_db
def test_a_failing_database_is_reported_at_once_even_right_after_a_healthy_probe(anon, counted_checks, monkeypatch):
    from django.db import OperationalError

    from foundation import health

    assert anon.get("/health").json()["status"] == "healthy"

    def down() -> dict:
        raise OperationalError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", down)
    response = anon.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["status"] == "error"


@pytest.mark.django_db
def test_the_migrations_check_sees_a_migration_missing_from_the_database(anon, settings):
    from django.db.migrations.recorder import MigrationRecorder

    settings.IPAM_HEALTH_CACHE_SECONDS = 0
    assert anon.get("/health").json()["checks"]["migrations"]["status"] == "ok"
    MigrationRecorder.Migration.objects.filter(app="ops", name="0002_idempotencyrecord_from_ipam").delete()
    body = anon.get("/health").json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["migrations"]["pending"] == ["ops.0002_idempotencyrecord_from_ipam"]
