"""The rows of `bench/run.py`'s report: the targets of issue 8, one row per scenario, and whether it met its target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.measure import latency_stats

# scenario: (target as printed, threshold) — the threshold is a p95 in ms unless `verdict` says otherwise
TARGETS: dict[str, tuple[str, float]] = {
    "host allocation sequential": ("p50≤10 p95≤25", 25.0),
    "host allocation 8 clients, 8 regions": ("≥200 alloc/s", 200.0),
    "host allocation 8 clients, 1 region": ("0 dup, 0 5xx", 0.0),
    "region allocation, empty country": ("—", 0.0),
    "region allocation, 99% full country": ("p95 ≤ 1.2× empty", 1.2),
    "by-ip lookup": ("p95≤20", 20.0),
    "search by CIDR": ("p95≤20", 20.0),
    "region list page": ("p95≤20", 20.0),
    "host list page": ("p95≤20", 20.0),
    "dashboard uncached": ("p95≤50", 50.0),
    "dashboard cached": ("p95≤5", 5.0),
    "forecast country uncached": ("p95≤100", 100.0),
    "batch of 100 hosts": ("p95≤300", 300.0),
    "import": ("≤60 s for 100,000 rows", 60.0),
    "host list, cursor page 1": ("—", 0.0),
    "host list, cursor page 20,000": ("p50 ≤ 2× page 1", 2.0),
    # the operator console (bench/workloads/console.py): every page ≤ 200 ms at 1 M hosts
    **{
        f"console {page}": ("p95≤200", 200.0)
        for page in (
            "dashboard",
            "region list",
            "region search (CIDR)",
            "region page",
            "map (global)",
            "map (user, country)",
            "host search (exact IP)",
            "country list",
            "audit log",
        )
    },
}


# Issue 19: targets as multiples of the floor (GET /ipam/quotas/me) measured interleaved with the scenario, on the p50.
# scenario (or prefix) -> the largest allowed p50 / floor p50.
FLOOR_TARGETS: dict[str, float] = {
    "GET region": 1.5,
    "GET host": 1.5,
    "GET country": 1.5,
    "GET preferences": 1.5,
    "GET reservation": 1.5,
    "GET share (public link)": 1.5,
    "GET saved filter": 1.5,
    "GET notification rule": 1.5,
    "by-ip lookup": 1.5,
    "GET /health": 1.5,
    "region list page": 2.0,
    "host list page": 2.0,
    "audit list page": 2.0,
    "notification list page": 2.0,
    "reservation list page": 2.0,
    "delivery list page": 2.0,
    "host allocation sequential": 2.0,
    "region allocation, empty country": 2.5,
    "batch of 100 hosts": 15.0,
}
# Throughput targets with 2 workers (allocations per second, 0 errors, 0 duplicates).
THROUGHPUT_TARGETS: dict[str, float] = {
    "host allocation 8 clients, 1 region": 250.0,
    "host allocation 8 clients, 8 regions": 300.0,
}


def with_floor_ratios(rows: list[dict[str, Any]], floor: dict[str, Any] | None = None) -> None:
    """Each row's p50 and p95 as multiples of its floor, and the issue-19 verdict.

    A row measured with floor requests interleaved in its own loop (`floor_p50_ms`/`floor_p95_ms`, see
    `bench.measure.Floor`) is divided by those; a row without (the concurrent throughput runs, the import, or
    a report of an older driver) by `floor`, the run's floor row (start and end of the run), when given."""
    for row in rows:
        if "p50_ms" in row:
            if row.get("floor_p50_ms"):
                reference = (row["floor_p50_ms"], row["floor_p95_ms"])
            elif floor and floor.get("p50_ms"):
                reference = (floor["p50_ms"], floor["p95_ms"])
            else:
                reference = None
            if reference:
                row["x_floor_p50"] = round(row["p50_ms"] / reference[0], 2)
                row["x_floor_p95"] = round(row["p95_ms"] / reference[1], 2)
        limit = FLOOR_TARGETS.get(row["scenario"])
        if limit is not None and "x_floor_p50" in row:
            row["floor_target"] = f"p50 ≤ {limit}× floor"
            row["meets_floor_target"] = "✔" if row["x_floor_p50"] <= limit else "✘"
        wanted = THROUGHPUT_TARGETS.get(row["scenario"])
        if wanted is not None and "throughput_per_s" in row:
            ok = row["throughput_per_s"] >= wanted and row.get("duplicates") == 0 and row.get("server_errors") == 0
            row["floor_target"] = f"≥ {wanted:g} alloc/s, 0 dup, 0 5xx"
            row["meets_floor_target"] = "✔" if ok else "✘"


def summarise(name: str, samples: list[float], floor_samples: Sequence[float] = (), **extra: Any) -> dict[str, Any]:
    """A result row: scenario, n, the latency percentiles, the target, the floor measured interleaved with the
    scenario (`floor_n`, `floor_p50_ms`, `floor_p95_ms`; only when `floor_samples`), then the workload's own fields."""
    row: dict[str, Any] = {"scenario": name, "n": len(samples)}
    row.update(latency_stats(samples))
    row["target"] = TARGETS.get(name, ("—", 0.0))[0]
    if floor_samples:
        stats = latency_stats(list(floor_samples))
        row.update(floor_n=len(floor_samples), floor_p50_ms=stats["p50_ms"], floor_p95_ms=stats["p95_ms"])
    row.update(extra)
    return row


def verdict(row: dict[str, Any], empty_p95: float | None) -> str:
    """✔ / ✘ against the row's target, — when it has none. `empty_p95`: the empty-country region allocation's."""
    name = row["scenario"]
    if name == "host allocation sequential":
        ok = row["p50_ms"] <= 10 and row["p95_ms"] <= 25
    elif name == "host allocation 8 clients, 8 regions":
        ok = row["throughput_per_s"] >= 200 and row["duplicates"] == 0 and row["server_errors"] == 0
    elif name == "host allocation 8 clients, 1 region":
        ok = row["duplicates"] == 0 and row["server_errors"] == 0
    elif name == "region allocation, 99% full country":
        ok = empty_p95 is not None and row["p95_ms"] <= 1.2 * empty_p95
    elif name == "host list, cursor page 20,000":
        ok = row["ratio_to_first_p50"] <= 2.0
    elif name == "import":
        ok = row["seconds"] * 100_000 / max(1, row["rows"]) <= 60
    elif name in TARGETS and TARGETS[name][1]:
        ok = row["p95_ms"] <= TARGETS[name][1]
    else:
        return "—"
    return "✔" if ok else "✘"
