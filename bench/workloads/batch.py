"""`POST /ipam/hosts/batch` with count 100, `--batches` times (two batches per new region: it holds 254)."""

from __future__ import annotations

from typing import Any

from bench.measure import Client, Floor, Run, new_region
from bench.report import summarise

GROUP = "batch"
FLOOR_PER_BATCH = 3  # few batches (`--batches`, 10): three floor requests before each give the floor enough samples


def run(ctx: Run) -> list[dict[str, Any]]:
    return [batches(ctx.client, ctx.args.country, ctx.args.batches, ctx.created)]


def batches(client: Client, country: str, n: int, created: list[str]) -> dict[str, Any]:
    samples = []
    floor = Floor(client)
    region_id = ""
    for index in range(n):
        if index % 2 == 0:  # 254 addresses: two batches of 100 per region
            region = new_region(client, country, "batch")
            created.append(region["region_id"])
            region_id = region["region_id"]
        floor.tick(times=FLOOR_PER_BATCH)
        elapsed, response = client.timed(
            "POST", "/ipam/hosts/batch", json={"region_id": region_id, "count": 100, "hostname_prefix": f"b{index}"}
        )
        assert response.json()["count"] == 100
        samples.append(elapsed)
    return summarise("batch of 100 hosts", samples, floor.samples)
