"""Region allocation (`POST /ipam/regions`) in an empty country vs a 99 % full one, as user `bench-full`.

Each allocated region is deleted again, so the fill level stays put. The full country's p95 must stay within
1.2× the empty one's (`ratio_to_empty_p95`).
"""

from __future__ import annotations

import uuid
from typing import Any

from bench.measure import Client, Floor, Run
from bench.report import summarise

GROUP = "region"
WARM_UP = 5


def run(ctx: Run) -> list[dict[str, Any]]:
    args = ctx.args
    full = Client(args.base_url, "bench-full")
    region_allocation(full, args.empty_country, WARM_UP, "warm-up")
    empty_row = region_allocation(full, args.empty_country, args.requests // 2, "region allocation, empty country")
    full_row = region_allocation(full, args.full_country, args.requests // 2, "region allocation, 99% full country")
    full_row["ratio_to_empty_p95"] = round(full_row["p95_ms"] / empty_row["p95_ms"], 2)
    return [empty_row, full_row]


def region_allocation(client: Client, country: str, n: int, name: str) -> dict[str, Any]:
    samples = []
    floor = Floor(client)  # the floor of `client`'s user (bench-full): the same requests as the bench user's
    for _ in range(n):
        floor.tick()
        elapsed, response = client.timed(
            "POST", "/ipam/regions", json={"country": country, "region_name": f"bench-r-{uuid.uuid4().hex[:10]}"}
        )
        samples.append(elapsed)
        client.timed("DELETE", f"/ipam/regions/{response.json()['region_id']}?reason=bench")
    return summarise(name, samples, floor.samples)
