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
The workload itself is `bench/workloads/statistics.py` (shared with the `dash` workload of `bench/run.py`).

    bench/serve.sh --stats &    # port 8106, Redis DB 6
    REDIS_URL=redis://127.0.0.1:6379/6 DATABASE_URL=postgres://postgres@127.0.0.1:5432/ipam_stats_bench \\
        .venv/bin/python bench/stats_driver.py --base-url http://127.0.0.1:8106 --requests 300
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import bootstrap_django

bootstrap_django()

from bench.measure import Client, latency_stats  # noqa: E402
from bench.workloads import statistics  # noqa: E402

TARGETS_MS = {"dashboard uncached": 50.0, "dashboard cached": 5.0, "forecast country uncached": 100.0, "forecast region uncached": 100.0}


def summarise(name: str, samples: list[float]) -> dict[str, Any]:
    return {"scenario": name, "n": len(samples), **latency_stats(samples), "target_p95_ms": TARGETS_MS.get(name)}


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

    bump = statistics.bumper(user_id)
    dash = statistics.DASHBOARD
    country_path = statistics.country_forecast_path(args.country)
    scenarios: list[statistics.Scenario] = [
        ("baseline GET /ipam/quotas/me", "/ipam/quotas/me", None, None),  # the floor of any authenticated read
        ("dashboard uncached", dash, "MISS", bump),
        ("dashboard cached", dash, "HIT", None),
        ("forecast country uncached", country_path, "MISS", bump),
        ("forecast cached", country_path, "HIT", None),
        ("forecast region uncached", statistics.region_forecast_path(region["region_id"]), "MISS", bump),
    ]
    samples = statistics.cache_reads(client, scenarios, args.requests, warmup=args.warmup)
    results = [summarise(name, values) for name, values in samples.items()]

    if os.environ.get("DATABASE_URL"):  # the selectors alone, in this process, against the same database
        results += [summarise(name, values) for name, values in statistics.in_process(user_id, args.country).items()]

    mix = statistics.read_heavy_mix(client, region["region_id"], args.mix_rounds)
    results.append(summarise("dashboard read-heavy mix (19 reads : 1 write)", mix.samples))
    forecast_body = client.timed("GET", country_path)[1].json()
    dashboard_body = client.timed("GET", dash)[1].json()
    hits, misses = mix.metric_hits, mix.metric_misses
    report = {
        "base_url": args.base_url,
        "dataset": {k: dashboard_body[k] for k in ("total_regions", "total_hosts", "total_countries", "recent_activity_count")},
        "forecast_sample": {k: forecast_body[k] for k in ("resource_id", "daily_allocation_rate", "confidence_level", "data_points")},
        "results": results,
        "mix_hit_rate_from_headers": round(mix.header_hits / mix.reads, 4),
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
