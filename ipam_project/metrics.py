"""Application metrics exported at /metrics next to django-prometheus' own series."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CACHE_REQUESTS = Counter("ipam_cache_requests_total", "Cache lookups by cache name and result", ["cache", "result"])
ALLOCATIONS = Counter("ipam_allocations_total", "Allocation attempts by resource and result", ["resource", "result"])
ALLOCATION_LATENCY = Histogram(
    "ipam_allocation_seconds",
    "Time spent in the allocation service",
    ["resource"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


def record_cache_access(name: str, hit: bool) -> None:
    CACHE_REQUESTS.labels(cache=name, result="hit" if hit else "miss").inc()


RATE_LIMITED = Counter("ipam_rate_limited_requests_total", "Requests refused by a rate limit", ["scope"])
RATE_LIMIT_DEGRADED = Counter("ipam_rate_limit_degraded_total", "Requests allowed because the rate-limit store was unreachable")
