"""What every benchmark driver and workload shares: Django bootstrap, the JWT HTTP client, timing, percentiles.

Nothing here touches the ORM at import time, so a driver can import it before `django.setup()`:

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.measure import bootstrap_django
    bootstrap_django()
    from bench.workloads import reads  # noqa: E402  (workload modules import models)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

PASSWORD = "bench-password-123"  # every user the benchmark creates or logs in as (bench/generate.py's default)
FLOOR_PATH = "/ipam/quotas/me"  # the floor of the stack (issue 19): authentication plus one tiny read
ROOT = Path(__file__).resolve().parent.parent


def bootstrap_django() -> None:
    """Make the project importable and configure Django (settings from the environment, as the server's)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipam_project.settings")
    import django

    django.setup()


# --- statistics ------------------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (the value below which `pct` % of the samples fall)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def latency_stats(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99/mean/max in ms, rounded to 0.01 ms; empty when there are no samples."""
    if not samples:
        return {}
    return {
        "p50_ms": round(percentile(samples, 50), 2),
        "p95_ms": round(percentile(samples, 95), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        "max_ms": round(max(samples), 2),
    }


def measure_in_process(compute: Callable[[], Any], requests_n: int, warmup: int = 3) -> list[float]:
    """Call `compute` warmup + requests_n times; the ms of the last requests_n calls."""
    samples = []
    for index in range(warmup + requests_n):
        started = time.perf_counter()
        compute()
        if index >= warmup:
            samples.append((time.perf_counter() - started) * 1000)
    return samples


# --- HTTP --------------------------------------------------------------------------------------------------


class Client:
    """A requests session logged in with a JWT (`POST /auth/token`); `timed` returns (ms, response)."""

    def __init__(self, base_url: str, username: str, password: str = PASSWORD) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        token = self.session.post(f"{self.base}/auth/token", json={"username": username, "password": password}, timeout=10)
        token.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access']}"

    def timed(self, method: str, path: str, *, check: bool = True, timeout: float = 30, **kwargs: Any) -> tuple[float, requests.Response]:
        """One request, timed; with `check`, a 4xx/5xx ends the run with the response's start."""
        started = time.perf_counter()
        response = self.session.request(method, f"{self.base}{path}", timeout=timeout, **kwargs)
        elapsed = (time.perf_counter() - started) * 1000
        if check and response.status_code >= 400:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return elapsed, response


class Floor:
    """Floor requests (`GET /ipam/quotas/me`) taken inside a workload's own loop, one next to each of its
    requests (or rounds of requests), by the same client.

    A scenario's ratio to the floor must compare two things measured at the same moment: the machine's speed
    drifts over a run of several minutes (two runs of one scenario gave 2.17x and 0.99x against a floor
    measured only at the start and the end). `samples` goes into the scenario's row (`summarise(...,
    floor_samples=...)`), whose `x_floor_*` ratios are then taken against it.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.samples: list[float] = []

    def tick(self, record: bool = True, times: int = 1) -> None:
        """`times` floor requests; their ms are kept when `record` (not during a warm-up)."""
        for _ in range(times):
            elapsed, _ = self.client.timed("GET", FLOOR_PATH)
            if record:
                self.samples.append(elapsed)


def new_region(client: Client, country: str, tag: str) -> dict[str, Any]:
    """A fresh region (`bench-<tag>-…`) for the client's user; the caller records it for `delete_regions`."""
    _, response = client.timed("POST", "/ipam/regions", json={"country": country, "region_name": f"bench-{tag}-{uuid.uuid4().hex[:10]}"})
    return response.json()


def delete_regions(client: Client, region_ids: list[str]) -> None:
    """Delete the regions a run created, hosts included (cascade); failures are ignored."""
    for region_id in region_ids:
        client.timed("DELETE", f"/ipam/regions/{region_id}?reason=bench-cleanup&cascade=true", check=False)


# --- one run of bench/run.py -------------------------------------------------------------------------------


@dataclass
class Run:
    """What a workload of `bench/run.py` gets: the parsed flags, the logged-in client of the 1 M-host user,
    that user's id, the seeded random source, and the list of region ids to delete at the end."""

    args: argparse.Namespace
    client: Client
    user_id: int
    rng: random.Random
    created: list[str] = field(default_factory=list)
    floor_samples: list[float] = field(default_factory=list)  # the run's floor row: GET /ipam/quotas/me at the start and the end
