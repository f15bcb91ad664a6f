"""bench/median.py: issue 19's verdict is taken on the median of several runs, each run's ratio to its own floor."""

from __future__ import annotations

from bench.median import median_rows, table


def _report(floor_p50: float, region_p50: float, throughput: float, duplicates: int = 0) -> dict:
    return {
        "results": [
            {"scenario": "floor: GET /ipam/quotas/me", "p50_ms": floor_p50, "p95_ms": floor_p50 * 1.5, "x_floor_p50": 1.0},
            {"scenario": "GET region", "p50_ms": region_p50, "p95_ms": region_p50 * 2, "x_floor_p50": round(region_p50 / floor_p50, 2)},
            {
                "scenario": "host allocation 8 clients, 1 region",
                "p50_ms": 30.0,
                "p95_ms": 40.0,
                "throughput_per_s": throughput,
                "duplicates": duplicates,
                "server_errors": 0,
            },
        ]
    }


def test_the_median_run_decides_not_the_best_or_the_worst():
    rows = {row["scenario"]: row for row in median_rows([_report(3, 4.2, 260), _report(3, 6.0, 240), _report(4, 5.6, 255)])}
    assert rows["GET region"]["x_floor_p50"] == 1.4 and rows["GET region"]["meets_floor_target"] == "✔"  # 1.4, 2.0, 1.4
    assert rows["GET region"]["runs"] == 3 and rows["GET region"]["p50_ms"] == 5.6
    assert (
        rows["host allocation 8 clients, 1 region"]["throughput_per_s"] == 255
        and rows["host allocation 8 clients, 1 region"]["meets_floor_target"] == "✔"
    )
    failing = {row["scenario"]: row for row in median_rows([_report(3, 6.0, 240), _report(3, 6.3, 245), _report(3, 4.0, 400)])}
    assert failing["GET region"]["meets_floor_target"] == "✘"
    assert failing["host allocation 8 clients, 1 region"]["meets_floor_target"] == "✘"


def test_duplicates_fail_the_throughput_target_whatever_the_speed():
    rows = {row["scenario"]: row for row in median_rows([_report(3, 4, 900, duplicates=1)] * 3)}
    assert rows["host allocation 8 clients, 1 region"]["meets_floor_target"] == "✘"
    assert "| GET region | 3 |" in table(list(rows.values()))
