"""Where the time of a hot request goes, measured in-process (issue 19: "find where the time goes").

Each scenario sends its request through the whole Django stack (middleware, DRF authentication with a real
JWT, throttling, the view, serialization, rendering) with Django's test client — no network, no gunicorn —
against the database and cache of the environment (DATABASE_URL, REDIS_URL: use the bench dataset). The
profile (cProfile) is folded into the phases a request passes through, plus the time spent inside SQL
statements and cache round trips, and the statement count:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ipam_perf REDIS_URL=redis://127.0.0.1:6379/8 DEBUG=false \\
        SECRET_KEY=x FERNET_KEY=$(...) .venv/bin/python bench/breakdown.py --requests 200 [--only quota,region]

Phases overlap by nesting (authentication runs inside the view's `initial`); each number is the cumulative
time of the named functions per request, so the columns say how much of the request each part costs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import bootstrap_django, latency_stats

bootstrap_django()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client as DjangoClient  # noqa: E402

from foundation.views import VersionedRefreshToken  # noqa: E402
from ipam.models import Host, Region  # noqa: E402
from ipam.services import shares as share_services  # noqa: E402
from notifications.models import Notification  # noqa: E402
from webhooks.models import Webhook  # noqa: E402

# Phase → functions (module path suffix, function name) whose cumulative time makes the phase.
PHASES: dict[str, list[tuple[str, str]]] = {
    "middleware (ours + Django + prometheus)": [("django/core/handlers/base.py", "get_response")],
    "authentication": [("rest_framework/request.py", "_authenticate")],
    "permissions": [("rest_framework/views.py", "check_permissions")],
    "throttling": [("rest_framework/views.py", "check_throttles")],
    "view handler": [("rest_framework/views.py", "dispatch")],
    "serialization": [("rest_framework/serializers.py", "data")],
    "rendering": [("rest_framework/response.py", "rendered_content")],
    "idempotency": [("foundation/idempotency.py", "wrapper")],
    "transaction commit": [("django/db/backends/base/base.py", "commit")],
}


class StatementTimer:
    """Counts SQL statements and the time spent executing them (connection.execute_wrapper)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def _cache_seconds(stats: pstats.Stats) -> float:
    """Time inside Redis round trips (redis-py's command execution), or 0 with the local cache."""
    total = 0.0
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.endswith("redis/client.py") and name in ("execute_command", "execute"):
            total = max(total, cumulative)  # nested calls: the outermost is the total
    return total


def _phase_seconds(stats: pstats.Stats) -> dict[str, float]:
    found: dict[str, float] = {}
    for phase, targets in PHASES.items():
        seconds = 0.0
        for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            if any(filename.endswith(suffix) and name == function for suffix, function in targets):
                seconds = max(seconds, cumulative)
        found[phase] = seconds
    return found


def scenarios(user: Any) -> dict[str, Callable[[DjangoClient], Any]]:
    region = Region.objects.filter(user=user).order_by("created_at").first()
    host = Host.objects.filter(user=user).order_by("created_at").first()
    assert region is not None and host is not None, "run bench/generate.py first"
    fresh: dict[str, Any] = {}

    def allocate_host(client: DjangoClient) -> Any:
        if "region" not in fresh or fresh["count"] >= 250:
            body = {"country": "US", "region_name": f"profile-{uuid.uuid4().hex[:10]}"}
            fresh["region"] = client.post("/ipam/regions", body, content_type="application/json").json()["region_id"]
            fresh.setdefault("created", []).append(fresh["region"])
            fresh["count"] = 0
        fresh["count"] += 1
        body = {"region_id": fresh["region"], "hostname": f"p-{uuid.uuid4().hex[:12]}"}
        return client.post("/ipam/hosts", body, content_type="application/json")

    def allocate_batch(client: DjangoClient) -> Any:
        # A fresh region for every two batches of 100 (a /24 holds 254 hosts).
        if "batch_region" not in fresh or fresh["batch_count"] >= 2:
            body = {"country": "US", "region_name": f"profile-{uuid.uuid4().hex[:10]}"}
            fresh["batch_region"] = client.post("/ipam/regions", body, content_type="application/json").json()["region_id"]
            fresh.setdefault("created", []).append(fresh["batch_region"])
            fresh["batch_count"] = 0
        fresh["batch_count"] += 1
        body = {"region_id": fresh["batch_region"], "count": 100, "hostname_prefix": f"b-{uuid.uuid4().hex[:10]}"}
        return client.post("/ipam/hosts/batch", body, content_type="application/json")

    def allocate_region(client: DjangoClient) -> Any:
        body = {"country": "US", "region_name": f"profile-{uuid.uuid4().hex[:10]}"}
        response = client.post("/ipam/regions", body, content_type="application/json")
        fresh.setdefault("created", []).append(response.json()["region_id"])
        return response

    share, token = share_services.share_create(actor=user, resource_type="host", resource_id=str(host.pk), expires_in_days=1)
    rng = random.Random(19)
    notification_pages = max(1, -(-Notification.objects.filter(user=user).count() // 50))
    webhook = Webhook.objects.filter(user=user).annotate(n=Count("deliveries")).order_by("-n").first()
    delivery_pages = max(1, -(-(webhook.n if webhook else 0) // 50))  # type: ignore[attr-defined]

    found: dict[str, Callable[[DjangoClient], Any]] = {
        "GET /ipam/quotas/me (floor)": lambda c: c.get("/ipam/quotas/me"),
        "GET /ipam/countries": lambda c: c.get("/ipam/countries"),
        "GET /ipam/regions/{id}": lambda c: c.get(f"/ipam/regions/{region.pk}"),
        "GET /ipam/hosts/{id}": lambda c: c.get(f"/ipam/hosts/{host.pk}"),
        "GET /ipam/hosts/by-ip/{ip}": lambda c: c.get(f"/ipam/hosts/by-ip/{host.ip_address}"),
        "GET /ipam/shares/{token} (public)": lambda c: c.get(f"/ipam/shares/{token}"),
        "GET /ipam/notifications?page=N": lambda c: c.get(f"/ipam/notifications?page={rng.randint(1, notification_pages)}"),
        "GET /health": lambda c: c.get("/health"),
        "POST /ipam/hosts": allocate_host,
        "POST /ipam/hosts/batch (100)": allocate_batch,
        "POST /ipam/regions": allocate_region,
    }
    if webhook is not None:  # the user with the most deliveries (bench/generate.py makes none: seed some to profile)
        found["GET /ipam/webhooks/{id}/deliveries?page=N"] = lambda c: c.get(
            f"/ipam/webhooks/{webhook.pk}/deliveries?page={rng.randint(1, delivery_pages)}"
        )

    def cleanup(c: DjangoClient) -> None:
        for rid in fresh.get("created", []):
            c.delete(f"/ipam/regions/{rid}?reason=profile-cleanup&cascade=true")
        share_services.share_revoke(actor=user, share_id=share.pk)

    found["_cleanup"] = cleanup
    return found


def profile(name: str, call: Callable[[DjangoClient], Any], client: DjangoClient, requests_n: int) -> dict[str, Any]:
    for _ in range(5):  # warm caches and connections
        call(client)
    timer = StatementTimer()
    profiler = cProfile.Profile()
    samples: list[float] = []
    with connection.execute_wrapper(timer):
        for _ in range(requests_n):
            started = time.perf_counter()
            profiler.enable()
            response = call(client)
            profiler.disable()
            samples.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 400:
                raise SystemExit(f"{name}: {response.status_code} {response.content[:300]!r}")
    stats = pstats.Stats(profiler)
    per_request = {phase: round(seconds / requests_n * 1000, 3) for phase, seconds in _phase_seconds(stats).items()}
    return {
        "scenario": name,
        "n": requests_n,
        **latency_stats(samples),
        "statements_per_request": round(timer.count / requests_n, 2),
        "sql_ms_per_request": round(timer.seconds / requests_n * 1000, 3),
        "cache_ms_per_request": round(_cache_seconds(stats) / requests_n * 1000, 3),
        "phases_ms_per_request": per_request,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--username", default="bench")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--only", default="", help="comma-separated substrings of scenario names")
    parser.add_argument("--output", default="")
    args = parser.parse_args(argv)
    user = get_user_model().objects.get(username=args.username)
    client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {VersionedRefreshToken.for_user(user).access_token}", REMOTE_ADDR="127.0.0.1")
    found = scenarios(user)
    cleanup = found.pop("_cleanup")
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    results = []
    try:
        for name, call in found.items():
            if wanted and not any(w in name for w in wanted):
                continue
            result = profile(name, call, client, args.requests)
            results.append(result)
            phases = ", ".join(f"{k.split(' (')[0]} {v}" for k, v in result["phases_ms_per_request"].items() if v)
            print(
                f"{name}: p50 {result['p50_ms']} ms, {result['statements_per_request']} statements "
                f"({result['sql_ms_per_request']} ms SQL), cache {result['cache_ms_per_request']} ms | {phases}",
                flush=True,
            )
    finally:
        cleanup(client)
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
