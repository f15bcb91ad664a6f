"""/health and /ipam/health: real checks of what the service needs.

healthy = everything works; degraded = the API serves but something optional is down (cache, broker);
unhealthy (503) = the database is unreachable, migrations are pending or the countries are missing.
`background_tasks` shows each scheduled job's last run (from `foundation.jobs`); a failed job is reported
there but does not change the overall status.
"""

from __future__ import annotations

import functools
import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

logger = logging.getLogger("ipam.health")


def check_database() -> dict[str, Any]:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok", "vendor": connections[DEFAULT_DB_ALIAS].vendor}


def check_cache() -> dict[str, Any]:
    backend = "redis" if settings.REDIS_URL else "local"
    if settings.REDIS_URL:
        # The cache ignores Redis errors (so the API keeps serving); ask Redis itself.
        from django_redis import get_redis_connection

        get_redis_connection("default").ping()
    key = f"ipam:health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    ok = cache.get(key) == "1"
    cache.delete(key)
    if not ok:
        return {"status": "error", "backend": backend, "error": "cache did not return what was written"}
    return {"status": "ok", "backend": backend}


def check_broker() -> dict[str, Any]:
    from celery import current_app as app  # the project's Celery app (ipam_project/celery.py)

    url = str(app.conf.broker_url or "")
    transport = url.split(":", 1)[0]
    if transport == "filesystem":
        options = app.conf.broker_transport_options or {}
        folders = [str(options.get("data_folder_in", "")), str(options.get("data_folder_out", ""))]
        ok = all(folder and os.path.isdir(folder) and os.access(folder, os.W_OK) for folder in folders)
        return {"status": "ok" if ok else "error", "transport": transport}
    with app.connection_for_write() as conn:
        # One attempt, no back-off sleeps: a health probe must answer fast.
        conn.ensure_connection(max_retries=0, interval_start=0, timeout=2)
    return {"status": "ok", "transport": transport}


@functools.lru_cache(maxsize=1)
def _migrations_on_disk() -> tuple[tuple[str, str], ...]:
    """Every migration of the installed apps, in plan order: read from disk once per process (the files do not
    change under a running process; a deploy restarts it)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    plan: list[tuple[str, str]] = []
    for leaf in loader.graph.leaf_nodes():
        for node in loader.graph.forwards_plan(leaf):
            if node not in plan:
                plan.append(node)
    return tuple(plan)


def check_migrations() -> dict[str, Any]:
    """Live: which migrations the database has recorded (one query), against the ones on disk."""
    applied = MigrationRecorder(connections[DEFAULT_DB_ALIAS]).applied_migrations()
    pending = [node for node in _migrations_on_disk() if node not in applied]
    if pending:
        return {"status": "error", "pending": [f"{app}.{name}" for app, name in pending][:20]}
    return {"status": "ok"}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "migrations": check_migrations,
}
CRITICAL = {"database", "migrations"}
NEEDS_DATABASE = {"migrations"}
# Checks whose answer is reused for IPAM_HEALTH_CACHE_SECONDS (per process): the broker connection, the cache
# round trips and the apps' checks cost more than the rest of the probe. The database is asked every time,
# and a reused answer — good or bad — is never older than those seconds.
LIVE = {"database"}
_recent: dict[str, tuple[float, Any]] = {}


def register_check(name: str, check: Callable[[], dict[str, Any]], *, critical: bool = False) -> None:
    """Add an app's own check (called from its AppConfig.ready). A critical check failing makes the service
    unhealthy (503); every registered check needs the database and is skipped when it is down."""
    CHECKS[name] = check
    NEEDS_DATABASE.add(name)
    if critical:
        CRITICAL.add(name)


def _reused(name: str, compute: Callable[[], Any]) -> Any:
    """`compute()`, or its answer from less than IPAM_HEALTH_CACHE_SECONDS ago (never for LIVE checks)."""
    ttl = float(getattr(settings, "IPAM_HEALTH_CACHE_SECONDS", 2))
    now = time.monotonic()
    if name in LIVE or ttl <= 0:
        return compute()
    seen = _recent.get(name)
    if seen is not None and now - seen[0] < ttl:
        return seen[1]
    value = compute()
    _recent[name] = (now, value)
    return value


def _timed(name: str, check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # a failing dependency is reported, never raised
        logger.warning("Health check %s failed: %s", name, exc.__class__.__name__)
        result = {"status": "error", "error": exc.__class__.__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def run_checks() -> dict[str, Any]:
    checks: dict[str, Any] = {}
    for name, check in CHECKS.items():
        result = dict(_reused(name, functools.partial(_timed, name, check)))
        checks[name] = result
        if name == "database" and result["status"] != "ok":
            for rest in [n for n in CHECKS if n in NEEDS_DATABASE]:
                checks[rest] = {"status": "error", "error": "database unavailable"}
            break
    failed = {name for name, result in checks.items() if result["status"] != "ok"}
    overall = "unhealthy" if failed & CRITICAL else ("degraded" if failed else "healthy")
    return {
        "status": overall,
        "checks": checks,
        "background_tasks": _reused("background_tasks", background_task_status),
        "version": settings.IPAM_VERSION,
    }


def background_task_status() -> dict[str, Any]:
    try:
        from foundation.jobs import last_runs
    except ImportError:
        return {}
    try:
        return last_runs()
    except Exception as exc:
        logger.warning("Could not read background task status: %s", exc.__class__.__name__)
        return {}


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["healthy", "degraded", "unhealthy"])
    checks = serializers.DictField(
        child=serializers.JSONField(), help_text="database, cache, broker, migrations, countries (+ replicas when configured)"
    )
    background_tasks = serializers.DictField(child=serializers.JSONField(), help_text="per job: last_run, last_status")
    version = serializers.CharField()


HEALTH_RESPONSES = {200: HealthSerializer, 503: HealthSerializer}


class HealthView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes: list[Any] = []  # load balancers and monitors poll it; never 429

    @extend_schema(operation_id="health", tags=["health"], summary="Service health (public)", responses=HEALTH_RESPONSES)
    def get(self, request: Request) -> Response:
        body = run_checks()
        return Response(body, status=503 if body["status"] == "unhealthy" else 200)


class IpamHealthView(HealthView):
    """Same as /health, under the API prefix."""

    @extend_schema(
        operation_id="ipam_health", tags=["health"], summary="Service health (public, alias of /health)", responses=HEALTH_RESPONSES
    )
    def get(self, request: Request) -> Response:
        return super().get(request)
