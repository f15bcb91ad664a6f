"""The floor of the stack (issue 19): `GET /ipam/quotas/me` — authentication plus one tiny read.

Measured first and again last in every run; every scenario's p50 and p95 are then reported as multiples of
the floor of the same run (`x_floor_p50`, `x_floor_p95` in each row), so results compare across machines and
across a loaded or a quiet machine.
"""

from __future__ import annotations

from typing import Any

from bench.measure import Run
from bench.report import summarise

GROUP = "floor"
FLOOR = "floor: GET /ipam/quotas/me"
WARM_UP = 20


def measure(ctx: Run, n: int) -> list[float]:
    samples = []
    for index in range(n + WARM_UP):
        elapsed, _ = ctx.client.timed("GET", "/ipam/quotas/me")
        if index >= WARM_UP:
            samples.append(elapsed)
    return samples


def run(ctx: Run) -> list[dict[str, Any]]:
    ctx.floor_samples.extend(measure(ctx, ctx.args.requests))
    return []  # the row is written at the end of the run, from the samples of the start and the end


def final_row(ctx: Run) -> dict[str, Any]:
    ctx.floor_samples.extend(measure(ctx, ctx.args.requests))
    return summarise(FLOOR, ctx.floor_samples)
