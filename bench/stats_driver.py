"""Benchmark driver for the statistics endpoints, over HTTP against a running server.

Measures, for the user made by `bench/generate.py`:
- dashboard uncached: the user's cache version is bumped before each request (what a write does), so
  every request recomputes (checked with the `X-Cache: MISS` header);
- dashboard cached: repeated reads (`X-Cache: HIT`);
- forecast uncached for a country (`/forecast/country/USA`, the guide's command) and for a region,
  and a cached forecast;
- a read-heavy mix (19 dashboard reads per write, the write being a real PATCH of a region) and the
  dashboard hit rate it gives, from the responses and from the server's `/metrics`.

The driver needs the server's REDIS_URL (to bump the version as a write would) and Django settings.

    REDIS_URL=redis://127.0.0.1:6379/6 DATABASE_URL=postgres://postgres@127.0.0.1:5432/ipam_stats_bench \\
        .venv/bin/python bench/stats_driver.py --base-url http://127.0.0.1:8106 --requests 300
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipam_project.settings")

import django

django.setup()

import requests  # noqa: E402

from ipam import cache  # noqa: E402

TARGETS_MS = {"dashboard uncached": 50.0, "dashboard cached": 5.0, "forecast country uncached": 100.0, "forecast region uncached": 100.0}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarise(name: str, samples: list[float]) -> dict[str, Any]:
    return {
        "scenario": name,
        "n": len(samples),
        "p50_ms": round(percentile(samples, 50), 2),
        "p95_ms": round(percentile(samples, 95), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        "max_ms": round(max(samples), 2),
        "target_p95_ms": TARGETS_MS.get(name),
    }


class Client:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        token = self.session.post(f"{self.base}/auth/token", json={"username": username, "password": password}, timeout=10)
        token.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access']}"

    def timed(self, method: str, path: str, **kwargs: Any) -> tuple[float, requests.Response]:
        started = time.perf_counter()
        response = self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return elapsed, response


def measure_in_process(compute: Callable[[], Any], requests_n: int, warmup: int = 3) -> list[float]:
    samples = []
    for index in range(warmup + requests_n):
        started = time.perf_counter()
        compute()
        if index >= warmup:
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def metric_value(client: Client, result: str) -> float:
    text = requests.get(f"{client.base}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("ipam_cache_requests_total{") and 'cache="dashboard"' in line and f'result="{result}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8106")
    parser.add_argument("--username", default="bench")
    parser.add_argument("--password", default="bench-password-123")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per scenario")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured rounds first")
    parser.add_argument("--country", default="USA")
    parser.add_argument("--mix-rounds", type=int, default=20, help="rounds of 19 reads + 1 write")
    parser.add_argument("--output", default="", help="also write the results as JSON here")
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("Set REDIS_URL to the server's Redis: the driver bumps the cache version like a write does.")

    client = Client(args.base_url, args.username, args.password)
    _, newest = client.timed("GET", "/ipam/regions?ordering=-created_at&page_size=1")
    region = newest.json()["results"][0]
    user_id = region["owner_id"]
    load_before = os.getloadavg()

    def bump() -> None:
        cache.bump_user_version(user_id)

    dash = "/ipam/statistics/dashboard"
    country_path = f"/ipam/statistics/forecast/country/{args.country}"
    region_path = f"/ipam/statistics/forecast/region/{region['region_id']}"
    # Scenarios are interleaved request by request, so a load spike on the shared machine hits all alike.
    # Each cached read directly follows the uncached read of the same path (which filled the cache).
    scenarios: list[tuple[str, str, str | None, Callable[[], None] | None]] = [
        ("baseline GET /ipam/quotas/me", "/ipam/quotas/me", None, None),  # the floor of any authenticated read
        ("dashboard uncached", dash, "MISS", bump),
        ("dashboard cached", dash, "HIT", None),
        ("forecast country uncached", country_path, "MISS", bump),
        ("forecast cached", country_path, "HIT", None),
        ("forecast region uncached", region_path, "MISS", bump),
    ]
    samples: dict[str, list[float]] = {name: [] for name, *_ in scenarios}
    for index in range(args.warmup + args.requests):
        for name, path, expect, before in scenarios:
            if before:
                before()
            elapsed, response = client.timed("GET", path)
            if expect and response.headers.get("X-Cache") != expect:
                raise SystemExit(f"{name}: expected X-Cache {expect}, got {response.headers.get('X-Cache')}")
            if index >= args.warmup:
                samples[name].append(elapsed)
    results = [summarise(name, samples[name]) for name, *_ in scenarios]

    if os.environ.get("DATABASE_URL"):  # the selectors alone, in this process, against the same database
        from django.contrib.auth import get_user_model

        from ipam.selectors.dashboard import dashboard_stats_compute
        from ipam.selectors.forecast import country_forecast

        user = get_user_model().objects.get(pk=user_id)
        results.append(summarise("in-process dashboard_stats_compute", measure_in_process(lambda: dashboard_stats_compute(user), 100)))
        results.append(
            summarise("in-process country_forecast", measure_in_process(lambda: country_forecast(user, args.country, days_ahead=90), 100))
        )

    hits_before, misses_before = metric_value(client, "hit"), metric_value(client, "miss")
    header_hits = reads = 0
    mix_reads: list[float] = []
    for round_index in range(args.mix_rounds):
        client.timed("PATCH", f"/ipam/regions/{region['region_id']}", json={"description": f"bench write {round_index}"})
        for _ in range(19):
            elapsed, response = client.timed("GET", dash)
            mix_reads.append(elapsed)
            reads += 1
            header_hits += response.headers.get("X-Cache") == "HIT"
    hits, misses = metric_value(client, "hit") - hits_before, metric_value(client, "miss") - misses_before
    results.append(summarise("dashboard read-heavy mix (19 reads : 1 write)", mix_reads))
    forecast_body = client.timed("GET", country_path)[1].json()
    dashboard_body = client.timed("GET", dash)[1].json()
    report = {
        "base_url": args.base_url,
        "dataset": {k: dashboard_body[k] for k in ("total_regions", "total_hosts", "total_countries", "recent_activity_count")},
        "forecast_sample": {k: forecast_body[k] for k in ("resource_id", "daily_allocation_rate", "confidence_level", "data_points")},
        "results": results,
        "mix_hit_rate_from_headers": round(header_hits / reads, 4),
        "mix_hit_rate_from_metrics": round(hits / (hits + misses), 4) if hits + misses else None,
        "mix_metrics_note": "one gunicorn worker's counters when several run (Prometheus counters are per process)",
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(report, indent=2))
    print()
    print("| scenario | n | p50 ms | p95 ms | p99 ms | max ms | target p95 |")
    print("|---|---|---|---|---|---|---|")
    for row in results:
        target = f"≤ {row['target_p95_ms']:g} ms" if row["target_p95_ms"] else "—"
        print(f"| {row['scenario']} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['max_ms']} | {target} |")
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
