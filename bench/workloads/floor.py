"""The floor of the stack (issue 19): `GET /ipam/quotas/me` — authentication plus one tiny read.

Every latency workload takes floor requests inside its own loop, next to its requests (`bench.measure.Floor`),
and its rows carry those (`floor_p50_ms`, `floor_p95_ms`): each row's `x_floor_p50` / `x_floor_p95` compare it
with the floor *of the same minutes*, so a machine whose speed drifts during the run no longer skews a ratio.

This module's row is the run's floor for reference: measured first and again last in every run. It is the
reference of the rows that have no floor of their own (the concurrent throughput runs, the import).
"""

from __future__ import annotations

from typing import Any

from bench.measure import FLOOR_PATH, Run
from bench.report import summarise

GROUP = "floor"
FLOOR = "floor: GET /ipam/quotas/me"
WARM_UP = 20


def measure(ctx: Run, n: int) -> list[float]:
    samples = []
    for index in range(n + WARM_UP):
        elapsed, _ = ctx.client.timed("GET", FLOOR_PATH)
        if index >= WARM_UP:
            samples.append(elapsed)
    return samples


def run(ctx: Run) -> list[dict[str, Any]]:
    ctx.floor_samples.extend(measure(ctx, ctx.args.requests))
    return []  # the row is written at the end of the run, from the samples of the start and the end


def final_row(ctx: Run) -> dict[str, Any]:
    ctx.floor_samples.extend(measure(ctx, ctx.args.requests))
    return summarise(FLOOR, ctx.floor_samples)
