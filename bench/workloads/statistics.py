"""The statistics endpoints: dashboard and forecast, uncached vs cached, checked by the `X-Cache` header.

"Uncached" means the user's cache version is bumped before the request — what a write does — so the server
recomputes (`X-Cache: MISS`); a cached read directly follows the uncached read of the same path (`HIT`).
Scenarios are interleaved request by request, so a load spike on the shared machine hits all alike.

`run` is the `dash` workload of `bench/run.py`; `bench/stats_driver.py` uses `cache_reads` with more
scenarios, plus `in_process` (the selectors without HTTP) and `read_heavy_mix` (19 reads : 1 write).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from bench.measure import Client, Floor, Run, measure_in_process
from bench.report import summarise
from ipam import cache

GROUP = "dash"
DASHBOARD = "/ipam/statistics/dashboard"

# (scenario, path, expected X-Cache or None for no check, called before each request or None)
Scenario = tuple[str, str, str | None, Callable[[], None] | None]


def run(ctx: Run) -> list[dict[str, Any]]:
    bump = bumper(ctx.user_id)
    scenarios: list[Scenario] = [
        ("dashboard uncached", DASHBOARD, "MISS", bump),
        ("dashboard cached", DASHBOARD, "HIT", None),
        ("forecast country uncached", country_forecast_path(ctx.args.country), "MISS", bump),
    ]
    floor = Floor(ctx.client)
    samples = cache_reads(ctx.client, scenarios, ctx.args.requests, warmup=10, floor=floor)
    return [summarise(name, values, floor.samples) for name, values in samples.items()]


def bumper(user_id: int) -> Callable[[], None]:
    """Bump the user's cache version as a write would (needs the server's REDIS_URL in this process)."""

    def bump() -> None:
        cache.bump_user_version(user_id)

    return bump


def country_forecast_path(country: str) -> str:
    return f"/ipam/statistics/forecast/country/{country}"


def region_forecast_path(region_id: str) -> str:
    return f"/ipam/statistics/forecast/region/{region_id}"


def cache_reads(client: Client, scenarios: list[Scenario], n: int, warmup: int, floor: Floor | None = None) -> dict[str, list[float]]:
    """`warmup` + `n` rounds of the scenarios, interleaved; the ms of the last `n` rounds per scenario.
    A response whose `X-Cache` is not the expected one ends the run. With `floor`, each round starts with
    one floor request."""
    samples: dict[str, list[float]] = {name: [] for name, *_ in scenarios}
    for index in range(warmup + n):
        if floor is not None:
            floor.tick(record=index >= warmup)
        for name, path, expect, before in scenarios:
            if before:
                before()
            elapsed, response = client.timed("GET", path)
            if expect and response.headers.get("X-Cache") != expect:
                raise SystemExit(f"{name}: expected X-Cache {expect}, got {response.headers.get('X-Cache')}")
            if index >= warmup:
                samples[name].append(elapsed)
    return samples


def in_process(user_id: int, country: str, n: int = 100) -> dict[str, list[float]]:
    """The dashboard and country forecast selectors alone, in this process, against the same database."""
    from django.contrib.auth import get_user_model

    from ipam.selectors.dashboard import dashboard_stats_compute
    from ipam.selectors.forecast import country_forecast

    user = get_user_model().objects.get(pk=user_id)
    return {
        "in-process dashboard_stats_compute": measure_in_process(lambda: dashboard_stats_compute(user), n),
        "in-process country_forecast": measure_in_process(lambda: country_forecast(user, country, days_ahead=90), n),
    }


def metric_value(client: Client, result: str) -> float:
    """The dashboard cache's `ipam_cache_requests_total` for `result` (hit/miss), from `/metrics`."""
    text = requests.get(f"{client.base}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("ipam_cache_requests_total{") and 'cache="dashboard"' in line and f'result="{result}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@dataclass
class Mix:
    samples: list[float]  # ms of every dashboard read
    reads: int
    header_hits: int  # reads answered with X-Cache: HIT
    metric_hits: float  # the dashboard cache's hit / miss counters on /metrics, before → after
    metric_misses: float


def read_heavy_mix(client: Client, region_id: str, rounds: int) -> Mix:
    """`rounds` × (a real PATCH of the region, then 19 dashboard reads)."""
    hits_before, misses_before = metric_value(client, "hit"), metric_value(client, "miss")
    header_hits = reads = 0
    samples: list[float] = []
    for round_index in range(rounds):
        client.timed("PATCH", f"/ipam/regions/{region_id}", json={"description": f"bench write {round_index}"})
        for _ in range(19):
            elapsed, response = client.timed("GET", DASHBOARD)
            samples.append(elapsed)
            reads += 1
            header_hits += response.headers.get("X-Cache") == "HIT"
    return Mix(
        samples=samples,
        reads=reads,
        header_hits=header_hits,
        metric_hits=metric_value(client, "hit") - hits_before,
        metric_misses=metric_value(client, "miss") - misses_before,
    )
