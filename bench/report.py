"""The rows of `bench/run.py`'s report: the targets of issue 8, one row per scenario, and whether it met its target."""

from __future__ import annotations

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


def summarise(name: str, samples: list[float], **extra: Any) -> dict[str, Any]:
    """A result row: scenario, n, the latency percentiles, the target, then the workload's own fields."""
    row: dict[str, Any] = {"scenario": name, "n": len(samples)}
    row.update(latency_stats(samples))
    row["target"] = TARGETS.get(name, ("—", 0.0))[0]
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
    elif name == "import":
        ok = row["seconds"] * 100_000 / max(1, row["rows"]) <= 60
    elif name in TARGETS and TARGETS[name][1]:
        ok = row["p95_ms"] <= TARGETS[name][1]
    else:
        return "—"
    return "✔" if ok else "✘"
